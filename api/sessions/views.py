from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import CASEWORK, STAFF, current_actor, requires
from api.idempotency.http import idempotent
from api.sessions import service
from api.sessions.schemas import (
    CapOverrideSchema,
    DeliverySummarySchema,
    RescheduleSchema,
    SessionCreateSchema,
    SessionListQuerySchema,
    SessionSchema,
    SessionUpdateSchema,
)
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version

blp = Blueprint("sessions", __name__, description="Planning and logging sessions, within the weekly cap")


@blp.route("/sessions", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(SessionCreateSchema)
@blp.response(201, SessionSchema)
def create_session(body: dict[str, Any]) -> Any:
    """Plan a session, or log one that already happened (409 weekly_session_cap_reached past the cap)"""
    view = service.create_session(
        db_session(), actor=current_actor(), session_id=body.pop("id"), now=clock().now(), **body
    )
    return view, etag(view.version)


@blp.route("/sessions", methods=["GET"])
@requires(*CASEWORK)
@blp.arguments(SessionListQuerySchema, location="query")
@blp.response(200, SessionSchema(many=True))
@blp.paginate()
def list_sessions(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """Sessions of the children you may see, in time order"""
    views, total = service.list_sessions(
        db_session(),
        actor=current_actor(),
        child_id=args.get("child_id"),
        starts_from=args.get("starts_from"),
        starts_before=args.get("starts_before"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return views


@blp.route("/sessions/<uuid:session_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, SessionSchema)
def get_session(session_id: uuid.UUID) -> Any:
    """One session, with its ETag"""
    view = service.get_session(db_session(), actor=current_actor(), session_id=session_id, now=clock().now())
    return view, etag(view.version)


@blp.route("/sessions/<uuid:session_id>", methods=["PATCH"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(SessionUpdateSchema)
@blp.response(200, SessionSchema)
def update_session(body: dict[str, Any], session_id: uuid.UUID) -> Any:
    """Log what happened (completed, did not attend), cancel, or correct a planned session"""
    log = body.pop("log")
    view = service.update_session(
        db_session(),
        actor=current_actor(),
        session_id=session_id,
        expected_version=expected_version(),
        changes=body,
        log=log,
        now=clock().now(),
    )
    return view, etag(view.version)


@blp.route("/sessions/<uuid:session_id>/reschedule", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(RescheduleSchema)
@blp.response(201, SessionSchema)
def reschedule_session(body: dict[str, Any], session_id: uuid.UUID) -> Any:
    """Move a planned session: it becomes rescheduled and the new planned session is returned"""
    view = service.reschedule_session(
        db_session(),
        actor=current_actor(),
        session_id=session_id,
        expected_version=expected_version(),
        now=clock().now(),
        **body,
    )
    return view, etag(view.version)


@blp.route("/enrolments/<uuid:enrolment_id>/weekly-cap-overrides", methods=["PUT"])
@requires(*STAFF)
@blp.arguments(CapOverrideSchema)
@blp.response(200, CapOverrideSchema)
def override_weekly_cap(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Allow one child more sessions in one exceptional week, with the reason (audited)"""
    return service.override_weekly_cap(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        local_week=body["local_week"],
        max_sessions=body["max_sessions"],
        reason=body["reason"],
        now=clock().now(),
    )


@blp.route("/children/<uuid:child_id>/session-summary", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, DeliverySummarySchema)
def summarise_delivery(child_id: uuid.UUID) -> Any:
    """Planned against delivered, missed and cancelled, evening and weekend share, sessions per week"""
    return service.summarise_delivery(db_session(), actor=current_actor(), child_id=child_id, now=clock().now())
