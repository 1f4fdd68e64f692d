// The API's types, from the client generated from Reachable's OpenAPI document (clients/typescript/src/schema.d.ts),
// and the app's own records. Types only: `tsc --checkJs` reads this file, the browser loads nothing from it.

/** @typedef {import("../../../../clients/typescript/src/schema").components["schemas"]} Schemas */
/** @typedef {Schemas["Child"]} Child */
/** @typedef {Schemas["Session"]} Session */
/** @typedef {Schemas["SessionCreate"]} SessionCreate */
/** @typedef {Schemas["SessionUpdate"]} SessionUpdate */
/** @typedef {Schemas["Programme"]} Programme */
/** @typedef {Schemas["Alert"]} Alert */
/** @typedef {Schemas["TokenPair"]} TokenPair */
/** @typedef {Schemas["MfaEnrolment"]} MfaEnrolment */
/** @typedef {Schemas["EnrolledSignIn"]} EnrolledSignIn */
/** @typedef {Schemas["SyncPage"]} SyncPage */
/** @typedef {Schemas["Change"]} Change */
/** @typedef {Schemas["Error"]} ApiError */
/** @typedef {Schemas["OnDutyNow"]} OnDutyNow */
/** @typedef {Schemas["Instrument"]} Instrument */
/** @typedef {Schemas["CheckIn"]} CheckIn */
/** @typedef {Schemas["Goal"]} Goal */
/** @typedef {Schemas["Pattern"]} Pattern */
/** @typedef {Schemas["MissingEpisode"]} MissingEpisode */
/** @typedef {Schemas["Series"]} Series */

/**
 * Why the server refused a queued write when it was replayed: kept on the phone and shown to the mentor, with
 * the refusal's own facts (a full week's `week`, `sessions_in_week` and `max_sessions`) when it had some.
 * @typedef {{ status: number, reason: string, message: string, refusedAt: string, facts: ApiError | null }} Refusal
 */

/**
 * A write made on the phone, waiting in the outbox to be sent (in `seq` order):
 * - `create_session`: a new session, planned or logged afterwards. Its id and Idempotency-Key are made once,
 *   when the mentor saves, so however often it is sent the server makes it once.
 * - `log_session`: a planned session logged (completed or did-not-attend), sent with If-Match: the version the
 *   phone held. A replay after a lost answer meets 412; the phone then reads the session, and if the server holds
 *   the log already it was this write, sent once. Otherwise someone else changed it: `theirs` keeps the server's
 *   session, for the mentor to choose between the two.
 * @typedef {{
 *   seq?: number,
 *   kind: "create_session",
 *   childId: string,
 *   idempotencyKey: string,
 *   body: SessionCreate & { id: string },
 *   queuedAt: string,
 *   refusal: Refusal | null,
 * }} QueuedCreate
 * @typedef {{
 *   seq?: number,
 *   kind: "log_session",
 *   childId: string,
 *   sessionId: string,
 *   plannedStartAt: string,
 *   baseVersion: number,
 *   body: SessionUpdate,
 *   queuedAt: string,
 *   refusal: Refusal | null,
 *   theirs?: Session,
 * }} QueuedLog
 * @typedef {QueuedCreate | QueuedLog | QueuedRequest} QueuedWrite
 */

/**
 * - `request`: every other write (a check-in, a goal, a missing episode, a register, lone working, a weekly
 *   pattern), sent as `method` to `path`:
 *   - a POST or PUT carries its own `idempotencyKey`, made once when the mentor saves: a retry after a lost answer
 *     is answered with the first answer;
 *   - an edit of a versioned record carries `ifMatch` (the version the phone held). Replayed after a lost answer it
 *     meets 412; the phone then reads the record at `check.path` (the one in the list with `check.id`) and if it
 *     already says `check.expect` the write was applied, once. Otherwise someone else changed it: the refusal keeps
 *     the server's record as `theirs`.
 *   The server's answer is kept in the store `keepIn` (when it names one), in the same transaction as the write
 *   leaves the outbox; or, for an answer that is part of another record (`keepOn`: a session's `lone_working`),
 *   into that record's field. `label` says what it is, in words, wherever the outbox is shown.
 * @typedef {{
 *   seq?: number,
 *   kind: "request",
 *   childId: string,
 *   label: string,
 *   method: "POST" | "PUT" | "PATCH",
 *   path: string,
 *   idempotencyKey: string | null,
 *   ifMatch: number | null,
 *   check: { path: string, id?: string, expect: Record<string, unknown> } | null,
 *   body: Record<string, unknown>,
 *   keepIn: string | null,
 *   keepOn?: { store: string, id: string, field: string } | null,
 *   queuedAt: string,
 *   refusal: Refusal | null,
 *   theirs?: Record<string, unknown>,
 * }} QueuedRequest
 */

export {};
