from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from api.accounts.models import AppUser
from api.actors import Actor, Role


def list_users(db_session: Session, *, actor: Actor, role: Role | None) -> Sequence[AppUser]:
    query = select(AppUser).options(undefer(AppUser.locked_until)).order_by(AppUser.display_name, AppUser.id)
    if actor.role is not Role.ADMIN:
        query = query.where(AppUser.programme_id == actor.programme_id)
    if role is not None:
        query = query.where(AppUser.role == role)
    return db_session.scalars(query).all()
