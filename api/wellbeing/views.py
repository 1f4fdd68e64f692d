from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.auth import ALL_ROLES, CASEWORK, current_actor, requires
from api.idempotency.http import idempotent
from api.web import IF_MATCH_HEADER, RATE_LIMITED, clock, db_session, etag, expected_version, spend_sms_budget
from api.wellbeing import service
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
    """The wellbeing instruments this deployment offers, with their scales, thresholds, licence and credit"""
    return list(instruments().values())


@blp.route("/children/<uuid:child_id>/check-ins", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(CheckInCreateSchema)
@blp.response(201, CheckInSchema)
def record_check_in(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record a check-in completed in a session; a problem with an answer is a 422 naming its item"""
    return service.record_check_in(
        db_session(), actor=current_actor(), instruments=instruments(), child_id=child_id, now=clock().now(), **body
    )


@blp.route("/children/<uuid:child_id>/check-ins", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, CheckInSchema(many=True))
@blp.paginate()
def list_check_ins(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's check-in history, newest first, with the channel (in a session or from an SMS link)"""
    records, total = service.list_check_ins(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return records


@blp.route("/check-ins/<uuid:check_in_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, CheckInSchema)
def get_check_in(check_in_id: uuid.UUID) -> Any:
    """One check-in: every answer, the raw and derived scores"""
    return service.get_check_in(db_session(), actor=current_actor(), check_in_id=check_in_id, now=clock().now())


@blp.route("/children/<uuid:child_id>/wellbeing", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, WellbeingSchema)
def get_wellbeing(child_id: uuid.UUID) -> Any:
    """Per instrument: baseline, latest, change and whether it is meaningful; each goal's ratings over time"""
    return service.get_wellbeing(
        db_session(), actor=current_actor(), instruments=instruments(), child_id=child_id, now=clock().now()
    )


@blp.route("/children/<uuid:child_id>/goals", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(GoalCreateSchema)
@blp.response(201, GoalSchema)
def set_goal(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Set a goal in the child's own words (409 too_many_active_goals when three are active)"""
    record = service.set_goal(db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body)
    return record, etag(record.version)


@blp.route("/children/<uuid:child_id>/goals", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, GoalSchema(many=True))
def list_goals(child_id: uuid.UUID) -> Any:
    """All of a child's goals, active and ended, oldest first, each with its ratings over time"""
    return service.list_goals(
        db_session(), actor=current_actor(), instruments=instruments(), child_id=child_id, now=clock().now()
    )


@blp.route("/goals/<uuid:goal_id>/end", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(GoalEndSchema)
@blp.response(200, GoalSchema)
def end_goal(body: dict[str, Any], goal_id: uuid.UUID) -> Any:
    """Mark an active goal achieved or dropped (If-Match: the goal's ETag)"""
    record = service.end_goal(
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
    """Reword an active goal: it ends as changed, and the new goal (answered) takes its place (If-Match)"""
    record = service.change_goal(
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
    """Send the child a one-time check-in link by SMS now (to their own mobile, with their consent)"""
    return service.invite_check_in(
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
    """A child's check-in links, newest first: open, completed, expired or withdrawn"""
    records, total = service.list_invitations(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return records


@blp.route("/check-in-invitations/<uuid:invitation_id>/revoke", methods=["POST"])
@requires(*CASEWORK)
@blp.response(200, InvitationSchema)
def revoke_invitation(invitation_id: uuid.UUID) -> Any:
    """Withdraw an unused link (sent to the wrong phone, say): it stops working at once"""
    return service.revoke_invitation(
        db_session(), actor=current_actor(), invitation_id=invitation_id, now=clock().now()
    )
