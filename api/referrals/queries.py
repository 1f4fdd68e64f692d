from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.children.models import Child
from api.pagination import Page, Window, page_of
from api.referrals.models import Referral
from api.referrals.rules import ReferralStatus


def get_referral_in_programme(
    db_session: Session, *, referral_id: uuid.UUID, programme_id: uuid.UUID | None, for_update: bool = False
) -> Referral | None:
    query = select(Referral).join(Child, Child.id == Referral.child_id).where(Referral.id == referral_id)
    if programme_id is not None:
        query = query.where(Child.programme_id == programme_id)
    if for_update:
        query = query.with_for_update(of=Referral).execution_options(populate_existing=True)
    return db_session.scalar(query)


def pending_referral_for_child(db_session: Session, *, child_id: uuid.UUID) -> Referral | None:
    return db_session.scalar(
        select(Referral).where(Referral.child_id == child_id, Referral.status == ReferralStatus.PENDING)
    )


def list_referrals(
    db_session: Session,
    *,
    programme_id: uuid.UUID | None,
    status: ReferralStatus | None,
    cohort_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    window: Window,
) -> Page[Referral]:
    query = select(Referral).join(Child, Child.id == Referral.child_id)
    if programme_id is not None:
        query = query.where(Child.programme_id == programme_id)
    if status is not None:
        query = query.where(Referral.status == status)
    if cohort_id is not None:
        query = query.where(Referral.cohort_id == cohort_id)
    if child_id is not None:
        query = query.where(Referral.child_id == child_id)
    return page_of(
        db_session,
        query,
        order_by=(Referral.referred_on.desc(), Referral.created_at.desc(), Referral.id),
        window=window,
    )
