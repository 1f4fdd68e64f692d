from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.accounts.rules import Role
from api.auth import CASEWORK, STAFF, current_actor, requires
from api.idempotency.http import idempotent
from api.missing import service
from api.missing.schemas import (
    MissingEpisodeSchema,
    MissingEpisodeUpdateSchema,
    OutstandingConversationSchema,
    OutstandingQuerySchema,
    ReturnConversationSchema,
    ReturnConversationSummarySchema,
    SummaryQuerySchema,
)
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version

blp = Blueprint(
    "missing", __name__, description="Missing episodes and the return conversation within 72 hours of each return"
)


@blp.route("/children/<uuid:child_id>/missing-episodes", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(MissingEpisodeSchema)
@blp.response(201, MissingEpisodeSchema)
def record_missing_episode(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record that a child went missing (and, if known, when they came back)"""
    record = service.record_missing_episode(
        db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body
    )
    return record, etag(record.version)


@blp.route("/children/<uuid:child_id>/missing-episodes", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, MissingEpisodeSchema(many=True))
@blp.paginate()
def list_missing_episodes(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's missing episodes, newest first, each with its return conversation and when it is due"""
    records, total = service.list_missing_episodes(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return records


@blp.route("/missing-episodes/<uuid:episode_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, MissingEpisodeSchema)
def get_missing_episode(episode_id: uuid.UUID) -> Any:
    """One missing episode; its ETag goes back in If-Match to edit it"""
    record = service.get_missing_episode(db_session(), actor=current_actor(), episode_id=episode_id, now=clock().now())
    return record, etag(record.version)


@blp.route("/missing-episodes/<uuid:episode_id>", methods=["PATCH"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(MissingEpisodeUpdateSchema)
@blp.response(200, MissingEpisodeSchema)
def update_missing_episode(body: dict[str, Any], episode_id: uuid.UUID) -> Any:
    """Record the child's return, or correct the episode (If-Match required: 412 if someone changed it first)"""
    record = service.update_missing_episode(
        db_session(),
        actor=current_actor(),
        episode_id=episode_id,
        expected_version=expected_version(),
        changes=body,
        now=clock().now(),
    )
    return record, etag(record.version)


@blp.route("/missing-episodes/<uuid:episode_id>/return-conversation", methods=["PUT"])
@requires(*CASEWORK)
@blp.arguments(ReturnConversationSchema)
@blp.response(200, ReturnConversationSchema)
def record_return_conversation(body: dict[str, Any], episode_id: uuid.UUID) -> Any:
    """Record (or replace) the return conversation: offered, completed or declined"""
    return service.record_return_conversation(
        db_session(), actor=current_actor(), episode_id=episode_id, now=clock().now(), **body
    )


@blp.route("/programmes/<uuid:programme_id>/return-conversations", methods=["GET"])
@requires(*STAFF)
@blp.arguments(OutstandingQuerySchema, location="query")
@blp.response(200, OutstandingConversationSchema(many=True))
@blp.paginate()
def list_outstanding_conversations(args: dict[str, Any], programme_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """Children back from missing whose return conversation is not completed, the longest-waiting first"""
    state = args.get("state")
    items, total = service.list_outstanding_conversations(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        overdue=None if state is None else state == "overdue",
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
        now=clock().now(),
    )
    pagination_parameters.item_count = total
    return items


@blp.route("/programmes/<uuid:programme_id>/return-conversations/summary", methods=["GET"])
@requires(Role.ADMIN, Role.COORDINATOR, Role.COMMISSIONER)
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, ReturnConversationSummarySchema)
def summarise_return_conversations(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Returns from missing in a window, and how many had their conversation completed within 72 hours"""
    return service.summarise_return_conversations(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        since=args["since"],
        until=args["until"],
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
    )
