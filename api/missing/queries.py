"""Reading missing episodes, always through the caller's visibility of the child (api/children/queries.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.children.models import Child
from api.children.queries import visible_to
from api.missing.models import MissingEpisode, ReturnConversation
from api.missing.rules import RETURN_CONVERSATION_WITHIN, ConversationOutcome
from api.pagination import Page, Window, page_of_rows


def get_visible_episode(
    db_session: Session, *, actor: Actor, episode_id: uuid.UUID, for_update: bool = False
) -> MissingEpisode | None:
    query = (
        select(MissingEpisode)
        .join(Child, Child.id == MissingEpisode.child_id)
        .where(MissingEpisode.id == episode_id, visible_to(actor))
    )
    if for_update:
        query = query.with_for_update(of=MissingEpisode).execution_options(populate_existing=True)
    return db_session.scalar(query)


def get_return_conversation(db_session: Session, *, episode_id: uuid.UUID) -> ReturnConversation | None:
    return db_session.scalar(select(ReturnConversation).where(ReturnConversation.missing_episode_id == episode_id))


def list_child_episodes(
    db_session: Session, *, child_id: uuid.UUID, window: Window
) -> Page[tuple[MissingEpisode, ReturnConversation | None]]:
    """A child's episodes, newest report first, each with its return conversation if one is recorded (at most one:
    the join never adds a row)."""
    page = page_of_rows(
        db_session,
        select(MissingEpisode, ReturnConversation)
        .outerjoin(ReturnConversation, ReturnConversation.missing_episode_id == MissingEpisode.id)
        .where(MissingEpisode.child_id == child_id),
        order_by=(MissingEpisode.reported_at.desc(), MissingEpisode.created_at.desc(), MissingEpisode.id),
        window=window,
    )
    return Page([(episode, conversation) for episode, conversation in page.items], page.total)


def _outstanding(programme_id: uuid.UUID) -> Select[MissingEpisode, str, ReturnConversation | None]:
    """Returns in the programme still waiting for a conversation: none recorded yet, or offered and not held.

    A declined conversation closes the item (the child was offered it and said no: there is nothing left to
    chase); it still counts against the 72-hour rate, which measures conversations held."""
    return (
        select(MissingEpisode, Child.reference, ReturnConversation)
        .join(Child, Child.id == MissingEpisode.child_id)
        .outerjoin(ReturnConversation, ReturnConversation.missing_episode_id == MissingEpisode.id)
        .where(
            Child.programme_id == programme_id,
            MissingEpisode.returned_at.is_not(None),
            ReturnConversation.completed_at.is_(None),
            or_(ReturnConversation.id.is_(None), ReturnConversation.outcome != ConversationOutcome.DECLINED),
        )
    )


def list_outstanding_conversations(
    db_session: Session,
    *,
    programme_id: uuid.UUID,
    overdue: bool | None,
    now: datetime,
    window: Window,
) -> Page[tuple[MissingEpisode, str, ReturnConversation | None]]:
    """Outstanding return conversations, the longest-waiting first. overdue=True: past the 72 hours;
    False: still within them (exactly 72 hours is within); None: both."""
    query = _outstanding(programme_id)
    # Compared on returned_at, not on a computed due time, so the index serves it and both databases agree.
    returned_by = now - RETURN_CONVERSATION_WITHIN
    if overdue is True:
        query = query.where(MissingEpisode.returned_at < returned_by)
    elif overdue is False:
        query = query.where(MissingEpisode.returned_at >= returned_by)
    page = page_of_rows(db_session, query, order_by=(MissingEpisode.returned_at, MissingEpisode.id), window=window)
    return Page([(episode, reference, conversation) for episode, reference, conversation in page.items], page.total)


def list_return_times(
    db_session: Session, *, programme_id: uuid.UUID, returned_from: datetime, returned_before: datetime
) -> Sequence[tuple[datetime, datetime | None]]:
    """(returned_at, completed_at) for each return in the window: two columns, no child, for an aggregate."""
    rows = db_session.execute(
        select(MissingEpisode.returned_at, ReturnConversation.completed_at)
        .join(Child, Child.id == MissingEpisode.child_id)
        .outerjoin(ReturnConversation, ReturnConversation.missing_episode_id == MissingEpisode.id)
        .where(
            Child.programme_id == programme_id,
            MissingEpisode.returned_at >= returned_from,
            MissingEpisode.returned_at < returned_before,
        )
    ).all()
    return [(returned_at, completed_at) for returned_at, completed_at in rows if returned_at is not None]
