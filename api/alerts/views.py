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
    """Your programme's alerts, newest first"""
    return service.list_alerts(
        db_session(), actor=current_actor(), acknowledged=args.get("acknowledged"), now=clock().now()
    )


@blp.route("/alerts/<uuid:alert_id>/acknowledge", methods=["POST"])
@requires(*STAFF)
@blp.arguments(AcknowledgeSchema)
@blp.response(200, AlertSchema)
def acknowledge_alert(body: dict[str, Any], alert_id: uuid.UUID) -> Any:
    """Acknowledge an alert, saying what was done"""
    return service.acknowledge_alert(
        db_session(), actor=current_actor(), alert_id=alert_id, note=body["note"], now=clock().now()
    )
