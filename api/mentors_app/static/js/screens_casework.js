// Casework screens: a child's missing episodes (recording one, their return and the return conversation) and
// lone working for a session (start it, then "I'm safe"). Drawn from what the phone holds; casework.js passes each
// its data and what to do when the mentor acts, and nothing here talks to the network.

import { button, dateValue, dayAndTime, el, field, heading, problemBox, timeValue } from "./dom.js";
import { childName, phoneNow } from "./screens.js";

/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Session} Session */
/** @typedef {import("./types.js").OnDutyNow} OnDutyNow */
/** @typedef {import("./types.js").Schemas["ReturnConversation"]} ReturnConversation */
/** @typedef {import("./types.js").Schemas["MissingSource"]} MissingSource */
/** @typedef {import("./types.js").Schemas["ConversationOutcome"]} ConversationOutcome */

const MINUTE = 60_000;

/** @type {Record<MissingSource, string>} */
export const SOURCE_WORDS = {
  police: "Police",
  family: "Family",
  carer: "Carer",
  school: "School",
  social_care: "Social care",
  other: "Someone else",
};

/** @type {Record<ConversationOutcome, string>} */
const OUTCOME_WORDS = {
  offered: "Offered, not held yet",
  completed: "Held (completed)",
  declined: "Declined by the child",
};

/**
 * A missing episode as the child's page shows it: the server's, with what this phone has queued about it, or one
 * recorded here and not sent yet (`id` null).
 * @typedef {{
 *   id: string | null,
 *   reportedAt: string,
 *   source: MissingSource,
 *   returnedAt: string | null,
 *   returnUnsent: boolean,
 *   version: number | null,
 *   conversation: ReturnConversation | null,
 *   conversationUnsent: boolean,
 * }} EpisodeView
 */

/**
 * Lone working on one session, as far as this phone knows: the server's check (`sent`), or a start or an
 * "I'm safe" still in the outbox.
 * @typedef {{
 *   started: boolean,
 *   sent: boolean,
 *   checkInBy: Date | null,
 *   closedAt: Date | null,
 *   closedHow: "safe" | "session_logged" | null,
 *   safeUnsent: boolean,
 * }} LoneWorkingView
 */

/** @typedef {{ graceMinutes: number, alertAfterMinutes: number }} LoneWorkingTimings */

/** @param {Date} date */
export function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * A time as the server writes it back (UTC, "+00:00", whole seconds), so that what the phone sent can be compared
 * with what it reads after a lost answer, field for field.
 * @param {Date} date
 */
export function wireTime(date) {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

/**
 * @param {HTMLElement} box
 * @param {string} problem
 */
function show(box, problem) {
  box.textContent = problem;
  box.hidden = false;
  box.focus();
}

/**
 * A date and a time, each labelled; `at()` reads them as a moment in the phone's time (null if either is empty).
 * @param {string} id
 * @param {string} what e.g. "reported missing"
 * @param {Date} initial
 */
function momentFields(id, what, initial) {
  const date = el("input", { type: "date", required: true, value: dateValue(initial) });
  const time = el("input", { type: "time", required: true, step: "60", value: timeValue(initial) });
  const fields = el("div", {}, [field(`${id}-date`, `Date ${what}`, date), field(`${id}-time`, `Time ${what}`, time)]);
  return {
    fields,
    at() {
      const moment = new Date(`${date.value}T${time.value}`);
      return date.value === "" || time.value === "" || Number.isNaN(moment.getTime()) ? null : moment;
    },
  };
}

/**
 * A place in a form for fields that only some answers need: they are left out of the page (keeping what was
 * typed in them) rather than hidden, so nothing invisible is in the way of a keyboard or a screen reader.
 * @param {Node} fields
 * @param {boolean} shown
 */
function optional(fields, shown) {
  const slot = el("div", {}, [shown ? fields : null]);
  return {
    slot,
    /** @param {boolean} show */
    set(show) {
      slot.replaceChildren(...(show ? [fields] : []));
    },
  };
}

/**
 * @param {string} name
 * @param {Record<string, string>} choices
 * @param {string} chosen
 * @param {string} legend
 */
function radios(name, choices, chosen, legend) {
  const inputs = Object.keys(choices).map((value) =>
    el("input", { type: "radio", name, id: `${name}-${value}`, value, checked: value === chosen }),
  );
  const fieldset = el("fieldset", {}, [
    el("legend", {}, [legend]),
    ...inputs.map((input) =>
      el("div", { class: "choice" }, [input, el("label", { for: input.id }, [choices[input.value] ?? input.value])]),
    ),
  ]);
  return { fieldset, inputs, value: () => inputs.find((input) => input.checked)?.value ?? null };
}

// --- Missing episodes -------------------------------------------------------------------------------------------

/**
 * The child's missing episodes, newest first, and what can be recorded next.
 * @param {{ episodes: EpisodeView[], now: Date }} data
 * @param {{ onRecord: () => void, onReturn: (episodeId: string) => void, onConversation: (episodeId: string) => void }} actions
 */
export function missingSection({ episodes, now }, { onRecord, onReturn, onConversation }) {
  const record = button("Record a missing episode", { class: "secondary" });
  record.addEventListener("click", onRecord);
  const items = [...episodes]
    .sort((a, b) => b.reportedAt.localeCompare(a.reportedAt))
    .slice(0, 5)
    .map((episode) => episodeItem(episode, now, { onReturn, onConversation }));
  return el("section", { "aria-labelledby": "missing-heading" }, [
    el("h2", { id: "missing-heading" }, ["Missing episodes"]),
    items.length === 0 ? el("p", {}, ["None recorded."]) : el("ul", { class: "plain" }, items),
    el("div", { class: "actions" }, [record]),
  ]);
}

/**
 * @param {EpisodeView} episode
 * @param {Date} now
 * @param {{ onReturn: (episodeId: string) => void, onConversation: (episodeId: string) => void }} actions
 */
function episodeItem(episode, now, { onReturn, onConversation }) {
  const reported = dayAndTime(new Date(episode.reportedAt));
  /** @type {(Node | null)[]} */
  const lines = [];
  /** @type {HTMLButtonElement | null} */
  let action = null;
  if (episode.returnedAt === null) {
    lines.push(el("p", { class: "what" }, [`Missing since ${reported}`]));
    if (episode.id !== null) {
      const id = episode.id;
      action = button("Record their return", { class: "secondary", "aria-label": `Record their return: missing since ${reported}` });
      action.addEventListener("click", () => onReturn(id));
    }
  } else {
    const back = dayAndTime(new Date(episode.returnedAt));
    lines.push(el("p", { class: "what" }, [`Missing ${reported}, back ${back}`]));
    if (episode.returnUnsent) {
      lines.push(el("p", {}, ["Their return is saved on this phone, not sent yet."]));
    }
    lines.push(el("p", {}, [conversationWords(episode, now)]));
    const completed = episode.conversation?.outcome === "completed";
    if (episode.id !== null && !completed && !episode.conversationUnsent) {
      const id = episode.id;
      action = button("Record the return conversation", {
        class: "secondary",
        "aria-label": `Record the return conversation: back ${back}`,
      });
      action.addEventListener("click", () => onConversation(id));
    }
  }
  if (episode.id === null) {
    lines.push(
      el("p", {}, [
        "Saved on this phone, NOT sent yet: nobody has been told. Once it has reached the server you can record " +
          (episode.returnedAt === null ? "their return and " : "") +
          "the return conversation here.",
      ]),
    );
  }
  lines.push(el("p", { class: "hint" }, [`Reported by: ${SOURCE_WORDS[episode.source]}`]));
  return el("li", { class: "episode" }, [...lines, action]);
}

/**
 * Where the return conversation stands against its 72 hours, in words (not only in colour).
 * @param {EpisodeView} episode
 * @param {Date} now
 */
function conversationWords(episode, now) {
  if (episode.conversationUnsent) {
    return "Return conversation: saved on this phone, not sent yet.";
  }
  const conversation = episode.conversation;
  if (conversation?.outcome === "completed" && conversation.completed_at) {
    return `Return conversation completed ${dayAndTime(new Date(conversation.completed_at))}.`;
  }
  const returned = new Date(episode.returnedAt ?? episode.reportedAt);
  const due = new Date(returned.getTime() + 72 * 60 * MINUTE);
  const so = conversation === null ? "" : ` So far: ${OUTCOME_WORDS[conversation.outcome].toLowerCase()}.`;
  if (now > due) {
    return `Return conversation OVERDUE: it was due by ${dayAndTime(due)}.${so}`;
  }
  return `Return conversation due by ${dayAndTime(due)}.${so}`;
}

/**
 * Record that the child went missing: when they were reported, by whom, and if they are back already, when.
 * @param {{ child: Child, duty: OnDutyNow | undefined, now: Date }} data
 * @param {{ onSave: (body: { reported_at: string, source: MissingSource, returned_at?: string }) => void, onCancel: () => void }} actions
 */
export function missingEpisodeForm({ child, duty, now }, { onSave, onCancel }) {
  const reported = momentFields("reported", "reported missing", now);
  const source = el("select", {});
  for (const [value, words] of Object.entries(SOURCE_WORDS)) {
    source.append(el("option", { value, selected: value === "carer" }, [words]));
  }
  const isBack = el("input", { type: "checkbox", id: "back-already" });
  const returned = momentFields("returned", "they came back", now);
  const returnedSlot = optional(returned.fields, false);
  isBack.addEventListener("change", () => returnedSlot.set(isBack.checked));
  const problem = problemBox();
  const form = el("form", { novalidate: true }, [
    el("p", {}, [
      "Once it reaches the server the duty coordinator is alerted at once. If the child is at risk now, phone 999 " +
        "and your duty coordinator: do not wait for this to be sent.",
    ]),
    phoneNow(duty),
    reported.fields,
    field("source", "Who reported it", source),
    el("div", { class: "choice" }, [isBack, el("label", { for: "back-already" }, ["They are back already"])]),
    returnedSlot.slot,
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const at = reported.at();
    const back = isBack.checked ? returned.at() : null;
    const moment = new Date();
    if (at === null || (isBack.checked && back === null)) {
      show(problem, "Enter the dates and times.");
    } else if (at > moment || (back !== null && back > moment)) {
      show(problem, "The times cannot be in the future.");
    } else if (back !== null && back < at) {
      show(problem, "They cannot have come back before they were reported missing.");
    } else {
      /** @type {{ reported_at: string, source: MissingSource, returned_at?: string }} */
      const body = { reported_at: wireTime(at), source: /** @type {MissingSource} */ (source.value) };
      if (back !== null) {
        body.returned_at = wireTime(back);
      }
      onSave(body);
    }
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [heading(`Record a missing episode: ${childName(child)}`), form, cancel]);
}

/**
 * Record when a missing child came back: the 72 hours for the return conversation start then.
 * @param {{ child: Child, episode: EpisodeView, now: Date }} data
 * @param {{ onSave: (returnedAt: string) => void, onCancel: () => void }} actions
 */
export function returnForm({ child, episode, now }, { onSave, onCancel }) {
  const returned = momentFields("returned", "they came back", now);
  const problem = problemBox();
  const since = new Date(episode.reportedAt);
  const form = el("form", { novalidate: true }, [
    el("p", {}, [`Missing since ${dayAndTime(since)}. The return conversation is due within 72 hours of their return.`]),
    returned.fields,
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const back = returned.at();
    if (back === null) {
      show(problem, "Enter the date and time they came back.");
    } else if (back > new Date()) {
      show(problem, "Their return cannot be in the future.");
    } else if (back < since) {
      show(problem, "They cannot have come back before they were reported missing.");
    } else {
      onSave(wireTime(back));
    }
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [heading(`Record their return: ${childName(child)}`), form, cancel]);
}

/**
 * @typedef {{ outcome: ConversationOutcome, offered_at: string, completed_at?: string, declined_reason?: string,
 *   held_by?: string, independent: boolean }} ConversationBody
 */

/**
 * Record the return conversation: offered, completed (when it was held) or declined (why), who held it and whether
 * they are independent of the child's care and of the police.
 * @param {{ child: Child, episode: EpisodeView, now: Date }} data
 * @param {{ onSave: (body: ConversationBody) => void, onCancel: () => void }} actions
 */
export function returnConversationForm({ child, episode, now }, { onSave, onCancel }) {
  const returnedAt = new Date(episode.returnedAt ?? episode.reportedAt);
  const due = new Date(returnedAt.getTime() + 72 * 60 * MINUTE);
  const before = episode.conversation;
  const outcome = radios("outcome", OUTCOME_WORDS, before?.outcome ?? "completed", "What happened");
  const offered = momentFields("offered", "it was offered", before ? new Date(before.offered_at) : now);
  const completed = momentFields("completed", "it was held", now);
  const reason = el("textarea", { rows: "3", maxlength: "2000" });
  const reasonField = field("declined-reason", "Why they declined", reason);
  const heldBy = el("input", { type: "text", maxlength: "200", autocomplete: "off" });
  heldBy.value = before?.held_by ?? "";
  const independent = radios(
    "independent",
    { yes: "Yes", no: "No" },
    before?.independent === false ? "no" : "yes",
    "Held by someone independent of the child's care and of the police?",
  );
  const completedSlot = optional(completed.fields, false);
  const reasonSlot = optional(reasonField, false);
  const fit = () => {
    completedSlot.set(outcome.value() === "completed");
    reasonSlot.set(outcome.value() === "declined");
  };
  for (const input of outcome.inputs) {
    input.addEventListener("change", fit);
  }
  fit();
  const problem = problemBox();
  const form = el("form", { novalidate: true }, [
    el("p", {}, [`Back ${dayAndTime(returnedAt)}: due by ${dayAndTime(due)}${now > due ? " (overdue)" : ""}.`]),
    outcome.fieldset,
    offered.fields,
    completedSlot.slot,
    reasonSlot.slot,
    field("held-by", "Who held it (if you know)", heldBy, "For example, the return home interview service."),
    independent.fieldset,
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = /** @type {ConversationOutcome} */ (outcome.value() ?? "offered");
    const offeredAt = offered.at();
    const completedAt = chosen === "completed" ? completed.at() : null;
    const moment = new Date();
    if (offeredAt === null || (chosen === "completed" && completedAt === null)) {
      show(problem, "Enter the dates and times.");
    } else if (offeredAt > moment || (completedAt !== null && completedAt > moment)) {
      show(problem, "The times cannot be in the future.");
    } else if (offeredAt < returnedAt) {
      show(problem, "It is offered after their return: check the date and time it was offered.");
    } else if (completedAt !== null && completedAt < offeredAt) {
      show(problem, "It is held after it is offered: check the times.");
    } else if (chosen === "declined" && reason.value.trim() === "") {
      show(problem, "Say why they declined.");
    } else {
      /** @type {ConversationBody} */
      const body = { outcome: chosen, offered_at: wireTime(offeredAt), independent: independent.value() === "yes" };
      if (completedAt !== null) {
        body.completed_at = wireTime(completedAt);
      }
      if (chosen === "declined") {
        body.declined_reason = reason.value.trim();
      }
      if (heldBy.value.trim() !== "") {
        body.held_by = heldBy.value.trim();
      }
      onSave(body);
    }
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [heading(`Record the return conversation: ${childName(child)}`), form, cancel]);
}

// --- Lone working -----------------------------------------------------------------------------------------------

/**
 * What happens if the mentor does not check in, in plain words.
 * @param {Date} checkInBy
 * @param {LoneWorkingTimings} timings
 */
export function ifYouDoNotCheckIn(checkInBy, timings) {
  const alerted = new Date(checkInBy.getTime() + timings.alertAfterMinutes * MINUTE);
  return (
    `If you have not pressed "I'm safe" by ${clock(checkInBy)}: at ${clock(checkInBy)} you will be texted; ` +
    `${timings.alertAfterMinutes} minutes later, at ${clock(alerted)}, the duty coordinator is alerted.`
  );
}

/**
 * Lone working under a session: "Start lone working" when it may start, then the "I'm safe" button while it is
 * open, and plainly what the phone has not sent yet.
 * @param {{ session: Session, state: LoneWorkingView, offer: boolean, timings: LoneWorkingTimings, duty: OnDutyNow | undefined }} data
 * @param {{ onStart: () => void, onSafe: () => void }} actions
 */
export function loneWorkingBlock({ session, state, offer, timings, duty }, { onStart, onSafe }) {
  const when = dayAndTime(new Date(session.planned_start_at));
  if (!state.started) {
    if (!offer) {
      return null;
    }
    const start = button("Start lone working", { class: "secondary", "aria-label": `Start lone working: the session of ${when}` });
    start.addEventListener("click", onStart);
    return el("div", { class: "lone-working" }, [start]);
  }
  if (state.closedAt !== null) {
    const how = state.closedHow === "safe" ? `you checked in at ${clock(state.closedAt)}` : "closed when the session was logged";
    return el("div", { class: "lone-working" }, [el("p", {}, [`Lone working: ${how}.`])]);
  }
  const checkInBy = state.checkInBy ?? new Date(session.planned_end_at);
  if (state.safeUnsent) {
    const alerted = new Date(checkInBy.getTime() + timings.alertAfterMinutes * MINUTE);
    return el("div", { class: "lone-working open", role: "group", "aria-label": "Lone working" }, [
      el("p", { class: "what" }, ["\"I'm safe\" is saved on this phone, NOT sent yet."]),
      el("p", {}, [
        `Until it reaches the server you may still be texted at ${clock(checkInBy)} and the duty coordinator ` +
          `alerted at ${clock(alerted)}. If you cannot get online, phone your duty coordinator to say you are safe.`,
      ]),
      phoneNow(duty),
    ]);
  }
  const safe = button("I'm safe", { class: "primary safe", "aria-label": `I'm safe: the session of ${when}` });
  safe.addEventListener("click", onSafe);
  return el("div", { class: "lone-working open", role: "group", "aria-label": "Lone working" }, [
    el("p", { class: "what" }, [`Lone working: check in by ${clock(checkInBy)}.`]),
    state.sent
      ? null
      : el("p", {}, ["Saved on this phone, NOT sent yet: nobody knows you have started until it is sent."]),
    el("p", {}, [ifYouDoNotCheckIn(checkInBy, timings)]),
    safe,
  ]);
}

/**
 * Start lone working: when to check in by (the planned end plus the programme's grace, which the mentor may change).
 * @param {{ child: Child, session: Session, timings: LoneWorkingTimings, duty: OnDutyNow | undefined, online: boolean }} data
 * @param {{ onSave: (checkInBy: Date) => void, onCancel: () => void }} actions
 */
export function loneWorkingForm({ child, session, timings, duty, online }, { onSave, onCancel }) {
  const plannedEnd = new Date(session.planned_end_at);
  const plannedStart = new Date(session.planned_start_at);
  const suggested = new Date(plannedEnd.getTime() + timings.graceMinutes * MINUTE);
  const time = el("input", { type: "time", required: true, step: "60", value: timeValue(suggested) });
  // The time alone, on the day the session ends (or the next, for a time before it starts: after midnight).
  const chosen = () => {
    const at = new Date(`${dateValue(plannedEnd)}T${time.value}`);
    if (Number.isNaN(at.getTime())) {
      return null;
    }
    return at <= plannedStart ? new Date(at.getTime() + 24 * 60 * MINUTE) : at;
  };
  const what = el("p", { id: "lone-working-what", "aria-live": "polite" }, [ifYouDoNotCheckIn(suggested, timings)]);
  time.addEventListener("input", () => {
    const at = chosen();
    if (at !== null) {
      what.textContent = ifYouDoNotCheckIn(at, timings);
    }
  });
  const problem = problemBox();
  const form = el("form", { novalidate: true }, [
    el("p", {}, [`The session of ${dayAndTime(plannedStart)}, planned to end at ${clock(plannedEnd)}.`]),
    field(
      "check-in-by",
      "Check in by",
      time,
      `${timings.graceMinutes} minutes after the planned end unless you change it.`,
    ),
    what,
    online
      ? null
      : el("p", { class: "warning" }, [
          "You are offline: nobody knows you have started lone working until the phone is online and it is sent.",
        ]),
    phoneNow(duty),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Start lone working"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const at = chosen();
    if (at === null) {
      show(problem, "Enter the time you will check in by.");
    } else if (at <= new Date()) {
      show(problem, "The time to check in by must be later than now.");
    } else {
      onSave(at);
    }
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [heading(`Start lone working: ${childName(child)}`), form, cancel]);
}
