from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint, abort

from api.accounts.rules import Role
from api.auth import CASEWORK, STAFF, current_actor, requires
from api.idempotency.http import idempotent
from api.outcomes import service
from api.outcomes.rules import IMPORT_MAX_BYTES
from api.outcomes.schemas import (
    IMPORT_REQUEST_BODY,
    CostBenefitQuerySchema,
    CostBenefitSchema,
    ImportQuerySchema,
    ImportReportSchema,
    OutcomeEventSchema,
    OutcomeSettingsSchema,
)
from api.web import clock, db_session, error_answer

blp = Blueprint(
    "outcomes",
    __name__,
    description="Arrests, police call-outs, missing episodes and exclusions before and during support, "
    "and the cost-benefit estimate",
)


def _uploaded_csv() -> bytes:
    """The file's bytes, sent as text/csv or as the `file` part of a form; refused past the size cap."""
    too_large = {"message": f"Import at most {IMPORT_MAX_BYTES // 1024} KiB at a time; split the file."}
    if (request.content_length or 0) > IMPORT_MAX_BYTES + 64 * 1024:
        abort(413, reason="import_too_large", **too_large)
    if request.mimetype == "text/csv":
        content = request.get_data()
    elif request.mimetype == "multipart/form-data" and "file" in request.files:
        content = request.files["file"].read(IMPORT_MAX_BYTES + 1)
    else:
        abort(415, message="Send the file as text/csv, or as the file part of multipart/form-data.")
    if len(content) > IMPORT_MAX_BYTES:
        abort(413, reason="import_too_large", **too_large)
    return content


@blp.route("/children/<uuid:child_id>/outcome-events", methods=["POST"])
@requires(*STAFF)
@idempotent
@blp.arguments(OutcomeEventSchema)
@blp.response(201, OutcomeEventSchema)
def record_outcome_event(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record an arrest, police call-out, missing episode or exclusion of a child"""
    return service.record_outcome_event(
        db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body
    )


@blp.route("/children/<uuid:child_id>/outcome-events", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, OutcomeEventSchema(many=True))
@blp.paginate()
def list_outcome_events(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's outcome events, the most recent first (mentors: their own caseload, read only)"""
    events, total = service.list_outcome_events(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return events


@blp.route("/outcome-events/<uuid:event_id>", methods=["DELETE"])
@requires(*STAFF)
@blp.response(204)
def void_outcome_event(event_id: uuid.UUID) -> None:
    """Remove an event recorded in error (it is kept, marked removed, for the record)"""
    service.void_outcome_event(db_session(), actor=current_actor(), event_id=event_id, now=clock().now())


@blp.route("/programmes/<uuid:programme_id>/outcome-events/import", methods=["POST"])
@requires(*STAFF)
@idempotent
@blp.arguments(ImportQuerySchema, location="query")
@blp.response(200, ImportReportSchema)
@blp.alt_response(415, **error_answer("Send the file as text/csv, or as the file part of multipart/form-data"))
@blp.doc(requestBody=IMPORT_REQUEST_BODY)
def import_outcome_events(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Import outcome events from an agency's CSV extract, reporting each refused row by line"""
    return service.import_outcome_events(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        content=_uploaded_csv(),
        mode=args["mode"],
        now=clock().now(),
    )


@blp.route("/programmes/<uuid:programme_id>/outcome-settings", methods=["GET"])
@requires(*STAFF)
@blp.response(200, OutcomeSettingsSchema)
def get_outcome_settings(programme_id: uuid.UUID) -> Any:
    """The programme's baseline window and how fixed-term exclusions are priced"""
    return service.get_outcome_settings(db_session(), actor=current_actor(), programme_id=programme_id)


@blp.route("/programmes/<uuid:programme_id>/outcome-settings", methods=["PUT"])
@requires(Role.ADMIN)
@blp.arguments(OutcomeSettingsSchema)
@blp.response(200, OutcomeSettingsSchema)
def set_outcome_settings(body: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Set the programme's baseline window and the unit cost for fixed-term exclusions (admins)"""
    return service.set_outcome_settings(
        db_session(), actor=current_actor(), programme_id=programme_id, now=clock().now(), **body
    )


@blp.route("/programmes/<uuid:programme_id>/cost-benefit", methods=["GET"])
@requires(Role.ADMIN, Role.COORDINATOR, Role.COMMISSIONER)
@blp.arguments(CostBenefitQuerySchema, location="query")
@blp.response(200, CostBenefitSchema)
def estimate_cost_benefit(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Events per child-year before and during support, and the savings they imply, low and high"""
    return service.estimate_cost_benefit(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        cohort_id=args.get("cohort_id"),
        price_year=args["price_year"],
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
        now=clock().now(),
    )
