from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import STAFF, current_actor, requires
from api.enrolments.schemas import EnrolmentSchema
from api.referrals import service
from api.referrals.schemas import DeclineSchema, ReferralListQuerySchema, ReferralSchema
from api.web import clock, db_session, page_answer, page_window

blp = Blueprint("referrals", __name__, description="Referrals and decisions on them")


@blp.route("/referrals", methods=["GET"])
@requires(*STAFF)
@blp.arguments(ReferralListQuerySchema, location="query")
@blp.response(200, ReferralSchema(many=True))
@blp.paginate()
def list_referrals(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """List referrals, newest first

    Referrals in your programme (admins: every programme), newest first, filtered by status (pending, accepted,
    declined), cohort or child, a page at a time (`page`, `page_size`; `X-Pagination` gives the total). Admins and
    coordinators; every referral listed is written to the audit log.
    """
    page = service.list_referrals(
        db_session(),
        actor=current_actor(),
        status=args.get("status"),
        cohort_id=args.get("cohort_id"),
        child_id=args.get("child_id"),
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/referrals", methods=["POST"])
@requires(*STAFF)
@blp.arguments(ReferralSchema)
@blp.response(201, ReferralSchema)
def create_referral(body: dict[str, Any]) -> Any:
    """Record a referral from police, a school, social care, youth justice, health or another source

    Admins and coordinators. Record the child first (`POST /children`), then refer them to a cohort of their
    programme (another programme's cohort answers 404), with the source, the referring team, the reason and a
    priority (normal unless said) that orders the waitlist. `referred_on` defaults to today in the programme's time
    zone and cannot be in the future (422 `referral_date_in_future`). A child may have one pending referral at a
    time (409 `referral_already_pending`) and cannot be referred while they hold or wait for a place (409
    `child_already_enrolled`: move them between cohorts instead). Audited.
    """
    return service.create_referral(db_session(), actor=current_actor(), now=clock().now(), **body)


@blp.route("/referrals/<uuid:referral_id>", methods=["GET"])
@requires(*STAFF)
@blp.response(200, ReferralSchema)
def get_referral(referral_id: uuid.UUID) -> Any:
    """One referral

    Its child, cohort, source, reason, priority and date, and the decision once made (when, by whom, and a decline's
    reason). Admins and coordinators of its programme (any other answers 404); audited.
    """
    return service.get_referral(db_session(), actor=current_actor(), referral_id=referral_id, now=clock().now())


@blp.route("/referrals/<uuid:referral_id>/accept", methods=["POST"])
@requires(*STAFF)
@blp.response(201, EnrolmentSchema)
def accept_referral(referral_id: uuid.UUID) -> Any:
    """Accept: the child takes a free place (status active) or joins the waitlist (status waitlisted)

    Accepting admits the child to the cohort in one transaction, with the cohort's row locked so places cannot be
    double-booked: with a free place the enrolment is active from now (its planned end reckoned from the cohort's
    planned weeks); without one the child joins the waitlist, ordered by priority then referral date, and the answer
    gives their position. Answers 201 with the new enrolment. A referral already decided answers 409
    `referral_already_decided`. Admins and coordinators of its programme; audited.
    """
    return service.accept_referral(db_session(), actor=current_actor(), referral_id=referral_id, now=clock().now())


@blp.route("/referrals/<uuid:referral_id>/decline", methods=["POST"])
@requires(*STAFF)
@blp.arguments(DeclineSchema)
@blp.response(200, ReferralSchema)
def decline_referral(body: dict[str, Any], referral_id: uuid.UUID) -> Any:
    """Decline with a reason

    The referral is closed with the reason given, and the child is not enrolled; they may be referred again later. A
    referral already decided answers 409 `referral_already_decided`. Admins and coordinators of its programme;
    audited.
    """
    return service.decline_referral(
        db_session(), actor=current_actor(), referral_id=referral_id, reason=body["reason"], now=clock().now()
    )
