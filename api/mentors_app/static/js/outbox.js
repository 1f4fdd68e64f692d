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

import { Offline, Refused, call } from "./api.js";
import * as store from "./store.js";

/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
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
  /** @type {QueuedWrite} */
  const write = {
    kind: "create_session",
    childId,
    idempotencyKey: crypto.randomUUID(),
    body: { ...session, id: crypto.randomUUID() },
    queuedAt: new Date().toISOString(),
    refusal: null,
  };
  const seq = await store.inTransaction([store.OUTBOX], "readwrite", (transaction) => {
    const outbox = transaction.objectStore(store.OUTBOX);
    if (replacing !== undefined) {
      outbox.delete(replacing);
    }
    return store.result(outbox.add(write));
  });
  write.seq = Number(seq);
  return write;
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
  const seq = write.seq;
  try {
    const answer = await call("/sessions", {
      method: "POST",
      headers: { "Idempotency-Key": write.idempotencyKey },
      body: write.body,
    });
    const session = /** @type {Session} */ (answer.body);
    await store.inTransaction([store.OUTBOX, store.SESSIONS], "readwrite", (transaction) => {
      transaction.objectStore(store.OUTBOX).delete(seq);
      transaction.objectStore(store.SESSIONS).put(session);
    });
    return "sent";
  } catch (problem) {
    if (problem instanceof Offline) {
      return "later";
    }
    if (problem instanceof Refused) {
      if (problem.status >= 500 || problem.status === 429 || TRY_AGAIN_LATER.has(problem.reason)) {
        return "later";
      }
      const message = problem.body === null ? `The server refused it (HTTP ${problem.status})` : problem.body.message;
      await store.put(store.OUTBOX, {
        ...write,
        refusal: {
          status: problem.status,
          reason: problem.reason,
          message,
          refusedAt: new Date().toISOString(),
          facts: problem.body,
        },
      });
      return "refused";
    }
    throw problem;
  }
}

/**
 * The mentor has read a refusal and lets the write go.
 * @param {number} seq
 */
export function discard(seq) {
  return store.remove(store.OUTBOX, seq);
}
