// Casework on the mentor's phone: a child's missing episodes (recording one, their return and the return
// conversation) and lone working on a session of today (start it, then "I'm safe").
//
// Every write goes through the outbox (queueRequest), so it works offline and reaches the server once:
// - a new missing episode is a POST with its Idempotency-Key; the answer is kept in MISSING_EPISODES;
// - their return is a PATCH with If-Match (the episode's version) and, for a replay after a lost answer, the
//   check that the episode already says that `returned_at` (sent as the server writes times back, so the two
//   compare exactly);
// - the return conversation is a PUT: it replaces the episode's one conversation, so a repeat is harmless (it
//   takes no Idempotency-Key and ignores the one the outbox sends). Its answer is the conversation, not the
//   episode, so it is not kept: the sync after it brings the episode again;
// - lone working's start (POST, with its Idempotency-Key) and "I'm safe" (POST, the same answer however often it is
//   sent): each answer is the session's check, kept in the session's `lone_working`, as the sync feed has it.
// What is still in the outbox shows on the screen as "saved on this phone, NOT sent", as nobody knows of it yet.

import { dayAndTime } from "./dom.js";
import { queueRequest } from "./outbox.js";
import { childName } from "./screens.js";
import * as view from "./screens_casework.js";
import * as store from "./store.js";

/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Session} Session */
/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./types.js").QueuedRequest} QueuedRequest */
/** @typedef {import("./types.js").MissingEpisode} MissingEpisode */
/** @typedef {import("./types.js").Programme} Programme */
/** @typedef {import("./screens.js").Extras} Extras */
/** @typedef {import("./screens_casework.js").EpisodeView} EpisodeView */
/** @typedef {import("./screens_casework.js").LoneWorkingView} LoneWorkingView */
/** @typedef {import("./screens_casework.js").LoneWorkingTimings} LoneWorkingTimings */

/**
 * @typedef {{ name: "missing_new", childId: string }
 *   | { name: "missing_return", childId: string, episodeId: string }
 *   | { name: "return_conversation", childId: string, episodeId: string }
 *   | { name: "lone_working", childId: string, sessionId: string }} CaseworkPlace
 */

/**
 * What the app lends casework: moving to a place, and showing what saving said (on the child's page, or where the
 * mentor is when `childId` is null), then sending.
 * @typedef {{ go: (place: CaseworkPlace | { name: "child", childId: string }) => Promise<void>,
 *   saved: (childId: string | null, notice: string) => Promise<void> }} Host
 */

const PLACES = new Set(["missing_new", "missing_return", "return_conversation", "lone_working"]);
const MINUTE = 60_000;
const DEFAULT_TIMINGS = { graceMinutes: 30, alertAfterMinutes: 15 };

/**
 * @param {{ name: string }} place
 * @returns {place is CaseworkPlace}
 */
export function isCaseworkPlace(place) {
  return PLACES.has(place.name);
}

/**
 * @param {QueuedWrite[]} writes
 * @returns {QueuedRequest[]} the requests still to send (a refused one is shown in the refused list instead)
 */
function waiting(writes) {
  return writes.flatMap((write) => (write.kind === "request" && write.refusal === null ? [write] : []));
}

/** @param {Programme | undefined} programme */
function timingsOf(programme) {
  const thresholds = programme?.alert_thresholds;
  return {
    graceMinutes: thresholds?.lone_working_grace_minutes ?? DEFAULT_TIMINGS.graceMinutes,
    alertAfterMinutes: thresholds?.lone_working_alert_after_minutes ?? DEFAULT_TIMINGS.alertAfterMinutes,
  };
}

/** @param {string} sessionId */
const startPath = (sessionId) => `/sessions/${encodeURIComponent(sessionId)}/lone-working`;
/** @param {string} sessionId */
const safePath = (sessionId) => `${startPath(sessionId)}/safe`;
/** @param {string} childId */
const episodesPath = (childId) => `/children/${encodeURIComponent(childId)}/missing-episodes`;
/** @param {string} episodeId */
const episodePath = (episodeId) => `/missing-episodes/${encodeURIComponent(episodeId)}`;
/** @param {string} episodeId */
const conversationPath = (episodeId) => `${episodePath(episodeId)}/return-conversation`;

/**
 * Lone working on a session as far as this phone knows.
 * @param {Session} session
 * @param {QueuedRequest[]} queued
 * @returns {LoneWorkingView}
 */
export function loneWorkingOf(session, queued) {
  const server = session.lone_working ?? null;
  const start = queued.find((write) => write.method === "POST" && write.path === startPath(session.id));
  const safe = queued.find((write) => write.method === "POST" && write.path === safePath(session.id));
  const checkInBy = server?.check_in_by ?? (typeof start?.body.check_in_by === "string" ? start.body.check_in_by : null);
  return {
    started: server !== null || start !== undefined,
    sent: server !== null,
    checkInBy: checkInBy === null ? null : new Date(checkInBy),
    closedAt: server?.closed_at ? new Date(server.closed_at) : null,
    closedHow: server?.closed_how ?? null,
    safeUnsent: safe !== undefined,
  };
}

/**
 * The child's episodes: the server's with what is queued about each, and those recorded here not sent yet.
 * @param {string} childId
 * @param {MissingEpisode[]} held
 * @param {QueuedRequest[]} queued
 * @returns {EpisodeView[]}
 */
export function episodesOf(childId, held, queued) {
  const views = held
    .filter((episode) => episode.child_id === childId)
    .map((episode) => {
      const patch = queued.find((write) => write.method === "PATCH" && write.path === episodePath(episode.id));
      const put = queued.find((write) => write.method === "PUT" && write.path === conversationPath(episode.id));
      const queuedReturn = typeof patch?.body.returned_at === "string" ? patch.body.returned_at : null;
      return {
        id: episode.id,
        reportedAt: episode.reported_at,
        source: episode.source,
        returnedAt: episode.returned_at ?? queuedReturn,
        returnUnsent: (episode.returned_at ?? null) === null && queuedReturn !== null,
        version: episode.version,
        conversation: episode.return_conversation,
        conversationUnsent: put !== undefined,
      };
    });
  const unsent = queued
    .filter((write) => write.method === "POST" && write.path === episodesPath(childId))
    .map((write) => ({
      id: null,
      reportedAt: String(write.body.reported_at),
      source: /** @type {EpisodeView["source"]} */ (write.body.source),
      returnedAt: typeof write.body.returned_at === "string" ? write.body.returned_at : null,
      returnUnsent: false,
      version: null,
      conversation: null,
      conversationUnsent: false,
    }));
  return [...views, ...unsent];
}

/**
 * Whether lone working may be started on a session: a face-to-face one planned for today, not logged on this phone,
 * whose default time to check in by is still to come.
 * @param {Session} session
 * @param {QueuedWrite[]} writes
 * @param {LoneWorkingTimings} timings
 * @param {Date} now
 */
function mayStart(session, writes, timings, now) {
  const starts = new Date(session.planned_start_at);
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const endOfToday = new Date(startOfToday.getFullYear(), startOfToday.getMonth(), startOfToday.getDate() + 1);
  const loggedHere = writes.some((write) => write.kind === "log_session" && write.sessionId === session.id);
  const checkInBy = new Date(session.planned_end_at).getTime() + timings.graceMinutes * MINUTE;
  return (
    session.status === "planned" &&
    session.kind === "one_to_one" &&
    starts >= startOfToday &&
    starts < endOfToday &&
    !loggedHere &&
    checkInBy > now.getTime()
  );
}

/** @param {Session} session */
function childOf(session) {
  return session.attendees[0]?.child_id ?? null;
}

/** @param {Host} host */
export function controller(host) {
  /**
   * Lone working's controls under each session, for the caseload's Today and a child's sessions.
   * @param {QueuedWrite[]} writes
   * @param {Date} now
   * @returns {Promise<(session: Session) => Node | null>}
   */
  async function sessionExtra(writes, now) {
    const [programmes, duty] = await Promise.all([store.programmes(), store.dutyNow()]);
    const queued = waiting(writes);
    return (session) => {
      const childId = childOf(session);
      if (childId === null) {
        return null;
      }
      const timings = timingsOf(programmes.find((programme) => programme.id === session.programme_id));
      const state = loneWorkingOf(session, queued);
      return view.loneWorkingBlock(
        { session, state, offer: mayStart(session, writes, timings, now), timings, duty },
        {
          onStart: () => void host.go({ name: "lone_working", childId, sessionId: session.id }),
          onSafe: () => void imSafe(childId, session, state, timings),
        },
      );
    };
  }

  /**
   * @param {string} childId
   * @param {Session} session
   * @param {LoneWorkingView} state
   * @param {LoneWorkingTimings} timings
   */
  async function imSafe(childId, session, state, timings) {
    await queueRequest({
      childId,
      label: `"I'm safe" after the session of ${view.clock(new Date(session.planned_start_at))}`,
      method: "POST",
      path: safePath(session.id),
      body: {},
      keepOn: { store: store.SESSIONS, id: session.id, field: "lone_working" },
    });
    const checkInBy = state.checkInBy ?? new Date(session.planned_end_at);
    const alerted = new Date(checkInBy.getTime() + timings.alertAfterMinutes * MINUTE);
    await host.saved(
      null,
      navigator.onLine
        ? `"I'm safe": sending it now. If it does not go, you may still be texted at ${view.clock(checkInBy)}.`
        : `"I'm safe" is saved on this phone, NOT sent: until it reaches the server you may still be texted at ` +
            `${view.clock(checkInBy)} and the duty coordinator alerted at ${view.clock(alerted)}. ` +
            "Phone your duty coordinator if you cannot get online.",
    );
  }

  return {
    /**
     * @param {{ writes: QueuedWrite[], now: Date }} data
     * @returns {Promise<Extras>}
     */
    async caseloadExtras({ writes, now }) {
      return { sessionExtra: await sessionExtra(writes, now) };
    },

    /**
     * @param {{ child: Child, writes: QueuedWrite[], now: Date }} data
     * @returns {Promise<Extras>}
     */
    async childExtras({ child, writes, now }) {
      const held = /** @type {MissingEpisode[]} */ (await store.records(store.MISSING_EPISODES));
      const episodes = episodesOf(child.id, held, waiting(writes));
      const section = view.missingSection(
        { episodes, now },
        {
          onRecord: () => void host.go({ name: "missing_new", childId: child.id }),
          onReturn: (episodeId) => void host.go({ name: "missing_return", childId: child.id, episodeId }),
          onConversation: (episodeId) => void host.go({ name: "return_conversation", childId: child.id, episodeId }),
        },
      );
      return { sections: [section], sessionExtra: await sessionExtra(writes, now) };
    },

    /**
     * The screen of a casework place, or null when what it was about is gone (then the child's page shows).
     * @param {CaseworkPlace} at
     * @param {{ child: Child, sessions: Session[], writes: QueuedWrite[], now: Date }} data
     * @returns {Promise<HTMLElement | null>}
     */
    async screen(at, { child, sessions, writes, now }) {
      const duty = await store.dutyNow();
      const back = { onCancel: () => void host.go({ name: "child", childId: child.id }) };
      if (at.name === "missing_new") {
        return view.missingEpisodeForm({ child, duty, now }, { ...back, onSave: (body) => void recordEpisode(child, body) });
      }
      if (at.name === "lone_working") {
        const session = sessions.find((candidate) => candidate.id === at.sessionId);
        if (session === undefined) {
          return null;
        }
        const programme = (await store.programmes()).find((candidate) => candidate.id === session.programme_id);
        const timings = timingsOf(programme);
        return view.loneWorkingForm(
          { child, session, timings, duty, online: navigator.onLine },
          { ...back, onSave: (checkInBy) => void startLoneWorking(child, session, checkInBy, timings) },
        );
      }
      const held = /** @type {MissingEpisode[]} */ (await store.records(store.MISSING_EPISODES));
      const episode = episodesOf(child.id, held, waiting(writes)).find((candidate) => candidate.id === at.episodeId);
      if (episode === undefined || episode.id === null || episode.version === null) {
        return null;
      }
      const { id, version } = episode;
      if (at.name === "missing_return") {
        return view.returnForm(
          { child, episode, now },
          { ...back, onSave: (returnedAt) => void recordReturn(child, id, version, returnedAt) },
        );
      }
      return view.returnConversationForm(
        { child, episode, now },
        { ...back, onSave: (body) => void recordConversation(child, id, body) },
      );
    },
  };

  /**
   * @param {Child} child
   * @param {{ reported_at: string, source: string, returned_at?: string }} body
   */
  async function recordEpisode(child, body) {
    await queueRequest({
      childId: child.id,
      label: `Missing episode: reported ${dayAndTime(new Date(body.reported_at))}`,
      method: "POST",
      path: episodesPath(child.id),
      body,
      keepIn: store.MISSING_EPISODES,
    });
    const open = body.returned_at === undefined;
    await host.saved(
      child.id,
      navigator.onLine
        ? `Saved. Sending it now${open ? ": the duty coordinator is alerted when it reaches the server" : ""}.`
        : `Saved on this phone, NOT sent: nobody knows ${childName(child)} is missing yet. ` +
            (open ? "If they are at risk, phone 999 now, then your duty coordinator." : "It is sent when you are online."),
    );
  }

  /**
   * @param {Child} child
   * @param {string} episodeId
   * @param {number} version
   * @param {string} returnedAt as the server writes it
   */
  async function recordReturn(child, episodeId, version, returnedAt) {
    await queueRequest({
      childId: child.id,
      label: `Return from missing: back ${dayAndTime(new Date(returnedAt))}`,
      method: "PATCH",
      path: episodePath(episodeId),
      body: { returned_at: returnedAt },
      keepIn: store.MISSING_EPISODES,
      ifMatch: version,
      check: { path: episodePath(episodeId), expect: { returned_at: returnedAt } },
    });
    await host.saved(
      child.id,
      navigator.onLine ? "Saved. Sending it now." : "Saved on this phone. It is sent when you are online.",
    );
  }

  /**
   * @param {Child} child
   * @param {string} episodeId
   * @param {import("./screens_casework.js").ConversationBody} body
   */
  async function recordConversation(child, episodeId, body) {
    await queueRequest({
      childId: child.id,
      label: `Return conversation: ${body.outcome}`,
      method: "PUT",
      path: conversationPath(episodeId),
      body,
    });
    await host.saved(
      child.id,
      navigator.onLine ? "Saved. Sending it now." : "Saved on this phone. It is sent when you are online.",
    );
  }

  /**
   * @param {Child} child
   * @param {Session} session
   * @param {Date} checkInBy
   * @param {LoneWorkingTimings} timings
   */
  async function startLoneWorking(child, session, checkInBy, timings) {
    await queueRequest({
      childId: child.id,
      label: `Lone working for the session of ${view.clock(new Date(session.planned_start_at))}, check in by ${view.clock(checkInBy)}`,
      method: "POST",
      path: startPath(session.id),
      body: { check_in_by: view.wireTime(checkInBy) },
      keepOn: { store: store.SESSIONS, id: session.id, field: "lone_working" },
    });
    await host.saved(
      child.id,
      navigator.onLine
        ? `Lone working started: sending it now. ${view.ifYouDoNotCheckIn(checkInBy, timings)}`
        : "Saved on this phone, NOT sent: nobody knows you have started lone working until it is sent. " +
            "If you feel unsafe, phone 999 or your duty coordinator.",
    );
  }
}
