from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import STAFF, current_actor, requires
from api.caseloads import service
from api.caseloads.schemas import AllocateSchema, AllocationSchema, MentorCaseloadSchema
from api.web import clock, db_session

blp = Blueprint("caseloads", __name__, description="Mentors' caseloads and key-worker allocation")


@blp.route("/mentors", methods=["GET"])
@requires(*STAFF)
@blp.response(200, MentorCaseloadSchema(many=True))
def list_mentors() -> Any:
    """Mentors with their caseload against their maximum"""
    return service.list_mentor_caseloads(db_session(), actor=current_actor())


@blp.route("/enrolments/<uuid:enrolment_id>/allocation", methods=["PUT"])
@requires(*STAFF)
@blp.arguments(AllocateSchema)
@blp.response(200, AllocationSchema)
def allocate(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Allocate a key worker, or reallocate (the previous allocation is kept as history)"""
    return service.allocate_mentor(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        mentor_id=body["mentor_id"],
        now=clock().now(),
    )


@blp.route("/enrolments/<uuid:enrolment_id>/allocations", methods=["GET"])
@requires(*STAFF)
@blp.response(200, AllocationSchema(many=True))
def list_allocations(enrolment_id: uuid.UUID) -> Any:
    """Every key worker the child has had on this enrolment, oldest first"""
    return service.list_allocations(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())
