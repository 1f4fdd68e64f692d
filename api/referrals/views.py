from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import STAFF, current_actor, requires
from api.enrolments.schemas import EnrolmentSchema
from api.referrals import service
from api.referrals.schemas import DeclineSchema, ReferralListQuerySchema, ReferralSchema
from api.web import clock, db_session

blp = Blueprint("referrals", __name__, description="Referrals and decisions on them")


@blp.route("/referrals", methods=["GET"])
@requires(*STAFF)
@blp.arguments(ReferralListQuerySchema, location="query")
@blp.response(200, ReferralSchema(many=True))
@blp.paginate()
def list_referrals(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """List referrals, newest first"""
    referrals, total = service.list_referrals(
        db_session(),
        actor=current_actor(),
        status=args.get("status"),
        cohort_id=args.get("cohort_id"),
        child_id=args.get("child_id"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return referrals


@blp.route("/referrals", methods=["POST"])
@requires(*STAFF)
@blp.arguments(ReferralSchema)
@blp.response(201, ReferralSchema)
def create_referral(body: dict[str, Any]) -> Any:
    """Record a referral from police, a school, social care, youth justice, health or another source"""
    return service.create_referral(db_session(), actor=current_actor(), now=clock().now(), **body)


@blp.route("/referrals/<uuid:referral_id>", methods=["GET"])
@requires(*STAFF)
@blp.response(200, ReferralSchema)
def get_referral(referral_id: uuid.UUID) -> Any:
    """One referral"""
    return service.get_referral(db_session(), actor=current_actor(), referral_id=referral_id, now=clock().now())


@blp.route("/referrals/<uuid:referral_id>/accept", methods=["POST"])
@requires(*STAFF)
@blp.response(201, EnrolmentSchema)
def accept_referral(referral_id: uuid.UUID) -> Any:
    """Accept: the child takes a free place (status active) or joins the waitlist (status waitlisted)"""
    return service.accept_referral(db_session(), actor=current_actor(), referral_id=referral_id, now=clock().now())


@blp.route("/referrals/<uuid:referral_id>/decline", methods=["POST"])
@requires(*STAFF)
@blp.arguments(DeclineSchema)
@blp.response(200, ReferralSchema)
def decline_referral(body: dict[str, Any], referral_id: uuid.UUID) -> Any:
    """Decline with a reason"""
    return service.decline_referral(
        db_session(), actor=current_actor(), referral_id=referral_id, reason=body["reason"], now=clock().now()
    )
