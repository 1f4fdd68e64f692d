from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.alerts import service
from api.alerts.schemas import (
    AcknowledgeSchema,
    AlertListQuerySchema,
    AlertSchema,
    AlertWithHistorySchema,
    ResolveSchema,
)
from api.auth import STAFF, current_actor, requires
from api.web import clock, db_session

blp = Blueprint("alerts", __name__, description="Alerts for coordinators: texted to the person on duty, escalated")


@blp.route("/alerts", methods=["GET"])
@requires(*STAFF)
@blp.arguments(AlertListQuerySchema, location="query")
@blp.response(200, AlertSchema(many=True))
def list_alerts(args: dict[str, Any]) -> Any:
    """Your programme's alerts, newest first

    What raises an alert, and how urgent it is:

    | kind | raised when | urgency |
    |---|---|---|
    | `safeguarding_concern` | a mentor logs a safeguarding concern with a session | urgent |
    | `child_missing` | a missing episode is recorded with the child still missing | urgent |
    | `lone_working_overdue` | a mentor has not checked in after a lone-working session | urgent |
    | `wellbeing_drop` | a check-in falls beyond the instrument's threshold from the baseline | high |
    | `return_conversation_due` | a return conversation is due within 12 hours and not held, then overdue | high |
    | `disengagement` | 3 sessions in a row missed, 14 days with none completed, or 2 links unanswered | normal |
    | `contact_lost` | the child texted STOP, or their number was blocked | normal |
    | `duty_cover_gap` | nobody is on the duty rota for part of the next 7 days (programme-wide) | normal |

    Urgent and high alerts are texted at once to the duty coordinator (the rota, `GET /duty-rota`), never held by
    quiet hours when urgent. Unacknowledged after 15 minutes (urgent) or 2 hours (high), an alert escalates: to
    the rota's fallback, then to every coordinator of the programme, each step recorded in its history. The
    thresholds are the programme's (`alert_thresholds` on `PATCH /programmes/{id}`). There is one open alert per
    child and kind: a repeat counts on it (`occurrences`, `last_raised_at`) instead of opening another.

    Coordinators see their programme's, admins every programme's; filter by `state`, `urgency`, `kind`, or
    `acknowledged=false` for those still waiting. Each alert listed is written to the audit log.
    """
    where = service.AlertFilter(
        acknowledged=args.get("acknowledged"),
        state=args.get("state"),
        urgency=args.get("urgency"),
        kind=args.get("kind"),
    )
    return service.list_alerts(db_session(), actor=current_actor(), where=where, now=clock().now())


@blp.route("/alerts/<uuid:alert_id>", methods=["GET"])
@requires(*STAFF)
@blp.response(200, AlertWithHistorySchema)
def get_alert(alert_id: uuid.UUID) -> Any:
    """One alert with its history

    Its history, oldest first: raised, each repeat, each SMS queued (to whom), each escalation, the
    acknowledgement and the resolution. An alert of another programme answers 404. Audited.
    """
    return service.get_alert(db_session(), actor=current_actor(), alert_id=alert_id, now=clock().now())


@blp.route("/alerts/<uuid:alert_id>/acknowledge", methods=["POST"])
@requires(*STAFF)
@blp.arguments(AcknowledgeSchema)
@blp.response(200, AlertSchema)
def acknowledge_alert(body: dict[str, Any], alert_id: uuid.UUID) -> Any:
    """Acknowledge an alert: you have it

    Records who acknowledged the alert, when, and a note saying what is being done (for example "Discussed with
    the DSL; strategy meeting booked"). Escalation stops, and SMS about it not yet sent are not sent. An alert can
    be acknowledged once (409 `alert_already_acknowledged`; 409 `alert_already_resolved` once resolved); an alert
    of another programme answers 404. The acknowledgement reaches the key worker's phone through `GET /sync`.
    Admins and coordinators; audited.
    """
    return service.acknowledge_alert(
        db_session(), actor=current_actor(), alert_id=alert_id, note=body["note"], now=clock().now()
    )


@blp.route("/alerts/<uuid:alert_id>/resolve", methods=["POST"])
@requires(*STAFF)
@blp.arguments(ResolveSchema)
@blp.response(200, AlertSchema)
def resolve_alert(body: dict[str, Any], alert_id: uuid.UUID) -> Any:
    """Resolve an alert with its outcome

    Closes the alert with what came of it. Resolving an alert nobody acknowledged acknowledges it too (by you).
    Once resolved, a new occurrence opens a new alert. 409 `alert_already_resolved` the second time; 404 for an
    alert of another programme. Admins and coordinators; audited; reaches the key worker's phone through
    `GET /sync`.
    """
    return service.resolve_alert(
        db_session(), actor=current_actor(), alert_id=alert_id, outcome=body["outcome"], now=clock().now()
    )
