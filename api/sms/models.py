from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import BIG_ID, Base


class EarlyStatusReport(Base):
    """A signed status callback for a provider id no message carries yet: Twilio can report a message delivered
    before its send is recorded (an answer lost, a 500, then a look-up). Twilio does not call again, so the report
    is kept here and applied, forward only, once a send is recorded or found with that id; old ones are purged
    with the SMS retention. It holds no number and no text."""

    __tablename__ = "sms_early_status_report"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[int | None]
    received_at: Mapped[datetime]


Index("ix_sms_early_status_report_provider_id", EarlyStatusReport.provider_id)
