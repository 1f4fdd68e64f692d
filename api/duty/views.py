from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import CASEWORK, STAFF, current_actor, requires
from api.duty import service
from api.duty.schemas import (
    DutyRotaQuerySchema,
    DutyRotaSchema,
    DutyShiftChangeSchema,
    DutyShiftCreateSchema,
    DutyShiftSchema,
    OnDutyNowQuerySchema,
    OnDutyNowSchema,
)
from api.idempotency.http import idempotent
from api.web import IF_MATCH_HEADER, clock, db_session, error_answer, etag, expected_version

blp = Blueprint("duty", __name__, description="The duty rota: who a safeguarding alert reaches, at any hour")


@blp.route("/duty-rota", methods=["GET"])
@requires(*STAFF)
@blp.arguments(DutyRotaQuerySchema, location="query")
@blp.response(200, DutyRotaSchema)
@blp.alt_response(404, **error_answer("No such programme, or not yours (programme_not_found)"))
def get_duty_rota(args: dict[str, Any]) -> Any:
    """The duty rota for a period, and the gaps in cover in it

    Who is the duty coordinator, and who falls back, for every shift that covers part of the period: by default
    from now to 7 days on, or `from` to `to` (at most 31 days, `from` within a year back and two years ahead;
    422 `invalid_rota_window`). Each person comes with
    their name and whether a work mobile is recorded for them (out of hours, an alert reaches them by text). `gaps`
    lists the stretches of the period when no one is on duty, so you can fill them; `covered_until` says how long
    cover runs without a break from the period's start (null if no one is on duty then). Times are given in the
    programme's time zone. You see your own programme's rota; an admin names the programme with `programme_id`.
    Admins and coordinators.
    """
    return service.get_rota(
        db_session(),
        actor=current_actor(),
        programme_id=args.get("programme_id"),
        start=args.get("from_"),
        end=args.get("to"),
        now=clock().now(),
    )


@blp.route("/duty-rota/now", methods=["GET"])
@requires(*CASEWORK)
@blp.arguments(OnDutyNowQuerySchema, location="query")
@blp.response(200, OnDutyNowSchema)
@blp.alt_response(404, **error_answer("No such programme, or not yours (programme_not_found)"))
def get_on_duty_now(args: dict[str, Any]) -> Any:
    """Who to phone now: the duty coordinator and the fallback, with their work mobiles

    For a mentor with a child who may be in danger: phone the duty coordinator now (and 999 if the child is in
    immediate danger); if they do not answer, the fallback. `on_duty` and `fallback` are null in a gap in the rota's
    cover, and `until` says when the shift ends. Your own programme; an admin names it with `programme_id`. Mentors,
    coordinators and admins (not commissioners); no child is named, so nothing is audited.
    """
    return service.on_duty_now(
        db_session(), actor=current_actor(), programme_id=args.get("programme_id"), now=clock().now()
    )


@blp.route("/duty-rota", methods=["POST"])
@requires(*STAFF)
@idempotent
@blp.arguments(DutyShiftCreateSchema)
@blp.response(201, DutyShiftSchema)
def add_duty_shift(body: dict[str, Any]) -> Any:
    """Put someone on duty for a period, with a fallback if you like

    The coordinator on duty, and the fallback (the programme's manager or a second coordinator), must each be an
    active coordinator of the programme or an admin (422 `duty_person_not_eligible`) with a work mobile recorded
    (422 `duty_person_without_mobile`); `errors` names the field. The fallback must be someone else (422
    `duty_fallback_is_on_duty`). Give the times with their UTC offset: a shift ends after it starts, in the future,
    starts at most two years ahead and lasts at most 7 days (422 `invalid_duty_shift_times`); its length is the
    time that passes, so 18:00 to 08:00 on the night the clocks change is 15 or 13 hours. A shift may start exactly
    when another ends, but two shifts of a programme never overlap (409 `duty_shift_overlaps`): only one person is
    on duty at a time. Send an `Idempotency-Key` so a retry replays the first answer. The answer's ETag goes in
    If-Match to change the shift.
    Admins and coordinators of the programme; audited.
    """
    result = service.add_shift(db_session(), actor=current_actor(), now=clock().now(), **body)
    return result, etag(result.version)


@blp.route("/duty-rota/<uuid:shift_id>", methods=["PATCH"])
@requires(*STAFF)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(DutyShiftChangeSchema)
@blp.response(200, DutyShiftSchema)
def change_duty_shift(body: dict[str, Any], shift_id: uuid.UUID) -> Any:
    """Change who is on duty, who falls back, or the times of a shift

    Send If-Match with the shift's ETag (412 `stale_version` with `current_version` if it changed since; 428
    without it), and only what changes: `fallback_user_id: null` removes the fallback. The same checks apply as when
    the shift was added, to the people and times you change. A shift that is over cannot change (409
    `duty_shift_ended`): it is the record of who was on duty. The answer carries the new ETag. Admins and
    coordinators of the programme; audited.
    """
    result = service.change_shift(
        db_session(),
        actor=current_actor(),
        shift_id=shift_id,
        expected_version=expected_version(),
        changes=body,
        now=clock().now(),
    )
    return result, etag(result.version)


@blp.route("/duty-rota/<uuid:shift_id>", methods=["DELETE"])
@requires(*STAFF)
@blp.response(204)
def remove_duty_shift(shift_id: uuid.UUID) -> None:
    """Take a shift off the rota

    Its time becomes a gap in cover (shown in the rota's `gaps`) until you add another shift for it. A shift that is
    over stays on the rota as the record of who was on duty (409 `duty_shift_ended`). Answers 204. Admins and
    coordinators of the programme; audited.
    """
    service.remove_shift(db_session(), actor=current_actor(), shift_id=shift_id, now=clock().now())
