"""Dashboard bench (issue 6, "Scale"): how fast each dashboard endpoint answers on the national dataset.

    .venv/bin/python bench/dashboards.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/NAME \
        [--requests 30] [--warm-up 3]

Run it against a database made by bench/national_dataset.py (--keep). The app is the real one
(create_app with the Flask test client, so no HTTP server), signed in through /auth/sign-in as the
commissioner and as a coordinator of the programme with the most sessions. Each dashboard endpoint is requested
--warm-up times, then --requests times; the bench prints the median and 95th percentile in ms.

Beside each, the dashboard's main figure written by hand as one bare SQL query (psycopg, no ORM, no Python
aggregation) and timed the same way, and the ratio endpoint/SQL: how much the app's way of computing the whole
dashboard costs over the single aggregate. Endpoints over the 200 ms p95 target are marked MISS. Where the
endpoint's JSON carries that figure (coordinator, so nothing suppressed), it is compared with the SQL's answer;
a difference is an error and the bench exits 1. Speed is measured here, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

# The code beside this file, not whichever checkout the virtualenv's editable install points at.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import api
from api.app import create_app

PASSWORD = "bench-password-not-a-secret"  # as in bench/national_dataset.py
SECRET_KEY = "bench-secret-key-not-a-secret-0123456789abcdef"
TARGET_P95_MS = 200.0
ZONE = "Europe/London"


@dataclass(frozen=True)
class Dashboard:
    path: str
    figure: str  # what the SQL computes
    sql: str
    json_figure: Callable[[dict[str, Any]], Any] | None  # the same figure read from the coordinator's JSON
    sql_figure: Callable[[list[tuple[Any, ...]]], Any]


def _period(today: date) -> tuple[datetime, datetime]:
    """The dashboards' default period: the 12 months to today, programme time."""
    since = today.replace(year=today.year - 1) + timedelta(days=1)
    zone = ZoneInfo(ZONE)
    return datetime.combine(since, datetime.min.time(), zone), datetime.combine(
        today + timedelta(days=1), datetime.min.time(), zone
    )


DASHBOARDS = [
    Dashboard(
        "places",
        "active (occupied) enrolments per cohort",
        """SELECT e.cohort_id, count(*) FROM enrolment e JOIN cohort c ON c.id = e.cohort_id
           WHERE c.programme_id = %(programme)s AND e.status = 'active' GROUP BY e.cohort_id""",
        lambda body: sum(row["occupied"] for row in body["cohorts"]),
        lambda rows: sum(row[1] for row in rows),
    ),
    Dashboard(
        "waitlist",
        "median days referral -> first completed session, first sessions in the period",
        """SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY
                  ((f.first_at AT TIME ZONE 'Europe/London')::date - e.referred_on))
           FROM (SELECT a.enrolment_id, min(s.planned_start_at) AS first_at
                 FROM session_attendee a JOIN mentoring_session s ON s.id = a.session_id
                 WHERE s.programme_id = %(programme)s AND s.status = 'completed' GROUP BY a.enrolment_id) f
           JOIN enrolment e ON e.id = f.enrolment_id
           WHERE e.referral_id IS NOT NULL AND f.first_at >= %(starts_at)s AND f.first_at < %(ends_before)s""",
        lambda body: body["first_sessions_in_period"],
        lambda rows: rows[0][0],
    ),
    Dashboard(
        "mentors",
        "current allocations of the programme's active mentors",
        """SELECT count(*) FROM allocation a JOIN app_user u ON u.id = a.mentor_id
           WHERE u.programme_id = %(programme)s AND u.role = 'mentor' AND u.is_active AND a.ended_at IS NULL""",
        lambda body: body["children_allocated"],
        lambda rows: rows[0][0],
    ),
    Dashboard(
        "delivery",
        "sessions planned to start in the period, by status",
        """SELECT status, count(*) FROM mentoring_session
           WHERE programme_id = %(programme)s AND planned_start_at >= %(starts_at)s
             AND planned_start_at < %(ends_before)s GROUP BY status""",
        lambda body: body["delivered"],
        lambda rows: dict(rows).get("completed", 0),
    ),
    Dashboard(
        "wellbeing",
        "per measure: children with a follow-up in the period and their mean change from baseline",
        """WITH s AS (
             SELECT c.child_id, c.instrument_key, x.measure, c.completed_at, x.value,
                    first_value(x.value) OVER w AS baseline, first_value(c.completed_at) OVER w AS baseline_at,
                    row_number() OVER (PARTITION BY c.child_id, c.instrument_key, x.measure
                                       ORDER BY c.completed_at DESC) AS latest
             FROM check_in c JOIN check_in_score x ON x.check_in_id = c.id JOIN child ch ON ch.id = c.child_id
             WHERE ch.programme_id = %(programme)s AND x.kind = 'derived' AND c.completed_at < %(ends_before)s
             WINDOW w AS (PARTITION BY c.child_id, c.instrument_key, x.measure ORDER BY c.completed_at))
           SELECT instrument_key, measure, count(*), avg(value - baseline) FROM s
           WHERE latest = 1 AND completed_at >= %(starts_at)s AND completed_at > baseline_at
           GROUP BY instrument_key, measure""",
        lambda body: sum(row["children_with_follow_up"] for row in body["measures"]),
        lambda rows: sum(row[2] for row in rows),
    ),
    Dashboard(
        "outcomes",
        "current outcome events per type of the programme's children whose support started",
        """SELECT o.event_type, count(*) FROM outcome_event o
           WHERE o.voided_at IS NULL AND o.child_id IN (
               SELECT e.child_id FROM enrolment e JOIN cohort c ON c.id = e.cohort_id
               WHERE c.programme_id = %(programme)s AND e.started_at IS NOT NULL)
           GROUP BY o.event_type""",
        None,  # the dashboard counts each child's own baseline and during windows only
        lambda rows: sum(row[1] for row in rows),
    ),
    Dashboard(
        "return-conversations",
        "returns in the period and conversations completed within 72 hours",
        """SELECT count(*), count(*) FILTER (WHERE r.completed_at <= m.returned_at + interval '72 hours')
           FROM missing_episode m JOIN child c ON c.id = m.child_id
           LEFT JOIN return_conversation r ON r.missing_episode_id = m.id
           WHERE c.programme_id = %(programme)s AND m.returned_at >= %(starts_at)s
             AND m.returned_at < %(ends_before)s""",
        lambda body: (body["summary"]["returns"], body["summary"]["completed_within_72h"]),
        lambda rows: (rows[0][0], rows[0][1]),
    ),
]


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]  # nearest rank
    return statistics.median(ordered), p95


def _time(call: Callable[[], Any], *, warm_up: int, requests: int) -> tuple[float, float, Any]:
    result = None
    for _ in range(warm_up):
        result = call()
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - began) * 1000)
    median, p95 = _stats(samples)
    return median, p95, result


def _time_the_page(client: Any, programme: Any, email: str, *, warm_up: int, requests: int) -> None:
    """The commissioners' HTML page: every dashboard for the year, month by month and week by week, and its charts."""
    # As a browser signs in: open the form (its token and cookie), post it from this site.
    form = client.get("/dashboard/sign-in").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', form)
    data = {"email": email, "password": PASSWORD, "form_token": token.group(1) if token else ""}
    response = client.post("/dashboard/sign-in", data=data, headers={"Origin": "http://localhost"})
    if response.status_code != 303:
        raise SystemExit(f"page sign-in as {email} failed: {response.status_code}")
    url = f"/dashboard/programmes/{programme}"

    def call() -> None:
        page = client.get(url)
        if page.status_code != 200:
            raise SystemExit(f"GET {url}: {page.status_code} {page.get_data()[:300]!r}")

    # What the page spends in the database: its statements, each timed from before to after the cursor's execute.
    statements: list[float] = []

    def before(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        conn.info["bench_began"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        statements.append(time.perf_counter() - conn.info.pop("bench_began"))

    engine = client.application.extensions["reachable.db"].engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        median, p95, _ = _time(call, warm_up=warm_up, requests=requests)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    pages = warm_up + requests
    mark = "ok" if p95 < TARGET_P95_MS else "MISS"
    print(
        f"{'page (HTML, year)':<22}{'commissioner':<14}{median:10.1f}{p95:9.1f}   (no SQL beside it)"
        f"{'':>7}  {mark}\n  in the database: {len(statements) / pages:.0f} statements, "
        f"{sum(statements) * 1000 / pages:.1f} ms a page (mean, timed requests and warm-up)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a database made by bench/national_dataset.py --keep")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per endpoint (default 30)")
    parser.add_argument("--warm-up", type=int, default=3, help="untimed requests first (default 3)")
    parser.add_argument("--only", action="append", help="only this dashboard (repeatable)")
    args = parser.parse_args(argv)
    libpq = make_url(args.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    # The staff of an invented dataset have no authenticator: no role is asked for a second factor (as in the tests).
    app = create_app({"DATABASE_URL": args.database_url, "SECRET_KEY": SECRET_KEY, "MFA_REQUIRED_ROLES": ""})
    gc.freeze()  # as wsgi.py does in production
    client = app.test_client()
    wrong = 0
    with psycopg.connect(libpq, autocommit=True) as conn:
        found = conn.execute(
            """SELECT programme_id, count(*) FROM mentoring_session GROUP BY programme_id
               ORDER BY count(*) DESC, programme_id LIMIT 1"""
        ).fetchone()
        if found is None:
            raise SystemExit("no sessions: make the database with bench/national_dataset.py --keep")
        programme, sessions = found
        emails: dict[str, str] = dict(
            conn.execute(
                "SELECT role, min(email) FROM app_user WHERE programme_id = %s AND role IN "
                "('commissioner', 'coordinator') GROUP BY role",
                (programme,),
            ).fetchall()
        )
        starts_at, ends_before = _period(datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date())
        params = {"programme": programme, "starts_at": starts_at, "ends_before": ends_before}
        print(f"code: {Path(api.__file__).resolve().parent.parent}")
        print(f"programme {programme}: {sessions:,} sessions; period {starts_at:%Y-%m-%d} to {ends_before:%Y-%m-%d}")
        headers = {}
        for role in ("commissioner", "coordinator"):
            response = client.post("/auth/sign-in", json={"email": emails[role], "password": PASSWORD})
            if response.status_code != 200:
                raise SystemExit(f"sign-in as {emails[role]} failed: {response.status_code} {response.get_data()!r}")
            headers[role] = {"Authorization": f"Bearer {response.get_json()['access_token']}"}

        print(
            f"\n{'dashboard':<22}{'role':<14}{'median ms':>10}{'p95 ms':>9}   {'SQL med':>8}{'SQL p95':>8}"
            f"{'ratio':>7}  target"
        )
        for dashboard in DASHBOARDS:
            if args.only and dashboard.path not in args.only:
                continue
            url = f"/programmes/{programme}/dashboards/{dashboard.path}"
            sql_median, sql_p95, rows = _time(
                lambda dashboard=dashboard: conn.execute(dashboard.sql, params).fetchall(),  # type: ignore[misc]
                warm_up=args.warm_up,
                requests=args.requests,
            )
            for role in ("commissioner", "coordinator"):

                def call(role: str = role, url: str = url) -> Any:
                    response = client.get(url, headers=headers[role])
                    if response.status_code != 200:
                        raise SystemExit(f"GET {url} as {role}: {response.status_code} {response.get_data()[:300]!r}")
                    return response.get_json()

                median, p95, body = _time(call, warm_up=args.warm_up, requests=args.requests)
                mark = "ok" if p95 < TARGET_P95_MS else "MISS"
                print(
                    f"{dashboard.path:<22}{role:<14}{median:10.1f}{p95:9.1f}   {sql_median:8.1f}{sql_p95:8.1f}"
                    f"{median / sql_median:7.1f}  {mark}",
                    flush=True,
                )
                if role == "coordinator" and dashboard.json_figure is not None:
                    got, expected = dashboard.json_figure(body), dashboard.sql_figure(rows)
                    if got != expected:
                        wrong += 1
                        print(f"  WRONG: {dashboard.path} endpoint says {got!r}, SQL says {expected!r}")
                    else:
                        print(f"  {dashboard.figure}: endpoint and SQL agree ({got!r})")
                elif role == "coordinator":
                    print(f"  SQL: {dashboard.figure}: {dashboard.sql_figure(rows)!r} (not compared)")
        if not args.only or "page" in args.only:
            _time_the_page(client, programme, emails["commissioner"], warm_up=args.warm_up, requests=args.requests)
    print(f"\nratio = endpoint median / SQL median; target: p95 under {TARGET_P95_MS:.0f} ms")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
