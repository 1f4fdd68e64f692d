"""Check-ins from a one-time link: the child opens the page and sends their answers. No sign-in: the link is the key.

Opening a link does not use it up (link previews open links too); sending the answers does, in the same transaction
as the check-ins it stores. Opening, completing and every check-in stored are audited, with no actor.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from api.audit import service as audit
from api.children.models import Child
from api.db import use_case
from api.programmes.models import Programme
from api.wellbeing import errors, goal_rules, links, queries, scoring
from api.wellbeing.check_ins import store_check_in
from api.wellbeing.invitations import state_of
from api.wellbeing.links import InvitationState
from api.wellbeing.models import CheckInInvitation
from api.wellbeing.rules import Instrument, ScoringRule
from api.wellbeing.scoring import CheckInChannel


@dataclass(frozen=True)
class LinkForm:
    """What the check-in page asks: the instruments in order, and for goals the child's active ones by place."""

    instruments: list[Instrument]
    goals_by_item: dict[str, str]
    # Which goal each place held when the page was made: a rating is only stored against that same goal.
    goal_ids_by_item: dict[str, uuid.UUID]
    # In the programme's time zone, as the child reads it.
    expires_at: datetime


@dataclass(frozen=True)
class LinkAnswer:
    """What sending the page gives: thanks (with the programme's help text), or the form again with problems."""

    help_text: str | None = None
    form: LinkForm | None = None
    errors: Mapping[str, list[str]] = field(default_factory=dict)


@use_case
def open_link(db_session: Session, *, instruments: Mapping[str, Instrument], token: str, now: datetime) -> LinkForm:
    """What the page asks. Opening does not use the link up: link previews open links too."""
    invitation = _usable_invitation(db_session, token=token, now=now, for_update=False)
    form = _form_for(db_session, invitation, instruments)
    audit.record(
        db_session,
        actor=None,
        action="check_in_invitation.open",
        record=invitation,
        child_id=invitation.child_id,
        now=now,
    )
    return form


def answer_link(
    db_session: Session,
    *,
    instruments: Mapping[str, Instrument],
    token: str,
    answers: Mapping[str, Mapping[str, object]],
    shown_goals: Mapping[str, str],
    now: datetime,
) -> LinkAnswer:
    """The child sends the page: store and thank; or show the form again with each problem by its question; or,
    for the same answers sent twice moments apart, thank again. Any other unusable link raises LinkNotUsable.

    Not one use case but up to two in turn: the submission, and when it is refused (and rolled back), the page
    again or the thanks again, each in a transaction of its own."""
    try:
        help_text = submit_link(
            db_session, instruments=instruments, token=token, answers=answers, now=now, shown_goals=shown_goals
        )
    except errors.InvalidAnswers as problem:
        form = open_link(db_session, instruments=instruments, token=token, now=now)
        return LinkAnswer(form=form, errors=problem.errors or {})
    except errors.LinkNotUsable:
        help_text = thanks_for_a_repeated_submission(db_session, token=token, answers=answers, now=now)
    return LinkAnswer(help_text=help_text)


@use_case
def submit_link(
    db_session: Session,
    *,
    instruments: Mapping[str, Instrument],
    token: str,
    answers: Mapping[str, Mapping[str, object]],
    now: datetime,
    shown_goals: Mapping[str, str] | None = None,
) -> str | None:
    """Store the child's answers and use the link up, in one transaction; returns the programme's help text.

    `shown_goals` is which goal (id) the page showed in each place: a goal reworded or ended since is not
    rated with an answer given to the old wording; the page is shown again with the goals as they are now.

    The invitation row is locked first, so of two submissions at once exactly one is stored and the other is
    told the link no longer works. Answers with problems store nothing and leave the link usable; the problems
    come back keyed "<instrument>.<item>" so the page can show each next to its question.
    """
    invitation = _usable_invitation(db_session, token=token, now=now, for_update=True)
    queries.lock_child(db_session, invitation.child_id)
    form = _form_for(db_session, invitation, instruments)
    child = db_session.get_one(Child, invitation.child_id)
    goals = queries.active_goals(db_session, child_id=child.id)
    shown_goals = shown_goals or {}
    problems: dict[str, list[str]] = {}
    scored: list[tuple[Instrument, scoring.Score]] = []
    for instrument in form.instruments:
        # A form field for a question the page did not ask is ignored: the child could not correct it.
        given = {item: value for item, value in answers.get(instrument.key, {}).items() if item in instrument.item_keys}
        found = scoring.problems_by_item(scoring.validate_answers(instrument, given))
        found.update(goal_rules.goal_answer_problems(instrument, given, goals))
        if instrument.scoring is ScoringRule.PER_GOAL:
            found.update(
                {
                    item: ["This goal changed since the page was opened. Please read it and answer again."]
                    for item in given
                    if shown_goals.get(item) != str(form.goal_ids_by_item.get(item))
                }
            )
        if found:
            problems.update({f"{instrument.key}.{item}": messages for item, messages in found.items()})
        else:
            scored.append((instrument, scoring.score(instrument, given)))
    if problems:
        raise errors.InvalidAnswers(errors=problems)
    invitation.completed_at = now
    for instrument, score in scored:
        store_check_in(
            db_session,
            child=child,
            instrument=instrument,
            scored=score,
            channel=CheckInChannel.SMS_LINK,
            goals=goals,
            recorded_by=None,
            invitation_id=invitation.id,
            session_id=None,
            now=now,
        )
    audit.record(
        db_session, actor=None, action="check_in_invitation.complete", record=invitation, child_id=child.id, now=now
    )
    return db_session.get_one(Programme, child.programme_id).check_in_help_text


@use_case
def thanks_for_a_repeated_submission(
    db_session: Session, *, token: str, answers: Mapping[str, Mapping[str, object]], now: datetime
) -> str | None:
    """The help text again if this is the same submission arriving twice (the link completed moments ago with
    exactly these answers); otherwise the link is not usable, as for anyone else."""
    invitation = queries.invitation_by_token_hash(db_session, token_hash=links.token_hash(token))
    if invitation is None:
        raise errors.LinkNotUsable()
    check_ins = queries.check_ins_from_invitation(db_session, invitation_id=invitation.id)
    stored = queries.stored_scores(db_session, check_in_ids=[check_in.id for check_in in check_ins])
    as_stored = {check_in.instrument_key: stored[check_in.id].responses for check_in in check_ins}
    if not links.is_repeated_submission(
        completed_at=invitation.completed_at, now=now, answers=answers, stored=as_stored
    ):
        raise errors.LinkNotUsable()
    child = db_session.get_one(Child, invitation.child_id)
    return db_session.get_one(Programme, child.programme_id).check_in_help_text


def _usable_invitation(db_session: Session, *, token: str, now: datetime, for_update: bool) -> CheckInInvitation:
    invitation = queries.invitation_by_token_hash(db_session, token_hash=links.token_hash(token), for_update=for_update)
    if invitation is None or state_of(invitation, now) is not InvitationState.OPEN:
        raise errors.LinkNotUsable()
    return invitation


def _form_for(db_session: Session, invitation: CheckInInvitation, instruments: Mapping[str, Instrument]) -> LinkForm:
    goals = queries.active_goals(db_session, child_id=invitation.child_id)
    # Goals ended since the link was sent leave nothing to rate: the rest of the link still works.
    asked = [
        instruments[key]
        for key in invitation.instrument_keys
        if key in instruments and (goals or instruments[key].scoring is not ScoringRule.PER_GOAL)
    ]
    child = db_session.get_one(Child, invitation.child_id)
    zone = queries.programme_zone(db_session, child)
    if not asked:
        raise errors.LinkNotUsable()
    return LinkForm(
        instruments=asked,
        goals_by_item={goal_rules.goal_item_key(slot): goal.description for slot, goal in sorted(goals.items())},
        goal_ids_by_item={goal_rules.goal_item_key(slot): goal.id for slot, goal in goals.items()},
        expires_at=invitation.expires_at.astimezone(zone),
    )
