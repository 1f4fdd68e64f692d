from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.actors import Role
from api.audit import queries
from api.audit.schemas import AuditEventSchema, AuditQuerySchema
from api.auth import requires
from api.web import db_session, page_answer, page_window

blp = Blueprint("audit", __name__, description="Who read or wrote children's records (admins only)")


@blp.route("/audit-events", methods=["GET"])
@requires(Role.ADMIN)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEventSchema(many=True))
@blp.paginate()
def list_audit_events(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """Audit events, newest first, by child, by user, by action or by time

    Every read and write of a child's record is written to the audit log in the same transaction as the read or
    write: who (user and role; null for the scheduler and the child's own check-in page), the action (such as
    `child.read` or `enrolment.end`), the record and the child. Scheduled runs such as the retention purge log their
    counts in `details`. Filter by child, acting user, exact action, or a period (`since` inclusive, `until`
    exclusive), a page at a time (`page`, `page_size`; `X-Pagination` gives the total). Admins only.
    """
    page = queries.list_audit_events(
        db_session(),
        child_id=args.get("child_id"),
        actor_user_id=args.get("actor_user_id"),
        action=args.get("action"),
        since=args.get("since"),
        until=args.get("until"),
        window=page_window(pagination_parameters),
    )
    return page_answer(pagination_parameters, page)
