from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.actors import Role
from api.auth import CASEWORK, STAFF, current_actor, requires
from api.idempotency.http import idempotent
from api.sessions import cap_overrides, delivery, lone_working, reading, service
from api.sessions.schemas import (
    CapOverrideSchema,
    DeliverySummarySchema,
    LoneWorkingCheckSchema,
    LoneWorkingStartSchema,
    RegisterSchema,
    RescheduleSchema,
    SessionCreateSchema,
    SessionListQuerySchema,
    SessionSchema,
    SessionUpdateSchema,
)
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version, page_answer, page_window

blp = Blueprint("sessions", __name__, description="Planning and logging sessions, within the weekly cap")


@blp.route("/sessions", methods=["POST"])
@requires(*CASEWORK)
@idempotent
# An instance, made once: given the class, webargs would build a schema on every request of this busy operation.
@blp.arguments(SessionCreateSchema())
@blp.response(201, SessionSchema)
def create_session(body: dict[str, Any]) -> Any:
    """Plan a session, or log one that already happened (409 weekly_session_cap_reached past the cap)

    A mentor plans or logs sessions for the children they are key worker for (a coordinator for any child of their
    programme, naming the mentor who leads it, or the key worker by default). A one-to-one or phone session has one
    enrolment; a group session several, all active and in one programme. `status: completed` (with the duration,
    activities from the programme's list, and notes) logs one that already happened, as a phone that was offline does.
    In one transaction, with each child's enrolment row locked, the session is refused if any child already has their
    cohort's most sessions in that ISO week of programme time, counted across every mentor and group session (409
    `weekly_session_cap_reached`, with `week`, `sessions_in_week`, `max_sessions` and `child_id`; cancelled and
    rescheduled sessions do not count). It is also refused if it falls outside a child's planned support, from the local
    day it started to its planned end (422 `session_outside_enrolment`, with `child_id`), if a child already has a
    session with that mentor at that start (409 `duplicate_session`, with `existing_session_id`; a cancelled one does
    not count), if it is logged completed or did-not-attend before it starts (422 `session_not_started`), or if it is a
    one-to-one or phone session for a child whose place is in a group-only cohort (422 `group_only_enrolment`, with
    `child_id`: they attend group sessions only). A `safeguarding_concern` raises an alert to the programme's
    coordinators at once; a session starting within the next 48 hours has its SMS reminders queued in the same
    transaction (later ones are queued by the scheduler as they come near). Send an `Idempotency-Key` (and, if you like,
    an `id` made on the phone): a retry then replays the first answer, marked `Idempotent-Replayed: true`, and never
    writes twice. The answer's `ETag` goes in If-Match to edit the session. Audited.
    """
    view = service.create_session(
        db_session(), actor=current_actor(), session_id=body.pop("id"), now=clock().now(), **body
    )
    return view, etag(view.version)


@blp.route("/sessions", methods=["GET"])
@requires(*CASEWORK)
@blp.arguments(SessionListQuerySchema, location="query")
@blp.response(200, SessionSchema(many=True))
@blp.paginate()
def list_sessions(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """Sessions of the children you may see, in time order

    Sessions of the children you may see (a mentor: their caseload, including group sessions one of their children
    attends), ordered by planned start, filtered by child or a period (`starts_from` inclusive, `starts_before`
    exclusive), a page at a time (`page`, `page_size`; `X-Pagination` gives the total). Notes are null unless you
    lead the session or are a coordinator or admin. The phone app keeps its copy up to date with `GET /sync`
    instead. Audited.
    """
    page = reading.list_sessions(
        db_session(),
        actor=current_actor(),
        child_id=args.get("child_id"),
        starts_from=args.get("starts_from"),
        starts_before=args.get("starts_before"),
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/sessions/<uuid:session_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, SessionSchema)
def get_session(session_id: uuid.UUID) -> Any:
    """One session, with its ETag

    The session with its attendees, its ISO week and evening and weekend flags in programme time, what was logged,
    and its `version`, which is also the answer's `ETag`: send it back in If-Match to edit. Notes are null unless
    you lead the session or are a coordinator or admin. A session of no child you may see answers 404. Audited.
    """
    view = reading.get_session(db_session(), actor=current_actor(), session_id=session_id, now=clock().now())
    return view, etag(view.version)


@blp.route("/sessions/<uuid:session_id>", methods=["PATCH"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(SessionUpdateSchema)
@blp.response(200, SessionSchema)
def update_session(body: dict[str, Any], session_id: uuid.UUID) -> Any:
    """Log what happened (completed, did not attend), cancel, or correct a planned session

    Send If-Match with the ETag (the `version`) you last read: an edit based on an older version is refused with 412
    `stale_version` and `current_version`, and changes nothing (read the session again and reapply the edit);
    without If-Match the answer is 428. Send only what changes. A planned session can be completed (with the
    duration, activities from the programme's list and notes), marked did-not-attend, cancelled by the child or the
    mentor, or have its kind and place corrected (not to one-to-one or phone for a child in a group-only cohort: 422
    `group_only_enrolment`); it is marked completed or did-not-attend only once it has started
    (422 `session_not_started`); a session that has happened or was cancelled keeps its status (409
    `session_status_final`), and moving one is `POST /sessions/{session_id}/reschedule`. Only the mentor who leads
    the session (or a coordinator or admin) may change it (403 `not_the_sessions_mentor`). A `safeguarding_concern`
    raises an alert to the programme's coordinators at once; cancelling cancels its pending SMS reminders in the
    same transaction. The answer carries the new ETag. Audited.
    """
    log = body.pop("log")
    register_lines = body.pop("register", None)
    view = service.update_session(
        db_session(),
        actor=current_actor(),
        session_id=session_id,
        expected_version=expected_version(),
        changes=body,
        log=log,
        register_lines=register_lines,
        now=clock().now(),
    )
    return view, etag(view.version)


@blp.route("/sessions/<uuid:session_id>/register", methods=["PUT"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(RegisterSchema)
@blp.response(200, SessionSchema)
def take_register(body: dict[str, Any], session_id: uuid.UUID) -> Any:
    """Take a group session's register: for each child booked, whether they came

    One line per child sent (`attendance`: booked, attended, did_not_attend, cancelled_by_child or
    cancelled_by_service, with `arrived_at` and `left_at` for a child who attended, within three hours of the
    planned times); children not sent keep their line. Only a child who attended counts as delivered (dashboards,
    the child's session summary, dosage); did_not_attend counts as missed; a cancelled line frees the child's place
    in their weekly cap (taking it back is refused past the cap, 409 `weekly_session_cap_reached`). A group
    session logged completed without a register leaves its lines `booked` (`register_taken: false`), counted as
    attended by no one; `PATCH /sessions/{session_id}` may carry the same `register` lines with the log. A child not
    booked at the session, or a line repeated, answers 422 naming the line (`lines.2.child_id`); a one-to-one
    session's line follows its status (422 here). The register is open while the session is planned or completed
    (409 `session_status_final` once cancelled, moved or not attended). Send If-Match with the session's ETag (412
    `stale_version`, 428 without it). Only the mentor who leads the session (or a coordinator or admin; 403
    `not_the_sessions_mentor`). The answer carries the new ETag; the phones' sync feed carries the change. Audited.

    `carers` (optional; up to 40) records the parents and carers who came, such as to a series' introductory
    session: each with their `relationship` (parent, foster_carer, kinship_carer, other_carer) and, optionally, the
    `child_id` of the child on the register they came for; no name is kept. Sent, the list replaces the carers
    recorded (empty: none); left out, they stay. Only a group session has carers (422 `invalid_session`, naming
    `carers`), a `child_id` must be on the session's register (422, `carers.1.child_id`), and carers are recorded
    once the session has started (422 `session_not_started`), as are `attended` and `did_not_attend` lines (booked
    and cancelled lines may be taken in advance). Either `lines` or `carers` may be left out, not both. Carers hold no
    place and count towards no cap or child figure; the session shows them (`carers`, `carers_attended`).
    """
    view = service.take_register(
        db_session(),
        actor=current_actor(),
        session_id=session_id,
        expected_version=expected_version(),
        lines=body.get("lines"),
        carers=body.get("carers"),
        now=clock().now(),
    )
    return view, etag(view.version)


@blp.route("/sessions/<uuid:session_id>/reschedule", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(RescheduleSchema)
@blp.response(201, SessionSchema)
def reschedule_session(body: dict[str, Any], session_id: uuid.UUID) -> Any:
    """Move a planned session: it becomes rescheduled and the new planned session is returned

    Send If-Match with the session's ETag (412 `stale_version` with `current_version` if it changed since; 428
    without it). Only a planned session can move (409 `session_status_final`). The old session becomes
    `rescheduled`, pointing at its replacement, and a new planned session with the same children, mentor, kind and
    place takes its place (its id may be made on the phone: `new_session_id`); the weekly cap is checked for the new
    week with the old session left out (409 `weekly_session_cap_reached`); the new time must fall within each
    child's planned support (422 `session_outside_enrolment`) and not repeat another of their sessions with that
    mentor (409 `duplicate_session`); a one-to-one or phone session of a child now in a group-only cohort is not
    moved (422 `group_only_enrolment`). Pending SMS reminders move with it.
    Answers 201 with the new session and its ETag. Audited.
    """
    view = service.reschedule_session(
        db_session(),
        actor=current_actor(),
        session_id=session_id,
        expected_version=expected_version(),
        now=clock().now(),
        **body,
    )
    return view, etag(view.version)


@blp.route("/sessions/<uuid:session_id>/lone-working", methods=["POST"])
@requires(Role.MENTOR)
@idempotent
@blp.arguments(LoneWorkingStartSchema)
@blp.response(201, LoneWorkingCheckSchema)
def start_lone_working(body: dict[str, Any], session_id: uuid.UUID) -> Any:
    """Start lone working: check in by a time, or you are texted and then the duty coordinator is alerted

    The mentor who leads a planned session, before meeting the child alone, says when they will check in by
    (`check_in_by`, in the future and after the planned start; default: the planned end plus the programme's
    `lone_working_grace_minutes`, 30). If they have not checked in by then (`POST
    /sessions/{session_id}/lone-working/safe`, or logging the session completed, did-not-attend or cancelled), they
    are texted to check in; `lone_working_alert_after_minutes` (15) later the duty coordinator gets an urgent
    `lone_working_overdue` alert. Mentors only, and only the session's mentor (403 `not_the_sessions_mentor`; 404
    for a session you may not see); 409 `lone_working_already_started` if it was started, 409
    `session_status_final` if the session is no longer planned. Send an `Idempotency-Key`: a retry replays the
    first answer. The check also appears on the session (`lone_working`) and in the phone's sync feed. Audited.
    """
    return lone_working.start_lone_working(
        db_session(), actor=current_actor(), session_id=session_id, check_in_by=body["check_in_by"], now=clock().now()
    )


@blp.route("/sessions/<uuid:session_id>/lone-working/safe", methods=["POST"])
@requires(Role.MENTOR)
@blp.response(200, LoneWorkingCheckSchema)
def confirm_safe(session_id: uuid.UUID) -> Any:
    """ "I'm safe": check in, closing the session's lone-working check

    Nothing more is sent: a text to you still waiting is dropped, and the coordinator is not alerted. If the alert
    was already raised it stays open for the coordinator to resolve. A repeat answers the same 200 (the check as it
    is). Mentors only, and only the session's mentor (403 `not_the_sessions_mentor`); 409 `lone_working_not_started`
    if no check was started. Audited.
    """
    return lone_working.confirm_safe(db_session(), actor=current_actor(), session_id=session_id, now=clock().now())


@blp.route("/enrolments/<uuid:enrolment_id>/weekly-cap-overrides", methods=["PUT"])
@requires(*STAFF)
@blp.arguments(CapOverrideSchema)
@blp.response(200, CapOverrideSchema)
def override_weekly_cap(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Allow one child more sessions in one exceptional week, with the reason (audited)

    For an exceptional week (a crisis, a court date): sets the most sessions this child may have in that ISO week of
    programme time (`2026-W48`), whatever their cohort allows; setting it again for the same week replaces the
    number and the reason. The enrolment must be active. Admins and coordinators of its programme; audited with the
    reason.
    """
    return cap_overrides.override_weekly_cap(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        local_week=body["local_week"],
        max_sessions=body["max_sessions"],
        reason=body["reason"],
        now=clock().now(),
    )


@blp.route("/children/<uuid:child_id>/session-summary", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, DeliverySummarySchema)
def summarise_delivery(child_id: uuid.UUID) -> Any:
    """Planned against delivered, missed and cancelled, evening and weekend share, sessions per week

    Across all the child's sessions: how many are planned or held, delivered, missed (did not attend), cancelled and
    rescheduled; the share of delivered sessions that started in the evening (17:00 or later) or at the weekend, in
    programme time (null with none delivered); and sessions per ISO week, planned against delivered. A mentor may
    read it only for their own caseload (any other child answers 404).
    """
    return delivery.summarise_delivery(db_session(), actor=current_actor(), child_id=child_id, now=clock().now())
