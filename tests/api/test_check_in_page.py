"""The check-in page a child opens from an SMS link, over HTTP: what it gives away, what uses the link up, how
it answers wrong answers and guesses, and what it stores.

The link is the key and the phone may be shared or watched: every link that does not work gets one and the same
page, opening the page never uses the link up (link previews open links), the page names nobody, is never cached
or indexed, and only the hash of the token is stored. Failed look-ups are limited per address, in one budget
for the whole page, and a link that works is served whatever its address has spent.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.audit.models import AuditEvent
from api.children.models import Child
from api.clock import FixedClock
from api.db import Base
from api.outbox.models import OutboundMessage
from api.wellbeing import goals as wellbeing_goals
from api.wellbeing import invitations as wellbeing_invitations
from api.wellbeing import links
from api.wellbeing.models import CheckIn, CheckInInvitation, CheckInResponse
from tests.api.check_in_family import (
    ANSWERS,
    FIRST_NAME,
    HELP_TEXT,
    LAST_NAME,
    PHONE,
    PROGRAMME_NAME,
    Family,
    Link,
    links_that_do_not_work,
    make_family,
    send_link,
    unknown_path,
)
from tests.builders import actor_for
from tests.conftest import SECRET_KEY

GONE = "This link does not work any more"
# The app's default CHECK_IN_LINK_FAILURE_LIMIT is "10 per minute;60 per hour".
FAILURES_ALLOWED_PER_MINUTE = 10


# --- A child with a phone of their own, consent to SMS, and a way to send them links -------------------------


@pytest.fixture()
def family(db_session: Session) -> Family:
    return make_family(db_session)


@pytest.fixture()
def link(db_session: Session, app: Flask, family: Family, clock: FixedClock) -> Link:
    return send_link(db_session, app, family, clock)


def check_ins_of(db_session: Session, child: Child) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.child_id == child.id)) or 0


def html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# --- One answer for every link that does not work ------------------------------------------------------------


def test_every_link_that_does_not_work_gets_the_same_page_byte_for_byte(client, db_session, app, family, clock):
    paths = links_that_do_not_work(client, db_session, app, family, clock)

    responses = {kind: client.get(path) for kind, path in paths.items()}

    assert {kind: response.status_code for kind, response in responses.items()} == dict.fromkeys(paths, 404)
    bodies = {response.get_data() for response in responses.values()}
    assert len(bodies) == 1, {kind: html(response)[:200] for kind, response in responses.items()}
    assert {response.mimetype for response in responses.values()} == {"text/html"}
    assert GONE in html(responses["unknown"])


def test_sending_answers_to_a_link_that_does_not_work_gets_the_same_page_byte_for_byte(
    client, db_session, app, family, clock
):
    paths = links_that_do_not_work(client, db_session, app, family, clock)
    stored = check_ins_of(db_session, family.child)

    responses = {kind: client.post(path, data=ANSWERS) for kind, path in paths.items()}

    assert {kind: response.status_code for kind, response in responses.items()} == dict.fromkeys(paths, 404)
    assert len({response.get_data() for response in responses.values()}) == 1
    assert html(responses["unknown"]).count(GONE) >= 1
    assert check_ins_of(db_session, family.child) == stored


# --- Opening does not use the link up; sending does ----------------------------------------------------------


def test_opening_the_page_three_times_does_not_use_the_link_up(client, db_session, family, link):
    for _ in range(3):
        page = client.get(link.path)
        assert page.status_code == 200
        assert "Send my answers" in html(page)

    sent = client.post(link.path, data=ANSWERS)

    assert sent.status_code == 200, html(sent)
    assert "Thank you" in html(sent)
    assert check_ins_of(db_session, family.child) == 1
    assert client.get(link.path).status_code == 404


@pytest.mark.parametrize(
    "user_agent",
    ["WhatsApp/2.23.20.0 A", "facebookexternalhit/1.1", "Slackbot-LinkExpanding 1.0", "TelegramBot (like TwitterBot)"],
)
def test_a_link_preview_then_the_child_can_still_answer(client, db_session, family, link, user_agent):
    preview = client.get(link.path, headers={"User-Agent": user_agent})
    peek = client.head(link.path, headers={"User-Agent": user_agent})

    assert (preview.status_code, peek.status_code) == (200, 200)
    sent = client.post(link.path, data=ANSWERS, headers={"User-Agent": "Mozilla/5.0 (Linux; Android 10)"})
    assert sent.status_code == 200, html(sent)
    assert check_ins_of(db_session, family.child) == 1


def test_sending_the_answers_uses_the_link_up_and_stores_the_check_in_from_the_link(client, db_session, family, link):
    sent = client.post(link.path, data=ANSWERS)

    assert sent.status_code == 200
    assert HELP_TEXT in html(sent)
    db_session.expire_all()
    (check_in,) = db_session.scalars(select(CheckIn).where(CheckIn.child_id == family.child.id))
    assert (check_in.invitation_id, check_in.channel.value, check_in.recorded_by_user_id) == (
        link.invitation_id,
        "sms_link",
        None,
    )
    responses = db_session.scalars(select(CheckInResponse).where(CheckInResponse.check_in_id == check_in.id))
    assert {response.item_key: response.response for response in responses} == {
        "life_satisfaction": 8,
        "worthwhile": 7,
        "happy_yesterday": 8,
        "anxious_yesterday": 2,
    }
    assert db_session.get_one(CheckInInvitation, link.invitation_id).completed_at is not None
    assert client.post(link.path, data={**ANSWERS, "ons4.worthwhile": "3"}).status_code == 404


def test_the_same_answers_sent_twice_moments_apart_are_thanked_twice_and_stored_once(
    client, db_session, family, link, clock
):
    # A double tap on "Send" over a slow connection: the page has no JavaScript to stop the second one.
    assert client.post(link.path, data=ANSWERS).status_code == 200
    clock.advance(seconds=30)
    again = client.post(link.path, data=ANSWERS)

    assert again.status_code == 200 and HELP_TEXT in html(again)
    db_session.expire_all()
    assert len(db_session.scalars(select(CheckIn).where(CheckIn.child_id == family.child.id)).all()) == 1
    clock.advance(minutes=11)
    assert client.post(link.path, data=ANSWERS).status_code == 404  # after the window, as for anyone else


# --- Wrong answers -------------------------------------------------------------------------------------------


def nothing_stored(db_session: Session, family: Family, link: Link) -> bool:
    db_session.expire_all()
    invitation = db_session.get_one(CheckInInvitation, link.invitation_id)
    completions = db_session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "check_in_invitation.complete")
    )
    return check_ins_of(db_session, family.child) == 0 and invitation.completed_at is None and completions == 0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("11", "Please choose a number from 0 to 10."),
        ("abc", "The answer must be a whole number."),
        ("7.5", "The answer must be a whole number."),
        ("", "The answer must be a whole number."),
    ],
)
def test_a_wrong_answer_shows_the_form_again_stores_nothing_and_the_link_still_works(
    client, db_session, family, link, answer, message
):
    wrong = client.post(link.path, data={**ANSWERS, "ons4.life_satisfaction": answer})

    assert wrong.status_code == 422
    page = html(wrong)
    assert "Please check your answers" in page
    assert message in page
    assert "Send my answers" in page
    # The answers that were fine are still chosen, so only the wrong one needs answering again.
    assert re.search(r'name="ons4\.worthwhile" value="7"\s+checked', page)
    assert nothing_stored(db_session, family, link)

    sent = client.post(link.path, data=ANSWERS)
    assert sent.status_code == 200, html(sent)
    assert check_ins_of(db_session, family.child) == 1


def test_a_missing_answer_shows_the_form_again_and_stores_nothing(client, db_session, family, link):
    answers = {name: value for name, value in ANSWERS.items() if name != "ons4.happy_yesterday"}

    missing = client.post(link.path, data=answers)

    assert missing.status_code == 422
    assert "Please answer this question." in html(missing)
    assert nothing_stored(db_session, family, link)
    assert client.post(link.path, data=ANSWERS).status_code == 200


def test_fields_that_are_not_questions_on_the_page_are_ignored(client, db_session, family, link):
    extra = {
        "submit": "Send my answers",
        "utm_source": "sms",
        "ons4": "5",
        "ons4.": "5",
        "ons4.not_a_question": "3",
        ".life_satisfaction": "0",
        "gbo.goal_1": "3",
        "swemwbs.optimistic": "1",
    }

    sent = client.post(link.path, data={**ANSWERS, **extra})

    assert sent.status_code == 200, html(sent)
    db_session.expire_all()
    (check_in,) = db_session.scalars(select(CheckIn).where(CheckIn.child_id == family.child.id))
    assert check_in.instrument_key == "ons4"
    items = db_session.scalars(select(CheckInResponse.item_key).where(CheckInResponse.check_in_id == check_in.id))
    assert sorted(items) == ["anxious_yesterday", "happy_yesterday", "life_satisfaction", "worthwhile"]


def test_a_wrong_answer_with_fields_that_are_not_questions_reports_only_the_wrong_answer(
    client, db_session, family, link
):
    wrong = client.post(link.path, data={**ANSWERS, "ons4.worthwhile": "abc", "gbo.goal_1": "99", "note": "x"})

    assert wrong.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', html(wrong), re.DOTALL)
    assert summary is not None
    assert re.findall(r'<a href="#([^"]+)"', summary.group(0)) == ["q-ons4-worthwhile"]
    assert nothing_stored(db_session, family, link)


def test_a_goal_reworded_while_the_page_is_open_does_not_take_the_rating_given_to_the_old_wording(
    client, db_session, app, family, clock
):
    mentor = actor_for(family.mentor)
    for words in ("Go to school every day", "Keep my temper"):
        wellbeing_goals.set_goal(db_session, actor=mentor, child_id=family.child.id, description=words, now=clock.now())
    record = wellbeing_invitations.invite_check_in(
        db_session,
        actor=mentor,
        instruments=app.extensions["reachable.instruments"],
        child_id=family.child.id,
        instrument_keys=["gbo"],
        secret_key=SECRET_KEY,
        now=clock.now(),
    )
    path = wellbeing_invitations.link_for(db_session, invitation_id=record.id, secret_key=SECRET_KEY)
    assert "Keep my temper" in html(client.get(path))
    old_goal = wellbeing_goals.list_goals(
        db_session,
        actor=mentor,
        instruments=app.extensions["reachable.instruments"],
        child_id=family.child.id,
        now=clock.now(),
    )[1]
    new_goal = wellbeing_goals.change_goal(
        db_session,
        actor=mentor,
        goal_id=old_goal.id,
        description="Walk away when I am angry",
        note=None,
        expected_version=old_goal.version,
        now=clock.now(),
    )

    client.post(path, data={"gbo.goal_1": "4", "gbo.goal_2": "9"})

    db_session.expire_all()
    rated = db_session.scalars(select(CheckInResponse.goal_id).where(CheckInResponse.goal_id.isnot(None))).all()
    assert new_goal.id not in rated


# --- Headers: never cached, indexed, framed or referred; nothing loaded from elsewhere -----------------------


def assert_page_headers(response: TestResponse) -> None:
    csp = [directive.strip() for directive in response.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in csp
    assert "form-action 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def pages_of_every_kind(client: FlaskClient, link: Link) -> dict[str, TestResponse]:
    pages = {
        "form": client.get(link.path),
        "wrong answers": client.post(link.path, data={**ANSWERS, "ons4.worthwhile": "11"}),
        "thanks": client.post(link.path, data=ANSWERS),
        "gone": client.get(link.path),
    }
    for _ in range(FAILURES_ALLOWED_PER_MINUTE):
        client.get(unknown_path())
    pages["too many tries"] = client.get(unknown_path())
    return pages


def test_every_page_is_sent_with_the_protective_headers(client, link):
    pages = pages_of_every_kind(client, link)

    assert {kind: page.status_code for kind, page in pages.items()} == {
        "form": 200,
        "wrong answers": 422,
        "thanks": 200,
        "gone": 404,
        "too many tries": 429,
    }
    for kind, page in pages.items():
        assert page.mimetype == "text/html", kind
        assert_page_headers(page)


def test_the_stylesheet_is_served_from_the_page_s_own_origin_and_nothing_inline_needs_the_csp_relaxed(client, link):
    pages = pages_of_every_kind(client, link)
    hrefs = set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', html(pages["form"])))

    (href,) = hrefs
    assert href.startswith("/") and not href.startswith("//"), href  # same origin: allowed by style-src 'self'
    with client.get(href) as stylesheet:  # a file response: closed when done
        assert stylesheet.status_code == 200
        assert stylesheet.mimetype == "text/css"
        css = stylesheet.get_data()
    assert b"@import" not in css and b"url(" not in css  # nothing more to fetch, so default-src 'none' holds
    for kind, page in pages.items():
        text = html(page)
        assert set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)) == hrefs, kind
        # default-src 'none' with no 'unsafe-inline': inline styles and scripts would be blocked, so none are used.
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", text, re.IGNORECASE), kind
        # The form posts back to the page itself (form-action 'self'); nothing else is loaded or linked off-site.
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', text), kind


# --- Nothing identifying on the page -------------------------------------------------------------------------


def test_no_page_names_the_child_their_phone_or_the_programme(client, db_session, family, link):
    pages = pages_of_every_kind(client, link)
    child = db_session.get_one(Child, family.child.id)
    national = "0" + PHONE.removeprefix("+44")
    secrets_on_record = [
        FIRST_NAME,
        LAST_NAME,
        child.reference,
        PHONE,
        PHONE.removeprefix("+"),
        national,
        f"{national[:5]} {national[5:]}",
        PROGRAMME_NAME,
        "Youth",
        "Violence",
        family.mentor.display_name,
        family.coordinator.display_name,
    ]

    for kind, page in pages.items():
        text = html(page).lower()
        found = [secret for secret in secrets_on_record if secret.lower() in text]
        assert found == [], kind


# --- What is stored: the token's hash, never the token or the link -------------------------------------------


def every_value_in_the_database(db_session: Session) -> list[tuple[str, str, str]]:
    db_session.flush()
    found = []
    for table in Base.metadata.sorted_tables:
        for row in db_session.execute(select(table)).mappings():
            found += [(table.name, column, str(value)) for column, value in row.items() if value is not None]
    return found


def test_the_invitation_stores_the_sha256_of_the_token_and_the_token_nowhere(client, db_session, link):
    assert client.get(link.path).status_code == 200  # the page was opened too: its audit must not hold the token
    invitation = db_session.get_one(CheckInInvitation, link.invitation_id)

    assert re.fullmatch(links.TOKEN_PATTERN, link.token)
    assert invitation.token_hash == hashlib.sha256(link.token.encode()).hexdigest()
    row = db_session.execute(select(CheckInInvitation.__table__).where(CheckInInvitation.id == link.invitation_id))
    assert [column for column, value in row.mappings().one().items() if link.token in str(value)] == []
    stored = every_value_in_the_database(db_session)
    assert ("check_in_invitation", "token_hash", invitation.token_hash) in stored  # the scan reads every row
    assert [(table, column) for table, column, value in stored if link.token in value] == []
    # The token comes only from the nonce and the server's key: the database alone cannot make a working link.
    assert links.link_token(SECRET_KEY, invitation.token_nonce) == link.token
    assert links.link_token("another-server-secret-" + "y" * 32, invitation.token_nonce) != link.token


def test_the_queued_sms_holds_no_token_and_no_link(db_session, link):
    (message,) = db_session.scalars(select(OutboundMessage).where(OutboundMessage.check_in_invitation_id.isnot(None)))
    row = db_session.execute(select(OutboundMessage.__table__).where(OutboundMessage.id == message.id))
    values = {column: str(value) for column, value in row.mappings().one().items()}

    assert message.check_in_invitation_id == link.invitation_id
    assert [column for column, value in values.items() if link.token in value or "/c/" in value] == []
    assert [column for column, value in values.items() if "http" in value.lower()] == []
    assert links.token_hash(link.token) not in values.values()


# --- Rate limiting of failed look-ups ------------------------------------------------------------------------


def test_the_eleventh_failed_look_up_in_a_minute_is_asked_to_wait(client):
    failures = [client.get(unknown_path()) for _ in range(FAILURES_ALLOWED_PER_MINUTE)]

    slowed = client.get(unknown_path())

    assert [response.status_code for response in failures] == [404] * FAILURES_ALLOWED_PER_MINUTE
    assert slowed.status_code == 429
    assert slowed.headers["Retry-After"].isdigit() and int(slowed.headers["Retry-After"]) > 0
    assert "Please wait a minute" in html(slowed)
    assert GONE not in html(slowed)
    assert_page_headers(slowed)


def test_malformed_links_count_as_failed_look_ups(client):
    for n in range(FAILURES_ALLOWED_PER_MINUTE):
        assert client.get(f"/c/not-a-token-{n}").status_code == 404

    assert client.get("/c/not-a-token-either").status_code == 429


def test_opening_a_valid_link_is_never_counted_as_a_failure(client, link):
    opens = [client.get(link.path).status_code for _ in range(30)]

    assert opens == [200] * 30
    # Every failure of the minute is still to come.
    assert [client.get(unknown_path()).status_code for _ in range(FAILURES_ALLOWED_PER_MINUTE)] == [404] * 10
    assert client.get(unknown_path()).status_code == 429


def test_the_limit_is_per_address(app, link):
    guesser = app.test_client()
    child = app.test_client()
    child.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    for _ in range(FAILURES_ALLOWED_PER_MINUTE + 1):
        guesser.get(unknown_path())

    assert guesser.get(unknown_path()).status_code == 429
    assert child.get(link.path).status_code == 200
    assert child.post(link.path, data=ANSWERS).status_code == 200


def over_its_budget(client: FlaskClient) -> None:
    """Spend the client address's failed look-ups for the minute, and one more (answered 429)."""
    for _ in range(FAILURES_ALLOWED_PER_MINUTE):
        assert client.get(unknown_path()).status_code == 404
    assert client.get(unknown_path()).status_code == 429


def test_failed_look_ups_of_the_page_and_of_sending_answers_share_one_budget(client):
    """Every endpoint of the page counts against one budget per address: it used to be one each, so the
    configured ten a minute were in effect twenty."""
    for n in range(FAILURES_ALLOWED_PER_MINUTE):
        failed = client.get(unknown_path()) if n % 2 else client.post(unknown_path(), data=ANSWERS)
        assert failed.status_code == 404, n

    assert client.get(unknown_path()).status_code == 429
    assert client.post(unknown_path(), data=ANSWERS).status_code == 429


def test_a_valid_link_opens_and_can_be_answered_from_an_address_over_its_budget(client, db_session, family, link):
    """A school's or a family's shared connection: someone else there used up the failures, and the child's own
    link still works. The limit slows guessing; it never refuses a real link."""
    over_its_budget(client)

    opened = client.get(link.path)
    answered = client.post(link.path, data=ANSWERS)

    assert opened.status_code == 200 and 'name="ons4.worthwhile"' in html(opened)
    assert answered.status_code == 200 and HELP_TEXT in html(answered)
    assert check_ins_of(db_session, family.child) == 1
    assert_page_headers(opened)


def test_a_bad_link_from_an_address_over_its_budget_is_still_asked_to_wait(client, link):
    over_its_budget(client)
    assert client.get(link.path).status_code == 200  # a real link in between changes nothing

    for refused in (client.get(unknown_path()), client.post(unknown_path(), data=ANSWERS), client.get("/c/nope")):
        assert refused.status_code == 429
        assert "Please wait a minute" in html(refused)
        assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) > 0


def test_the_page_s_own_stylesheet_never_counts_but_a_file_that_is_not_there_does(client):
    for _ in range(30):
        with client.get("/c/static/checkin.css") as stylesheet:
            assert stylesheet.status_code == 200
    for n in range(FAILURES_ALLOWED_PER_MINUTE):
        assert client.get(f"/c/static/not-here-{n}.css").status_code == 404

    assert client.get(unknown_path()).status_code == 429


def test_addresses_in_one_ipv6_64_share_a_budget_as_one_line_does(app):
    """One home or office line gets a whole IPv6 /64: stepping to a new address in it gets no new budget."""
    for n in range(FAILURES_ALLOWED_PER_MINUTE):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"2001:db8:1:2::{n + 1:x}"
        assert guesser.get(unknown_path()).status_code == 404

    same_line, next_line = app.test_client(), app.test_client()
    same_line.environ_base["REMOTE_ADDR"] = "2001:db8:1:2:ffff::1"
    next_line.environ_base["REMOTE_ADDR"] = "2001:db8:1:3::1"
    assert same_line.get(unknown_path()).status_code == 429
    assert next_line.get(unknown_path()).status_code == 404


def test_a_link_that_expires_while_the_page_is_open_is_refused_kindly(client, db_session, family, link, clock):
    # The child opens the link, leaves it for a while, and meanwhile the link expires.
    assert client.get(link.path).status_code == 200
    clock.advance(hours=72, seconds=1)

    late = client.post(link.path, data=ANSWERS)

    assert late.status_code == 404
    assert GONE in html(late)
    assert check_ins_of(db_session, family.child) == 0
