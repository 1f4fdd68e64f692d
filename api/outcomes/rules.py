"""Outcome events: what one is, and when two are the same event.

The seed project's evaluation compared, for children on the programme, how often four kinds of event
happened before and during the intervention: arrests, police call-outs, missing episodes and school
exclusions (docs/domain.md, "Outcomes and unit costs"). An outcome event is a dated fact about one child (its
type, the day it happened, where we learnt of it). Two events of the same type, on the same day, from the same
source, are the same event: that is what lets an extract be imported twice without counting anything twice.

The rest of the outcome rules build on these: reading an agency's extract (api/outcomes/csv_import.py), the
windows and rates events are reported in (api/outcomes/rates.py), and the cost-benefit estimate built on the
rates (api/outcomes/cost_benefit.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class OutcomeEventType(StrEnum):
    ARREST = "arrest"
    POLICE_CALL_OUT = "police_call_out"
    MISSING_EPISODE = "missing_episode"
    EXCLUSION_FIXED_TERM = "exclusion_fixed_term"
    EXCLUSION_PERMANENT = "exclusion_permanent"


class OutcomeSource(StrEnum):
    """Where the record of an event came from.

    A short list rather than free text: reports group and compare by source (police extracts against school
    returns), one spelling per source keeps them honest, and free text is where personal data creeps in.
    The agencies are the referral sources (api/referrals/rules.py); the name of the extract ("Kent Police extract,
    March") goes in the optional source_detail beside it."""

    POLICE = "police"
    SCHOOL = "school"
    SOCIAL_CARE = "social_care"
    YOUTH_JUSTICE = "youth_justice"
    OTHER = "other"


SOURCE_DETAIL_MAX_LENGTH = 200


def local_date(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def event_problems(*, occurred_on: date, today: date, date_of_birth: date | None) -> dict[str, str]:
    """What is wrong with an event's date, by field; empty when nothing is."""
    if occurred_on > today:
        return {"occurred_on": "An event cannot be in the future."}
    if date_of_birth is not None and occurred_on < date_of_birth:
        return {"occurred_on": "An event cannot be before the child was born."}
    return {}


@dataclass(frozen=True)
class EventKey:
    """What makes two events the same event."""

    child_id: uuid.UUID
    event_type: OutcomeEventType
    occurred_on: date
    source: OutcomeSource
