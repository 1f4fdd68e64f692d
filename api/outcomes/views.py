from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint, abort

from api.actors import Role
from api.auth import CASEWORK, STAFF, current_actor, requires
from api.idempotency.http import idempotent
from api.outcomes import service
from api.outcomes.csv_import import IMPORT_MAX_BYTES
from api.outcomes.schemas import (
    IMPORT_REQUEST_BODY,
    CostBenefitQuerySchema,
    CostBenefitSchema,
    ImportQuerySchema,
    ImportReportSchema,
    OutcomeEventSchema,
    OutcomeSettingsSchema,
)
from api.web import clock, db_session, error_answer, page_answer, page_window

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
    """Record an arrest, police call-out, missing episode or exclusion of a child

    An event in the child's life that the programme aims to reduce: arrest, police call-out, missing episode,
    fixed-term or permanent exclusion, on the day it happened (not in the future, nor before the child was born: 422
    `implausible_outcome_event`), with where the record came from (police, school, social care ...) and, optionally,
    which extract or return. The same event from the same source on the same day is recorded once (409
    `outcome_event_already_recorded`); a missing episode may be linked to the episode recorded in Reachable, once.
    These events feed the before-and-during rates and the cost-benefit estimate. Admins and coordinators of the
    child's programme. Send an `Idempotency-Key` so a retry replays the first answer. Audited.
    """
    return service.record_outcome_event(
        db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body
    )


@blp.route("/children/<uuid:child_id>/outcome-events", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, OutcomeEventSchema(many=True))
@blp.paginate()
def list_outcome_events(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's outcome events, the most recent first (mentors: their own caseload, read only)

    The child's events still counted (removed ones are left out), the most recent first, each with its source and
    who recorded it; a page at a time (`page`, `page_size`; `X-Pagination` gives the total). Mentors may read their
    own caseload's, but not record or remove events; any other child answers 404. Audited.
    """
    page = service.list_outcome_events(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/outcome-events/<uuid:event_id>", methods=["DELETE"])
@requires(*STAFF)
@blp.response(204)
def void_outcome_event(event_id: uuid.UUID) -> None:
    """Remove an event recorded in error (it is kept, marked removed, for the record)

    For an event recorded in error: it stops counting and leaves the lists, but the row stays, with who recorded it,
    who removed it and when. A correction is a removal and a new event. An event of a child you may not see, or one
    already removed, answers 404. Answers 204. Admins and coordinators; audited.
    """
    service.void_outcome_event(db_session(), actor=current_actor(), event_id=event_id, now=clock().now())


@blp.route("/programmes/<uuid:programme_id>/outcome-events/import", methods=["POST"])
@requires(*STAFF)
@idempotent
@blp.arguments(ImportQuerySchema, location="query")
@blp.response(200, ImportReportSchema)
@blp.alt_response(415, **error_answer("Send the file as text/csv, or as the file part of multipart/form-data"))
@blp.doc(requestBody=IMPORT_REQUEST_BODY)
def import_outcome_events(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Import outcome events from an agency's CSV extract, reporting each refused row by line

    An agency's extract as CSV (sent as `text/csv`, or as the `file` part of a form), one event per row:
    `child_reference,event_type,occurred_on,source` and optionally `source_detail`, children named only by their
    pseudonymous reference. Every row is checked first (an unknown child or one of another programme, an unknown
    type or source, a date in the future, a row repeated in the file or already recorded ...). By default it is all
    or nothing: one refused row imports nothing, and the answer is 422 `import_rejected`, listing each refused row
    by line, column and reason; with `mode=valid_rows` the rows that pass are imported and the others listed. Files
    over 5,000 rows answer 422 `import_too_many_rows`, over 512 KiB 413; a file that is not UTF-8 CSV answers 422.
    Admins and coordinators of the programme. Send an `Idempotency-Key` so a retry replays the first answer instead
    of importing twice. Audited.
    """
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
    """The programme's baseline window and how fixed-term exclusions are priced

    How many months before a child's start make their baseline window (12 unless set), and which unit cost item
    prices fixed-term exclusions (null: they are counted but not priced). Admins and coordinators of the programme.
    """
    return service.get_outcome_settings(db_session(), actor=current_actor(), programme_id=programme_id)


@blp.route("/programmes/<uuid:programme_id>/outcome-settings", methods=["PUT"])
@requires(Role.ADMIN)
@blp.arguments(OutcomeSettingsSchema)
@blp.response(200, OutcomeSettingsSchema)
def set_outcome_settings(body: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Set the programme's baseline window and the unit cost for fixed-term exclusions (admins)

    Admins only. The baseline window in months, and the unit cost item that prices fixed-term exclusions (one of the
    unit cost table's items, 422 `unknown_unit_cost` otherwise; null leaves them unpriced). Estimates made from then
    on use the new settings.
    """
    return service.set_outcome_settings(
        db_session(), actor=current_actor(), programme_id=programme_id, now=clock().now(), **body
    )


@blp.route("/programmes/<uuid:programme_id>/cost-benefit", methods=["GET"])
@requires(Role.ADMIN, Role.COORDINATOR, Role.COMMISSIONER)
@blp.arguments(CostBenefitQuerySchema, location="query")
@blp.response(200, CostBenefitSchema)
def estimate_cost_benefit(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Events per child-year before and during support, and the savings they imply, low and high

    For the programme's children (or those who started in one cohort): outcome events per child-year in the baseline
    window before each child's start and during their support, the percentage change per event type, and what the
    difference saves, priced with the unit costs uplifted to the financial year asked for (`price_year`, such as
    2024/25) by HM Treasury's GDP deflators, as low and high estimates, in total and per child, with a note on the
    method. A price year the deflator series does not cover answers 422 `deflator_year_missing`; a unit cost missing
    from the table, 409 `unit_cost_missing`. Commissioners see counts from 1 to 4 as "<5", and every figure derived
    from one withheld (null); no child is ever named. Admins, coordinators and commissioners of the programme.
    """
    return service.estimate_cost_benefit(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        cohort_id=args.get("cohort_id"),
        price_year=args["price_year"],
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
        now=clock().now(),
    )
