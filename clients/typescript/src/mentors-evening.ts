/**
 * A mentor's evening, from the phone app's side, written only against the client generated from Reachable's
 * OpenAPI document (src/schema.d.ts, by openapi-typescript at its default settings) and openapi-fetch.
 *
 * Sign in, sync every page of the caseload, log tonight's session (created with an Idempotency-Key and sent
 * twice, as a phone on a bad network would: the second answer is the first one replayed), complete it with
 * If-Match, read the child's wellbeing and record a check-in done together, then:
 *   - edit the session again from a copy read before it was completed: 412 stale_version, handled by reading
 *     it again and reapplying the edit;
 *   - book follow-ups this week until the cohort's weekly cap refuses one: 409 weekly_session_cap_reached,
 *     handled from the facts it carries (the week, its sessions and the cap);
 * and finally swap the refresh token for a new pair and sync once more with the new access token.
 *
 * `make test` type-checks it with `tsc --strict` (no casts, no `any`, headers only as the document declares
 * them) and runs it against a live server. To run it yourself against `make run`:
 *
 *   npm ci && npm run build && npm run evening
 *
 * Settings (environment): REACHABLE_BASE_URL (http://127.0.0.1:5000), REACHABLE_EMAIL and REACHABLE_PASSWORD
 * (the demo mentor), REACHABLE_PHONE_CLOCK (an ISO instant the phone's clock says; default: its real clock).
 * It prints what it does, and exits non-zero if the API does not answer as its document says.
 */

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type ApiError = Schemas["Error"];
type Child = Schemas["Child"];
type Session = Schemas["Session"];
type TokenPair = Schemas["TokenPair"];

/** An answer the journey did not expect: says which step, the status and the error envelope's reason. */
class Refused extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`${step}: ${status} ${body.reason}: ${body.message}`);
  }
}

function check(condition: boolean, problem: string): asserts condition {
  if (!condition) {
    throw new Error(problem);
  }
}

function setting(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

const baseUrl = setting("REACHABLE_BASE_URL", "http://127.0.0.1:5000");
const email = setting("REACHABLE_EMAIL", "mentor@reachable.example");
const password = setting("REACHABLE_PASSWORD", "demo-password-not-secret");
const phoneClock = new Date(setting("REACHABLE_PHONE_CLOCK", new Date().toISOString()));
check(!Number.isNaN(phoneClock.getTime()), "REACHABLE_PHONE_CLOCK is not an ISO date and time");

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
// Small pages, as a phone on a weak signal would ask for.
const SYNC_PAGE_SIZE = 100;

const client = createClient<paths>({ baseUrl });

// The bearer token goes on every request once signed in: a middleware, so no call passes headers by hand.
let tokens: TokenPair | undefined;
const bearer: Middleware = {
  onRequest({ request }) {
    if (tokens !== undefined) {
      request.headers.set("Authorization", `Bearer ${tokens.access_token}`);
    }
    return request;
  },
};
client.use(bearer);

function say(line: string): void {
  console.log(line);
}

// 1. Sign in.
{
  const { data, error, response } = await client.POST("/auth/sign-in", { body: { email, password } });
  if (error !== undefined) {
    throw new Refused("sign in", response.status, error);
  }
  tokens = data;
  say(`Signed in as ${email}; the access token lasts ${data.expires_in} s`);
}

// 2. Sync every page: what the phone holds is what the feed said, change by change.
const children = new Map<string, Child>();
const sessions = new Map<string, Session>();

function forgetChild(childId: string): void {
  children.delete(childId);
  for (const [id, session] of sessions) {
    if (session.attendees.every((attendee) => attendee.child_id === childId)) {
      sessions.delete(id);
    }
  }
}

async function syncEveryPage(after: string | undefined): Promise<{ cursor: string; pages: number; changes: number }> {
  let cursor = after;
  let pages = 0;
  let changes = 0;
  for (;;) {
    const { data, error, response } = await client.GET("/sync", {
      params: { query: { cursor, limit: SYNC_PAGE_SIZE } },
    });
    if (error !== undefined) {
      throw new Refused("sync", response.status, error);
    }
    pages += 1;
    changes += data.changes.length;
    for (const change of data.changes) {
      if (change.op === "access_revoked") {
        forgetChild(change.child_id);
      } else if (change.type === "child" && change.child !== null) {
        children.set(change.id, change.child);
      } else if (change.type === "session" && change.session !== null) {
        sessions.set(change.id, change.session);
      } else if (change.type === "session" && change.op === "delete") {
        sessions.delete(change.id);
      }
    }
    cursor = data.cursor;
    if (!data.has_more) {
      return { cursor, pages, changes };
    }
  }
}

const firstSync = await syncEveryPage(undefined);
say(
  `Synced ${firstSync.changes} changes in ${firstSync.pages} pages: ` +
    `${children.size} children and ${sessions.size} sessions on the phone`,
);
check(firstSync.pages > 1, "the first sync should take more than one page");

// 3. Tonight's session, for the first child (by reference) whose week has room for it.
const tonightStarts = new Date(phoneClock.getTime() - 90 * MINUTE);
const tonightEnds = new Date(phoneClock.getTime() - 30 * MINUTE);
const supported = [...children.values()]
  .filter((child) => child.enrolment !== null && child.enrolment.status === "active")
  .sort((a, b) => a.reference.localeCompare(b.reference));
check(supported.length > 0, "the caseload has no child with an active enrolment");

let child: Child | undefined;
let enrolmentId = "";
let logged: { session: Session; etag: string } | undefined;
for (const candidate of supported) {
  if (candidate.enrolment === null) {
    continue;
  }
  // The phone makes the session's id and the retry key, so a retry can never write twice.
  const idempotencyKey = randomUUID();
  const body: Schemas["SessionCreate"] = {
    id: randomUUID(),
    enrolment_ids: [candidate.enrolment.id],
    kind: "one_to_one",
    location_category: "community_venue",
    status: "planned",
    planned_start_at: tonightStarts.toISOString(),
    planned_end_at: tonightEnds.toISOString(),
  };
  const request = { params: { header: { "Idempotency-Key": idempotencyKey } }, body };
  const first = await client.POST("/sessions", request);
  if (first.error !== undefined) {
    if (first.error.reason === "weekly_session_cap_reached") {
      say(`${candidate.reference}'s week ${first.error.week ?? ""} is full already; trying the next child`);
      continue;
    }
    throw new Refused("log tonight's session", first.response.status, first.error);
  }
  const etag = first.response.headers.get("ETag");
  check(etag !== null, "a created session comes with its ETag");
  check(first.response.headers.get("Idempotent-Replayed") === null, "a first answer is not a replay");

  // The answer was lost on the way back (say): the phone sends the very same request again.
  const again = await client.POST("/sessions", request);
  if (again.error !== undefined) {
    throw new Refused("retry tonight's session", again.response.status, again.error);
  }
  check(again.response.status === 201, "the replay answers as the first request did");
  check(again.response.headers.get("Idempotent-Replayed") === "true", "the retry is marked Idempotent-Replayed");
  check(again.data.id === first.data.id, "the retry answers with the session the first request made");
  say(`Logged tonight's session with ${candidate.reference} (${first.data.week}); the retry was replayed`);

  child = candidate;
  enrolmentId = candidate.enrolment.id;
  logged = { session: first.data, etag };
  break;
}
check(child !== undefined && logged !== undefined, "no child in the caseload had room for a session this week");

// 4. Complete it: what happened, with If-Match from the answer that made it.
const { data: programme, error: programmeError, response: programmeResponse } = await client.GET(
  "/programmes/{programme_id}",
  { params: { path: { programme_id: child.programme_id } } },
);
if (programmeError !== undefined) {
  throw new Refused("read the programme", programmeResponse.status, programmeError);
}
const completed = await client.PATCH("/sessions/{session_id}", {
  params: { path: { session_id: logged.session.id }, header: { "If-Match": logged.etag } },
  body: {
    status: "completed",
    actual_duration_minutes: 60,
    activities: (programme.session_activities ?? []).slice(0, 1),
    notes: "Talked about the week at school; agreed to meet again on Thursday.",
  },
});
if (completed.error !== undefined) {
  throw new Refused("complete tonight's session", completed.response.status, completed.error);
}
check(completed.data.status === "completed", "the session is completed");
check(completed.data.version > logged.session.version, "completing the session gave it a new version");
const completedEtag = completed.response.headers.get("ETag");
check(completedEtag !== null && completedEtag !== logged.etag, "the completed session has a new ETag");
say(`Completed it: ${completed.data.actual_duration_minutes ?? 0} minutes, version ${completed.data.version}`);

// 5. Wellbeing: read where the child is, then record the check-in done together tonight.
{
  const { data, error, response } = await client.GET("/children/{child_id}/wellbeing", {
    params: { path: { child_id: child.id } },
  });
  if (error !== undefined) {
    throw new Refused("read wellbeing", response.status, error);
  }
  for (const instrument of data.instruments) {
    say(
      `${instrument.name}: ${instrument.check_ins} check-ins, ` +
        (instrument.meaningful_change ? "a meaningful change since the baseline" : "no meaningful change yet"),
    );
  }
}
const { data: instruments, error: instrumentsError, response: instrumentsResponse } = await client.GET("/instruments");
if (instrumentsError !== undefined) {
  throw new Refused("list instruments", instrumentsResponse.status, instrumentsError);
}
const ons4 = instruments.find((instrument) => instrument.key === "ons4");
check(ons4 !== undefined, "this deployment offers ONS4");
const answers: Record<string, number> = {};
for (const item of ons4.items) {
  answers[item.key] = Math.round((item.min_response + item.max_response) / 2);
}
{
  const { data, error, response } = await client.POST("/children/{child_id}/check-ins", {
    params: { path: { child_id: child.id }, header: { "Idempotency-Key": randomUUID() } },
    body: { instrument: ons4.key, answers, session_id: logged.session.id },
  });
  if (error !== undefined) {
    throw new Refused("record a check-in", response.status, error);
  }
  check(data.session_id === logged.session.id, "the check-in belongs to tonight's session");
  say(`Recorded an ${ons4.name} check-in: ${data.responses.length} answers`);
}

// 6. A stale edit: a second screen still holds the session as it was before it was completed. Its If-Match is
// refused with 412 stale_version and the version now; the app reads the session again and reapplies the edit.
const lateNote = "Added later: the child asked for help with a college application.";
const stale = await client.PATCH("/sessions/{session_id}", {
  params: { path: { session_id: logged.session.id }, header: { "If-Match": logged.etag } },
  body: { notes: lateNote },
});
check(stale.error !== undefined, "an edit from a stale copy must be refused");
check(stale.response.status === 412, `a stale edit answers 412, not ${stale.response.status}`);
check(stale.error.reason === "stale_version", `a stale edit's reason is stale_version, not ${stale.error.reason}`);
check(stale.error.current_version === completed.data.version, "the 412 says which version is current");
say(`The stale edit was refused (412 stale_version, version ${stale.error.current_version} is current)`);
{
  const fresh = await client.GET("/sessions/{session_id}", { params: { path: { session_id: logged.session.id } } });
  if (fresh.error !== undefined) {
    throw new Refused("read the session again", fresh.response.status, fresh.error);
  }
  const etag = fresh.response.headers.get("ETag");
  check(etag !== null, "a session is read with its ETag");
  const reapplied = await client.PATCH("/sessions/{session_id}", {
    params: { path: { session_id: logged.session.id }, header: { "If-Match": etag } },
    body: { notes: `${fresh.data.notes ?? ""}\n${lateNote}` },
  });
  if (reapplied.error !== undefined) {
    throw new Refused("reapply the edit", reapplied.response.status, reapplied.error);
  }
  check(reapplied.data.notes !== null && reapplied.data.notes.endsWith(lateNote), "the note was added");
  say(`Reapplied the edit on version ${fresh.data.version}: now version ${reapplied.data.version}`);
}

// 7. Follow-ups this week, a day apart, until the weekly cap refuses one: 409 with the week's facts.
let refusal: ApiError | undefined;
let booked = 0;
for (let day = 1; day <= 6 && refusal === undefined; day += 1) {
  const startsAt = new Date(tonightStarts.getTime() + day * DAY);
  const { data, error, response } = await client.POST("/sessions", {
    params: { header: { "Idempotency-Key": randomUUID() } },
    body: {
      enrolment_ids: [enrolmentId],
      kind: "one_to_one",
      location_category: "community_venue",
      status: "planned",
      planned_start_at: startsAt.toISOString(),
      planned_end_at: new Date(startsAt.getTime() + 60 * MINUTE).toISOString(),
    },
  });
  if (error === undefined) {
    check(data.week === logged.session.week, "follow-ups stay in tonight's week");
    booked += 1;
  } else if (response.status === 409 && error.reason === "weekly_session_cap_reached") {
    refusal = error;
  } else {
    throw new Refused("book a follow-up", response.status, error);
  }
}
check(refusal !== undefined, "the weekly cap should have refused a follow-up within the week");
check(refusal.week === logged.session.week, "the 409 names tonight's week");
check(
  refusal.sessions_in_week !== undefined &&
    refusal.max_sessions !== undefined &&
    refusal.sessions_in_week >= refusal.max_sessions,
  "the 409 says the week is full",
);
check(refusal.child_id === child.id, "the 409 names the child");
say(
  `Booked ${booked} follow-ups; the next was refused (409 weekly_session_cap_reached): ` +
    `${refusal.sessions_in_week} of ${refusal.max_sessions} sessions in ${refusal.week}`,
);

// 8. Before the access token runs out: swap the refresh token for a new pair, and carry on with it.
{
  check(tokens !== undefined, "signed in");
  const previous = tokens;
  const { data, error, response } = await client.POST("/auth/refresh", {
    body: { refresh_token: previous.refresh_token },
  });
  if (error !== undefined) {
    throw new Refused("refresh the token", response.status, error);
  }
  check(data.refresh_token !== previous.refresh_token, "each refresh gives a new refresh token");
  tokens = data;
  // On PostgreSQL a page waits for every write transaction still open on the database server (sync delays a
  // change, it never loses one), so tonight's writes may come a call or two later: the phone syncs again.
  let later = await syncEveryPage(firstSync.cursor);
  let syncs = 1;
  while (!sessions.has(logged.session.id) && syncs < 60) {
    await sleep(500);
    later = await syncEveryPage(later.cursor);
    syncs += 1;
  }
  check(sessions.has(logged.session.id), "tonight's session is on the phone");
  say(`Refreshed the token; syncing with it brought tonight's changes (${syncs} sync(s))`);
  // What the test checks on the server's side.
  console.log(
    JSON.stringify({
      child_id: child.id,
      session_id: logged.session.id,
      pages: firstSync.pages,
      follow_ups_booked: booked,
      spent_refresh_token: previous.refresh_token,
    }),
  );
}
