"""Signing in to the commissioners' dashboard page as a browser does, for the page's tests (tests/api/
test_dashboard_page.py) and the security tests that sign in there: open the form (which sets its cookie), read
its anti-forgery token, and post it from this site."""

from __future__ import annotations

import re

from tests.builders import PASSWORD

# What a browser sends with a form posted from a page of this site (the test client's site is http://localhost).
SAME_SITE = {"Origin": "http://localhost"}


def hidden_token(html: str, action: str) -> str:
    """The anti-forgery token in the page's form that posts to `action` ("" if the form has none)."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, flags=re.DOTALL)
    token = re.search(r'name="form_token" value="([^"]*)"', form.group(0)) if form else None
    return token.group(1) if token else ""


def sign_in_token(client, **kwargs) -> str:
    """Open the sign-in form as a browser does (which also sets the form's cookie) and read its token."""
    return hidden_token(client.get("/dashboard/sign-in", **kwargs).get_data(as_text=True), "/dashboard/sign-in")


def sign_in(client, user, next_path="", *, password=PASSWORD):
    data = {"email": user.email, "password": password, "next": next_path, "form_token": sign_in_token(client)}
    return client.post("/dashboard/sign-in", data=data, headers=SAME_SITE)
