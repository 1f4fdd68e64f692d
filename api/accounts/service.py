"""Managing users: creating them (admins anyone; coordinators their programme's mentors), changing them,
deactivating them (which ends their sign-ins), cutting off every device they are signed in on, and one's own
account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts import errors
from api.accounts.models import AppUser, AuthSession
from api.accounts.rules import password_problem, programme_required
from api.accounts.signing_in import hash_password
from api.actors import Actor, Role
from api.changes.service import note_reminder_recheck
from api.db import use_case
from api.errors import PermissionDenied
from api.mobile_numbers import PHONE_NUMBER_ERRORS, MobileNumberProblem, normalise_mobile_number
from api.programmes.queries import get_programme_or_none


@use_case
def revoke_sign_ins(db_session: Session, *, actor: Actor, user_id: uuid.UUID, now: datetime) -> int:
    """Cut off every device a user is signed in on (a lost phone). Coordinators may do it for their mentors."""
    user = _get_manageable_user(db_session, actor=actor, user_id=user_id)
    result = db_session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=f"revoked_by_{actor.role.value}")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@use_case
def create_user(
    db_session: Session,
    *,
    email: str,
    display_name: str,
    role: Role,
    password: str,
    programme_id: uuid.UUID | None,
    max_caseload: int | None,
    now: datetime,
    mobile_e164: str | None = None,
    accept_drama_numbers: bool = False,
) -> AppUser:
    problem = password_problem(password)
    if problem:
        raise errors.WeakPassword(problem, errors={"password": [problem]})
    if programme_required(role):
        if programme_id is None or get_programme_or_none(db_session, programme_id) is None:
            raise errors.ProgrammeRequiredForRole(errors={"programme_id": ["Choose an existing programme."]})
    else:
        programme_id = None
    if role is not Role.MENTOR and max_caseload is not None:
        raise errors.CaseloadOnlyForMentors(errors={"max_caseload": ["Only mentors have a caseload."]})
    if role is Role.MENTOR and max_caseload is None:
        raise errors.MaxCaseloadRequired(errors={"max_caseload": ["A mentor needs a maximum caseload."]})
    email = email.strip().lower()
    if db_session.scalar(select(AppUser.id).where(AppUser.email == email)) is not None:
        raise errors.EmailAlreadyRegistered()
    user = AppUser(
        email=email,
        display_name=display_name.strip(),
        role=role,
        programme_id=programme_id,
        max_caseload=max_caseload,
        password_hash=hash_password(password),
        mobile_e164=_mobile(mobile_e164, accept_drama_numbers=accept_drama_numbers),
        created_at=now,
    )
    db_session.add(user)
    return user


def _mobile(number: str | None, *, accept_drama_numbers: bool) -> str | None:
    """A staff member's mobile, checked like a child's: E.164, and a mobile (never a landline)."""
    if number is None or not number.strip():
        return None
    result = normalise_mobile_number(number, accept_drama_numbers=accept_drama_numbers)
    if isinstance(result, MobileNumberProblem):
        raise PHONE_NUMBER_ERRORS[result.reason](result.message, errors={"mobile": [result.message]})
    return result


@use_case
def update_user(
    db_session: Session,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
    accept_drama_numbers: bool = False,
) -> AppUser:
    user = _get_manageable_user(db_session, actor=actor, user_id=user_id)
    reminded_as = (user.mobile_e164, user.is_active)
    if "mobile_e164" in changes:
        user.mobile_e164 = _mobile(changes["mobile_e164"], accept_drama_numbers=accept_drama_numbers)
    if "max_caseload" in changes and user.role is not Role.MENTOR:
        raise errors.CaseloadOnlyForMentors(errors={"max_caseload": ["Only mentors have a caseload."]})
    if "display_name" in changes:
        user.display_name = changes["display_name"].strip()
    for field in ("max_caseload", "is_active"):
        if field in changes:
            setattr(user, field, changes[field])
    if changes.get("is_active") is False:
        db_session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason="user_deactivated")
        )
    if user.role is Role.MENTOR and (user.mobile_e164, user.is_active) != reminded_as:
        # A mentor's reminders of their coming sessions follow their mobile and whether they are active.
        note_reminder_recheck(db_session, mentor_id=user.id, now=now)
    return user


def _get_manageable_user(db_session: Session, *, actor: Actor, user_id: uuid.UUID) -> AppUser:
    user = db_session.get(AppUser, user_id)
    if user is None:
        raise errors.UserNotFound()
    if actor.role is Role.ADMIN:
        return user
    # A coordinator manages the mentors of their own programme, and no one else.
    if actor.role is Role.COORDINATOR and user.role is Role.MENTOR and user.programme_id == actor.programme_id:
        return user
    raise errors.UserNotFound()


def get_own_account(db_session: Session, *, actor: Actor) -> AppUser:
    user = db_session.get(AppUser, actor.user_id)
    assert user is not None
    return user


@use_case
def create_user_as(
    db_session: Session,
    *,
    actor: Actor,
    email: str,
    display_name: str,
    role: Role,
    password: str,
    programme_id: uuid.UUID | None,
    max_caseload: int | None,
    now: datetime,
    mobile_e164: str | None = None,
    accept_drama_numbers: bool = False,
) -> AppUser:
    """Admins create anyone; a coordinator creates mentors for their own programme only."""
    if actor.role is Role.COORDINATOR and (role is not Role.MENTOR or programme_id not in (None, actor.programme_id)):
        raise PermissionDenied("Coordinators can add mentors to their own programme only.")
    if actor.role is Role.COORDINATOR:
        programme_id = actor.programme_id
    return create_user(
        db_session,
        email=email,
        display_name=display_name,
        role=role,
        password=password,
        programme_id=programme_id,
        max_caseload=max_caseload,
        now=now,
        mobile_e164=mobile_e164,
        accept_drama_numbers=accept_drama_numbers,
    )
