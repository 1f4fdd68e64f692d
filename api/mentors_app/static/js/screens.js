// The app's screens, drawn from what the phone holds. Nothing here talks to the network: app.js does, and
// passes each screen its data and what to do when the mentor acts.

import { button, dateValue, dayAndTime, el, field, heading, problemBox, timeValue } from "./dom.js";
import { registerOpen } from "./screens_groups.js";

/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Session} Session */
/** @typedef {import("./types.js").SessionCreate} SessionCreate */
/** @typedef {import("./types.js").Programme} Programme */
/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./types.js").SessionUpdate} SessionUpdate */
/** @typedef {import("./types.js").OnDutyNow} OnDutyNow */

const MINUTE = 60_000;
const WEEK_FULL = "weekly_session_cap_reached";
const DAY = 24 * 60 * MINUTE;

/** @type {Record<Session["status"], string>} */
const STATUS_WORDS = {
  planned: "Planned",
  completed: "Happened",
  did_not_attend: "Did not come",
  cancelled_by_child: "Cancelled by the child",
  cancelled_by_mentor: "Cancelled by you",
  rescheduled: "Moved",
};

/** @type {Record<SessionCreate["kind"], string>} */
const KIND_WORDS = { one_to_one: "Face to face", phone_video: "Phone or video call", group: "Group" };

/** @type {Record<SessionCreate["location_category"], string>} */
const LOCATION_WORDS = {
  home: "Home",
  school: "School",
  community_venue: "Community venue",
  outdoors: "Outdoors",
  online: "Online",
};

/**
 * @typedef {{
 *   openChild: (childId: string) => void,
 *   logSession: (childId: string) => void,
 *   planSession: (childId: string) => void,
 *   caseload: () => void,
 *   discard: (seq: number) => void,
 *   change: (seq: number) => void,
 *   sendMine: (seq: number) => void,
 *   logPlanned: (childId: string, sessionId: string) => void,
 *   raiseConcern: (childId: string) => void,
 *   takeRegister: (sessionId: string) => void,
 *   setPattern: (childId: string) => void,
 * }} Navigation
 */

/**
 * What other parts of the app add to the caseload and a child's page: sections of their own on the child's page
 * (after the alerts), and something under a session (lone working's controls).
 * @typedef {{ sections?: Node[], sessionExtra?: (session: Session) => Node | null }} Extras
 */

/** @param {Child} child */
export function childName(child) {
  return `${child.first_name} ${child.last_name.slice(0, 1)}.`;
}

/** @param {string} message said once, politely, to the screen reader as well */
export function notice(message) {
  return el("p", { class: "notice", role: "status" }, [message]);
}

/** @param {{ onSubmit: (email: string, password: string) => Promise<string | null>, notice: string | null }} options */
export function signIn({ onSubmit, notice: said }) {
  const email = el("input", { type: "email", autocomplete: "username", required: true, spellcheck: "false" });
  const password = el("input", { type: "password", autocomplete: "current-password", required: true });
  const problem = problemBox(null);
  const submit = el("button", { type: "submit", class: "primary" }, ["Sign in"]);
  const form = el("form", { novalidate: true }, [
    field("email", "Email", email),
    field("password", "Password", password),
    problem,
    submit,
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const refusal = await onSubmit(email.value.trim(), password.value);
    submit.disabled = false;
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      password.value = "";
      password.focus();
    }
  });
  return el("section", {}, [
    heading("Sign in"),
    said === null ? null : notice(said),
    el("p", {}, ["Use the email and password your programme gave you."]),
    form,
  ]);
}

/**
 * @param {Session} session
 * @returns {string | undefined}
 */
function childIdOf(session) {
  return session.attendees[0]?.child_id;
}

/** @param {Date} now */
function endOfWeek(now) {
  const end = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const daysToMonday = (8 - end.getDay()) % 7 || 7; // the week ends when the next Monday starts
  return new Date(end.getTime() + daysToMonday * DAY);
}

/**
 * @param {Session} session
 * @param {Map<string, Child>} children
 * @param {Navigation} nav
 * @param {Node | null} [extra] shown under the session (its lone-working controls)
 */
function sessionItem(session, children, nav, extra = null) {
  const childId = childIdOf(session);
  const child = childId === undefined ? undefined : children.get(childId);
  const when = dayAndTime(new Date(session.planned_start_at));
  const words = `${when} · ${child === undefined ? "Group" : childName(child)} · ${STATUS_WORDS[session.status]}`;
  if (session.kind === "group" && registerOpen(session)) {
    return registerItem(session, `${when} · Group · ${STATUS_WORDS[session.status]}`, nav);
  }
  if (child === undefined) {
    return el("li", {}, [words, extra]);
  }
  const open = button(words, { class: "row" });
  open.addEventListener("click", () => nav.openChild(child.id));
  return el("li", {}, [open, extra]);
}

/**
 * A group session whose register is open: the session in words and a button to take its register.
 * @param {Session} session
 * @param {string} words
 * @param {Navigation} nav
 */
function registerItem(session, words, nav) {
  const take = button("Take the register", { class: "secondary", "aria-label": `Take the register: the session of ${words}` });
  take.addEventListener("click", () => nav.takeRegister(session.id));
  return el("li", { class: "loggable" }, [el("span", {}, [words]), take]);
}

/**
 * @param {QueuedWrite[]} writes
 * @param {Map<string, Child>} children
 * @param {Navigation} nav
 */
function writesSection(writes, children, nav) {
  const refused = writes.filter((write) => write.refusal !== null);
  const waiting = writes.filter((write) => write.refusal === null);
  return [
    refused.length === 0
      ? null
      : el("section", { class: "refused", "aria-labelledby": "refused-heading" }, [
          el("h2", { id: "refused-heading" }, [`Not accepted (${refused.length}): please look`]),
          el(
            "ul",
            {},
            refused.map((write) => refusedItem(write, children, nav)),
          ),
        ]),
    waiting.length === 0
      ? null
      : el("section", { "aria-labelledby": "waiting-heading" }, [
          el("h2", { id: "waiting-heading" }, [`Waiting to send (${waiting.length})`]),
          el(
            "ul",
            {},
            waiting.map((write) => el("li", { class: "waiting" }, [describeWrite(write, children)])),
          ),
        ]),
  ];
}

/**
 * @param {QueuedWrite} write
 * @param {Map<string, Child>} children
 */
function describeWrite(write, children) {
  const child = children.get(write.childId);
  if (write.kind === "request") {
    return `${write.label}${child === undefined ? "" : ` · ${childName(child)}`}`;
  }
  const planned = write.kind === "create_session" && write.body.status === "planned";
  const what = planned ? "Planned session" : "Logged session";
  const when = dayAndTime(new Date(write.kind === "create_session" ? write.body.planned_start_at : write.plannedStartAt));
  return `${what} · ${when}${child === undefined ? "" : ` · ${childName(child)}`}`;
}

/**
 * @param {QueuedWrite} write
 * @param {Map<string, Child>} children
 * @param {Navigation} nav
 */
function refusedItem(write, children, nav) {
  if (write.kind === "log_session" && write.theirs !== undefined) {
    return conflictItem(write, write.theirs, children, nav);
  }
  const refusal = write.refusal;
  const discard = button("I have read this: remove it", { class: "secondary" });
  discard.addEventListener("click", () => {
    if (write.seq !== undefined) {
      nav.discard(write.seq);
    }
  });
  const change = button(refusal?.reason === WEEK_FULL ? "Move it to another day" : "Change it and send again", {
    class: "secondary",
  });
  change.addEventListener("click", () => {
    if (write.seq !== undefined) {
      nav.change(write.seq);
    }
  });
  return el("li", { class: "refusal" }, [
    el("p", { class: "what" }, [describeWrite(write, children)]),
    el("p", {}, [`Not accepted: ${refusal === null ? "" : refusal.message}`]),
    refusal?.reason === WEEK_FULL
      ? el("p", {}, [
          `The child's week ${refusal.facts?.week ?? ""} already has the most sessions their programme allows. ` +
            "Move it to another week, or ask your coordinator to allow one more this week and then change it.",
        ])
      : null,
    ...fieldProblems(refusal),
    write.body.notes === undefined || write.body.notes === ""
      ? null
      : el("p", { class: "notes" }, [`Your notes: ${write.body.notes}`]),
    el("div", { class: "actions" }, [write.kind === "request" ? null : change, discard]),
  ]);
}

/**
 * The refusal's field problems, each with what it names (a check-in's answers name their item: "goal_2: ..."), so
 * the mentor sees which answer or field the server would not take.
 * @param {import("./types.js").Refusal | null} refusal
 * @returns {HTMLElement[]}
 */
function fieldProblems(refusal) {
  /** @type {string[]} */
  const lines = [];
  /** @param {string} where @param {unknown} said */
  const collect = (where, said) => {
    if (Array.isArray(said)) {
      lines.push(`${where}: ${said.map(String).join(" ")}`);
    } else if (said !== null && typeof said === "object") {
      for (const [name, inner] of Object.entries(said)) {
        collect(where === "answers" ? name : `${where} ${name}`, inner);
      }
    }
  };
  for (const [name, said] of Object.entries(refusal?.facts?.errors ?? {})) {
    collect(name, said);
  }
  return lines.length === 0 ? [] : [el("ul", { class: "field-problems" }, lines.map((line) => el("li", {}, [line])))];
}

/**
 * What a session or a log says happened, in words.
 * @param {{ status?: Session["status"] | undefined, actual_duration_minutes?: number | null | undefined,
 *   activities?: string[] | null | undefined, notes?: string | null | undefined }} record
 */
function whatHappened(record) {
  const parts = [record.status === undefined ? "" : STATUS_WORDS[record.status]];
  if (record.actual_duration_minutes !== undefined && record.actual_duration_minutes !== null) {
    parts.push(`${record.actual_duration_minutes} min`);
  }
  if (record.activities !== undefined && record.activities !== null && record.activities.length > 0) {
    parts.push(record.activities.join(", "));
  }
  if (record.notes !== undefined && record.notes !== null && record.notes !== "") {
    parts.push(`Notes: ${record.notes}`);
  }
  return parts.filter((part) => part !== "").join(" · ");
}

/**
 * A log refused because the session changed on the server meanwhile (412): both versions side by side, and the
 * mentor chooses. Nothing is lost either way: keeping theirs shows the mentor's notes until they let them go.
 * @param {import("./types.js").QueuedLog} write
 * @param {Session} theirs
 * @param {Map<string, Child>} children
 * @param {Navigation} nav
 */
function conflictItem(write, theirs, children, nav) {
  const mine = button("Send mine instead", { class: "primary" });
  mine.addEventListener("click", () => {
    if (write.seq !== undefined) {
      nav.sendMine(write.seq);
    }
  });
  const keep = button("Keep theirs", { class: "secondary" });
  keep.addEventListener("click", () => {
    if (write.seq !== undefined) {
      nav.discard(write.seq);
    }
  });
  return el("li", { class: "refusal conflict" }, [
    el("p", { class: "what" }, [describeWrite(write, children)]),
    el("p", {}, ["Someone else changed this session after your phone last synced. Choose which to keep."]),
    el("h3", {}, ["On the server now"]),
    el("p", { class: "theirs" }, [whatHappened(theirs) || "No log"]),
    el("h3", {}, ["Yours, from this phone"]),
    el("p", { class: "mine" }, [whatHappened(write.body)]),
    el("div", { class: "actions" }, [mine, keep]),
  ]);
}

/**
 * @param {{ children: Child[], sessions: Session[], writes: QueuedWrite[], now: Date, notice: string | null,
 *   extras?: Extras }} data
 * @param {Navigation} nav
 */
export function caseload({ children, sessions, writes, now, notice: said, extras }, nav) {
  const byId = new Map(children.map((child) => [child.id, child]));
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const endOfToday = new Date(startOfToday.getTime() + DAY);
  const weekEnds = endOfWeek(now);
  const ordered = [...sessions].sort((a, b) => a.planned_start_at.localeCompare(b.planned_start_at));
  const startsIn = (/** @type {Session} */ session, /** @type {Date} */ from, /** @type {Date} */ to) => {
    const starts = new Date(session.planned_start_at);
    return starts >= from && starts < to;
  };
  const today = ordered.filter((session) => startsIn(session, startOfToday, endOfToday));
  const thisWeek = ordered.filter((session) => startsIn(session, endOfToday, weekEnds));
  const list = (/** @type {Session[]} */ items, /** @type {string} */ none, withExtras = false) =>
    items.length === 0
      ? el("p", {}, [none])
      : el(
          "ul",
          { class: "rows" },
          items.map((s) => sessionItem(s, byId, nav, withExtras ? (extras?.sessionExtra?.(s) ?? null) : null)),
        );
  const people = [...children].sort((a, b) => a.first_name.localeCompare(b.first_name));
  return el("section", {}, [
    heading("Your caseload"),
    said === null ? null : notice(said),
    ...writesSection(writes, byId, nav),
    el("h2", {}, ["Today"]),
    list(today, "No sessions today.", true),
    el("h2", {}, ["Later this week"]),
    list(thisWeek, "No more sessions this week."),
    el("h2", {}, [`Children (${people.length})`]),
    people.length === 0
      ? el("p", {}, ["Nobody is on your caseload on this phone yet. Sync when you are online."])
      : el(
          "ul",
          { class: "rows" },
          people.map((child) => {
            const open = button(`${childName(child)} · ${child.reference}`, { class: "row" });
            open.addEventListener("click", () => nav.openChild(child.id));
            return el("li", {}, [open]);
          }),
        ),
  ]);
}

/**
 * @param {{ child: Child, sessions: Session[], writes: QueuedWrite[], alerts: import("./types.js").Alert[],
 *   now: Date, notice: string | null, wellbeing?: HTMLElement[], extras?: Extras, patterns?: HTMLElement[],
 *   canSetPattern?: boolean }} data `wellbeing`: their goals and check-ins; `extras`: their casework (missing
 *   episodes, lone working under a session); `patterns`: their weekly patterns
 * @param {Navigation} nav
 */
export function childPage(
  { child, sessions, writes, alerts, now, notice: said, wellbeing = [], extras, patterns = [], canSetPattern = false },
  nav,
) {
  const theirs = sessions
    .filter((session) => session.attendees.some((attendee) => attendee.child_id === child.id))
    .sort((a, b) => a.planned_start_at.localeCompare(b.planned_start_at));
  const next = theirs.filter((s) => s.status === "planned" && new Date(s.planned_end_at) >= now).slice(0, 3);
  const recent = theirs
    .filter((s) => new Date(s.planned_start_at) < now && !next.includes(s))
    .reverse()
    .slice(0, 5);
  const byId = new Map([[child.id, child]]);
  const loggedHere = new Set(writes.flatMap((write) => (write.kind === "log_session" ? [write.sessionId] : [])));
  const describe = (/** @type {Session} */ s) => {
    const item = describeSession(s);
    const extra = extras?.sessionExtra?.(s) ?? null;
    if (extra !== null) {
      item.append(extra);
    }
    return item;
  };
  const describeSession = (/** @type {Session} */ s) => {
    const status = loggedHere.has(s.id) ? "Logged on this phone" : STATUS_WORDS[s.status];
    const parts = [dayAndTime(new Date(s.planned_start_at)), status, KIND_WORDS[s.kind]];
    if (s.actual_duration_minutes !== null) {
      parts.push(`${s.actual_duration_minutes} min`);
    }
    const words = parts.join(" · ");
    if (s.kind === "group" && registerOpen(s) && !loggedHere.has(s.id)) {
      return registerItem(s, words, nav);
    }
    if (s.status !== "planned" || loggedHere.has(s.id) || new Date(s.planned_start_at) > now) {
      return el("li", {}, [words]);
    }
    const logIt = button("Log it", { class: "secondary", "aria-label": `Log it: the session of ${words}` });
    logIt.addEventListener("click", () => nav.logPlanned(child.id, s.id));
    return el("li", { class: "loggable" }, [el("span", {}, [words]), logIt]);
  };
  const log = button("Log a session", { class: "primary" });
  log.addEventListener("click", () => nav.logSession(child.id));
  const plan = button("Plan a session", { class: "secondary" });
  plan.addEventListener("click", () => nav.planSession(child.id));
  const back = button("Back to caseload", { class: "link" });
  back.addEventListener("click", () => nav.caseload());
  const active = child.enrolment !== null && child.enrolment.status === "active";
  // No concern is raised on its own: the API takes one only with a session's log, so this opens the log form.
  const concern = button("Raise a concern", { class: "secondary" });
  concern.addEventListener("click", () => nav.raiseConcern(child.id));
  const pattern = button("Set a weekly pattern", { class: "secondary" });
  pattern.addEventListener("click", () => nav.setPattern(child.id));
  return el("section", {}, [
    heading(childName(child)),
    el("p", { class: "reference" }, [`Reference ${child.reference}`]),
    said === null ? null : notice(said),
    active
      ? el("div", { class: "actions" }, [log, plan, concern, canSetPattern ? pattern : null])
      : el("p", {}, ["Their support is not active: no sessions can be added."]),
    ...writesSection(
      writes.filter((write) => write.childId === child.id),
      byId,
      nav,
    ),
    ...alertsSection(alerts.filter((alert) => alert.child_id === child.id && alert.state !== "resolved")),
    ...(extras?.sections ?? []),
    el("h2", {}, ["Next sessions"]),
    next.length === 0 ? el("p", {}, ["None planned."]) : el("ul", { class: "plain" }, next.map(describe)),
    el("h2", {}, ["Recent sessions"]),
    recent.length === 0 ? el("p", {}, ["None yet."]) : el("ul", { class: "plain" }, recent.map(describe)),
    ...wellbeing,
    ...patterns,
    back,
  ]);
}

/**
 * The child's open alerts, and whether someone has acknowledged each (a concern the mentor raised among them).
 * @param {import("./types.js").Alert[]} open
 */
function alertsSection(open) {
  if (open.length === 0) {
    return [];
  }
  const items = open
    .sort((a, b) => b.raised_at.localeCompare(a.raised_at))
    .map((alert) => {
      const acknowledged =
        alert.acknowledged_at === null
          ? "not acknowledged yet"
          : `acknowledged ${dayAndTime(new Date(alert.acknowledged_at))}`;
      return el("li", {}, [`${ALERT_WORDS[alert.kind]} · raised ${dayAndTime(new Date(alert.raised_at))} · ${acknowledged}`]);
    });
  return [el("h2", {}, [`Open alerts (${open.length})`]), el("ul", { class: "plain" }, items)];
}

/**
 * @template {string} V
 * @param {string} name
 * @param {Record<V, string>} options
 * @param {V} chosen
 */
function select(name, options, chosen) {
  const control = el("select", { name });
  for (const [value, words] of Object.entries(options)) {
    control.append(el("option", { value, selected: value === chosen }, [String(words)]));
  }
  return control;
}

/**
 * A new session's form, or a refused one's to change (`initial`: what the mentor wrote before, all of it kept).
 * @param {"log" | "plan"} mode
 * `focusConcern`: opened to raise a concern, which travels with a log: the concern box takes the focus.
 * @param {{ child: Child, programme: Programme | undefined, duty: OnDutyNow | undefined, now: Date, initial?: SessionCreate,
 *   focusConcern?: boolean }} data
 * @param {{ onSave: (session: SessionCreate) => void, onCancel: () => void }} actions
 */
export function sessionForm(mode, { child, programme, duty, now, initial, focusConcern }, { onSave, onCancel }) {
  const logging = mode === "log";
  const suggested = logging ? new Date(now.getTime() - 60 * MINUTE) : new Date(now.getTime() + DAY);
  suggested.setMinutes(suggested.getMinutes() < 30 ? 0 : 30, 0, 0);
  const starts = initial === undefined ? suggested : new Date(initial.planned_start_at);
  const minutes =
    initial === undefined
      ? 60
      : Math.round((new Date(initial.planned_end_at).getTime() - starts.getTime()) / MINUTE);
  const date = el("input", { type: "date", required: true, value: dateValue(starts) });
  const time = el("input", { type: "time", required: true, value: timeValue(starts), step: "60" });
  const duration = el("input", {
    type: "number",
    inputmode: "numeric",
    min: "1",
    max: "720",
    required: true,
    value: String(minutes),
  });
  /** @type {Record<"one_to_one" | "phone_video", string>} */
  const kinds = { one_to_one: KIND_WORDS.one_to_one, phone_video: KIND_WORDS.phone_video };
  const kind = select("kind", kinds, initial?.kind === "phone_video" ? "phone_video" : "one_to_one");
  const location = select("location", LOCATION_WORDS, initial?.location_category ?? "community_venue");
  const happened = whatHappenedFields(programme, duty, initial);
  if (focusConcern === true) {
    happened.concernField.querySelector("textarea")?.setAttribute("data-focus", "");
  }
  const problem = problemBox(null);
  const form = el("form", { novalidate: true }, [
    focusConcern === true
      ? el("p", {}, [
          "A concern is sent with the log of a session: say when you last saw or spoke to them, and write your concern.",
        ])
      : null,
    field("date", "Date", date),
    field("time", "Start time", time),
    field("duration", logging ? "How long it lasted (minutes)" : "How long (minutes)", duration),
    logging ? happened.cameField : null,
    field("kind", "How", kind),
    field("location", "Where", location),
    ...(logging ? [happened.didField, happened.notesField, happened.concernField] : []),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save"])]),
  ]);
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const starts = new Date(`${date.value}T${time.value}`);
    const minutes = Number(duration.value);
    /** @type {string | null} */
    let refusal = null;
    if (Number.isNaN(starts.getTime())) {
      refusal = "Enter the date and the start time.";
    } else if (!Number.isInteger(minutes) || minutes < 1 || minutes > 720) {
      refusal = "Enter how long, in minutes, from 1 to 720.";
    } else if (logging && starts > now) {
      refusal = "A session can be logged once it has started: plan it instead.";
    } else if (!logging && starts < now) {
      refusal = "A planned session starts later than now: log it instead if it has happened.";
    }
    if (refusal !== null || child.enrolment === null) {
      problem.textContent = refusal ?? "Their support is not active.";
      problem.hidden = false;
      problem.focus();
      return;
    }
    const status = logging && happened.missed.checked ? "did_not_attend" : logging ? "completed" : "planned";
    /** @type {SessionCreate} */
    const session = {
      enrolment_ids: [child.enrolment.id],
      kind: kind.value === "phone_video" ? "phone_video" : "one_to_one",
      location_category: /** @type {SessionCreate["location_category"]} */ (location.value),
      planned_start_at: starts.toISOString(),
      planned_end_at: new Date(starts.getTime() + minutes * MINUTE).toISOString(),
      status,
    };
    if (status === "completed") {
      session.actual_duration_minutes = minutes;
    }
    if (logging) {
      happened.fillIn(session, { held: status === "completed" });
    }
    onSave(session);
  });
  problem.setAttribute("tabindex", "-1");
  const title = initial === undefined ? `${logging ? "Log" : "Plan"} a session` : "Change the session";
  return el("section", {}, [heading(`${title}: ${childName(child)}`), form, cancel]);
}

/**
 * Log a planned session that has started: whether the child came, how long, what you did, notes.
 * @param {{ child: Child, session: Session, programme: Programme | undefined, duty: OnDutyNow | undefined, initial?: SessionUpdate }} data
 * @param {{ onSave: (log: SessionUpdate) => void, onCancel: () => void }} actions
 */
export function logPlannedForm({ child, session, programme, duty, initial }, { onSave, onCancel }) {
  const planned = Math.round((new Date(session.planned_end_at).getTime() - new Date(session.planned_start_at).getTime()) / MINUTE);
  const duration = el("input", {
    type: "number",
    inputmode: "numeric",
    min: "1",
    max: "720",
    required: true,
    value: String(initial?.actual_duration_minutes ?? planned),
  });
  const happened = whatHappenedFields(programme, duty, initial);
  const problem = problemBox(null);
  problem.setAttribute("tabindex", "-1");
  const form = el("form", { novalidate: true }, [
    el("p", {}, [`Planned for ${dayAndTime(new Date(session.planned_start_at))}, ${KIND_WORDS[session.kind]}.`]),
    happened.cameField,
    field("duration", "How long it lasted (minutes)", duration),
    happened.didField,
    happened.notesField,
    happened.concernField,
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const minutes = Number(duration.value);
    const held = !happened.missed.checked;
    if (held && (!Number.isInteger(minutes) || minutes < 1 || minutes > 720)) {
      problem.textContent = "Enter how long, in minutes, from 1 to 720.";
      problem.hidden = false;
      problem.focus();
      return;
    }
    /** @type {SessionUpdate} */
    const log = { status: held ? "completed" : "did_not_attend" };
    if (held) {
      log.actual_duration_minutes = minutes;
    }
    happened.fillIn(log, { held });
    onSave(log);
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [heading(`Log the session: ${childName(child)}`), form, cancel]);
}

const DANGER_NOW =
  "If the child is in danger now, phone 999, then your duty coordinator: do not wait for this to be sent.";

/**
 * The concern box, and beside it whom to phone now: 999, and the duty coordinator and fallback as the rota had them
 * at the last contact (kept on the phone, so the links work with no data signal).
 * @param {OnDutyNow | undefined} duty
 */
function concernField(duty) {
  const concern = el("textarea", { rows: "4", maxlength: "4000" });
  const wrapper = field(
    "concern",
    "A safeguarding concern (if you have one)",
    concern,
    `It alerts your programme's coordinators as soon as it reaches the server. ${DANGER_NOW}`,
  );
  wrapper.append(phoneNow(duty));
  return { concern, wrapper };
}

/** @param {OnDutyNow | undefined} duty */
export function phoneNow(duty) {
  /** @type {HTMLElement[]} */
  const links = [el("a", { class: "call", href: "tel:999" }, ["Phone 999"])];
  for (const [who, contact] of /** @type {const} */ ([["on duty", duty?.on_duty], ["fallback", duty?.fallback]])) {
    if (contact?.mobile) {
      links.push(el("a", { class: "call", href: `tel:${contact.mobile}` }, [`Phone ${contact.display_name} (${who})`]));
    }
  }
  const gap =
    duty !== undefined && duty.on_duty === null
      ? el("p", { id: "duty-gap" }, ["Nobody is on the duty rota now: phone 999 if the child is in danger, then any coordinator."])
      : null;
  return el("div", { class: "phone-now", id: "phone-now" }, [...links, gap]);
}

/**
 * What happened at a session, as logging one afterwards and logging a planned one both ask it: whether the child
 * came, what you did (the programme's activities), notes and a concern, filled with what the mentor wrote before.
 * @param {Programme | undefined} programme
 * @param {OnDutyNow | undefined} duty
 * @param {{ status?: string, activities?: string[] | null, notes?: string | null, safeguarding_concern?: string | null }} [initial]
 */
function whatHappenedFields(programme, duty, initial) {
  const didNotCome = initial?.status === "did_not_attend";
  const attended = el("input", { type: "radio", name: "attendance", id: "attended", value: "completed", checked: !didNotCome });
  const missed = el("input", { type: "radio", name: "attendance", id: "missed", value: "did_not_attend", checked: didNotCome });
  const chosen = new Set(initial?.activities ?? []);
  const activities = (programme?.session_activities ?? []).map((activity, index) =>
    el("input", { type: "checkbox", name: "activities", id: `activity-${index}`, value: activity, checked: chosen.has(activity) }),
  );
  const notes = el("textarea", { rows: "5", maxlength: "10000" });
  notes.value = initial?.notes ?? "";
  const concernBox = concernField(duty);
  concernBox.concern.value = initial?.safeguarding_concern ?? "";
  return {
    missed,
    cameField: el("fieldset", {}, [
      el("legend", {}, ["Did they come?"]),
      el("div", { class: "choice" }, [attended, el("label", { for: "attended" }, ["Yes, the session happened"])]),
      el("div", { class: "choice" }, [missed, el("label", { for: "missed" }, ["No, they did not come"])]),
    ]),
    didField: el("fieldset", {}, [
      el("legend", {}, ["What you did"]),
      activities.length === 0
        ? el("p", { class: "hint" }, ["The programme's activities appear here once the phone has synced online."])
        : null,
      ...activities.map((box, index) =>
        el("div", { class: "choice" }, [
          box,
          el("label", { for: `activity-${index}` }, [programme?.session_activities?.[index] ?? ""]),
        ]),
      ),
    ]),
    notesField: field("notes", "Notes", notes, "Only you, your coordinator and admins can read them."),
    concernField: concernBox.wrapper,
    /**
     * Write what the fields hold into the log: the activities only of a session held; notes and a concern if any.
     * @param {{ activities?: string[] | null, notes?: string | null, safeguarding_concern?: string | null }} record
     * @param {{ held: boolean }} options
     */
    fillIn(record, { held }) {
      if (held) {
        record.activities = activities.filter((box) => box.checked).map((box) => box.value);
      }
      if (notes.value.trim() !== "") {
        record.notes = notes.value.trim();
      }
      if (concernBox.concern.value.trim() !== "") {
        record.safeguarding_concern = concernBox.concern.value.trim();
      }
    },
  };
}

/** @type {Record<import("./types.js").Alert["kind"], string>} */
const ALERT_WORDS = {
  safeguarding_concern: "Safeguarding concern",
  child_missing: "Missing",
  lone_working_overdue: "Lone working overdue",
  wellbeing_drop: "Wellbeing has dropped",
  return_conversation_due: "Return conversation due",
  disengagement: "Not engaging",
  contact_lost: "Cannot be contacted",
  duty_cover_gap: "No duty cover",
};

function pinInput() {
  return el("input", { type: "password", inputmode: "numeric", autocomplete: "off", maxlength: "8", required: true });
}

/**
 * @param {{ onSubmit: (pin: string, again: string) => Promise<string | null> }} actions the problem, or null once set
 */
export function setPin({ onSubmit }) {
  const pin = pinInput();
  const again = pinInput();
  const problem = problemBox(null);
  problem.setAttribute("tabindex", "-1");
  const form = el("form", { novalidate: true }, [
    field("pin", "Choose a PIN", pin, "4 to 8 digits. You will need it whenever the app has not been used for 15 minutes."),
    field("pin-again", "The same PIN again", again),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Set the PIN"])]),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const refusal = await onSubmit(pin.value, again.value);
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      pin.value = "";
      again.value = "";
      problem.focus();
    }
  });
  return el("section", {}, [
    heading("Set a PIN for this app"),
    el("p", {}, ["The app locks when it has not been used for 15 minutes, so nobody else who picks up the phone sees your caseload."]),
    form,
  ]);
}

/**
 * @param {{ onSubmit: (pin: string) => Promise<string | null>, onForgotten: () => void }} actions
 */
export function locked({ onSubmit, onForgotten }) {
  const pin = pinInput();
  const problem = problemBox(null);
  problem.setAttribute("tabindex", "-1");
  const form = el("form", { novalidate: true }, [
    field("pin", "PIN", pin),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Unlock"])]),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const refusal = await onSubmit(pin.value);
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      pin.value = "";
      pin.focus();
    }
  });
  const forgotten = button("Forgotten your PIN? Sign out", { class: "link" });
  forgotten.addEventListener("click", onForgotten);
  return el("section", {}, [heading("Locked"), el("p", {}, ["Enter your PIN to open the app."]), form, forgotten]);
}
