from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.actors import Role
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
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version, page_answer, page_window

blp = Blueprint(
    "missing", __name__, description="Missing episodes and the return conversation within 72 hours of each return"
)


@blp.route("/children/<uuid:child_id>/missing-episodes", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(MissingEpisodeSchema)
@blp.response(201, MissingEpisodeSchema)
def record_missing_episode(body: dict[str, Any], child_id: uuid.UUID) -> Any:
    """Record that a child went missing (and, if known, when they came back)

    When the child was reported missing, who reported it (police, family, carer, school, social care, other) and, if
    they are already back, when they returned: the return starts the 72-hour clock for the return conversation
    (statutory guidance), and the answer says when it is due. Times cannot be in the future, and a return cannot
    come before the report (422 `implausible_episode_times`). A mentor may record episodes only for their own
    caseload. Send an `Idempotency-Key` so a retry replays the first answer instead of recording the episode twice.
    The answer's ETag goes in If-Match to record the return later. The episode reaches the key worker's phone
    through `GET /sync`. Audited.
    """
    record = service.record_missing_episode(
        db_session(), actor=current_actor(), child_id=child_id, now=clock().now(), **body
    )
    return record, etag(record.version)


@blp.route("/children/<uuid:child_id>/missing-episodes", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, MissingEpisodeSchema(many=True))
@blp.paginate()
def list_missing_episodes(child_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """A child's missing episodes, newest first, each with its return conversation and when it is due

    Each episode with its report and return times, who reported it, its `version`, its return conversation if one is
    recorded, when that is due and whether it is overdue; a page at a time (`page`, `page_size`; `X-Pagination`
    gives the total). A mentor may read them only for their own caseload (any other child answers 404). Audited.
    """
    page = service.list_missing_episodes(
        db_session(),
        actor=current_actor(),
        child_id=child_id,
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/missing-episodes/<uuid:episode_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, MissingEpisodeSchema)
def get_missing_episode(episode_id: uuid.UUID) -> Any:
    """One missing episode; its ETag goes back in If-Match to edit it

    The episode with its return conversation and when that is due, and its `version`, which is also the answer's
    `ETag`: send it back in If-Match to record the return or correct the episode. An episode of a child you may not
    see answers 404. Audited.
    """
    record = service.get_missing_episode(db_session(), actor=current_actor(), episode_id=episode_id, now=clock().now())
    return record, etag(record.version)


@blp.route("/missing-episodes/<uuid:episode_id>", methods=["PATCH"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(MissingEpisodeUpdateSchema)
@blp.response(200, MissingEpisodeSchema)
def update_missing_episode(body: dict[str, Any], episode_id: uuid.UUID) -> Any:
    """Record the child's return, or correct the episode (If-Match required: 412 if someone changed it first)

    Send If-Match with the episode's ETag: an edit based on an older version is refused with 412 `stale_version` and
    `current_version`, and changes nothing (read it again and reapply the edit); without If-Match the answer is 428.
    Send what changes: usually `returned_at`, when the child came back, which starts the 72-hour clock for the
    return conversation. The same checks on the times apply as when the episode was recorded (422
    `implausible_episode_times`). The answer carries the new ETag. Audited.
    """
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
    """Record (or replace) the return conversation: offered, completed or declined

    One return conversation per episode, recorded once the child has come back (409 `child_not_returned` before
    that): when it was offered (after the return, not in the future), its outcome, and for a completed one when it
    was held, or for a declined one why. Recording it again replaces it. Say whether it was held by someone
    independent of the child's care and of the police, and, if you like, who held it. Inconsistent times or fields
    answer 422 `implausible_return_conversation`. A mentor may record it only for their own caseload. Audited.
    """
    return service.record_return_conversation(
        db_session(), actor=current_actor(), episode_id=episode_id, now=clock().now(), **body
    )


@blp.route("/programmes/<uuid:programme_id>/return-conversations", methods=["GET"])
@requires(*STAFF)
@blp.arguments(OutstandingQuerySchema, location="query")
@blp.response(200, OutstandingConversationSchema(many=True))
@blp.paginate()
def list_outstanding_conversations(args: dict[str, Any], programme_id: uuid.UUID, pagination_parameters: Any) -> Any:
    """Children back from missing whose return conversation is not completed, the longest-waiting first

    For coordinators keeping to the 72 hours: every child of the programme back from missing whose return
    conversation is not completed, the longest-waiting first, with when the child returned, when the conversation is
    due, whether it is overdue, and whether it has been offered or declined so far. `state=due` lists those still
    within the 72 hours, `state=overdue` those past them. A page at a time (`page`, `page_size`; `X-Pagination`
    gives the total). Admins and coordinators of the programme; every child listed is written to the audit log.
    """
    state = args.get("state")
    page = service.list_outstanding_conversations(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        overdue=None if state is None else state == "overdue",
        window=page_window(pagination_parameters),
        now=clock().now(),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/programmes/<uuid:programme_id>/return-conversations/summary", methods=["GET"])
@requires(Role.ADMIN, Role.COORDINATOR, Role.COMMISSIONER)
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, ReturnConversationSummarySchema)
def summarise_return_conversations(args: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Returns from missing in a window, and how many had their conversation completed within 72 hours

    How many children returned from missing on the days from `since` to `until` (inclusive, in programme time), how
    many had their return conversation completed within 72 hours of the return, and the rate, the figure
    commissioners watch (about 63% nationally). A return less than 72 hours old counts against the rate until its
    conversation is completed. Commissioners see counts from 1 to 4 as "<5" and the rate withheld then. Admins,
    coordinators and commissioners of the programme.
    """
    return service.summarise_return_conversations(
        db_session(),
        actor=current_actor(),
        programme_id=programme_id,
        since=args["since"],
        until=args["until"],
        suppression_threshold=current_app.config["SMALL_NUMBER_THRESHOLD"],
    )
