"""Retention: each kind of record is kept for its configured days, then purged in audited runs.

A purge run deletes sign-ins (with their refresh tokens) that ended before the cutoff, the lock-out's counts of
an email and a client address last tried before theirs, idempotency records and
audit events older than theirs, finished SMS with their ledger, and wipes the token of check-in links that
ended before theirs, keeping the check-in the child sent (that is the child's record). Newer records stay. Every
run writes one audit row, even when there was nothing to delete. The scheduler's job and the CLI run the same
purge, and a configuration naming an unknown type, or zero days, is refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.accounts import auth_sessions, signing_in
from api.accounts.errors import InvalidCredentials
from api.accounts.models import AuthSession, RefreshToken, SignInSource
from api.audit.models import AuditEvent
from api.config import DefaultConfig
from api.idempotency.models import IdempotencyRecord
from api.outbox.models import MessageEvent, OutboundMessage
from api.privacy import rules, service
from api.privacy.rules import InvalidRetention, retention_policy
from api.sms import dispatch as sms_dispatch
from api.sms.dispatch import DispatchSettings
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing.links import link_path, link_token
from api.wellbeing.models import CheckIn, CheckInInvitation
from notifications.fake import FakeSmsSender
from scheduling.jobs import JOBS, JobContext, purge_expired_records
from tests.builders import TOKEN_SETTINGS, Team, actor_for
from tests.conftest import DEFAULT_NOW, SECRET_KEY

NOW = DEFAULT_NOW
ANSWERS = {
    "ons4.life_satisfaction": "8",
    "ons4.worthwhile": "7",
    "ons4.happy_yesterday": "8",
    "ons4.anxious_yesterday": "2",
}
DEFAULTS = retention_policy({}, defaults=DefaultConfig.RETENTION_DAYS, sms_retention_days=30)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


class World:
    """Records on both sides of every cutoff (defaults: sign-ins 30 days after they end, idempotency 7, link
    tokens 7, SMS 30, audit six years). `old_*` are past their cutoff, `new_*` are not."""

    def __init__(self, db_session: Session, session_factory, client, app, clock) -> None:
        self.instruments = app.extensions["reachable.instruments"]
        team = Team(db_session, clock, places=5, with_child=True)
        team.consent_to_sms()
        self.team = team
        # Sign-ins: one ended 70 days ago (expired), one revoked 5 days ago, one still running.
        self.old_sign_in = self._sign_in(db_session, team, at=days_ago(100))
        self.new_revoked_sign_in = self._sign_in(db_session, team, at=days_ago(40))
        db_session.get_one(AuthSession, self.new_revoked_sign_in).revoked_at = days_ago(5)
        self.new_sign_in = self._sign_in(db_session, team, at=days_ago(1))
        # The lock-out's rows of an email and a client address: last tried either side of 30 days.
        self.old_sign_in_source = self._wrong_password(db_session, team, address="198.51.100.1", at=days_ago(31))
        self.new_sign_in_source = self._wrong_password(db_session, team, address="198.51.100.2", at=days_ago(29))
        # Idempotency records either side of 7 days.
        self.old_idempotency = self._idempotency(db_session, team, at=days_ago(8))
        self.new_idempotency = self._idempotency(db_session, team, at=days_ago(6))
        # Audit rows either side of six years.
        self.old_audit = self._audit(db_session, at=days_ago(6 * 366 + 1))
        self.new_audit = self._audit(db_session, at=days_ago(6 * 366 - 1))
        db_session.commit()
        # Check-in links, each sent by SMS: one answered 40 days ago, one expired unanswered long ago, one current.
        sender = FakeSmsSender(now=clock.now)
        self.answered_link = self._link(db_session, session_factory, sender, clock, at=days_ago(40))
        self.answered_token = link_token(
            SECRET_KEY, db_session.get_one(CheckInInvitation, self.answered_link).token_nonce
        )
        clock.at = days_ago(40) + timedelta(hours=1)
        sent = client.post(link_path(self.answered_token), data=ANSWERS)
        assert sent.status_code == 200, sent.get_data(as_text=True)
        self.expired_link = self._link(db_session, session_factory, sender, clock, at=days_ago(20))
        self.new_link = self._link(db_session, session_factory, sender, clock, at=days_ago(1))
        clock.at = NOW
        # SMS: the answered link's (40 days old) are past 30 days; the expired link's (20 days) are not.
        self.old_messages = self._messages_of(db_session, self.answered_link)
        self.new_messages = self._messages_of(db_session, self.expired_link) + self._messages_of(
            db_session, self.new_link
        )
        self.check_in_id = db_session.scalars(
            select(CheckIn.id).where(CheckIn.invitation_id == self.answered_link)
        ).one()

    @staticmethod
    def _sign_in(db_session: Session, team: Team, *, at: datetime) -> uuid.UUID:
        auth_sessions.start_auth_session(
            db_session, user=team.mentor, settings=TOKEN_SETTINGS, now=at, second_factor=False
        )
        return db_session.scalars(
            select(AuthSession.id).where(AuthSession.user_id == team.mentor.id, AuthSession.created_at == at)
        ).one()

    @staticmethod
    def _wrong_password(db_session: Session, team: Team, *, address: str, at: datetime) -> uuid.UUID:
        with pytest.raises(InvalidCredentials):
            signing_in.sign_in(
                db_session,
                email=team.mentor.email,
                password="not the right password at all",
                settings=TOKEN_SETTINGS,
                now=at,
                guards=signing_in.SignInGuards(client_address=address),
            )
        return db_session.scalars(select(SignInSource.id).where(SignInSource.last_attempt_at == at)).one()

    @staticmethod
    def _idempotency(db_session: Session, team: Team, *, at: datetime) -> uuid.UUID:
        record = IdempotencyRecord(
            user_id=team.mentor.id,
            key=uuid.uuid4().hex,
            request_fingerprint="0" * 64,
            response_status=201,
            response_body={"id": str(uuid.uuid4())},
            created_at=at,
            completed_at=at,
        )
        db_session.add(record)
        db_session.flush()
        return record.id

    @staticmethod
    def _audit(db_session: Session, *, at: datetime) -> uuid.UUID:
        event = AuditEvent(occurred_at=at, action="child.read", record_type="child", record_id=None, child_id=None)
        db_session.add(event)
        db_session.flush()
        return event.id

    def _link(self, db_session: Session, session_factory, sender: FakeSmsSender, clock, *, at: datetime) -> uuid.UUID:
        clock.at = at
        record = wellbeing_invitations.invite_check_in(
            db_session,
            actor=actor_for(self.team.mentor),
            instruments=self.instruments,
            child_id=self.team.child_id,
            instrument_keys=["ons4"],
            secret_key=SECRET_KEY,
            now=at,
        )
        settings = DispatchSettings(
            sender=sender,
            secret_key=SECRET_KEY,
            public_base_url="https://checkin.example.org",
            status_callback_url=None,
            quiet_hours={},
        )
        sms_dispatch.dispatch_due(session_factory, settings=settings, clock=clock.now)
        return record.id

    @staticmethod
    def _messages_of(db_session: Session, invitation_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            db_session.scalars(
                select(OutboundMessage.id).where(OutboundMessage.check_in_invitation_id == invitation_id)
            )
        )


@pytest.fixture()
def world(db_session, session_factory, client, app, clock) -> World:
    return World(db_session, session_factory, client, app, clock)


def ids(db_session: Session, column) -> set[uuid.UUID]:
    db_session.expire_all()
    return set(db_session.scalars(select(column)))


def purge_runs(db_session: Session) -> list[AuditEvent]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == service.PURGE_ACTION).order_by(AuditEvent.occurred_at)
        )
    )


def test_records_past_their_cutoff_go_and_newer_ones_stay(db_session, world):
    run = service.purge_expired_records(db_session, policy=DEFAULTS, now=NOW, batch_size=1)

    assert run.counts == {
        rules.REFRESH_TOKEN: 1,
        rules.SIGN_IN_SOURCE: 1,
        rules.IDEMPOTENCY_RECORD: 1,
        rules.CHECK_IN_LINK_TOKEN: 2,
        rules.AUDIT_EVENT: 1,
        rules.SMS_MESSAGE: len(world.old_messages),
    }
    assert run.cutoffs[rules.REFRESH_TOKEN] == days_ago(30)
    assert run.cutoffs[rules.AUDIT_EVENT] == days_ago(6 * 366)

    sign_ins = ids(db_session, AuthSession.id)
    assert world.old_sign_in not in sign_ins
    assert {world.new_revoked_sign_in, world.new_sign_in} <= sign_ins
    token_sessions = ids(db_session, RefreshToken.auth_session_id)
    assert world.old_sign_in not in token_sessions
    assert {world.new_revoked_sign_in, world.new_sign_in} <= token_sessions

    sources = ids(db_session, SignInSource.id)
    assert world.old_sign_in_source not in sources and world.new_sign_in_source in sources

    idempotency = ids(db_session, IdempotencyRecord.id)
    assert world.old_idempotency not in idempotency and world.new_idempotency in idempotency

    audit = ids(db_session, AuditEvent.id)
    assert world.old_audit not in audit and world.new_audit in audit

    messages = ids(db_session, OutboundMessage.id)
    assert len(world.old_messages) == 1 and not set(world.old_messages) & messages
    assert set(world.new_messages) <= messages
    assert (
        db_session.scalar(
            select(func.count()).select_from(MessageEvent).where(MessageEvent.message_id.in_(world.old_messages))
        )
        == 0
    )


def test_a_finished_link_loses_its_token_but_the_childs_answers_stay(db_session, client, world):
    service.purge_expired_records(db_session, policy=DEFAULTS, now=NOW)

    db_session.expire_all()
    answered = db_session.get_one(CheckInInvitation, world.answered_link)
    current = db_session.get_one(CheckInInvitation, world.new_link)
    assert answered.token_nonce == "" and answered.token_hash == f"purged:{answered.id.hex}"
    assert db_session.get_one(CheckInInvitation, world.expired_link).token_nonce == ""
    assert current.token_nonce != "" and len(current.token_hash) == 64
    # The check-in sent through the link is the child's record: kept, still pointing at its invitation.
    assert db_session.get_one(CheckIn, world.check_in_id).invitation_id == world.answered_link
    # The old link opens the same "gone" page as any unknown one; the current one still works.
    assert client.get(link_path(world.answered_token)).status_code == 404
    current_token = link_token(SECRET_KEY, current.token_nonce)
    assert client.get(link_path(current_token)).status_code == 200


def test_each_run_writes_one_audit_row_and_a_second_run_deletes_nothing_but_is_still_audited(db_session, world):
    first = service.purge_expired_records(db_session, policy=DEFAULTS, now=NOW)
    assert [(row.record_type, row.record_id, row.actor_user_id, row.child_id) for row in purge_runs(db_session)] == [
        (service.PURGE_RECORD_TYPE, first.run_id, None, None)
    ]
    assert sum(first.counts.values()) > 0

    second = service.purge_expired_records(db_session, policy=DEFAULTS, now=NOW + timedelta(minutes=1))

    assert second.counts == dict.fromkeys(rules.RECORD_TYPES, 0)
    runs = purge_runs(db_session)
    assert [row.record_id for row in runs] == [first.run_id, second.run_id]
    assert runs[1].occurred_at == NOW + timedelta(minutes=1)


def test_the_runs_audit_row_holds_its_counts_and_cutoffs(db_session, world):
    run = service.purge_expired_records(db_session, policy=DEFAULTS, now=NOW)

    (row,) = purge_runs(db_session)
    assert row.details == {
        "counts": run.counts,
        "cutoffs": {kind: moment.isoformat() for kind, moment in run.cutoffs.items()},
    }


def test_the_retention_days_come_from_configuration(db_session, world):
    # Audit kept for only 2 days: everything the world wrote before that goes, new audit included.
    policy = retention_policy({"audit_event": 2}, defaults=DefaultConfig.RETENTION_DAYS, sms_retention_days=30)

    run = service.purge_expired_records(db_session, policy=policy, now=NOW)

    assert run.cutoffs[rules.AUDIT_EVENT] == days_ago(2)
    audit = ids(db_session, AuditEvent.id)
    assert world.new_audit not in audit


def test_the_scheduler_runs_the_purge_and_the_sms_purge_is_part_of_it(db_session, session_factory, clock, world):
    assert "purge_expired_records" in [job.name for job in JOBS]
    assert "purge_old_messages" not in [job.name for job in JOBS]
    context = JobContext(session_factory, clock, SECRET_KEY, {}, None, retention=DEFAULTS)  # type: ignore[arg-type]

    changed = purge_expired_records(context)

    assert changed == 1 + 1 + 1 + 2 + 1 + len(world.old_messages)
    assert len(purge_runs(db_session)) == 1


def test_the_cli_purges_with_progress_and_says_what_it_did(app, db_session, world):
    with app.app_context():  # as the `flask` command gives every command
        result = app.test_cli_runner().invoke(args=["privacy", "purge"])

    assert result.exit_code == 0, result.output
    assert "idempotency_record: 1 so far" in result.output
    assert "audit_event" in result.output and "retention run" in result.output
    assert len(purge_runs(db_session)) == 1
    assert world.old_idempotency not in ids(db_session, IdempotencyRecord.id)


@pytest.mark.parametrize(
    ("configured", "problem"),
    [
        ({"child": 3650}, "unknown record types"),
        ({"audit_event": 0}, "at least 1"),
        ({"refresh_token": "30"}, "whole number"),
        ([30], "must map"),
    ],
)
def test_a_retention_setting_that_makes_no_sense_is_refused(configured, problem):
    with pytest.raises(InvalidRetention, match=problem):
        retention_policy(configured, defaults=DefaultConfig.RETENTION_DAYS, sms_retention_days=30)


def test_sms_follow_sms_retention_days_unless_retention_days_names_them():
    assert (
        retention_policy({}, defaults={**DefaultConfig.RETENTION_DAYS}, sms_retention_days=12).days_for(
            rules.SMS_MESSAGE
        )
        == 12
    )
    assert (
        retention_policy({"sms_message": 40}, defaults=DefaultConfig.RETENTION_DAYS, sms_retention_days=12).days_for(
            rules.SMS_MESSAGE
        )
        == 40
    )
