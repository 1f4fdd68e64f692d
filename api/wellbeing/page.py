"""The check-in page a child opens from an SMS link: server-rendered HTML, no sign-in, no JavaScript.

The link is the key, so the page is written for a shared or watched phone: nothing identifying is shown (no
name, no programme, no service), the page is never cached or indexed, and no referrer leaves it. Opening the
page does not use the link up (link previews open links); sending the answers does. Unknown, expired, used and
withdrawn links all get the same friendly page, so a guess learns nothing. A second tap on "Send" that arrives after the
first was stored (a slow connection, no JavaScript to disable the button) is thanked, not told the link is gone.

Failed look-ups are limited per client address (CHECK_IN_LINK_FAILURE_LIMIT), counted after the look-up, once
per failure, in one budget for every endpoint of the page (opening, sending, its files). A link that works is
served whatever its address has spent: a school's or a family's shared connection must not lock a child out of
their own link because someone else there mistyped or guessed. Only a look-up that fails, from an address over
its budget, is answered "please wait" (429, Retry-After) instead of the "gone" page (404), and every kind of
broken link gets the same one.

What that does and does not do against guessing. The link's secret is 192 random bits: with a few thousand
links live at any time, a guess succeeds with a chance of about 2**-180, so no rate of guessing finds one, and
the limit is not what keeps links safe. Since a working link is always served, a "wait" tells a guesser that
its guess failed just as the "gone" page does: the limit cannot bound how many guesses an address makes, only
tell it to stop (and anything that obeys Retry-After, such as a well-behaved crawler or a retrying app, does).
Refusing before the look-up, as this page did before, bounded guesses but also refused the real links of every
child behind that address for up to an hour; bounding guesses without ever refusing a real link would need a
second factor the page does not have (the link is the only key). A valid link found by guessing over the budget
would be served, as it would under it; the chance of that is the 2**-180 above, per guess. What a guesser over
budget learns from a working link's answer (its page, its timing) is what it would learn under the budget.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import MultiDict

from api.web import clock, count_failed_check_in_look_up, db_session, retry_after_seconds
from api.wellbeing import link_check_ins
from api.wellbeing.errors import LinkNotUsable
from api.wellbeing.links import TOKEN_PATTERN
from api.wellbeing.views import instruments

blp = Blueprint("checkin_page", __name__, template_folder="templates", static_folder="static", url_prefix="/c")

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@blp.after_request
def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if request.endpoint != "checkin_page.static":
        # The form and its answers must not be kept by the browser or any cache on a shared phone.
        response.headers["Cache-Control"] = "no-store"
    return response


@blp.errorhandler(LinkNotUsable)
@blp.errorhandler(404)  # a file of the page's own that is not there: a failed look-up too
def _failed_look_up(_error: Exception) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The "gone" page; or, once this address has spent its failures, "please wait". Counted here, after the
    look-up failed, so a link that works never counts and is never refused."""
    if count_failed_check_in_look_up():
        return render_template("checkin/gone.html"), 404
    return render_template("checkin/slow_down.html"), 429, {"Retry-After": str(retry_after_seconds())}


def _well_formed(token: str) -> str:
    if not re.fullmatch(TOKEN_PATTERN, token):
        raise LinkNotUsable()
    return token


def _answers_from(form: MultiDict[str, str]) -> dict[str, dict[str, object]]:
    """Fields are named "<instrument>.<item>"; a number stays a number, anything else is reported by the rules."""
    answers: dict[str, dict[str, object]] = {}
    for name, value in form.items():
        instrument, dot, item = name.partition(".")
        if not dot or not item:
            continue
        value = value.strip()
        answers.setdefault(instrument, {})[item] = int(value) if re.fullmatch(r"-?[0-9]{1,6}", value) else value
    return answers


def _question_labels(form: link_check_ins.LinkForm) -> dict[str, str]:
    """What the error summary calls each field: "Question 3", or the section for a problem with all of it."""
    labels: dict[str, str] = {}
    number = 0
    for instrument in form.instruments:
        labels[f"{instrument.key}.answers"] = "Your goals" if instrument.scoring == "per_goal" else "How you feel"
        for item in instrument.items:
            if instrument.scoring != "per_goal" or item.key in form.goals_by_item:
                number += 1
                labels[f"{instrument.key}.{item.key}"] = f"Question {number}"
    return labels


def _render_form(form: link_check_ins.LinkForm, *, chosen: Mapping[str, Any], errors: Mapping[str, list[str]]) -> str:
    return render_template("checkin/form.html", form=form, chosen=chosen, errors=errors, labels=_question_labels(form))


@blp.get("/<token>")
def show(token: str) -> str:
    form = link_check_ins.open_link(
        db_session(), instruments=instruments(), token=_well_formed(token), now=clock().now()
    )
    return _render_form(form, chosen={}, errors={})


@blp.post("/<token>")
def submit(token: str) -> tuple[str, int]:
    token = _well_formed(token)
    answers = _answers_from(request.form)
    shown_goals = {
        name.removeprefix("goal."): value for name, value in request.form.items() if name.startswith("goal.")
    }
    answer = link_check_ins.answer_link(
        db_session(),
        instruments=instruments(),
        token=token,
        answers=answers,
        shown_goals=shown_goals,
        now=clock().now(),
    )
    if answer.form is not None:
        return _render_form(answer.form, chosen=request.form, errors=answer.errors), 422
    return render_template("checkin/thanks.html", help_text=answer.help_text), 200
