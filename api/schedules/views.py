from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import CASEWORK, current_actor, requires
from api.idempotency.http import idempotent
from api.schedules import service
from api.schedules.schemas import PatternCreateSchema, PatternFields, PatternResultSchema, PatternSchema
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version

blp = Blueprint("schedules", __name__, description="Recurring session patterns")


@blp.route("/enrolments/<uuid:enrolment_id>/patterns", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(PatternCreateSchema)
@blp.response(201, PatternResultSchema)
def set_pattern(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Set a weekly pattern: plans sessions to the enrolment's planned end, in local wall-clock time"""
    result = service.set_pattern(
        db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now(), **body
    )
    return result, etag(result.version)


@blp.route("/enrolments/<uuid:enrolment_id>/patterns", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, PatternSchema(many=True))
def list_patterns(enrolment_id: uuid.UUID) -> Any:
    """The enrolment's patterns, oldest first"""
    return service.list_patterns(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


@blp.route("/patterns/<uuid:pattern_id>", methods=["PUT"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(PatternFields)
@blp.response(200, PatternResultSchema)
def change_pattern(body: dict[str, Any], pattern_id: uuid.UUID) -> Any:
    """Change a pattern: only its future, untouched sessions are replaced"""
    result = service.change_pattern(
        db_session(),
        actor=current_actor(),
        pattern_id=pattern_id,
        expected_version=expected_version(),
        now=clock().now(),
        **body,
    )
    return result, etag(result.version)


@blp.route("/patterns/<uuid:pattern_id>/end", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.response(200, PatternResultSchema)
def end_pattern(pattern_id: uuid.UUID) -> Any:
    """End a pattern: its future, untouched sessions are removed; everything else stays"""
    result = service.end_pattern(
        db_session(),
        actor=current_actor(),
        pattern_id=pattern_id,
        expected_version=expected_version(),
        now=clock().now(),
    )
    return result, etag(result.version)
