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
    """Mentors with their caseload against their maximum

    Every mentor of your programme (admins: every programme), by name, with whether they can sign in, how many
    children they are key worker for now and their maximum caseload, so a coordinator can see who has room before
    allocating. Admins and coordinators.
    """
    return service.list_mentor_caseloads(db_session(), actor=current_actor())


@blp.route("/enrolments/<uuid:enrolment_id>/allocation", methods=["PUT"])
@requires(*STAFF)
@blp.arguments(AllocateSchema)
@blp.response(200, AllocationSchema)
def allocate(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Allocate a key worker, or reallocate (the previous allocation is kept as history)

    The child's enrolment must hold a place (active, or offered from the waitlist; 409 `enrolment_not_allocatable`
    otherwise), and the mentor must be an active mentor of the same programme (404 `mentor_not_found`) with room in
    their caseload (409 `mentor_caseload_full`, with `caseload` and `max_caseload`); the mentor's row is locked, so
    two coordinators cannot both take their last slot. Allocating the mentor already allocated answers 409
    `already_allocated`. A previous key worker's allocation ends and stays in the history. The new key worker's
    phone receives the child, and all that is theirs, on its next `GET /sync`; the previous key worker's phone is
    told to forget the child. Admins and coordinators; audited.
    """
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
    """Every key worker the child has had on this enrolment, oldest first

    Who was key worker when: each allocation with its start, its end and why it ended (reallocated, enrolment ended
    ...), oldest first. Admins and coordinators of the enrolment's programme (any other answers 404); audited.
    """
    return service.list_allocations(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())
