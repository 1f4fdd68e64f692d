from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.alerts import service
from api.alerts.schemas import AcknowledgeSchema, AlertListQuerySchema, AlertSchema
from api.auth import STAFF, current_actor, requires
from api.web import clock, db_session

blp = Blueprint("alerts", __name__, description="Safeguarding alerts for coordinators")


@blp.route("/alerts", methods=["GET"])
@requires(*STAFF)
@blp.arguments(AlertListQuerySchema, location="query")
@blp.response(200, AlertSchema(many=True))
def list_alerts(args: dict[str, Any]) -> Any:
    """Your programme's alerts, newest first

    Alerts are raised at once when a mentor logs a safeguarding concern on a session, and when a child's check-in
    falls meaningfully from their baseline (`wellbeing_drop`). Coordinators see their programme's, admins every
    programme's, newest first; `acknowledged=false` lists only those still waiting for a coordinator. Each alert
    listed is written to the audit log.
    """
    return service.list_alerts(
        db_session(), actor=current_actor(), acknowledged=args.get("acknowledged"), now=clock().now()
    )


@blp.route("/alerts/<uuid:alert_id>/acknowledge", methods=["POST"])
@requires(*STAFF)
@blp.arguments(AcknowledgeSchema)
@blp.response(200, AlertSchema)
def acknowledge_alert(body: dict[str, Any], alert_id: uuid.UUID) -> Any:
    """Acknowledge an alert, saying what was done

    Records who acknowledged the alert, when, and the note saying what was done (for example "Discussed with the
    DSL; strategy meeting booked"). An alert can be acknowledged once (409 `alert_already_acknowledged`); an alert
    of another programme answers 404. The acknowledgement reaches the key worker's phone through `GET /sync`. Admins
    and coordinators; audited.
    """
    return service.acknowledge_alert(
        db_session(), actor=current_actor(), alert_id=alert_id, note=body["note"], now=clock().now()
    )
