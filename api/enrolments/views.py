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
from api.web import clock, db_session

blp = Blueprint("enrolments", __name__, description="Places, the waitlist, offers and enrolments")


@blp.route("/programmes/<uuid:programme_id>/places", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, PlacesSchema(many=True))
def get_places(programme_id: uuid.UUID) -> Any:
    """Places used against places funded, and waitlist length, per cohort"""
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
    """Children holding an offer, then the waitlist in order (priority, then referral date)"""
    return service.list_waitlist(db_session(), actor=current_actor(), cohort_id=cohort_id, now=clock().now())


@blp.route("/enrolments", methods=["GET"])
@requires(*STAFF)
@blp.arguments(EnrolmentListQuerySchema, location="query")
@blp.response(200, EnrolmentSchema(many=True))
@blp.paginate()
def list_enrolments(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """List enrolments, newest first"""
    enrolments, total = service.list_enrolments(
        db_session(),
        actor=current_actor(),
        cohort_id=args.get("cohort_id"),
        child_id=args.get("child_id"),
        status=args.get("status"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return enrolments


@blp.route("/enrolments/<uuid:enrolment_id>", methods=["GET"])
@requires(*STAFF)
@blp.response(200, EnrolmentSchema)
def get_enrolment(enrolment_id: uuid.UUID) -> Any:
    """One enrolment, with its waitlist position while waiting"""
    return service.get_enrolment(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


@blp.route("/enrolments/<uuid:enrolment_id>/confirm-offer", methods=["POST"])
@requires(*STAFF)
@blp.response(200, EnrolmentSchema)
def confirm_offer(enrolment_id: uuid.UUID) -> Any:
    """Confirm the place offered to a child from the waitlist: support starts now"""
    return service.confirm_offer(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


@blp.route("/enrolments/<uuid:enrolment_id>/withdraw", methods=["POST"])
@requires(*STAFF)
@blp.arguments(WithdrawSchema)
@blp.response(200, EnrolmentSchema)
def withdraw(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Take a child off the waitlist (or decline their offer): the place passes on"""
    return service.withdraw_from_waitlist(
        db_session(), actor=current_actor(), enrolment_id=enrolment_id, note=body["note"], now=clock().now()
    )


@blp.route("/enrolments/<uuid:enrolment_id>/priority", methods=["PUT"])
@requires(*STAFF)
@blp.arguments(PriorityChangeSchema)
@blp.response(200, EnrolmentSchema)
def change_priority(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Change a waiting child's priority (their position follows)"""
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
    """End a child's support with a reason: the place is offered to the next child waiting"""
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
    """Step a child up or down to another cohort, keeping their key worker; all or nothing"""
    return service.move_enrolment(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        to_cohort_id=body["cohort_id"],
        note=body["note"],
        now=clock().now(),
    )
