from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.auth import CASEWORK, STAFF, current_actor, requires
from api.children import service
from api.children.schemas import (
    ChildCreateSchema,
    ChildListItemSchema,
    ChildListQuerySchema,
    ChildSchema,
    ChildUpdateSchema,
    ConsentSchema,
    NewPhoneNumberSchema,
    PhoneNumberSchema,
)
from api.enrolments.rules import EnrolmentStatus
from api.web import clock, db_session

blp = Blueprint("children", __name__, description="Children, their phone numbers and consent to contact")


@blp.route("/children", methods=["GET"])
@requires(*CASEWORK)
@blp.arguments(ChildListQuerySchema, location="query")
@blp.response(200, ChildListItemSchema(many=True))
@blp.paginate()
def list_children(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """Children you may see (a mentor: their own caseload), filtered by cohort, status, district or mentor"""
    status = args.get("status")
    children, total = service.list_children(
        db_session(),
        actor=current_actor(),
        cohort_id=args.get("cohort_id"),
        status=EnrolmentStatus(status) if status and status != "not_enrolled" else None,
        not_enrolled=status == "not_enrolled",
        district=args.get("district"),
        mentor_id=args.get("mentor_id"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return children


@blp.route("/children", methods=["POST"])
@requires(*STAFF)
@blp.arguments(ChildCreateSchema)
@blp.response(201, ChildSchema)
def create_child(body: dict[str, Any]) -> Any:
    """Record a child (before referring them to a cohort)"""
    return service.create_child(
        db_session(),
        actor=current_actor(),
        accept_drama_numbers=current_app.config["ACCEPT_DRAMA_NUMBERS"],
        now=clock().now(),
        **body,
    )


@blp.route("/children/<uuid:child_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, ChildSchema)
def get_child(child_id: uuid.UUID) -> Any:
    """One child's record (404 if they are not in your caseload)"""
    return service.get_child(db_session(), actor=current_actor(), child_id=child_id, now=clock().now())


@blp.route("/children/<uuid:child_id>", methods=["PATCH"])
@requires(*STAFF)
@blp.arguments(ChildUpdateSchema)
@blp.response(200, ChildSchema)
def update_child(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Correct a child's details"""
    return service.update_child(db_session(), actor=current_actor(), child_id=child_id, changes=body, now=clock().now())


@blp.route("/children/<uuid:child_id>/phone-numbers", methods=["POST"])
@requires(*CASEWORK)
@blp.arguments(NewPhoneNumberSchema)
@blp.response(201, PhoneNumberSchema)
def add_phone_number(body: Any, child_id: uuid.UUID) -> Any:
    """Add a mobile number (landlines are refused: SMS to a landline is read aloud in the home)"""
    return service.add_phone_number(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        phone=body,
        accept_drama_numbers=current_app.config["ACCEPT_DRAMA_NUMBERS"],
        now=clock().now(),
    )


@blp.route("/children/<uuid:child_id>/phone-numbers/<uuid:phone_number_id>", methods=["DELETE"])
@requires(*CASEWORK)
@blp.response(204)
def remove_phone_number(child_id: uuid.UUID, phone_number_id: uuid.UUID) -> None:
    """Stop using a number (it is kept, marked removed, for the record)"""
    service.remove_phone_number(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        phone_number_id=phone_number_id,
        now=clock().now(),
    )


@blp.route("/children/<uuid:child_id>/consents", methods=["POST"])
@requires(*CASEWORK)
@blp.arguments(ConsentSchema)
@blp.response(201, ConsentSchema)
def record_consent(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record who agreed (or refused) to contact by a channel; the latest decision is in force"""
    return service.record_consent(db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body)
