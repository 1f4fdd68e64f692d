// A group session's register: for each child booked, whether they came, and the parents and carers who came.
//
// The register names each child as the session record does (their reference): a group may hold children who are
// not on this mentor's caseload, and the phone shows no more of them than the API gave. It is sent as
// PUT /sessions/{id}/register with If-Match (the endpoint takes no Idempotency-Key): replayed after a lost answer it
// meets 412, and the outbox reads the session to tell this very register (already applied) from someone else's.

import { call } from "./api.js";
import { button, dayAndTime, el, field } from "./dom.js";
import { queueRequest } from "./outbox.js";
import * as store from "./store.js";

/** @typedef {import("./types.js").Session} Session */
/** @typedef {import("./types.js").Series} Series */
/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Schemas["RegisterLine"]} RegisterLine */
/** @typedef {import("./types.js").Schemas["CarerIn"]} CarerIn */
/** @typedef {"came" | "missed"} Mark */

/** The register can be taken while the session is planned or was held (the API: 409 session_status_final else). */
const REGISTER_OPEN = new Set(["planned", "completed"]);

/** @type {Record<CarerIn["relationship"], string>} */
const CARER_WORDS = {
  parent: "Parents",
  foster_carer: "Foster carers",
  kinship_carer: "Kinship carers",
  other_carer: "Other carers",
};

/** @param {Session} session */
export function registerOpen(session) {
  return session.kind === "group" && REGISTER_OPEN.has(session.status);
}

/**
 * The series a session is one of, if the phone holds it.
 * @param {Session} session
 * @returns {Promise<Series | undefined>}
 */
export async function seriesOf(session) {
  if (session.series_id === null) {
    return undefined;
  }
  const held = /** @type {Series[]} */ (await store.records(store.GROUP_SERIES));
  return held.find((series) => series.id === session.series_id);
}

/** @param {Session} session @param {Series | undefined} series */
export function groupName(session, series) {
  return series?.name ?? "Group session";
}

/**
 * The register screen.
 * @param {{ session: Session, series: Series | undefined }} data
 * @param {{ onSave: (lines: { child_id: string, attendance: "attended" | "did_not_attend" }[],
 *   carers: CarerIn[] | null) => void, onCancel: () => void }} actions
 */
export function registerForm({ session, series }, { onSave, onCancel }) {
  /** @type {{ childId: string, came: HTMLInputElement, missed: HTMLInputElement }[]} */
  const marks = [];
  const rows = session.register.map((line, index) => {
    const reference = session.attendees.find((attendee) => attendee.child_id === line.child_id)?.child_reference ?? "";
    if (line.attendance === "cancelled_by_child" || line.attendance === "cancelled_by_service") {
      return el("li", { class: "register-line" }, [`${reference}: cancelled, not expected`]);
    }
    const name = `register-${index}`;
    const came = el("input", {
      type: "radio",
      name,
      id: `${name}-came`,
      value: "attended",
      checked: line.attendance === "attended",
    });
    const missed = el("input", {
      type: "radio",
      name,
      id: `${name}-missed`,
      value: "did_not_attend",
      checked: line.attendance === "did_not_attend",
    });
    marks.push({ childId: line.child_id, came, missed });
    return el("li", { class: "register-line" }, [
      el("fieldset", {}, [
        el("legend", {}, [reference]),
        el("div", { class: "choice" }, [came, el("label", { for: `${name}-came` }, ["Came"])]),
        el("div", { class: "choice" }, [missed, el("label", { for: `${name}-missed` }, ["Did not come"])]),
      ]),
    ]);
  });
  /** @type {Record<string, number>} */
  const carersBefore = {};
  for (const carer of session.carers ?? []) {
    carersBefore[carer.relationship] = (carersBefore[carer.relationship] ?? 0) + 1;
  }
  const carerCounts = /** @type {[CarerIn["relationship"], HTMLInputElement][]} */ (
    Object.keys(CARER_WORDS).map((relationship) => [
      relationship,
      el("input", {
        type: "number",
        inputmode: "numeric",
        min: "0",
        max: "40",
        value: String(carersBefore[relationship] ?? 0),
      }),
    ])
  );
  const problem = el("div", { class: "problem", role: "alert", tabindex: "-1", hidden: true });
  const form = el("form", { novalidate: true }, [
    el("p", {}, [`${dayAndTime(new Date(session.planned_start_at))}. Mark each child booked.`]),
    marks.length === 0 && rows.length === 0 ? el("p", {}, ["Nobody is booked on this session."]) : null,
    el("ul", { class: "register" }, rows),
    el("fieldset", {}, [
      el("legend", {}, ["Parents and carers who came (how many)"]),
      ...carerCounts.map(([relationship, input]) => field(`carers-${relationship}`, CARER_WORDS[relationship], input)),
    ]),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save the register"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    /** @type {{ child_id: string, attendance: "attended" | "did_not_attend" }[]} */
    const lines = [];
    for (const mark of marks) {
      if (mark.came.checked || mark.missed.checked) {
        lines.push({ child_id: mark.childId, attendance: mark.came.checked ? "attended" : "did_not_attend" });
      }
    }
    const counts = carerCounts.map(([relationship, input]) => /** @type {const} */ ([relationship, Number(input.value)]));
    const wrong = counts.find(([, count]) => !Number.isInteger(count) || count < 0 || count > 40);
    const total = counts.reduce((sum, [, count]) => sum + count, 0);
    const carersChanged = counts.some(([relationship, count]) => count !== (carersBefore[relationship] ?? 0));
    /** @type {string | null} */
    let refusal = null;
    if (wrong !== undefined) {
      refusal = `Enter how many ${CARER_WORDS[wrong[0]].toLowerCase()} came, from 0 to 40.`;
    } else if (total > 40) {
      refusal = "At most 40 parents and carers can be recorded.";
    } else if (lines.length === 0 && !carersChanged) {
      refusal = "Mark at least one child as came or did not come.";
    }
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      problem.focus();
      return;
    }
    // Sent, carers replace those recorded: send them only when changed, so carers named for a child stay named.
    const carers = carersChanged
      ? counts.flatMap(([relationship, count]) => Array.from({ length: count }, () => ({ relationship })))
      : null;
    onSave(lines, carers);
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [
    el("h1", { tabindex: "-1" }, [`Take the register: ${groupName(session, series)}`]),
    form,
    cancel,
  ]);
}

/**
 * Queue the register, to be sent (and replayed, once) by the outbox.
 * @param {Session} session the version the mentor marked
 * @param {Series | undefined} series
 * @param {string} childId the caseload's child the write is filed under (forgotten with them)
 * @param {{ child_id: string, attendance: "attended" | "did_not_attend" }[]} lines
 * @param {CarerIn[] | null} carers
 */
export async function queueRegister(session, series, childId, lines, carers) {
  /** @type {Record<string, unknown>} */
  const body = {};
  if (lines.length > 0) {
    body.lines = lines;
  }
  if (carers !== null) {
    body.carers = carers;
  }
  // What the session says once this register is applied: each line sent set (with no arrival or leaving time),
  // the others as the phone held them. Built from the held lines so each compares field for field as JSON.
  const marked = new Map(lines.map((line) => [line.child_id, line.attendance]));
  /** @type {Record<string, unknown>} */
  const expect = {
    register: session.register.map((line) => {
      const attendance = marked.get(line.child_id);
      return attendance === undefined ? line : { ...line, attendance, arrived_at: null, left_at: null };
    }),
  };
  if (carers !== null) {
    expect.carers_attended = carers.length;
  }
  await queueRequest({
    childId,
    label: `Register · ${groupName(session, series)} · ${dayAndTime(new Date(session.planned_start_at))}`,
    method: "PUT",
    path: `/sessions/${encodeURIComponent(session.id)}/register`,
    body,
    keepIn: store.SESSIONS,
    ifMatch: session.version,
    check: { path: `/sessions/${encodeURIComponent(session.id)}`, expect },
  });
}

const DAY = 24 * 60 * 60_000;
const PAGE_SIZE = 100;

/**
 * The group sessions the mentor leads in the days around now, read from GET /sessions: the sync feed carries a
 * session through the children of the mentor's caseload, so a series' session none of them is booked on (a
 * group-only cohort's children have no key worker) never reaches the phone that way. Those read are kept with the
 * feed's sessions (a newer version held is not replaced); one held that the server no longer lists in the window
 * (moved, or the mentor no longer leads it), with no child of the caseload at it, is forgotten.
 * @param {Date} now
 * @returns {Promise<number>} how many sessions changed on the phone
 */
export async function fetchLedGroupSessions(now) {
  const from = new Date(now.getTime() - DAY);
  const before = new Date(now.getTime() + 8 * DAY);
  /** @type {Session[]} */
  const listed = [];
  for (let page = 1; ; page += 1) {
    const query = new URLSearchParams({
      starts_from: from.toISOString(),
      starts_before: before.toISOString(),
      page: String(page),
      page_size: String(PAGE_SIZE),
    });
    const answer = /** @type {Session[]} */ ((await call(`/sessions?${query}`)).body);
    listed.push(...answer);
    if (answer.length < PAGE_SIZE) {
      break;
    }
  }
  const led = new Map(listed.filter((session) => session.kind === "group").map((session) => [session.id, session]));
  const caseload = new Set((await store.children()).map((child) => child.id));
  return await store.inTransaction([store.SESSIONS], "readwrite", async (transaction) => {
    const sessions = transaction.objectStore(store.SESSIONS);
    const held = /** @type {Session[]} */ (await store.result(sessions.getAll()));
    const byId = new Map(held.map((session) => [session.id, session]));
    let changes = 0;
    for (const session of led.values()) {
      const mine = byId.get(session.id);
      if (mine === undefined || mine.version < session.version) {
        sessions.put(session);
        changes += 1;
      }
    }
    for (const session of held) {
      const starts = new Date(session.planned_start_at);
      const inWindow = starts >= from && starts < before;
      const throughCaseload = session.attendees.some((attendee) => caseload.has(attendee.child_id));
      if (session.kind === "group" && inWindow && !led.has(session.id) && !throughCaseload) {
        sessions.delete(session.id);
        changes += 1;
      }
    }
    return changes;
  });
}
