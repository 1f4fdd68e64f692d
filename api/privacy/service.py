"""Privacy: the retention purge, and a subject-access export of everything held about one child.

The purge deletes in batches, each its own short transaction (a big purge never holds locks for long, and one
interrupted halfway keeps what it did), then writes one audit row for the run, even when nothing was due, so
the audit log shows that retention ran, with its counts and cutoff dates (no personal data in them); they also go
to the log and back to the caller (the CLI prints them).

The export reads through each domain's own queries where one returns everything; api/privacy/queries.py
has the rest (history the domains' lists leave out: removed numbers, every consent decision, voided events).
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, inspect, update
from sqlalchemy.orm import Session

from api.accounts.models import AuthSession, RefreshToken, SignInSource
from api.actors import Actor
from api.audit import queries as audit_queries
from api.audit import service as audit
from api.audit.models import AuditEvent
from api.caseloads import queries as caseloads_queries
from api.children import queries as children_queries
from api.children.errors import ChildNotFound
from api.db import transaction, use_case
from api.enrolments import queries as enrolments_queries
from api.idempotency.models import IdempotencyRecord
from api.missing import queries as missing_queries
from api.pagination import Window
from api.privacy import queries, rules
from api.privacy.rules import RetentionPolicy
from api.referrals import queries as referrals_queries
from api.sessions import queries as sessions_queries
from api.sms import service as sms
from api.wellbeing import queries as wellbeing_queries
from api.wellbeing.models import CheckInInvitation

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# The export reads whole histories through list functions that page: one page holds everything.
EVERYTHING = Window(offset=0, limit=1_000_000_000)
PURGE_ACTION = "retention.purge"
PURGE_RECORD_TYPE = "retention_run"
EXPORT_ACTION = "child.subject_access_export"
EXPORT_SCHEMA_VERSION = 3


# --- Retention purge -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeRun:
    run_id: uuid.UUID
    ran_at: datetime
    cutoffs: dict[str, datetime]
    # Records deleted (or, for check-in links, tokens wiped) per record type.
    counts: dict[str, int]


def _in_batches(
    db_session: Session,
    find: Callable[[datetime, int], Sequence[uuid.UUID]],
    remove: Callable[[Sequence[uuid.UUID]], None],
    *,
    before: datetime,
    batch_size: int,
    progress: Callable[[int], None],
) -> int:
    done = 0
    while True:
        with transaction(db_session):
            ids = find(before, batch_size)
            if ids:
                remove(ids)
        done += len(ids)
        if ids:
            progress(done)
        if len(ids) < batch_size:
            return done


def purge_expired_records(
    db_session: Session,
    *,
    policy: RetentionPolicy,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str], None] | None = None,
) -> PurgeRun:
    """Delete what is past its retention, type by type in batches, and audit the run (one row)."""
    cutoffs = policy.cutoffs(now)
    counts: dict[str, int] = {}
    say = progress or (lambda _message: None)

    def report(record_type: str) -> Callable[[int], None]:
        return lambda done: say(f"{record_type}: {done} so far")

    def remove_sign_ins(ids: Sequence[uuid.UUID]) -> None:
        # Tokens first: SQLite enforces the foreign key without the cascade PostgreSQL would apply.
        db_session.execute(delete(RefreshToken).where(RefreshToken.auth_session_id.in_(ids)))
        db_session.execute(delete(AuthSession).where(AuthSession.id.in_(ids)))

    def remove_sign_in_sources(ids: Sequence[uuid.UUID]) -> None:
        db_session.execute(delete(SignInSource).where(SignInSource.id.in_(ids)))

    def remove_idempotency_records(ids: Sequence[uuid.UUID]) -> None:
        db_session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))

    def remove_audit_events(ids: Sequence[uuid.UUID]) -> None:
        db_session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))

    def wipe_link_tokens(ids: Sequence[uuid.UUID]) -> None:
        # The invitation stays (a check-in points at it); what made or found its link goes. The hash is replaced
        # by a unique value no SHA-256 digest can equal, so the link is gone for good.
        for invitation_id in ids:
            db_session.execute(
                update(CheckInInvitation)
                .where(CheckInInvitation.id == invitation_id)
                .values(token_nonce=queries.PURGED_NONCE, token_hash=f"purged:{invitation_id.hex}")
            )

    steps: list[tuple[str, Callable[[datetime, int], Sequence[uuid.UUID]], Callable[[Sequence[uuid.UUID]], None]]] = [
        (
            rules.REFRESH_TOKEN,
            lambda before, limit: queries.ended_sign_ins(db_session, before=before, limit=limit),
            remove_sign_ins,
        ),
        (
            rules.SIGN_IN_SOURCE,
            lambda before, limit: queries.old_sign_in_sources(db_session, before=before, limit=limit),
            remove_sign_in_sources,
        ),
        (
            rules.IDEMPOTENCY_RECORD,
            lambda before, limit: queries.old_idempotency_records(db_session, before=before, limit=limit),
            remove_idempotency_records,
        ),
        (
            rules.CHECK_IN_LINK_TOKEN,
            lambda before, limit: queries.finished_links_with_tokens(db_session, before=before, limit=limit),
            wipe_link_tokens,
        ),
        (
            rules.AUDIT_EVENT,
            lambda before, limit: queries.old_audit_events(db_session, before=before, limit=limit),
            remove_audit_events,
        ),
    ]
    for record_type, find, remove in steps:
        counts[record_type] = _in_batches(
            db_session,
            find,
            remove,
            before=cutoffs[record_type],
            batch_size=batch_size,
            progress=report(record_type),
        )
    # SMS: the SMS domain owns which messages are finished; it deletes them with their ledger.
    counts[rules.SMS_MESSAGE] = sms.purge_old_messages(
        db_session, retention_days=policy.days_for(rules.SMS_MESSAGE), now=now
    )
    run = PurgeRun(run_id=uuid.uuid4(), ran_at=now, cutoffs=cutoffs, counts=counts)
    with transaction(db_session):
        audit.record(
            db_session,
            actor=None,
            action=PURGE_ACTION,
            # A purge run has no table of its own: the audit row is its only record.
            record=audit.Ref(PURGE_RECORD_TYPE, run.run_id),
            child_id=None,
            now=now,
            details={"counts": counts, "cutoffs": {kind: moment.isoformat() for kind, moment in cutoffs.items()}},
        )
    log.info(
        "retention purge %s: %s",
        run.run_id,
        ", ".join(f"{kind} {counts[kind]} before {cutoffs[kind].isoformat()}" for kind in rules.RECORD_TYPES),
    )
    return run


# --- Subject-access export -----------------------------------------------------------------------------------

# Not about the child, and each would help forge or find a link: left out of the document.
WITHHELD_COLUMNS = {("check_in_invitation", "token_nonce"), ("check_in_invitation", "token_hash")}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(record: Any) -> dict[str, Any]:
    table = record.__tablename__
    return {
        attribute.key: _plain(getattr(record, attribute.key))
        for attribute in inspect(type(record)).column_attrs
        if (table, attribute.key) not in WITHHELD_COLUMNS
    }


def _rows(records: Sequence[Any]) -> list[dict[str, Any]]:
    return [_row(record) for record in records]


@use_case
def subject_access_export(db_session: Session, *, actor: Actor, child_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """Everything held about one child, as one document (see api/privacy/schemas.py); the export is audited."""
    child = children_queries.get_visible_child(db_session, actor=actor, child_id=child_id)
    if child is None:
        raise ChildNotFound()
    enrolments = enrolments_queries.list_enrolments(
        db_session, programme_id=None, cohort_id=None, child_id=child.id, status=None, window=EVERYTHING
    ).items
    referrals = referrals_queries.list_referrals(
        db_session, programme_id=None, status=None, cohort_id=None, child_id=child.id, window=EVERYTHING
    ).items
    allocations = [
        allocation
        for enrolment in enrolments
        for allocation in caseloads_queries.list_allocations(db_session, enrolment_id=enrolment.id)
    ]
    check_ins = wellbeing_queries.list_check_ins(db_session, child_id=child.id)
    check_in_ids = [check_in.id for check_in in check_ins]
    invitations = wellbeing_queries.invitations_of_child(db_session, child_id=child.id, window=EVERYTHING).items
    episodes = missing_queries.list_child_episodes(db_session, child_id=child.id, window=EVERYTHING).items
    messages = queries.messages_of_child(db_session, child_id=child.id)
    audit_events = audit_queries.list_audit_events(
        db_session, child_id=child.id, actor_user_id=None, action=None, since=None, until=None, window=EVERYTHING
    ).items
    document: dict[str, Any] = {
        "schema_version": EXPORT_SCHEMA_VERSION,
        "generated_at": now.isoformat(),
        "child_id": str(child.id),
        "child": _row(child),
        "phone_numbers": _rows(queries.phone_numbers_of_child(db_session, child_id=child.id)),
        "contact_consents": _rows(queries.consent_history(db_session, child_id=child.id)),
        "referrals": _rows(referrals),
        "enrolments": _rows(enrolments),
        "allocations": _rows(allocations),
        "session_patterns": _rows(queries.session_patterns_of_child(db_session, child_id=child.id)),
        "session_attendances": _rows(queries.attendances_of_child(db_session, child_id=child.id)),
        "series_memberships": _rows(queries.series_memberships_of_child(db_session, child_id=child.id)),
        "session_carers": _rows(queries.carers_of_child(db_session, child_id=child.id)),
        "sessions": _rows(sessions_queries.sessions_of_child(db_session, child_id=child.id)),
        "check_in_invitations": _rows(invitations),
        "check_ins": _rows(check_ins),
        "check_in_responses": _rows(queries.responses_of_check_ins(db_session, check_in_ids=check_in_ids)),
        "check_in_scores": _rows(queries.scores_of_check_ins(db_session, check_in_ids=check_in_ids)),
        "goals": _rows(wellbeing_queries.goals_of_child(db_session, child_id=child.id)),
        "alerts": _rows(queries.alerts_of_child(db_session, child_id=child.id)),
        "missing_episodes": _rows([episode for episode, _ in episodes]),
        "return_conversations": _rows([conversation for _, conversation in episodes if conversation is not None]),
        "outcome_events": _rows(queries.outcome_events_of_child(db_session, child_id=child.id)),
        "sms_messages": _rows(messages),
        "sms_message_events": _rows(queries.message_events(db_session, message_ids=[m.id for m in messages])),
        "change_events": _rows(queries.change_events_of_child(db_session, child_id=child.id)),
        "reminder_rechecks": _rows(queries.reminder_rechecks_of_child(db_session, child_id=child.id)),
        "audit_events": _rows(audit_events),
    }
    audit.record(
        db_session,
        actor=actor,
        action=EXPORT_ACTION,
        record=child,
        child_id=child.id,
        now=now,
    )
    return document
