// The PIN lock: the app locks after 15 minutes without a touch, and when it is opened after that long, and only
// the mentor's PIN opens it again. Five wrong PINs in a row wipe the phone, as signing out does.
//
// What it protects, plainly: the screens. Someone who picks up an unlocked phone, or opens the app on it, sees
// nothing of the caseload without the PIN. It does not encrypt the data kept in the browser's storage: someone
// who can read the phone's storage directly (a rooted phone, a browser's developer tools on a phone plugged into a
// computer) reads it whatever the lock says, and could try every PIN against the hash kept beside it. The phone's
// own screen lock and encryption are what protect the data at rest; revoking the sign-in wipes it at the next
// contact. The PIN is kept only as a salted PBKDF2 hash, never as it was typed.

import * as store from "./store.js";

export const IDLE_MS = 15 * 60_000;
export const MOST_WRONG_PINS = 5;
const PIN_PATTERN = /^[0-9]{4,8}$/;
const ITERATIONS = 310_000;
const PIN = "pin";
const LAST_ACTIVE = "last_active";
// Touches are written down at most this often (each is an IndexedDB write).
const TOUCH_EVERY_MS = 30_000;

/** @typedef {{ salt: Uint8Array<ArrayBuffer>, hash: ArrayBuffer, wrong: number }} KeptPin */

/** @param {string} pin */
export function pinProblem(pin) {
  return PIN_PATTERN.test(pin) ? null : "A PIN is 4 to 8 digits.";
}

/**
 * @param {string} pin
 * @param {Uint8Array<ArrayBuffer>} salt
 */
async function hashOf(pin, salt) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  return crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: ITERATIONS }, material, 256);
}

/** @returns {Promise<KeptPin | undefined>} */
async function keptPin() {
  return /** @type {KeptPin | undefined} */ (await store.getMeta(PIN));
}

export async function hasPin() {
  return (await keptPin()) !== undefined;
}

/** @param {string} pin */
export async function setPin(pin) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  /** @type {KeptPin} */
  const kept = { salt, hash: await hashOf(pin, salt), wrong: 0 };
  await store.putMeta(PIN, kept);
  await touch(true);
}

/**
 * @param {string} pin
 * @returns {Promise<{ opened: true } | { opened: false, triesLeft: number }>} none left: the phone was wiped
 */
export async function tryPin(pin) {
  const kept = await keptPin();
  if (kept === undefined) {
    return { opened: true };
  }
  const typed = new Uint8Array(await hashOf(pin, kept.salt));
  const right = new Uint8Array(kept.hash);
  const same = typed.length === right.length && typed.every((byte, index) => byte === right[index]);
  if (same) {
    await store.putMeta(PIN, { ...kept, wrong: 0 });
    await touch(true);
    return { opened: true };
  }
  const wrong = kept.wrong + 1;
  if (wrong >= MOST_WRONG_PINS) {
    return { opened: false, triesLeft: 0 };
  }
  await store.putMeta(PIN, { ...kept, wrong });
  return { opened: false, triesLeft: MOST_WRONG_PINS - wrong };
}

let lastTouch = 0;
let lastWritten = 0;

/**
 * The mentor is using the app (a tap or a key).
 * @param {boolean} [now] write it down at once (not only every half minute)
 */
export async function touch(now = false) {
  lastTouch = Date.now();
  if (now || lastTouch - lastWritten >= TOUCH_EVERY_MS) {
    lastWritten = lastTouch;
    await store.putMeta(LAST_ACTIVE, lastTouch);
  }
}

/** Whether the app has gone unused long enough to lock (in this run, or since it was last used, on opening). */
export async function idleTooLong() {
  if (lastTouch === 0) {
    const kept = await store.getMeta(LAST_ACTIVE);
    lastTouch = typeof kept === "number" ? kept : 0;
  }
  return Date.now() - lastTouch >= IDLE_MS;
}
