from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.auth import ALL_ROLES, CASEWORK, current_actor, requires
from api.idempotency.http import idempotent
from api.web import (
    IF_MATCH_HEADER,
    RATE_LIMITED,
    clock,
    db_session,
    etag,
    expected_version,
    page_answer,
    page_window,
    spend_sms_budget,
)
from api.wellbeing import check_ins, goals, invitations, picture
from api.wellbeing.rules import Instrument
from api.wellbeing.schemas import (
    CheckInCreateSchema,
    CheckInSchema,
    GoalChangeSchema,
    GoalCreateSchema,
    GoalEndSchema,
    GoalSchema,
    InstrumentSchema,
    InvitationCreateSchema,
    InvitationSchema,
    WellbeingSchema,
)

blp = Blueprint(
    "wellbeing",
    __name__,
    description="Wellbeing check-ins (in a session or from a one-time SMS link), goals and change from baseline",
)


def instruments() -> Mapping[str, Instrument]:
    loaded: Mapping[str, Instrument] = current_app.extensions["reachable.instruments"]
    return loaded


@blp.route("/instruments", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, InstrumentSchema(many=True))
def list_instruments() -> Any:
    """The wellbeing instruments this deployment offers, with their scales, thresholds, licence and credit

    Instruments are data, not code: each has its key (`ons4`, `gbo`, `swemwbs`), its items with their prompts and
    the whole numbers each accepts, how it is scored, the change that counts as meaningful, the ages it suits, and
    its licence and credit, which must be shown with it. An instrument whose licence forbids publishing its wording
    (SWEMWBS) has `has_wording: false` and null prompts: it can be recorded in a session from the licensed form, but
    not sent by link. Goal Based Outcomes rates the child's active goals, as items `goal_1` to `goal_3`. Any role.
    """
    return list(instruments().values())


@blp.route("/children/<uuid:child_id>/check-ins", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(CheckInCreateSchema)
@blp.response(201, CheckInSchema)
def record_check_in(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record a check-in completed in a session; a problem with an answer is a 422 naming its item

    For a check-in done together (in a session, or entered by staff): the instrument's key and one whole number per
    item on the item's scale (`GET /instruments`); Goal Based Outcomes rates each active goal under its `item_key`.
    A missing, unknown or out-of-range answer is a 422 `invalid_answers` whose `errors.answers` names the item; an
    instrument not meant for the child's age answers 422 `instrument_not_suitable`. `session_id`, if given, must be
    a session the child attends. The answers are scored and stored with every raw and derived score; the first
    check-in on an instrument is the child's baseline, and a later one that falls meaningfully from it raises a
    `wellbeing_drop` alert to the coordinators in the same transaction (`alert_id`). A mentor may record check-ins
    only for their own caseload. Send an `Idempotency-Key` so a retry replays the first answer instead of recording
    twice. The check-in reaches the key worker's phone through `GET /sync`. Audited.
    """
    return check_ins.record_check_in(
        db_session(), actor=current_actor(), instruments=instruments(), child_id=child_id, now=clock().now(), **body
    )


@blp.route("/children/<uuid:child_id>/check-ins", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, CheckInSchema(many=True))
@blp.paginate()
def list_check_ins(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's check-in history, newest first, with the channel (in a session or from an SMS link)

    Every check-in the child has done, newest first: in a session with a mentor or from a one-time link sent by SMS,
    with every answer, the raw and derived scores and any alert it raised; a page at a time (`page`, `page_size`;
    `X-Pagination` gives the total). A mentor may read them only for their own caseload (any other child answers
    404). Audited.
    """
    page = check_ins.list_check_ins(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/check-ins/<uuid:check_in_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, CheckInSchema)
def get_check_in(check_in_id: uuid.UUID) -> Any:
    """One check-in: every answer, the raw and derived scores

    The instrument and its version, how it was done (in a session, or from a link), when, who recorded it, every
    answer, the raw and derived scores, and the alert it raised if it fell meaningfully from the baseline. A
    check-in of a child you may not see answers 404. Audited.
    """
    return check_ins.get_check_in(db_session(), actor=current_actor(), check_in_id=check_in_id, now=clock().now())


@blp.route("/children/<uuid:child_id>/wellbeing", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, WellbeingSchema)
def get_wellbeing(child_id: uuid.UUID) -> Any:
    """Per instrument: baseline, latest, change and whether it is meaningful; each goal's ratings over time

    The child's wellbeing at a glance: for each instrument, how many check-ins, the baseline (the first) and the
    latest, and for each score the change between them, whether it is an improvement, and whether it passes the
    instrument's meaningful-change threshold; and each goal with its ratings over time and its change from the first
    rating. A mentor may read it only for their own caseload (any other child answers 404). Audited.
    """
    return picture.get_wellbeing(
        db_session(), actor=current_actor(), instruments=instruments(), child_id=child_id, now=clock().now()
    )


@blp.route("/children/<uuid:child_id>/goals", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(GoalCreateSchema)
@blp.response(201, GoalSchema)
def set_goal(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Set a goal in the child's own words (409 too_many_active_goals when three are active)

    A goal in the child's own words, rated later with Goal Based Outcomes. A child has at most three active goals
    (409 `too_many_active_goals`); each active goal takes a slot from 1 to 3, and its `item_key` (`goal_1` to
    `goal_3`) is where its rating goes in a check-in. A mentor may set goals only for their own caseload. Send an
    `Idempotency-Key` so a retry replays the first answer instead of setting the goal twice. The answer's ETag goes
    in If-Match to end or reword the goal. Audited.
    """
    record = goals.set_goal(db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body)
    return record, etag(record.version)


@blp.route("/children/<uuid:child_id>/goals", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, GoalSchema(many=True))
def list_goals(child_id: uuid.UUID) -> Any:
    """All of a child's goals, active and ended, oldest first, each with its ratings over time

    Active and ended goals (achieved, dropped, or changed into a reworded goal they point to), oldest first, each
    with every rating it was given and its change from the first rating. A mentor may read them only for their own
    caseload (any other child answers 404). Audited.
    """
    return goals.list_goals(
        db_session(), actor=current_actor(), instruments=instruments(), child_id=child_id, now=clock().now()
    )


@blp.route("/goals/<uuid:goal_id>/end", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(GoalEndSchema)
@blp.response(200, GoalSchema)
def end_goal(body: dict[str, Any], goal_id: uuid.UUID) -> Any:
    """Mark an active goal achieved or dropped (If-Match: the goal's ETag)

    Send If-Match with the goal's ETag (412 `stale_version` with `current_version` if it changed since; 428 without
    it). The goal ends as `achieved` or `dropped`, with an optional note, and frees its slot; it and its ratings
    stay in the history. Rewording is `POST /goals/{goal_id}/change`. A goal no longer active answers 409
    `goal_not_active`. The answer carries the new ETag. Audited.
    """
    record = goals.end_goal(
        db_session(),
        actor=current_actor(),
        goal_id=goal_id,
        expected_version=expected_version(),
        now=clock().now(),
        **body,
    )
    return record, etag(record.version)


@blp.route("/goals/<uuid:goal_id>/change", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(GoalChangeSchema)
@blp.response(201, GoalSchema)
def change_goal(body: dict[str, Any], goal_id: uuid.UUID) -> Any:
    """Reword an active goal: it ends as changed, and the new goal (answered) takes its place (If-Match)

    Send If-Match with the goal's ETag (412 `stale_version` with `current_version` if it changed since; 428 without
    it). The goal ends as `changed`, pointing to a new goal with the new wording, which takes its slot and item key,
    so the ratings carry on under the same item. Answers 201 with the new goal and its ETag. A goal no longer active
    answers 409 `goal_not_active`. Audited.
    """
    record = goals.change_goal(
        db_session(),
        actor=current_actor(),
        goal_id=goal_id,
        expected_version=expected_version(),
        now=clock().now(),
        **body,
    )
    return record, etag(record.version)


@blp.route("/children/<uuid:child_id>/check-in-invitations", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(InvitationCreateSchema)
@blp.response(201, InvitationSchema)
@blp.alt_response(429, **RATE_LIMITED)
def invite_check_in(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Send the child a one-time check-in link by SMS now (to their own mobile, with their consent)

    The link goes by SMS to the child's own mobile, and only with the child's SMS consent in force (409
    `no_mobile_with_sms_consent` otherwise); never to a carer's phone. It asks the instruments given, or the
    programme's choice, each of which must have its wording here and suit the child's age. The link is one-time: it
    works until it is used or expires (the programme's `check_in_link_hours`), shows nothing identifying, and the
    answers arrive in the key worker's sync feed. The SMS is queued in the same transaction and sent by the
    scheduler (held overnight for quiet hours). Links sent are rate-limited per user (429 with Retry-After). Send an
    `Idempotency-Key` so a retry replays the first answer instead of texting twice. Audited.
    """
    return invitations.invite_check_in(
        db_session(),
        actor=current_actor(),
        instruments=instruments(),
        child_id=child_id,
        instrument_keys=body["instruments"],
        secret_key=current_app.config["SECRET_KEY"],
        now=clock().now(),
        spend_sms_budget=functools.partial(spend_sms_budget, current_actor().user_id),
    )


@blp.route("/children/<uuid:child_id>/check-in-invitations", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, InvitationSchema(many=True))
@blp.paginate()
def list_invitations(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's check-in links, newest first: open, completed, expired or withdrawn

    Every check-in link the child was sent, newest first, with the instruments it asks, when it expires, its state
    (`open`, `completed`, `expired` or `revoked`), whether someone asked for it or the programme's routine sent it,
    and how many SMS were made for it (their ledger is `GET /check-in-invitations/{invitation_id}/messages`); a page
    at a time (`page`, `page_size`; `X-Pagination` gives the total). A mentor may read them only for their own
    caseload. Audited.
    """
    page = invitations.list_invitations(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/check-in-invitations/<uuid:invitation_id>/revoke", methods=["POST"])
@requires(*CASEWORK)
@blp.response(200, InvitationSchema)
def revoke_invitation(invitation_id: uuid.UUID) -> Any:
    """Withdraw an unused link (sent to the wrong phone, say): it stops working at once

    For a link sent to the wrong phone, say: it stops working at once, and anyone who opens it sees the same page as
    for any link that does not work. Only an open link can be withdrawn (409 `check_in_invitation_not_open` once
    used, expired or withdrawn). A mentor may withdraw links only for their own caseload. Audited.
    """
    return invitations.revoke_invitation(
        db_session(), actor=current_actor(), invitation_id=invitation_id, now=clock().now()
    )
