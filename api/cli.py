"""Command-line tasks: `flask --app wsgi db upgrade`, `... users create-admin`, `... demo load`,
`... privacy purge`."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app

from api import migrate
from api.accounts import service as accounts_service
from api.accounts.rules import parse_roles
from api.actors import Role
from api.config import DefaultConfig
from api.privacy import rules as privacy_rules
from api.privacy import service as privacy_service
from api.web import clock, database


def register(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_group)
    app.cli.add_command(privacy_group)


@click.group("db", help="Database schema (Alembic migrations are the only way it is created).")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    click.echo(f"Migrating {database().engine.url.render_as_string(hide_password=True)} to {revision} ...")
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("Done.")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" removes every table)."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("Done.")


@click.group("users", help="User accounts.")
def users_group() -> None:
    pass


@users_group.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="Administrator", show_default=True)
def create_admin(email: str, display_name: str) -> None:
    """Create the first admin. The password is asked for (or read from REACHABLE_ADMIN_PASSWORD)."""
    password = os.environ.get("REACHABLE_ADMIN_PASSWORD") or click.prompt(
        "Password (12 characters or more)", hide_input=True, confirmation_prompt=True
    )
    with database().session() as db_session:
        user = accounts_service.create_user(
            db_session,
            email=email,
            display_name=display_name,
            role=Role.ADMIN,
            password=password,
            programme_id=None,
            max_caseload=None,
            now=clock().now(),
        )
    click.echo(f"Created admin {user.email}.")


@click.group("demo", help="Invented demonstration data.")
def demo_group() -> None:
    pass


@demo_group.command("load")
def demo_load() -> None:
    """Load the invented demo programme, users and children (does nothing if already loaded)."""
    # Imported here: the demo builds through every service, and no other command needs them loaded.
    from api.demo import DEMO_PASSWORD, DEMO_USERS, demo_check_in_link, load_demo_data

    instruments = current_app.extensions["reachable.instruments"]
    with database().session() as db_session:
        loaded = load_demo_data(db_session, instruments=instruments, now=clock().now(), progress=click.echo)
        link = demo_check_in_link(
            db_session, instruments=instruments, secret_key=current_app.config["SECRET_KEY"], now=clock().now()
        )
    if not loaded:
        click.echo("Demo data is already loaded.")
    click.echo(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD}):")
    for email, _, role, _ in DEMO_USERS:
        click.echo(f"  {role.value:<13} {email}")
    required = parse_roles(current_app.config["MFA_REQUIRED_ROLES"])
    if required:
        roles = ", ".join(sorted(role.value for role in required))
        click.echo(
            f"\nSigning in as {roles} needs a second factor: sign-in answers 401 mfa_required with a challenge_token;"
            "\n  set up an authenticator app with POST /auth/mfa/enrolment and .../enrolment/confirm (README)."
        )
    else:
        click.echo(
            "\nWARNING: MULTI-FACTOR SIGN-IN IS OFF (REACHABLE_MFA_REQUIRED_ROLES is empty): a password alone signs in"
            "\n  every demo user. Fine for this demo on your own machine; never in production."
        )
    click.echo("\nA child's one-time check-in link (works once, for 72 hours; a new one is made each time):")
    click.echo(f"  {current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{link}")


@click.group("privacy", help="Retention of personal data.")
def privacy_group() -> None:
    pass


@privacy_group.command("purge")
def privacy_purge() -> None:
    """Delete records past their retention period now (as the scheduler does every six hours), audited."""
    try:
        policy = privacy_rules.retention_policy(
            current_app.config["RETENTION_DAYS"],
            defaults=DefaultConfig.RETENTION_DAYS,
            sms_retention_days=int(current_app.config["SMS_RETENTION_DAYS"]),
        )
    except privacy_rules.InvalidRetention as problem:
        raise click.UsageError(f"REACHABLE_RETENTION_DAYS: {problem}") from problem
    with database().session() as db_session:
        run = privacy_service.purge_expired_records(db_session, policy=policy, now=clock().now(), progress=click.echo)
    for record_type in privacy_rules.RECORD_TYPES:
        click.echo(
            f"  {record_type:<20} {run.counts[record_type]:>8} older than {run.cutoffs[record_type]:%Y-%m-%d %H:%M} UTC"
        )
    click.echo(f"Done: retention run {run.run_id} is in the audit log.")
