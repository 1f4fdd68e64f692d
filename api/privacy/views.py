from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.actors import Role
from api.auth import current_actor, requires
from api.privacy import service
from api.privacy.schemas import SubjectAccessExportSchema
from api.web import clock, db_session

blp = Blueprint("privacy", __name__, description="Subject access: everything held about one child (admins only)")


@blp.route("/children/<uuid:child_id>/subject-access-export", methods=["GET"])
@requires(Role.ADMIN)
@blp.response(200, SubjectAccessExportSchema)
def subject_access_export(child_id: uuid.UUID) -> Any:
    """Everything held about one child as one JSON document, for a subject access request (the export is audited)

    Admins only, to answer a subject access request under UK GDPR: one JSON document holding every row of every
    table that holds the child's data, history included (removed numbers, every consent decision, ended goals,
    removed outcome events, the SMS ledger, the sync change log and the audit trail about the child), one section
    per table, with a `schema_version` that changes when the document's shape does. SMS texts and check-in link
    tokens are not in it because they are never stored. Making the export is itself written to the audit log.
    """
    return service.subject_access_export(db_session(), actor=current_actor(), child_id=child_id, now=clock().now())
