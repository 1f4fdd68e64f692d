from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import CASEWORK, current_actor, requires
from api.sync import feed
from api.sync.rules import Cursor
from api.sync.schemas import SyncPageSchema, SyncQuerySchema
from api.web import clock, db_session

blp = Blueprint("sync", __name__, description="Offline sync for the mentors' phone app")


@blp.route("/sync", methods=["GET"])
@requires(*CASEWORK)
@blp.arguments(SyncQuerySchema, location="query")
@blp.response(200, SyncPageSchema)
def read_changes(args: dict[str, Any]) -> Any:
    """Everything in your caseload that changed after the cursor, including deletions and lost access"""
    return feed.read_changes(
        db_session(),
        actor=current_actor(),
        cursor=Cursor.decode(args["cursor"]),
        limit=args["limit"],
        now=clock().now(),
    )
