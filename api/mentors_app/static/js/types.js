// The API's types, from the client generated from Reachable's OpenAPI document (clients/typescript/src/schema.d.ts),
// and the app's own records. Types only: `tsc --checkJs` reads this file, the browser loads nothing from it.

/** @typedef {import("../../../../clients/typescript/src/schema").components["schemas"]} Schemas */
/** @typedef {Schemas["Child"]} Child */
/** @typedef {Schemas["Session"]} Session */
/** @typedef {Schemas["SessionCreate"]} SessionCreate */
/** @typedef {Schemas["Programme"]} Programme */
/** @typedef {Schemas["TokenPair"]} TokenPair */
/** @typedef {Schemas["SyncPage"]} SyncPage */
/** @typedef {Schemas["Change"]} Change */
/** @typedef {Schemas["Error"]} ApiError */

/**
 * Why the server refused a queued write when it was replayed: kept on the phone and shown to the mentor, with
 * the refusal's own facts (a full week's `week`, `sessions_in_week` and `max_sessions`) when it had some.
 * @typedef {{ status: number, reason: string, message: string, refusedAt: string, facts: ApiError | null }} Refusal
 */

/**
 * A write made on the phone, waiting in the outbox to be sent (in `seq` order). The session's id and the
 * Idempotency-Key are made once, when the mentor saves, so however often it is sent the server makes it once.
 * @typedef {{
 *   seq?: number,
 *   kind: "create_session",
 *   childId: string,
 *   idempotencyKey: string,
 *   body: SessionCreate & { id: string },
 *   queuedAt: string,
 *   refusal: Refusal | null,
 * }} QueuedWrite
 */

export {};
