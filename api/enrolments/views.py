from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.actors import Role
from api.auth import ALL_ROLES, STAFF, current_actor, requires
from api.caseloads.schemas import AllocateSchema, AllocationSchema
from api.enrolments import allocations, reading, service
from api.enrolments.schemas import (
    EnrolmentListQuerySchema,
    EnrolmentSchema,
    PlacesSchema,
    PriorityChangeSchema,
    WithdrawSchema,
)
from api.programmes.schemas import CohortSchema, CohortUpdateSchema
from api.web import clock, db_session, page_answer, page_window

blp = Blueprint("enrolments", __name__, description="Places, the waitlist, offers and enrolments")


@blp.route("/programmes/<uuid:programme_id>/places", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, PlacesSchema(many=True))
def get_places(programme_id: uuid.UUID) -> Any:
    """Places used against places funded, and waitlist length, per cohort

    Per cohort: places funded, children active, places offered and held for a child from the waitlist, places free,
    and children waiting. Admins may read any programme, everyone else their own (any other answers 404).
    Commissioners see counts from 1 to 4 as "<5", and `free` withheld whenever it would reveal one; no child is ever
    identifiable.
    """
    return reading.get_places(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
    )


@blp.route("/enrolments", methods=["GET"])
@requires(*STAFF)
@blp.arguments(EnrolmentListQuerySchema, location="query")
@blp.response(200, EnrolmentSchema(many=True))
@blp.paginate()
def list_enrolments(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """List enrolments, newest first

    Enrolments in your programme (admins: every programme), newest first, filtered by cohort, child or status, a
    page at a time (`page`, `page_size`; `X-Pagination` gives the total). A waiting child's enrolment carries its
    waitlist position. Admins and coordinators; every enrolment listed is written to the audit log.
    """
    page = reading.list_enrolments(
        db_session(),
        actor=current_actor(),
        cohort_id=args.get("cohort_id"),
        child_id=args.get("child_id"),
        status=args.get("status"),
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/enrolments/<uuid:enrolment_id>", methods=["GET"])
@requires(*STAFF)
@blp.response(200, EnrolmentSchema)
def get_enrolment(enrolment_id: uuid.UUID) -> Any:
    """One enrolment, with its waitlist position while waiting

    Its cohort, status (waitlisted, offered, active, ended, offer lapsed, withdrawn), priority, the dates support
    started and is planned to end, how it ended, and its waitlist position while waiting. Admins and coordinators of
    its programme (any other answers 404); audited.
    """
    return reading.get_enrolment(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


@blp.route("/enrolments/<uuid:enrolment_id>/confirm-offer", methods=["POST"])
@requires(*STAFF)
@blp.response(200, EnrolmentSchema)
def confirm_offer(enrolment_id: uuid.UUID) -> Any:
    """Confirm the place offered to a child from the waitlist: support starts now

    A place offered from the waitlist is held for the programme's offer window (`offer_lapse_hours`); confirming it
    makes the enrolment active from now, with its planned end reckoned from the cohort's planned weeks. An offer
    already past its window lapses instead and passes to the next child waiting (409 `offer_lapsed`); an enrolment
    with no offer to confirm answers 409 `no_offer_to_confirm`. Admins and coordinators of its programme; audited.
    """
    return service.confirm_offer(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


@blp.route("/enrolments/<uuid:enrolment_id>/withdraw", methods=["POST"])
@requires(*STAFF)
@blp.arguments(WithdrawSchema)
@blp.response(200, EnrolmentSchema)
def withdraw(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Take a child off the waitlist (or decline their offer): the place passes on

    For a child waiting or offered a place who no longer wants or needs it: the enrolment becomes withdrawn, with
    the note, any key worker allocation ends, and a place it held is offered at once to the child at the head of the
    waitlist, in the same transaction. Any other status answers 409 `not_on_waitlist`. Admins and coordinators of
    its programme; audited.
    """
    return service.withdraw_from_waitlist(
        db_session(), actor=current_actor(), enrolment_id=enrolment_id, note=body["note"], now=clock().now()
    )


@blp.route("/enrolments/<uuid:enrolment_id>/priority", methods=["PUT"])
@requires(*STAFF)
@blp.arguments(PriorityChangeSchema)
@blp.response(200, EnrolmentSchema)
def change_priority(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Change a waiting child's priority (their position follows)

    Only while the child is waiting (409 `not_on_waitlist` otherwise): their position follows at once, since the
    waitlist is ordered by priority, then referral date. The answer carries the new position. Admins and
    coordinators of its programme; audited.
    """
    return service.change_priority(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        priority=body["priority"],
        now=clock().now(),
    )


# Changing a cohort's places changes who holds them: the use case is this domain's, the operation the programmes'.
@blp.route("/cohorts/<uuid:cohort_id>", methods=["PATCH"], tags=["programmes"])
@requires(Role.ADMIN)
@blp.arguments(CohortUpdateSchema)
@blp.response(200, CohortSchema)
def update_cohort(body: dict[str, Any], cohort_id: uuid.UUID) -> Any:
    """Change a cohort's places or intensity (new places are offered to the waitlist at once)

    Admins only; send only what changes. Places cannot be cut below those held or offered now (409
    `places_below_taken`, with `places_taken`; lapsed offers are let go first). New places are offered at once to
    the children at the head of the waitlist, in the same transaction. A new weekly cap applies to sessions written
    from now on; sessions already planned stay. The `kind` may change only while no child has ever been enrolled in
    the cohort (409 `cohort_kind_fixed`): add a cohort of the other kind instead.
    """
    return service.update_cohort(
        db_session(), actor=current_actor(), cohort_id=cohort_id, changes=body, now=clock().now()
    )


# A key worker is allocated to a child holding a place: the use case is this domain's, the operation the caseloads'.
@blp.route("/enrolments/<uuid:enrolment_id>/allocation", methods=["PUT"], tags=["caseloads"])
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
    return allocations.allocate_mentor(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        mentor_id=body["mentor_id"],
        now=clock().now(),
    )


@blp.route("/enrolments/<uuid:enrolment_id>/allocations", methods=["GET"], tags=["caseloads"])
@requires(*STAFF)
@blp.response(200, AllocationSchema(many=True))
def list_allocations(enrolment_id: uuid.UUID) -> Any:
    """Every key worker the child has had on this enrolment, oldest first

    Who was key worker when: each allocation with its start, its end and why it ended (reallocated, enrolment ended
    ...), oldest first. Admins and coordinators of the enrolment's programme (any other answers 404); audited.
    """
    return allocations.list_allocations(
        db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now()
    )
