from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from api.children.rules import ConsentGivenBy, ContactChannel, PhoneOwner
from api.db import Base, new_id
from api.enums import enum_column_type


class Child(Base):
    __tablename__ = "child"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme.id"))
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date]
    district: Mapped[str] = mapped_column(String(80))
    school: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


Index("ix_child_programme_id_district", Child.programme_id, Child.district)


class PhoneNumber(Base):
    __tablename__ = "phone_number"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    e164: Mapped[str] = mapped_column(String(16))
    belongs_to: Mapped[PhoneOwner] = mapped_column(enum_column_type(PhoneOwner, "phone_owner"))
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    removed_at: Mapped[datetime | None]
    # Set when the SMS provider refused the number for good (invalid, not a mobile): nothing more is sent to it.
    sms_blocked_at: Mapped[datetime | None]
    sms_blocked_reason: Mapped[str | None] = mapped_column(String(200))


Index(
    "uq_phone_number_child_id_e164_current",
    PhoneNumber.child_id,
    PhoneNumber.e164,
    unique=True,
    postgresql_where=text("removed_at IS NULL"),
    sqlite_where=text("removed_at IS NULL"),
)


class ContactConsent(Base):
    """One decision about one channel; the latest per child and channel is in force, earlier ones are history."""

    __tablename__ = "contact_consent"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    channel: Mapped[ContactChannel] = mapped_column(enum_column_type(ContactChannel, "contact_channel"))
    granted: Mapped[bool]
    given_by: Mapped[ConsentGivenBy] = mapped_column(enum_column_type(ConsentGivenBy, "consent_given_by"))
    # Null when the recipient decided by SMS reply (STOP or START), with no member of staff involved.
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]


Index("ix_contact_consent_child_id_channel", ContactConsent.child_id, ContactConsent.channel)
