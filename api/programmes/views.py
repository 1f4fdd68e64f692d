from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.accounts.rules import Role
from api.auth import ALL_ROLES, current_actor, requires
from api.programmes import service
from api.programmes.schemas import CohortSchema, CohortUpdateSchema, ProgrammeSchema, ProgrammeUpdateSchema
from api.web import clock, db_session

blp = Blueprint("programmes", __name__, description="Programmes and their cohorts")


@blp.route("/programmes", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, ProgrammeSchema(many=True))
def list_programmes() -> Any:
    """List the programmes you work in (admins: all)"""
    return service.list_programmes(db_session(), actor=current_actor())


@blp.route("/programmes", methods=["POST"])
@requires(Role.ADMIN)
@blp.arguments(ProgrammeSchema)
@blp.response(201, ProgrammeSchema)
def create_programme(body: dict[str, Any]) -> Any:
    """Create a programme"""
    return service.create_programme(
        db_session(), now=clock().now(), known_instruments=current_app.extensions["reachable.instruments"], **body
    )


@blp.route("/programmes/<uuid:programme_id>", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, ProgrammeSchema)
def get_programme(programme_id: uuid.UUID) -> Any:
    """One programme"""
    return service.get_programme(db_session(), actor=current_actor(), programme_id=programme_id)


@blp.route("/programmes/<uuid:programme_id>", methods=["PATCH"])
@requires(Role.ADMIN)
@blp.arguments(ProgrammeUpdateSchema)
@blp.response(200, ProgrammeSchema)
def update_programme(body: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Rename a programme, or change its offer window or districts"""
    return service.update_programme(
        db_session(),
        programme_id=programme_id,
        changes=body,
        known_instruments=current_app.extensions["reachable.instruments"],
    )


@blp.route("/programmes/<uuid:programme_id>/cohorts", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, CohortSchema(many=True))
def list_cohorts(programme_id: uuid.UUID) -> Any:
    """List a programme's cohorts"""
    return service.list_cohorts(db_session(), actor=current_actor(), programme_id=programme_id)


@blp.route("/programmes/<uuid:programme_id>/cohorts", methods=["POST"])
@requires(Role.ADMIN)
@blp.arguments(CohortSchema)
@blp.response(201, CohortSchema)
def add_cohort(body: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Add a cohort with its places and intensity"""
    return service.add_cohort(db_session(), programme_id=programme_id, now=clock().now(), **body)


@blp.route("/cohorts/<uuid:cohort_id>", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, CohortSchema)
def get_cohort(cohort_id: uuid.UUID) -> Any:
    """One cohort"""
    return service.get_cohort(db_session(), actor=current_actor(), cohort_id=cohort_id)


@blp.route("/cohorts/<uuid:cohort_id>", methods=["PATCH"])
@requires(Role.ADMIN)
@blp.arguments(CohortUpdateSchema)
@blp.response(200, CohortSchema)
def update_cohort(body: dict[str, Any], cohort_id: uuid.UUID) -> Any:
    """Change a cohort's places or intensity (new places are offered to the waitlist at once)"""
    return service.update_cohort(
        db_session(), actor=current_actor(), cohort_id=cohort_id, changes=body, now=clock().now()
    )
