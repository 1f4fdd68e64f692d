// Bringing the phone up to date from GET /sync, page by page from the cursor it last kept.
//
// Each page's changes and its cursor are stored in one IndexedDB transaction, so an interrupted sync (the signal
// drops, the app is closed) starts again exactly where the last stored page ended, and nothing is applied twice
// or skipped. A child the mentor no longer holds comes as `access_revoked`: the child, their sessions, their other
// records and any write of theirs still waiting are forgotten at once. Missing episodes come as references only
// (the feed never carries their details): each one named is read afterwards, by id.

import { Refused, call } from "./api.js";
import * as store from "./store.js";

/** @typedef {import("./types.js").SyncPage} SyncPage */
/** @typedef {import("./types.js").Change} Change */
/** @typedef {import("./types.js").Session} Session */
/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./types.js").Programme} Programme */

// Small pages, as a phone on a weak signal should ask for.
const PAGE_SIZE = 100;

/**
 * @typedef {{ changes: number, forgottenChildren: number, droppedWrites: number, episodes: Set<string> }} SyncReport
 */

/** @returns {Promise<SyncReport>} */
export async function syncFeed() {
  /** @type {SyncReport} */
  const report = { changes: 0, forgottenChildren: 0, droppedWrites: 0, episodes: new Set() };
  let cursor = await store.cursor();
  for (;;) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor !== undefined) {
      query.set("cursor", cursor);
    }
    /** @type {import("./api.js").Answer} */
    let answer;
    try {
      answer = await call(`/sync?${query}`);
    } catch (problem) {
      if (problem instanceof Refused && problem.status === 422 && cursor !== undefined) {
        // The server no longer reads this cursor (say, after an upgrade): start again from everything.
        await forgetTheCaseload();
        cursor = undefined;
        continue;
      }
      throw problem;
    }
    const page = /** @type {SyncPage} */ (answer.body);
    const stores = [store.CHILDREN, store.SESSIONS, store.ALERTS, store.OUTBOX, store.META, store.GROUP_SERIES];
    stores.push(...store.CHILD_RECORDS);
    await store.inTransaction(stores, "readwrite", async (transaction) => {
      for (const change of page.changes) {
        await apply(transaction, change, report);
      }
      store.saveCursorIn(transaction, page.cursor);
    });
    report.changes += page.changes.length;
    cursor = page.cursor;
    if (!page.has_more) {
      await fetchEpisodes(report.episodes);
      return report;
    }
  }
}

/** What the feed gave, and its cursor, forgotten together (the outbox stays: it is the mentor's own work). */
function forgetTheCaseload() {
  const records = [store.CHILDREN, store.SESSIONS, store.ALERTS, store.GROUP_SERIES, ...store.CHILD_RECORDS];
  return store.inTransaction([...records, store.META], "readwrite", (transaction) => {
    for (const name of records) {
      transaction.objectStore(name).clear();
    }
    store.forgetCursorIn(transaction);
  });
}

/**
 * @param {IDBTransaction} transaction
 * @param {Change} change
 * @param {SyncReport} report
 */
async function apply(transaction, change, report) {
  const children = transaction.objectStore(store.CHILDREN);
  const sessions = transaction.objectStore(store.SESSIONS);
  if (change.op === "access_revoked") {
    await forgetChild(transaction, change.child_id, report);
  } else if (change.type === "child") {
    if (change.child !== null) {
      children.put(change.child);
    } else if (change.op === "delete") {
      children.delete(change.id);
    }
  } else if (change.type === "session") {
    if (change.session !== null) {
      sessions.put(change.session);
    } else if (change.op === "delete") {
      sessions.delete(change.id);
    }
  } else if (change.type === "alert") {
    keep(transaction.objectStore(store.ALERTS), change, change.alert);
  } else if (change.type === "check_in") {
    keep(transaction.objectStore(store.CHECK_INS), change, change.check_in);
  } else if (change.type === "goal") {
    keep(transaction.objectStore(store.GOALS), change, change.goal);
  } else if (change.type === "pattern") {
    keep(transaction.objectStore(store.PATTERNS), change, change.pattern);
  } else if (change.type === "group_series") {
    keep(transaction.objectStore(store.GROUP_SERIES), change, change.group_series);
  } else if (change.type === "missing_episode") {
    if (change.op === "delete") {
      transaction.objectStore(store.MISSING_EPISODES).delete(change.id);
      report.episodes.delete(change.id);
    } else {
      report.episodes.add(change.id);
    }
  }
}

/**
 * @param {IDBObjectStore} records
 * @param {{ op: string, id: string }} change
 * @param {unknown} record
 */
function keep(records, change, record) {
  if (record !== null && record !== undefined) {
    records.put(record);
  } else if (change.op === "delete") {
    records.delete(change.id);
  }
}

/**
 * Read the missing episodes the feed named; one gone meanwhile (404) is forgotten.
 * @param {Set<string>} ids
 */
async function fetchEpisodes(ids) {
  for (const id of ids) {
    try {
      const answer = await call(`/missing-episodes/${encodeURIComponent(id)}`);
      await store.put(store.MISSING_EPISODES, answer.body);
    } catch (problem) {
      if (!(problem instanceof Refused && problem.status === 404)) {
        throw problem;
      }
      await store.remove(store.MISSING_EPISODES, id);
    }
  }
}

/**
 * @param {IDBTransaction} transaction
 * @param {string} childId
 * @param {SyncReport} report
 */
async function forgetChild(transaction, childId, report) {
  transaction.objectStore(store.CHILDREN).delete(childId);
  report.forgottenChildren += 1;
  const sessions = transaction.objectStore(store.SESSIONS);
  const held = /** @type {Session[]} */ (await store.result(sessions.getAll()));
  for (const session of held) {
    if (session.attendees.some((attendee) => attendee.child_id === childId)) {
      sessions.delete(session.id);
    }
  }
  for (const name of [store.ALERTS, ...store.CHILD_RECORDS]) {
    const records = transaction.objectStore(name);
    const held = /** @type {{ id: string, child_id: string | null }[]} */ (await store.result(records.getAll()));
    for (const record of held) {
      if (record.child_id === childId) {
        records.delete(record.id);
      }
    }
  }
  // A write about a child the mentor no longer holds would be refused, and must not stay on the phone either.
  const outbox = transaction.objectStore(store.OUTBOX);
  const queued = /** @type {QueuedWrite[]} */ (await store.result(outbox.getAll()));
  for (const write of queued) {
    if (write.childId === childId && write.seq !== undefined) {
      outbox.delete(write.seq);
      report.droppedWrites += 1;
    }
  }
}

/** Fetch the programmes of the children held that the phone does not have yet (their activities, for logging). */
export async function fetchMissingProgrammes() {
  const known = new Set((await store.programmes()).map((programme) => programme.id));
  const wanted = new Set((await store.children()).map((child) => child.programme_id));
  for (const programmeId of wanted) {
    if (!known.has(programmeId)) {
      const answer = await call(`/programmes/${encodeURIComponent(programmeId)}`);
      await store.put(store.PROGRAMMES, /** @type {Programme} */ (answer.body));
    }
  }
}

/** The wellbeing instruments the deployment offers, as data (their items and scales), fetched once. */
export async function fetchInstruments() {
  if ((await store.instruments()).length > 0) {
    return;
  }
  const answer = await call("/instruments");
  const instruments = /** @type {import("./types.js").Instrument[]} */ (answer.body);
  await store.inTransaction([store.INSTRUMENTS], "readwrite", (transaction) => {
    for (const instrument of instruments) {
      transaction.objectStore(store.INSTRUMENTS).put(instrument);
    }
  });
}

/** Who is on duty now, with their work mobiles, kept for the concern form's tap-to-call links (offline too). */
export async function fetchOnDutyNow() {
  const answer = await call("/duty-rota/now");
  await store.saveDutyNow(/** @type {import("./types.js").OnDutyNow} */ (answer.body));
}
