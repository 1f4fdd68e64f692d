from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import STAFF, current_actor, requires
from api.caseloads import service
from api.caseloads.schemas import MentorCaseloadSchema
from api.web import db_session

blp = Blueprint("caseloads", __name__, description="Mentors' caseloads and key-worker allocation")


@blp.route("/mentors", methods=["GET"])
@requires(*STAFF)
@blp.response(200, MentorCaseloadSchema(many=True))
def list_mentors() -> Any:
    """Mentors with their caseload against their maximum

    Every mentor of your programme (admins: every programme), by name, with whether they can sign in, how many
    children they are key worker for now and their maximum caseload, so a coordinator can see who has room before
    allocating. Admins and coordinators.
    """
    return service.list_mentor_caseloads(db_session(), actor=current_actor())
