// Writes made on the phone, kept until the server has accepted them, and sent in the order they were made.
//
// The rules every supplier's app needs, in one place:
// - A write gets its Idempotency-Key and its record's id when the mentor saves it, once, and keeps both for
//   every retry: a retry after an answer was lost (the server wrote, the phone never heard) is answered with the
//   first answer replayed and never writes twice.
// - Offline, a 5xx, a 429 or another request still running with the key (409 request_in_progress): stop and try
//   the same write again later; the writes after it wait, so they reach the server in order.
// - Any other refusal (409 weekly cap or duplicate, 412, 422, 403, 404): the write is kept with the server's
//   reason and shown to the mentor, who decides; it is never dropped silently. The writes after it go on.
// - Accepted: the write leaves the outbox and the record the server answered takes its place, in one transaction.
// - An edit (logging a planned session) carries If-Match instead of a key, since PATCH takes none: replayed after
//   a lost answer it meets 412, and the phone reads the session to tell its own write (already there: sent once)
//   from someone else's (a conflict, kept with the server's version for the mentor to choose).

import { Offline, Refused, call } from "./api.js";
import * as store from "./store.js";

/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./types.js").QueuedCreate} QueuedCreate */
/** @typedef {import("./types.js").QueuedLog} QueuedLog */
/** @typedef {import("./types.js").QueuedRequest} QueuedRequest */
/** @typedef {import("./types.js").SessionUpdate} SessionUpdate */
/** @typedef {import("./types.js").SessionCreate} SessionCreate */
/** @typedef {import("./types.js").Session} Session */

const REPLAY_LOCK = "reachable-outbox-replay";
const TRY_AGAIN_LATER = new Set(["request_in_progress"]);

/**
 * Queue a new session (planned, or logged afterwards) for a child, to be sent as soon as the network allows.
 * Given the place of a refused write it replaces, both happen in one transaction: the changed session is a new
 * request (a new key and a new id, since the server may hold the first key's refusal), and the refused one goes.
 * @param {string} childId
 * @param {SessionCreate} session
 * @param {number} [replacing]
 * @returns {Promise<QueuedWrite>}
 */
export async function queueSession(childId, session, replacing) {
  /** @type {QueuedCreate} */
  const write = {
    kind: "create_session",
    childId,
    idempotencyKey: crypto.randomUUID(),
    body: { ...session, id: crypto.randomUUID() },
    queuedAt: new Date().toISOString(),
    refusal: null,
  };
  write.seq = await enqueue(write, replacing);
  return write;
}

/**
 * Queue the log of a planned session (what happened), based on the version of it the phone holds (or, sending
 * the mentor's log over a conflict, on the server's version the mentor has seen).
 * @param {string} childId
 * @param {{ id: string, planned_start_at: string, version: number }} session
 * @param {SessionUpdate} log
 * @param {number} [replacing] the refused write this one replaces
 * @returns {Promise<QueuedLog>}
 */
export async function queueLog(childId, session, log, replacing) {
  /** @type {QueuedLog} */
  const write = {
    kind: "log_session",
    childId,
    sessionId: session.id,
    plannedStartAt: session.planned_start_at,
    baseVersion: session.version,
    body: log,
    queuedAt: new Date().toISOString(),
    refusal: null,
  };
  write.seq = await enqueue(write, replacing);
  return write;
}

/**
 * Queue any other write (see QueuedRequest): a POST or PUT gets its Idempotency-Key here, once; an edit of a
 * versioned record names the version it was based on and how to tell, after a lost answer, that it was applied.
 * @param {{ childId: string, label: string, method: "POST" | "PUT" | "PATCH", path: string,
 *   body: Record<string, unknown>, keepIn?: string, ifMatch?: number,
 *   check?: { path: string, id?: string, expect: Record<string, unknown> },
 *   keepOn?: { store: string, id: string, field: string } }} what
 * @param {number} [replacing] the refused write this one replaces
 * @returns {Promise<QueuedRequest>}
 */
export async function queueRequest(what, replacing) {
  const edit = what.ifMatch !== undefined;
  /** @type {QueuedRequest} */
  const write = {
    kind: "request",
    childId: what.childId,
    label: what.label,
    method: what.method,
    path: what.path,
    idempotencyKey: edit ? null : crypto.randomUUID(),
    ifMatch: what.ifMatch ?? null,
    check: what.check ?? null,
    body: what.body,
    keepIn: what.keepIn ?? null,
    keepOn: what.keepOn ?? null,
    queuedAt: new Date().toISOString(),
    refusal: null,
  };
  write.seq = await enqueue(write, replacing);
  return write;
}

/**
 * @param {QueuedWrite} write
 * @param {number | undefined} replacing
 * @returns {Promise<number>} its place in the outbox
 */
async function enqueue(write, replacing) {
  const seq = await store.inTransaction([store.OUTBOX], "readwrite", (transaction) => {
    const outbox = transaction.objectStore(store.OUTBOX);
    if (replacing !== undefined) {
      outbox.delete(replacing);
    }
    return store.result(outbox.add(write));
  });
  return Number(seq);
}

/**
 * @typedef {{ sent: number, refused: number, waiting: number }} ReplayReport
 */

/**
 * Send every write still waiting, in order, stopping at the first one the network or server says to try later.
 * Rejects with Offline (nothing more can be sent now) or SignedOut (the store is wiped).
 * @returns {Promise<ReplayReport>}
 */
export async function replay() {
  return await navigator.locks.request(REPLAY_LOCK, async () => {
    /** @type {ReplayReport} */
    const report = { sent: 0, refused: 0, waiting: 0 };
    const writes = (await store.queuedWrites()).filter((write) => write.refusal === null);
    for (const [index, write] of writes.entries()) {
      const outcome = await send(write);
      if (outcome === "sent") {
        report.sent += 1;
      } else if (outcome === "refused") {
        report.refused += 1;
      } else {
        report.waiting = writes.length - index;
        break;
      }
    }
    return report;
  });
}

/**
 * @param {QueuedWrite} write
 * @returns {Promise<"sent" | "refused" | "later">}
 */
async function send(write) {
  if (write.seq === undefined) {
    throw new Error("A queued write has no place in the outbox");
  }
  try {
    if (write.kind === "request") {
      const answer = await request(write);
      if (answer === null) {
        return "refused";
      }
      await acceptedRequest(write.seq, write, answer);
      return "sent";
    }
    const session = write.kind === "create_session" ? await create(write) : await logPlanned(write);
    if (session === null) {
      return "refused";
    }
    await accepted(write.seq, session);
    return "sent";
  } catch (problem) {
    if (problem instanceof Offline) {
      return "later";
    }
    if (problem instanceof Refused) {
      if (problem.status >= 500 || problem.status === 429 || TRY_AGAIN_LATER.has(problem.reason)) {
        return "later";
      }
      await refuse(write, problem);
      return "refused";
    }
    throw problem;
  }
}

/**
 * @param {QueuedCreate} write
 * @returns {Promise<Session>}
 */
async function create(write) {
  const answer = await call("/sessions", {
    method: "POST",
    headers: { "Idempotency-Key": write.idempotencyKey },
    body: write.body,
  });
  return /** @type {Session} */ (answer.body);
}

/**
 * @param {QueuedLog} write
 * @returns {Promise<Session | null>} the session as logged, or null when it is kept as a conflict
 */
async function logPlanned(write) {
  const path = `/sessions/${encodeURIComponent(write.sessionId)}`;
  try {
    const answer = await call(path, {
      method: "PATCH",
      headers: { "If-Match": `"${write.baseVersion}"` },
      body: write.body,
    });
    return /** @type {Session} */ (answer.body);
  } catch (problem) {
    if (!(problem instanceof Refused && problem.status === 412)) {
      throw problem;
    }
    const now = /** @type {Session} */ ((await call(path)).body);
    if (holdsTheLog(now, write.body)) {
      return now; // this very write, whose answer was lost: sent once
    }
    await refuse({ ...write, theirs: now }, problem);
    return null;
  }
}

/**
 * @param {QueuedRequest} write
 * @returns {Promise<unknown>} the server's answer, or null when the write is kept as a conflict
 */
async function request(write) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (write.idempotencyKey !== null) {
    headers["Idempotency-Key"] = write.idempotencyKey;
  }
  if (write.ifMatch !== null) {
    headers["If-Match"] = `"${write.ifMatch}"`;
  }
  try {
    return (await call(write.path, { method: write.method, headers, body: write.body })).body;
  } catch (problem) {
    if (!(problem instanceof Refused && problem.status === 412 && write.check !== null)) {
      throw problem;
    }
    const check = write.check;
    const read = (await call(check.path)).body;
    const now = Array.isArray(read) ? read.find((record) => record?.id === check.id) : read;
    if (now !== undefined && says(now, check.expect)) {
      return now; // this very write, whose answer was lost: sent once
    }
    await refuse({ ...write, theirs: now ?? {} }, problem);
    return null;
  }
}

/**
 * Whether a record already says everything `expected` says (compared as JSON, field by field).
 * @param {Record<string, unknown>} record
 * @param {Record<string, unknown>} expected
 */
export function says(record, expected) {
  return Object.entries(expected).every(([name, value]) => JSON.stringify(record[name]) === JSON.stringify(value));
}

/**
 * Whether the server's session already says what the log says (so the log was applied).
 * @param {Session} session
 * @param {SessionUpdate} log
 */
export function holdsTheLog(session, log) {
  const same = (/** @type {unknown} */ a, /** @type {unknown} */ b) => JSON.stringify(a) === JSON.stringify(b);
  return (
    (log.status === undefined || session.status === log.status) &&
    (log.actual_duration_minutes === undefined || session.actual_duration_minutes === log.actual_duration_minutes) &&
    (log.activities === undefined || same([...(session.activities ?? [])].sort(), [...log.activities].sort())) &&
    (log.notes === undefined || session.notes === log.notes)
  );
}

/**
 * @param {number} seq
 * @param {Session} session
 */
function accepted(seq, session) {
  return store.inTransaction([store.OUTBOX, store.SESSIONS], "readwrite", (transaction) => {
    transaction.objectStore(store.OUTBOX).delete(seq);
    transaction.objectStore(store.SESSIONS).put(session);
  });
}

/**
 * @param {number} seq
 * @param {{ keepIn: string | null, keepOn?: { store: string, id: string, field: string } | null }} where
 * @param {unknown} answer
 */
function acceptedRequest(seq, { keepIn, keepOn }, answer) {
  const isRecord = answer !== null && typeof answer === "object";
  const keeps = keepIn !== null && isRecord && "id" in answer;
  // An answer that is a part of another record the phone holds (a session's lone-working check) goes into it, so
  // the phone shows what the server said at once, not only after the sync feed brings the record again.
  const into = isRecord ? (keepOn ?? null) : null;
  const stores = [store.OUTBOX, ...(keeps ? [keepIn] : []), ...(into !== null ? [into.store] : [])];
  return store.inTransaction(stores, "readwrite", async (transaction) => {
    transaction.objectStore(store.OUTBOX).delete(seq);
    if (keeps) {
      transaction.objectStore(keepIn).put(answer);
    }
    if (into !== null) {
      const records = transaction.objectStore(into.store);
      const record = await store.result(records.get(into.id));
      if (record !== undefined && record !== null && typeof record === "object") {
        records.put({ ...record, [into.field]: answer });
      }
    }
  });
}

/**
 * Keep the write with the server's reason, to show the mentor.
 * @param {QueuedWrite} write
 * @param {Refused} problem
 */
function refuse(write, problem) {
  const message = problem.body === null ? `The server refused it (HTTP ${problem.status})` : problem.body.message;
  return store.put(store.OUTBOX, {
    ...write,
    refusal: {
      status: problem.status,
      reason: problem.reason,
      message,
      refusedAt: new Date().toISOString(),
      facts: problem.body,
    },
  });
}

/**
 * The mentor has read a refusal and lets the write go.
 * @param {number} seq
 */
export function discard(seq) {
  return store.remove(store.OUTBOX, seq);
}
