// The phone's copy of the mentor's caseload, in IndexedDB: children, sessions, alerts, check-ins, goals, weekly
// patterns, group series and missing episodes as the sync feed last gave them, programmes and the wellbeing
// instruments (as data, from GET /instruments), the sync cursor, the sign-in's tokens, the PIN lock's hash, and the outbox of writes not yet
// accepted by the server.
// Everything is wiped on sign-out and when the server says the sign-in is over (a lost phone's sign-in revoked).

/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Session} Session */
/** @typedef {import("./types.js").Programme} Programme */
/** @typedef {import("./types.js").Alert} Alert */
/** @typedef {import("./types.js").TokenPair} TokenPair */
/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./types.js").OnDutyNow} OnDutyNow */
/** @typedef {import("./types.js").Instrument} Instrument */

const DATABASE = "reachable-mentors";
const VERSION = 2;
export const CHILDREN = "children";
export const SESSIONS = "sessions";
export const PROGRAMMES = "programmes";
export const OUTBOX = "outbox";
export const META = "meta";
export const ALERTS = "alerts";
export const CHECK_INS = "check_ins";
export const GOALS = "goals";
export const PATTERNS = "patterns";
export const GROUP_SERIES = "group_series";
export const MISSING_EPISODES = "missing_episodes";
export const INSTRUMENTS = "instruments";
/** The stores of records about children, each keyed by id and carrying `child_id` (forgotten with the child). */
export const CHILD_RECORDS = [CHECK_INS, GOALS, PATTERNS, MISSING_EPISODES];
const ALL_STORES = [CHILDREN, SESSIONS, PROGRAMMES, ALERTS, OUTBOX, META, GROUP_SERIES, INSTRUMENTS, ...CHILD_RECORDS];
const TOKENS = "tokens";
const CURSOR = "cursor";
// Who was on duty at the last contact, kept so a mentor with no data signal can still phone them.
const DUTY = "duty";

/** @type {Promise<IDBDatabase> | null} */
let opened = null;

/** @returns {Promise<IDBDatabase>} */
export function database() {
  if (opened === null) {
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open(DATABASE, VERSION);
      request.onupgradeneeded = (event) => {
        const db = request.result;
        if (event.oldVersion < 1) {
          db.createObjectStore(CHILDREN, { keyPath: "id" });
          db.createObjectStore(SESSIONS, { keyPath: "id" });
          db.createObjectStore(PROGRAMMES, { keyPath: "id" });
          db.createObjectStore(ALERTS, { keyPath: "id" });
          db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
          db.createObjectStore(META);
        }
        if (event.oldVersion < 2) {
          for (const name of [...CHILD_RECORDS, GROUP_SERIES]) {
            db.createObjectStore(name, { keyPath: "id" });
          }
          db.createObjectStore(INSTRUMENTS, { keyPath: "key" });
          if (event.oldVersion >= 1) {
            // The first version skipped check-ins, goals, patterns and series in the feed: read it all again.
            request.transaction?.objectStore(META).delete(CURSOR);
          }
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opened;
}

/**
 * @template T
 * @param {IDBRequest<T>} request
 * @returns {Promise<T>}
 */
export function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Run `work` in one transaction over `stores`; resolves once it has committed (all of it or none).
 * @template T
 * @param {string[]} stores
 * @param {IDBTransactionMode} mode
 * @param {(transaction: IDBTransaction) => Promise<T> | T} work
 * @returns {Promise<T>}
 */
export async function inTransaction(stores, mode, work) {
  const db = await database();
  const transaction = db.transaction(stores, mode);
  const done = new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve(undefined);
    transaction.onabort = () => reject(transaction.error);
    transaction.onerror = () => reject(transaction.error);
  });
  const value = await work(transaction);
  await done;
  return value;
}

/**
 * @param {string} store
 * @returns {Promise<unknown[]>}
 */
function everything(store) {
  return inTransaction([store], "readonly", (transaction) => result(transaction.objectStore(store).getAll()));
}

/** @returns {Promise<Child[]>} */
export async function children() {
  return /** @type {Child[]} */ (await everything(CHILDREN));
}

/** @returns {Promise<Session[]>} */
export async function sessions() {
  return /** @type {Session[]} */ (await everything(SESSIONS));
}

/** @returns {Promise<Alert[]>} */
export async function alerts() {
  return /** @type {Alert[]} */ (await everything(ALERTS));
}

/**
 * Every record in one of the stores of CHILD_RECORDS (or the series), as the caller's type.
 * @param {string} store
 * @returns {Promise<any[]>}
 */
export function records(store) {
  return everything(store);
}

/** @returns {Promise<Instrument[]>} */
export async function instruments() {
  return /** @type {Instrument[]} */ (await everything(INSTRUMENTS));
}

/** @returns {Promise<Programme[]>} */
export async function programmes() {
  return /** @type {Programme[]} */ (await everything(PROGRAMMES));
}

/** @returns {Promise<QueuedWrite[]>} in the order they were made */
export async function queuedWrites() {
  return /** @type {QueuedWrite[]} */ (await everything(OUTBOX));
}

/**
 * @param {string} store
 * @param {unknown} record
 */
export function put(store, record) {
  return inTransaction([store], "readwrite", (transaction) => result(transaction.objectStore(store).put(record)));
}

/**
 * @param {string} store
 * @param {IDBValidKey} key
 */
export function remove(store, key) {
  return inTransaction([store], "readwrite", (transaction) => result(transaction.objectStore(store).delete(key)));
}

/** @returns {Promise<TokenPair | undefined>} */
export async function tokens() {
  const value = await inTransaction([META], "readonly", (transaction) =>
    result(transaction.objectStore(META).get(TOKENS)),
  );
  return /** @type {TokenPair | undefined} */ (value);
}

/** @param {TokenPair} pair */
export function saveTokens(pair) {
  return inTransaction([META], "readwrite", (transaction) => result(transaction.objectStore(META).put(pair, TOKENS)));
}

/**
 * @param {string} key
 * @returns {Promise<unknown>}
 */
export function getMeta(key) {
  return inTransaction([META], "readonly", (transaction) => result(transaction.objectStore(META).get(key)));
}

/**
 * @param {string} key
 * @param {unknown} value
 */
export function putMeta(key, value) {
  return inTransaction([META], "readwrite", (transaction) => result(transaction.objectStore(META).put(value, key)));
}

/** @returns {Promise<OnDutyNow | undefined>} */
export async function dutyNow() {
  return /** @type {OnDutyNow | undefined} */ (await getMeta(DUTY));
}

/** @param {OnDutyNow} duty */
export function saveDutyNow(duty) {
  return putMeta(DUTY, duty);
}

/** @returns {Promise<string | undefined>} */
export async function cursor() {
  const value = await inTransaction([META], "readonly", (transaction) =>
    result(transaction.objectStore(META).get(CURSOR)),
  );
  return typeof value === "string" ? value : undefined;
}

/**
 * Keep the cursor in the same transaction as the page's changes: the phone never holds one without the other.
 * @param {IDBTransaction} transaction
 * @param {string} value
 */
export function saveCursorIn(transaction, value) {
  transaction.objectStore(META).put(value, CURSOR);
}

/** @param {IDBTransaction} transaction */
export function forgetCursorIn(transaction) {
  transaction.objectStore(META).delete(CURSOR);
}

/** Forget everything: the caseload, the cursor, the tokens and any write not yet sent. */
export function wipe() {
  return inTransaction(ALL_STORES, "readwrite", (transaction) => {
    for (const store of ALL_STORES) {
      transaction.objectStore(store).clear();
    }
  });
}
