from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.auth import ALL_ROLES, STAFF, current_actor, requires
from api.enrolments import service
from api.enrolments.schemas import (
    EndEnrolmentSchema,
    EnrolmentListQuerySchema,
    EnrolmentSchema,
    MoveEnrolmentSchema,
    PlacesSchema,
    PriorityChangeSchema,
    WaitlistEntrySchema,
    WithdrawSchema,
)
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
    return service.get_places(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
    )


@blp.route("/cohorts/<uuid:cohort_id>/waitlist", methods=["GET"])
@requires(*STAFF)
@blp.response(200, WaitlistEntrySchema(many=True))
def list_waitlist(cohort_id: uuid.UUID) -> Any:
    """Children holding an offer, then the waitlist in order (priority, then referral date)

    First the children holding an offered place (with when the offer lapses), then those waiting, in the order
    places will be offered: priority (urgent, high, normal), then referral date, then when they joined. Each entry
    gives the child's reference and their position. Admins and coordinators of the cohort's programme (any other
    cohort answers 404); every child listed is written to the audit log.
    """
    return service.list_waitlist(db_session(), actor=current_actor(), cohort_id=cohort_id, now=clock().now())


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
    page = service.list_enrolments(
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
    return service.get_enrolment(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


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


@blp.route("/enrolments/<uuid:enrolment_id>/end", methods=["POST"])
@requires(*STAFF)
@blp.arguments(EndEnrolmentSchema)
@blp.response(200, EnrolmentSchema)
def end_enrolment(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """End a child's support with a reason: the place is offered to the next child waiting

    Only an active enrolment can end (409 `enrolment_not_active`). It ends now with the reason and note; the key
    worker allocation and the child's session patterns end with it (their future untouched sessions are removed;
    sessions already logged stay). The place is offered at once to the child at the head of the waitlist, in the
    same transaction. Admins and coordinators of its programme; audited.
    """
    return service.end_enrolment(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        reason=body["reason"],
        note=body["note"],
        now=clock().now(),
    )


@blp.route("/enrolments/<uuid:enrolment_id>/move", methods=["POST"])
@requires(*STAFF)
@blp.arguments(MoveEnrolmentSchema)
@blp.response(201, EnrolmentSchema)
def move_enrolment(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Step a child up or down to another cohort, keeping their key worker; all or nothing

    A step up or down between two cohorts of one programme, in one transaction: the active enrolment ends (reason
    `moved_cohort`), a new active one starts in the target cohort with the same priority and key worker, and the
    freed place is offered to the head of the source cohort's waitlist. The target needs a free place (409
    `cohort_full`, with `places` and `places_taken`); the same cohort answers 409 `same_cohort`; a cohort of another
    programme answers 404. Session patterns end with the old enrolment, since the new cohort's weekly cap may
    differ. Answers 201 with the new enrolment. Admins and coordinators; audited.
    """
    return service.move_enrolment(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        to_cohort_id=body["cohort_id"],
        note=body["note"],
        now=clock().now(),
    )
