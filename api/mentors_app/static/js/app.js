// The mentors' app: which screen is open, signing in and out, and when to send and sync.
//
// Navigation lives in memory (and in the browser's history state, so Back works), never in the address: the URL
// stays /app whatever is open, so nothing about a child reaches the address bar, history entries or a
// shared-screen glance at the URL.

import {
  Offline,
  Refused,
  SecondFactorNeeded,
  SignedOut,
  confirmEnrolment,
  proveSecondFactor,
  signIn,
  signOut,
  startEnrolment,
} from "./api.js";
import { dayAndTime } from "./dom.js";
import { discard, queueLog, queueRequest, queueSession, replay } from "./outbox.js";
import * as casework from "./casework.js";
import * as lock from "./lock.js";
import * as screens from "./screens.js";
import * as signInScreens from "./screens_sign_in.js";
import * as wellbeingScreens from "./screens_wellbeing.js";
import * as groups from "./screens_groups.js";
import * as patterns from "./screens_patterns.js";
import * as store from "./store.js";
import { fetchInstruments, fetchMissingProgrammes, fetchOnDutyNow, syncFeed } from "./sync.js";
import { ageOn, suitableInstruments, summaries } from "./wellbeing.js";

/** @typedef {import("./types.js").SessionCreate} SessionCreate */
/** @typedef {import("./types.js").SessionUpdate} SessionUpdate */

/**
 * @typedef {{ name: "sign_in" } | { name: "caseload" } | { name: "child", childId: string }
 *   | { name: "log", childId: string, concern?: boolean } | { name: "plan", childId: string }
 *   | { name: "change", childId: string, seq: number } | { name: "log_planned", childId: string, sessionId: string }
 *   | { name: "check_in", childId: string } | { name: "new_goal", childId: string }
 *   | { name: "goal", childId: string, goalId: string } | import("./casework.js").CaseworkPlace
 *   | { name: "register", sessionId: string } | { name: "pattern", childId: string }} Place
 */

const BACKGROUND_SYNC_MS = 60_000;

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`The shell has no #${id}`);
  }
  return found;
}

const main = element("screen");
const lockArea = element("lock");
const status = element("status");
const syncButton = /** @type {HTMLButtonElement} */ (element("sync-now"));
const signOutButton = /** @type {HTMLButtonElement} */ (element("sign-out"));
const update = element("update");
const updateNow = /** @type {HTMLButtonElement} */ (element("update-now"));

/** @type {Place} */
let place = { name: "sign_in" };
/** @type {string | null} said on the screen until the mentor moves on (a saved session, the end of a sign-in) */
let notice = null;
/** @type {Promise<void> | null} */
let syncing = null;
/** Locked: the screen is hidden (kept as it was, a form half filled in too) and only the PIN screen shows. */
let isLocked = false;
/**
 * Between a sign-in's two steps: its challenge (in memory only, never in the history or the store: it opens the
 * second step for a few minutes), whether the account has an authenticator yet, and if not, the one being set up.
 * @type {{ challenge: string, enrolment: import("./types.js").MfaEnrolment | null } | null}
 */
let secondStep = null;
/** @type {string[] | null} the recovery codes of an authenticator just set up, shown once before anything else */
let recoveryToShow = null;

/** @type {screens.Navigation} */
const nav = {
  openChild: (childId) => go({ name: "child", childId }),
  logSession: (childId) => go({ name: "log", childId }),
  planSession: (childId) => go({ name: "plan", childId }),
  caseload: () => go({ name: "caseload" }),
  logPlanned: (childId, sessionId) => go({ name: "log_planned", childId, sessionId }),
  raiseConcern: (childId) => go({ name: "log", childId, concern: true }),
  takeRegister: (sessionId) => go({ name: "register", sessionId }),
  setPattern: (childId) => go({ name: "pattern", childId }),
  sendMine: async (seq) => {
    const write = (await store.queuedWrites()).find((candidate) => candidate.seq === seq);
    if (write?.kind === "log_session" && write.theirs !== undefined) {
      await queueLog(write.childId, write.theirs, write.body, seq);
      notice = "Your log will replace the server's version.";
      await draw({ moveFocus: false });
      void syncNow();
    }
  },
  change: async (seq) => {
    const write = (await store.queuedWrites()).find((candidate) => candidate.seq === seq);
    if (write !== undefined) {
      await go({ name: "change", childId: write.childId, seq });
    }
  },
  discard: async (seq) => {
    await discard(seq);
    await draw();
  },
};

/** @param {Place} next */
async function go(next) {
  place = next;
  notice = null;
  history.pushState({ place: next }, "", location.pathname);
  await draw();
}

window.addEventListener("popstate", (event) => {
  const state = /** @type {{ place?: Place } | null} */ (event.state);
  place = state?.place ?? { name: "caseload" };
  notice = null;
  void draw();
});

/** @param {{ moveFocus?: boolean }} [options] a screen the mentor opened takes the focus; a redraw does not */
let draws = 0;

async function draw({ moveFocus = true } = {}) {
  // A draw reads the phone's store before it shows its screen: one begun earlier (a background sync's) must never
  // finish over a later one (the mentor moving on), or the screen they asked for is lost.
  const mine = ++draws;
  const signedIn = (await store.tokens()) !== undefined;
  if (!signedIn) {
    place = { name: "sign_in" };
  } else if (place.name === "sign_in") {
    place = { name: "caseload" };
  }
  const pinSet = signedIn && (await lock.hasPin());
  signOutButton.hidden = !pinSet || isLocked;
  syncButton.hidden = !pinSet || isLocked;
  if (signedIn && recoveryToShow !== null) {
    const codes = recoveryToShow;
    main.replaceChildren(
      signInScreens.recoveryCodes(codes, {
        onKept: () => {
          recoveryToShow = null;
          void draw();
        },
      }),
    );
    main.querySelector("h1")?.focus();
    return;
  }
  if (signedIn && !pinSet) {
    main.replaceChildren(screens.setPin({ onSubmit: submitNewPin }));
    if (moveFocus) {
      main.querySelector("h1")?.focus();
    }
    await showStatus();
    return;
  }
  const focused = document.activeElement;
  const keep = focused !== null && main.contains(focused) ? { tag: focused.tagName, text: focused.textContent } : null;
  const screen = await screenFor(place);
  if (mine !== draws) {
    return;
  }
  main.replaceChildren(screen);
  if (moveFocus) {
    // A screen may name the field it opened for (a concern to raise); otherwise its heading takes the focus.
    /** @type {HTMLElement | null} */ (main.querySelector("[data-focus]") ?? main.querySelector("h1"))?.focus();
  } else if (keep !== null) {
    // Redrawn under the mentor's hands: the focus stays on the same heading or button, not lost to the page.
    const same = [...main.querySelectorAll(keep.tag)].find((candidate) => candidate.textContent === keep.text);
    if (same instanceof HTMLElement) {
      same.focus();
    }
  }
  await showStatus();
}

/**
 * @param {Place} at
 * @returns {Promise<HTMLElement>}
 */
async function screenFor(at) {
  const now = new Date();
  if (at.name === "sign_in") {
    return secondStep === null ? screens.signIn({ onSubmit: submitSignIn, notice }) : secondStepScreen(secondStep);
  }
  const [children, sessions, writes, alerts] = await Promise.all([
    store.children(),
    store.sessions(),
    store.queuedWrites(),
    store.alerts(),
  ]);
  if (at.name === "caseload") {
    const extras = await work.caseloadExtras({ writes, now });
    return screens.caseload({ children, sessions, writes, now, notice, extras }, nav);
  }
  if (at.name === "register") {
    const session = sessions.find((candidate) => candidate.id === at.sessionId);
    if (session !== undefined && groups.registerOpen(session)) {
      return registerScreen(session, children);
    }
    place = { name: "caseload" };
    return screens.caseload({ children, sessions, writes, now, notice }, nav);
  }
  const child = children.find((candidate) => candidate.id === at.childId);
  if (child === undefined) {
    // Reallocated away (or never here): the child is gone from the phone.
    place = { name: "caseload" };
    return screens.caseload({ children, sessions, writes, now, notice }, nav);
  }
  if (at.name === "child") {
    return await childScreen(child, sessions, writes, alerts, now);
  }
  if (at.name === "check_in" || at.name === "new_goal" || at.name === "goal") {
    return await wellbeingScreen(at, child, sessions, writes, now);
  }
  if (casework.isCaseworkPlace(at)) {
    const screen = await work.screen(at, { child, sessions, writes, now });
    if (screen !== null) {
      return screen;
    }
    place = { name: "child", childId: child.id };
    return await childScreen(child, sessions, writes, alerts, now);
  }
  if (at.name === "pattern") {
    const cohort = await patterns.cohortOf(child);
    return patterns.patternForm({ child, cohort, now }, {
      onCancel: () => void go({ name: "child", childId: child.id }),
      onSave: (pattern) => void savePattern(child, pattern),
    });
  }
  const programme = (await store.programmes()).find((candidate) => candidate.id === child.programme_id);
  const duty = await store.dutyNow();
  const actions = { onCancel: () => void go({ name: "child", childId: child.id }) };
  if (at.name === "log_planned") {
    const session = sessions.find((candidate) => candidate.id === at.sessionId);
    if (session === undefined) {
      return screens.childPage({ child, sessions, writes, alerts, now, notice }, nav);
    }
    return screens.logPlannedForm({ child, session, programme, duty }, {
      ...actions,
      onSave: (log) => void saveLog(child.id, session, log),
    });
  }
  if (at.name === "change") {
    const write = writes.find((candidate) => candidate.seq === at.seq);
    if (write === undefined || write.kind === "request") {
      return screens.childPage({ child, sessions, writes, alerts, now, notice }, nav);
    }
    if (write.kind === "log_session") {
      const session = { id: write.sessionId, planned_start_at: write.plannedStartAt, version: write.baseVersion };
      const held = sessions.find((candidate) => candidate.id === write.sessionId);
      if (held === undefined) {
        return screens.childPage({ child, sessions, writes, alerts, now, notice }, nav);
      }
      return screens.logPlannedForm({ child, session: held, programme, duty, initial: write.body }, {
        ...actions,
        onSave: (log) => void saveLog(child.id, session, log, at.seq),
      });
    }
    const mode = write.body.status === "planned" ? "plan" : "log";
    return screens.sessionForm(mode, { child, programme, duty, now, initial: write.body }, {
      ...actions,
      onSave: (session) => void saveSession(child.id, session, at.seq),
    });
  }
  const focusConcern = at.name === "log" && at.concern === true;
  return screens.sessionForm(at.name, { child, programme, duty, now, focusConcern }, {
    ...actions,
    onSave: (session) => void saveSession(child.id, session),
  });
}

/** Casework (missing episodes, lone working): its screens and writes, given how to move and what saving said. */
const work = casework.controller({
  go: (next) => go(next),
  saved: async (childId, said) => {
    notice = said;
    if (childId !== null) {
      place = { name: "child", childId };
      history.replaceState({ place }, "", location.pathname);
    }
    await draw();
    void syncNow();
  },
});

/**
 * @param {import("./types.js").Session} session
 * @param {import("./types.js").Child[]} children
 */
async function registerScreen(session, children) {
  const series = await groups.seriesOf(session);
  // Filed under a child of the caseload at the session (forgotten with them), else the first child booked.
  const held = new Set(children.map((child) => child.id));
  const childId =
    session.attendees.find((attendee) => held.has(attendee.child_id))?.child_id ?? session.attendees[0]?.child_id ?? "";
  return groups.registerForm({ session, series }, {
    onCancel: () => void go({ name: "caseload" }),
    onSave: (lines, carers) =>
      void (async () => {
        await groups.queueRegister(session, series, childId, lines, carers);
        await saved("caseload", savedNotice(false));
      })(),
  });
}

/**
 * @param {import("./types.js").Child} child
 * @param {import("./screens_patterns.js").PatternCreate} pattern
 */
async function savePattern(child, pattern) {
  await patterns.queuePattern(child, pattern);
  await saved({ name: "child", childId: child.id }, `${savedNotice(false)} The sessions it plans appear once the phone has synced.`);
}

/**
 * A write is queued: show where the mentor goes next with what saving said, then send it.
 * @param {"caseload" | Place} next
 * @param {string} said
 */
async function saved(next, said) {
  notice = said;
  place = next === "caseload" ? { name: "caseload" } : next;
  history.replaceState({ place }, "", location.pathname);
  await draw();
  void syncNow();
}

/** @param {boolean} on */
async function setLocked(on) {
  isLocked = on;
  main.hidden = on;
  lockArea.hidden = !on;
  signOutButton.hidden = on;
  syncButton.hidden = on;
  if (on) {
    lockArea.replaceChildren(lockedScreen());
    lockArea.querySelector("h1")?.focus();
  } else {
    lockArea.replaceChildren();
    main.querySelector("h1")?.focus();
  }
  await showStatus();
}

function lockedScreen() {
  return screens.locked({
    onSubmit: async (pin) => {
      const tried = await lock.tryPin(pin);
      if (tried.opened) {
        await setLocked(false);
        return null;
      }
      if (tried.triesLeft === 0) {
        await signOut();
        await setLocked(false);
        notice = "Too many wrong PINs, so this phone has forgotten your caseload. Sign in again.";
        await draw();
        return null;
      }
      return `That PIN is not right. ${tried.triesLeft} ${tried.triesLeft === 1 ? "try" : "tries"} left before the app signs out.`;
    },
    onForgotten: () => void signOutAsked(),
  });
}

/**
 * @param {string} pin
 * @param {string} again
 */
async function submitNewPin(pin, again) {
  const problem = lock.pinProblem(pin) ?? (pin === again ? null : "The two PINs are not the same.");
  if (problem !== null) {
    return problem;
  }
  await lock.setPin(pin);
  await draw();
  return null;
}

async function lockIfIdle() {
  if (!isLocked && (await store.tokens()) !== undefined && (await lock.hasPin()) && (await lock.idleTooLong())) {
    await setLocked(true);
  }
}

/**
 * What saving said: plainly, when a concern cannot reach anyone yet, that the mentor must phone.
 * @param {boolean} concern
 */
function savedNotice(concern) {
  if (!navigator.onLine) {
    return concern
      ? "Saved on this phone, NOT sent: nobody knows of your concern yet. If the child is in danger, phone 999 now, then your duty coordinator."
      : "Saved on this phone. It will be sent when you are online.";
  }
  return concern
    ? "Saved. Sending it now: the alert shows below once it has reached the server. If the child is in danger, phone 999 now."
    : "Saved. Sending it now.";
}

/**
 * @param {string} childId
 * @param {SessionCreate} session
 * @param {number} [replacing] the refused write this one replaces
 */
async function saveSession(childId, session, replacing) {
  await queueSession(childId, session, replacing);
  notice = savedNotice(session.safeguarding_concern !== undefined);
  place = { name: "child", childId };
  history.replaceState({ place }, "", location.pathname);
  await draw();
  void syncNow();
}

/**
 * @param {string} childId
 * @param {{ id: string, planned_start_at: string, version: number }} session
 * @param {SessionUpdate} log
 * @param {number} [replacing] the refused write this one replaces
 */
async function saveLog(childId, session, log, replacing) {
  await queueLog(childId, session, log, replacing);
  notice = savedNotice(log.safeguarding_concern !== undefined);
  place = { name: "child", childId };
  history.replaceState({ place }, "", location.pathname);
  await draw();
  void syncNow();
}

/**
 * @param {string} email
 * @param {string} password
 * @returns {Promise<string | null>} why signing in failed, or null once signed in
 */
async function submitSignIn(email, password) {
  try {
    await signIn(email, password);
  } catch (problem) {
    if (problem instanceof SecondFactorNeeded) {
      return await beginSecondStep(problem);
    }
    if (problem instanceof Offline) {
      return "You are offline. Sign in when you have a connection.";
    }
    if (problem instanceof Refused && problem.status === 429) {
      return "Too many tries. Wait a few minutes and try again.";
    }
    if (problem instanceof Refused) {
      return "That email and password did not work. Check them and try again.";
    }
    throw problem;
  }
  await signedInNow();
  return null;
}

async function signedInNow() {
  secondStep = null;
  place = { name: "caseload" };
  history.replaceState({ place }, "", location.pathname);
  notice = "Signed in.";
  await draw();
  await syncNow();
}

/**
 * The password was right; the account asks for a second factor. One without an authenticator sets one up first.
 * @param {SecondFactorNeeded} needed
 * @returns {Promise<string | null>} why it cannot go on, or null once the second step is on the screen
 */
async function beginSecondStep(needed) {
  let enrolment = null;
  if (!needed.enrolled) {
    try {
      enrolment = await startEnrolment(needed.challenge);
    } catch (problem) {
      return problem instanceof Offline ? "You are offline. Sign in when you have a connection." : secondStepProblem(problem);
    }
  }
  secondStep = { challenge: needed.challenge, enrolment };
  await draw();
  return null;
}

/** @param {{ challenge: string, enrolment: import("./types.js").MfaEnrolment | null }} step */
function secondStepScreen(step) {
  const onCancel = () => {
    secondStep = null;
    void draw();
  };
  /** @param {() => Promise<void>} attempt */
  const trying = async (attempt) => {
    try {
      await attempt();
    } catch (problem) {
      return secondStepProblem(problem);
    }
    await signedInNow();
    return null;
  };
  if (step.enrolment !== null) {
    return signInScreens.setUpAuthenticator(step.enrolment, {
      onCode: (code) =>
        trying(async () => {
          recoveryToShow = await confirmEnrolment(step.challenge, code);
        }),
      onCancel,
    });
  }
  return signInScreens.secondFactor({
    onCode: (code) => trying(() => proveSecondFactor(step.challenge, { code })),
    onRecoveryCode: (code) => trying(() => proveSecondFactor(step.challenge, { recovery_code: code })),
    onCancel,
  });
}

/**
 * What to tell the mentor when the second step fails; a challenge run out (or refused) starts the sign-in again.
 * @param {unknown} problem
 */
function secondStepProblem(problem) {
  if (problem instanceof Offline) {
    return "You are offline. Try again when you have a connection.";
  }
  if (!(problem instanceof Refused)) {
    throw problem;
  }
  if (problem.status === 429) {
    return "Too many tries. Wait a few minutes and try again.";
  }
  if (problem.reason === "mfa_code_invalid") {
    return "That code did not work. Check it and try again (a code works once, while the app shows it).";
  }
  secondStep = null;
  notice = "The sign-in took too long or was refused. Sign in again.";
  void draw();
  return null;
}

// --- Wellbeing: goals, check-ins, the change since the first check-in (screens in screens_wellbeing.js) ---

/** @param {string} childId */
function wellbeingActions(childId) {
  return {
    checkIn: () => void go({ name: "check_in", childId }),
    newGoal: () => void go({ name: "new_goal", childId }),
    goal: (/** @type {string} */ goalId) => void go({ name: "goal", childId, goalId }),
  };
}

/**
 * A child's page, with its parts from each area: wellbeing, casework and weekly patterns.
 * @param {import("./types.js").Child} child
 * @param {import("./types.js").Session[]} sessions
 * @param {import("./types.js").QueuedWrite[]} writes
 * @param {import("./types.js").Alert[]} alerts
 * @param {Date} now
 */
async function childScreen(child, sessions, writes, alerts, now) {
  const [wellbeing, extras, cohort, held] = await Promise.all([
    childWellbeing(child, writes),
    work.childExtras({ child, writes, now }),
    patterns.cohortOf(child),
    patterns.patternsSection(child),
  ]);
  const canSetPattern = cohort?.kind !== "group_only"; // a group-only place has group sessions only
  const data = { child, sessions, writes, alerts, now, notice, wellbeing, extras, patterns: held, canSetPattern };
  return screens.childPage(data, nav);
}

/**
 * @param {import("./types.js").Child} child
 * @param {import("./types.js").QueuedWrite[]} writes
 */
async function childWellbeing(child, writes) {
  const [goals, checkIns, instruments] = await Promise.all([
    store.records(store.GOALS),
    store.records(store.CHECK_INS),
    store.instruments(),
  ]);
  const data = { child, goals, checkIns, instruments, writes, summaries: summaries(child.id, checkIns, instruments) };
  return wellbeingScreens.childWellbeing(data, wellbeingActions(child.id));
}

/**
 * @param {Extract<Place, { name: "check_in" | "new_goal" | "goal" }>} at
 * @param {import("./types.js").Child} child
 * @param {import("./types.js").Session[]} sessions
 * @param {import("./types.js").QueuedWrite[]} writes
 * @param {Date} now
 */
async function wellbeingScreen(at, child, sessions, writes, now) {
  const goals = /** @type {import("./types.js").Goal[]} */ (await store.records(store.GOALS));
  const active = wellbeingScreens.activeGoals(child.id, goals, writes);
  const onCancel = () => void go({ name: "child", childId: child.id });
  const goalsPath = `/children/${encodeURIComponent(child.id)}/goals`;
  if (at.name === "new_goal") {
    const held = active.length + wellbeingScreens.goalsWaiting(child.id, writes).length;
    return wellbeingScreens.newGoalForm({ child, active: held }, {
      onCancel,
      onSave: (description) =>
        void saveRequest(
          { childId: child.id, label: `New goal: “${description}”`, method: "POST", path: goalsPath,
            body: { description }, keepIn: store.GOALS },
          "Goal saved. Sending it now.",
        ),
    });
  }
  if (at.name === "goal") {
    const goal = active.find((candidate) => candidate.id === at.goalId);
    if (goal === undefined) {
      return await screenFor({ name: "child", childId: child.id });
    }
    const gbo = (await store.instruments()).find((instrument) => instrument.scoring === "per_goal");
    const checkIns = await store.records(store.CHECK_INS);
    const path = `/goals/${encodeURIComponent(goal.id)}/`;
    // An edit of a versioned goal: If-Match its version; after a lost answer, the goal saying so shows it was applied.
    const edit = { childId: child.id, method: /** @type {const} */ ("POST"), ifMatch: goal.version, keepIn: store.GOALS };
    return wellbeingScreens.goalScreen({ child, goal, rating: wellbeingScreens.ratingWords(goal, checkIns, gbo) }, {
      onCancel,
      onEnd: (status, note) =>
        void saveRequest(
          { ...edit, label: `Goal ${status}: “${goal.description}”`, path: `${path}end`, body: { status, note },
            check: { path: goalsPath, id: goal.id, expect: { status } } },
          `Goal marked ${status}. Sending it now.`,
        ),
      onReword: (description, note) =>
        void saveRequest(
          { ...edit, label: `Goal reworded: “${description}”`, path: `${path}change`, body: { description, note },
            check: { path: goalsPath, id: goal.id, expect: { status: "changed" } } },
          "New words saved. Sending them now.",
        ),
    });
  }
  const age = ageOn(child.date_of_birth, now);
  const instruments = suitableInstruments(await store.instruments(), { age, activeGoals: active.length });
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const isToday = (/** @type {string} */ iso) => new Date(iso) >= startOfToday && new Date(iso) < new Date(startOfToday.getTime() + 86_400_000);
  // The child's sessions of today: those the phone holds, and those logged on it still waiting (sent first, in order).
  const todays = [
    ...sessions
      .filter((s) => s.attendees.some((a) => a.child_id === child.id) && isToday(s.planned_start_at))
      .filter((s) => !s.status.startsWith("cancelled") && s.status !== "rescheduled")
      .map((s) => ({ id: s.id, at: s.planned_start_at })),
    ...writes.flatMap((write) =>
      write.kind === "create_session" && write.childId === child.id && write.refusal === null && isToday(write.body.planned_start_at)
        ? [{ id: write.body.id, at: write.body.planned_start_at }]
        : [],
    ),
  ].sort((a, b) => b.at.localeCompare(a.at));
  const choices = todays.map((s) => ({ id: s.id, words: `The session of ${dayAndTime(new Date(s.at))}` }));
  return wellbeingScreens.checkInForm({ child, instruments, goals: active, sessions: choices }, {
    onCancel,
    onSave: (checkIn, instrument) =>
      void saveRequest(
        { childId: child.id, label: `Check-in: ${instrument.name}`, method: "POST",
          path: `/children/${encodeURIComponent(child.id)}/check-ins`, body: checkIn, keepIn: store.CHECK_INS },
        "Check-in saved. Sending it now.",
      ),
  });
}

/**
 * Queue a write (outbox.queueRequest), back to the child's page saying so, and send it if the phone is online.
 * @param {Parameters<typeof queueRequest>[0]} what
 * @param {string} online what to say when it is being sent now
 */
async function saveRequest(what, online) {
  await queueRequest(what);
  notice = navigator.onLine ? online : "Saved on this phone. It will be sent when you are online.";
  place = { name: "child", childId: what.childId };
  history.replaceState({ place }, "", location.pathname);
  await draw();
  void syncNow();
}

/** Send what is waiting, then bring the phone up to date; one run at a time. */
function syncNow() {
  syncing ??= (async () => {
    try {
      if ((await store.tokens()) === undefined) {
        return;
      }
      status.textContent = "Syncing…";
      const sent = await replay();
      const synced = await syncFeed();
      await fetchMissingProgrammes();
      await fetchOnDutyNow();
      await fetchInstruments();
      await patterns.fetchCohorts();
      const led = await groups.fetchLedGroupSessions(new Date());
      lastSync = new Date();
      checkForUpdate();
      if (synced.droppedWrites > 0) {
        notice = `${synced.droppedWrites} unsent record(s) about a child no longer on your caseload were removed.`;
      }
      // Redrawn where the mentor is, keeping the focus where it is; never under a form being filled in (a PIN's too).
      const changed = sent.sent > 0 || sent.refused > 0 || synced.changes > 0 || synced.droppedWrites > 0 || led > 0;
      const filling =
        ["log", "plan", "change", "log_planned", "check_in", "new_goal", "goal", "register", "pattern"].includes(
          place.name,
        ) || casework.isCaseworkPlace(place);
      if (changed && !filling && !isLocked && (await lock.hasPin())) {
        await draw({ moveFocus: false });
      }
    } catch (problem) {
      if (problem instanceof SignedOut) {
        await setLocked(false);
        notice = "Your sign-in has ended, so this phone has forgotten your caseload. Sign in again.";
        await draw();
      } else if (!(problem instanceof Offline || problem instanceof Refused)) {
        throw problem;
      }
    } finally {
      syncing = null;
      await showStatus();
    }
  })();
  return syncing;
}

/** @type {Date | null} */
let lastSync = null;

async function showStatus() {
  if ((await store.tokens()) === undefined) {
    status.textContent = "";
    return;
  }
  const writes = await store.queuedWrites();
  const waiting = writes.filter((write) => write.refusal === null).length;
  const refused = writes.length - waiting;
  const parts = [navigator.onLine ? "Online" : "Offline"];
  parts.push(waiting === 0 ? "everything sent" : `${waiting} waiting to send`);
  if (refused > 0) {
    parts.push(`${refused} not accepted`);
  }
  if (lastSync !== null) {
    parts.push(`synced ${lastSync.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`);
  }
  status.textContent = isLocked ? "" : parts.join(" · ");
}

async function signOutAsked() {
  const waiting = (await store.queuedWrites()).length;
  if (waiting > 0 && !confirm(`${waiting} record(s) have not been sent. Signing out deletes them. Sign out anyway?`)) {
    return;
  }
  await signOut();
  await setLocked(false);
  notice = "Signed out. This phone no longer holds your caseload.";
  await draw();
}

syncButton.addEventListener("click", () => void syncNow());
signOutButton.addEventListener("click", () => void signOutAsked());
for (const kind of ["pointerdown", "keydown"]) {
  document.addEventListener(kind, () => {
    if (!isLocked) {
      void lock.touch();
    }
  });
}
document.addEventListener("visibilitychange", () => void lockIfIdle());
setInterval(() => void lockIfIdle(), 30_000);
window.addEventListener("online", () => void syncNow());
window.addEventListener("offline", () => void showStatus());
setInterval(() => {
  if (navigator.onLine) {
    void syncNow();
  }
}, BACKGROUND_SYNC_MS);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {
    // Without the worker the app still works online; it just cannot open offline.
  });
  // A new worker taking over a page an older one served is a new version of the app: this page still runs the old
  // code, so say so and let the mentor choose when to reload (a form not yet saved would be lost; saved work stays).
  // (The first worker to take the page, on a first visit, is not one: the page runs its code already.)
  let controlled = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    update.hidden = !controlled;
    controlled = true;
  });
  updateNow.addEventListener("click", () => location.reload());
}

const UPDATE_CHECK_MS = 60 * 60_000;
let lastUpdateCheck = Date.now();

/** An app left open all evening still hears of a new version: the worker's script is checked hourly (an ETag). */
function checkForUpdate() {
  if ("serviceWorker" in navigator && Date.now() - lastUpdateCheck >= UPDATE_CHECK_MS) {
    lastUpdateCheck = Date.now();
    void navigator.serviceWorker.getRegistration().then((registration) => registration?.update());
  }
}

history.replaceState({ place }, "", location.pathname);
await lockIfIdle(); // before anything of the caseload is drawn
await draw({ moveFocus: false }); // opening the app: the browser starts at the top of the page

void syncNow();
