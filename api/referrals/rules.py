"""Referrals: a named source asks for a place in a cohort for a child; a coordinator accepts or declines.

Accepting enrols the child if the cohort has a free place, or puts them on its waitlist (api/enrolments).
A decision is final: a referral is decided once. A referral's priority is the waitlist's (api/enrolments/rules.py).
"""

from __future__ import annotations

from enum import StrEnum


class ReferralSource(StrEnum):
    POLICE = "police"
    SCHOOL = "school"
    SOCIAL_CARE = "social_care"
    YOUTH_JUSTICE = "youth_justice"
    HEALTH = "health"
    OTHER = "other"


class ReferralStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


def can_decide(status: ReferralStatus) -> bool:
    return status is ReferralStatus.PENDING
