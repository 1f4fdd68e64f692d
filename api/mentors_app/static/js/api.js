// Talking to Reachable's API: the bearer token on every call, and the token refresh.
//
// The refresh is the delicate part. A refresh token works once, and the server takes a second use of one as a
// copied token and ends the whole sign-in. So only one refresh may run at a time, across every tab of the app
// (a Web Lock), and whoever waited for it uses the pair it got instead of refreshing again. When the refresh
// itself is refused (401), the sign-in is over — signed out elsewhere, expired, or revoked because the phone
// was lost — and the phone forgets everything it holds (store.wipe) before anything else happens.

import * as store from "./store.js";

/** @typedef {import("./types.js").ApiError} ApiError */
/** @typedef {import("./types.js").TokenPair} TokenPair */

const REFRESH_LOCK = "reachable-token-refresh";

/** The network is down (or the server unreachable): nothing was learnt, try again later. */
export class Offline extends Error {}

/** The sign-in is over and the phone's store has been wiped: sign in again. */
export class SignedOut extends Error {}

/** The server answered, but not with success. */
export class Refused extends Error {
  /**
   * @param {number} status
   * @param {ApiError | null} body
   */
  constructor(status, body) {
    super(body === null ? `HTTP ${status}` : `${status} ${body.reason}: ${body.message}`);
    this.status = status;
    this.body = body;
  }

  get reason() {
    return this.body === null ? "unknown" : this.body.reason;
  }
}

/**
 * @typedef {{ method?: string, body?: unknown, headers?: Record<string, string>, signedIn?: boolean }} CallOptions
 * @typedef {{ status: number, headers: Headers, body: unknown }} Answer
 */

/**
 * @param {string} path
 * @param {CallOptions} options
 * @param {string | undefined} accessToken
 * @returns {Promise<Answer>}
 */
async function send(path, options, accessToken) {
  const headers = new Headers(options.headers);
  headers.set("Accept", "application/json");
  if (options.body !== undefined) {
    headers.set("Content-Type", "application/json");
  }
  if (accessToken !== undefined) {
    headers.set("Authorization", `Bearer ${accessToken}`);
  }
  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new Offline("The network is unavailable");
  }
  const text = await response.text().catch(() => "");
  /** @type {unknown} */
  let body = null;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  return { status: response.status, headers: response.headers, body };
}

/**
 * @param {unknown} body
 * @returns {ApiError | null}
 */
function errorEnvelope(body) {
  if (typeof body === "object" && body !== null && "reason" in body && "message" in body) {
    return /** @type {ApiError} */ (body);
  }
  return null;
}

/**
 * Call the API; resolves with a 2xx answer, rejects with Offline, SignedOut or Refused.
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<Answer>}
 */
export async function call(path, options = {}) {
  const signedIn = options.signedIn ?? true;
  const pair = signedIn ? await store.tokens() : undefined;
  if (signedIn && pair === undefined) {
    throw new SignedOut("Not signed in");
  }
  let answer = await send(path, options, pair?.access_token);
  if (answer.status === 401 && pair !== undefined) {
    const fresh = await refreshAfter(pair.access_token);
    answer = await send(path, options, fresh.access_token);
    if (answer.status === 401) {
      await store.wipe();
      throw new SignedOut("The sign-in was refused");
    }
  }
  if (answer.status >= 200 && answer.status < 300) {
    return answer;
  }
  throw new Refused(answer.status, errorEnvelope(answer.body));
}

/**
 * A new pair, once per expired access token, however many calls and tabs found it expired at once.
 * @param {string} expiredAccessToken
 * @returns {Promise<TokenPair>}
 */
async function refreshAfter(expiredAccessToken) {
  return await navigator.locks.request(REFRESH_LOCK, async () => {
    const pair = await store.tokens();
    if (pair === undefined) {
      throw new SignedOut("Signed out meanwhile");
    }
    if (pair.access_token !== expiredAccessToken) {
      return pair; // another call or tab refreshed while this one waited
    }
    const answer = await send("/auth/refresh", { method: "POST", body: { refresh_token: pair.refresh_token } }, undefined);
    if (answer.status === 401) {
      await store.wipe();
      throw new SignedOut("The sign-in has ended");
    }
    if (answer.status !== 200) {
      throw new Refused(answer.status, errorEnvelope(answer.body));
    }
    const fresh = /** @type {TokenPair} */ (answer.body);
    await store.saveTokens(fresh);
    return fresh;
  });
}

/**
 * The password was right, and the account signs in with a second factor too: the challenge opens only that step,
 * for a few minutes. Not `enrolled`: the authenticator is set up first (a new account, or one an admin reset).
 */
export class SecondFactorNeeded extends Error {
  /**
   * @param {string} challenge
   * @param {boolean} enrolled
   */
  constructor(challenge, enrolled) {
    super("A second factor is needed to sign in");
    this.challenge = challenge;
    this.enrolled = enrolled;
  }
}

/**
 * @param {string} email
 * @param {string} password
 */
export async function signIn(email, password) {
  let answer;
  try {
    answer = await call("/auth/sign-in", { method: "POST", body: { email, password }, signedIn: false });
  } catch (problem) {
    const body = problem instanceof Refused ? problem.body : null;
    if (body?.reason === "mfa_required" && body.challenge_token !== undefined) {
      throw new SecondFactorNeeded(body.challenge_token, body.mfa_enrolled ?? true);
    }
    throw problem;
  }
  await signedIn(/** @type {TokenPair} */ (answer.body));
}

/**
 * The second step: a code from the authenticator app, or one of the recovery codes.
 * @param {string} challenge
 * @param {{ code: string } | { recovery_code: string }} proof
 */
export async function proveSecondFactor(challenge, proof) {
  const body = { challenge_token: challenge, ...proof };
  const answer = await call("/auth/mfa/verify", { method: "POST", body, signedIn: false });
  await signedIn(/** @type {TokenPair} */ (answer.body));
}

/**
 * Setting up the authenticator: its secret, to open in the authenticator app or type in.
 * @param {string} challenge
 * @returns {Promise<import("./types.js").MfaEnrolment>}
 */
export async function startEnrolment(challenge) {
  const answer = await call("/auth/mfa/enrolment", { method: "POST", body: { challenge_token: challenge }, signedIn: false });
  return /** @type {import("./types.js").MfaEnrolment} */ (answer.body);
}

/**
 * The authenticator's first code confirms it and signs in.
 * @param {string} challenge
 * @param {string} code
 * @returns {Promise<string[]>} the recovery codes, shown this once
 */
export async function confirmEnrolment(challenge, code) {
  const body = { challenge_token: challenge, code };
  const answer = await call("/auth/mfa/enrolment/confirm", { method: "POST", body, signedIn: false });
  const enrolled = /** @type {import("./types.js").EnrolledSignIn} */ (answer.body);
  await signedIn(enrolled);
  return enrolled.recovery_codes;
}

/** @param {TokenPair} pair */
async function signedIn(pair) {
  await store.wipe(); // whatever an earlier sign-in left (there should be nothing)
  await store.saveTokens({
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    token_type: pair.token_type,
    expires_in: pair.expires_in,
  });
}

/** End this phone's sign-in on the server if it can be reached, and forget everything here either way. */
export async function signOut() {
  try {
    await call("/auth/sign-out", { method: "POST" });
  } catch (problem) {
    if (!(problem instanceof Offline || problem instanceof SignedOut || problem instanceof Refused)) {
      throw problem;
    }
  } finally {
    await store.wipe();
  }
}
