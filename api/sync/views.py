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
    """Everything in your caseload that changed after the cursor, including deletions and lost access

    How the phone app stays up to date offline. Leave out the cursor to get everything in your caseload; then send
    the `cursor` of the last page to get only what changed since. Each change names the record's type, id and child,
    and carries the record as it is now (`upsert`) or says it is gone (`delete`); a child you gain comes as
    `access_granted` followed by everything that is theirs, and a child you lose as `access_revoked`: forget them
    and all that is theirs. A page holds at most `limit` changes; while `has_more` is true, ask again at once with
    the new cursor. When nothing changes while you page, each record comes once. The cursor never skips a change: on
    PostgreSQL a page holds only changes from transactions that have finished, so one that commits late comes on a
    later call. An invalid cursor answers 422; a mentor sees only the children they are key worker for now. Reads
    are audited.
    """
    return feed.read_changes(
        db_session(),
        actor=current_actor(),
        cursor=Cursor.decode(args["cursor"]),
        limit=args["limit"],
        now=clock().now(),
    )
