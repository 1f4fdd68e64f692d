from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, new_id
from api.enums import enum_column_type
from api.missing.rules import ConversationOutcome, MissingSource


class MissingEpisode(Base):
    __tablename__ = "missing_episode"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    # When the child was reported missing, and when they came back (the 72-hour clock starts here).
    reported_at: Mapped[datetime]
    returned_at: Mapped[datetime | None]
    source: Mapped[MissingSource] = mapped_column(enum_column_type(MissingSource, "missing_source"))
    recorded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


Index("ix_missing_episode_child_id_reported_at", MissingEpisode.child_id, MissingEpisode.reported_at)
Index("ix_missing_episode_returned_at", MissingEpisode.returned_at)


class ReturnConversation(Base):
    """The return conversation for one episode: offered, then completed or declined."""

    __tablename__ = "return_conversation"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    missing_episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("missing_episode.id"), unique=True)
    outcome: Mapped[ConversationOutcome] = mapped_column(enum_column_type(ConversationOutcome, "conversation_outcome"))
    offered_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    declined_reason: Mapped[str | None] = mapped_column(Text)
    held_by: Mapped[str | None] = mapped_column(Text)
    independent: Mapped[bool]
    recorded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]
