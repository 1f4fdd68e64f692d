"""GET /metrics: Prometheus' text format, behind a token of its own (api/metrics).

Not public: 404 when REACHABLE_METRICS_TOKEN is unset, 401 without it or with another. With it: requests by
route template (never the path asked for), the outbox by state and how long its oldest due message has waited,
alerts unacknowledged by urgency, and each scheduler job's last success, all read at scrape time.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.alerts.rules import URGENCY, AlertKind
from api.alerts.service import raise_alert
from api.db import transaction
from api.health.service import record_run_finished
from tests.builders import make_programme
from tests.concurrency.due_check_in_links import due_check_in_links

TOKEN = "metrics-token-" + "m" * 24


@pytest.fixture()
def with_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return app


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_are_not_there_at_all_without_a_token_configured(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_are_refused_without_their_own_token(with_token, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = with_token.test_client().get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.json["reason"] == "authentication_failed"


def test_requests_are_counted_by_route_template_method_and_status(with_token):
    client = with_token.test_client()
    child_id = uuid.uuid4()
    before = scrape(client)
    key = (
        "reachable_http_requests_total",
        (("method", "GET"), ("route", "/children/<uuid:child_id>"), ("status", "401")),
    )

    client.get(f"/children/{child_id}")
    client.get(f"/children/{uuid.uuid4()}")
    client.get("/no/such/path")
    figures = scrape(client)

    assert figures[key] - before.get(key, 0) == 2
    latency = (
        "reachable_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/children/<uuid:child_id>")),
    )
    assert figures[latency] >= 2
    assert (
        "reachable_http_requests_total",
        (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
    ) in figures
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert str(child_id) not in body and "/no/such/path" not in body  # a label never holds what a client chose
    assert figures[("reachable_db_pool_size", ())] > 0


def test_the_outbox_by_state_and_how_long_its_oldest_due_message_has_waited(with_token, db_session, clock):
    due_check_in_links(db_session, 2)
    clock.advance(minutes=10)

    figures = scrape(with_token.test_client())

    assert figures[("reachable_outbox_messages", (("state", "queued"),))] == 2
    assert figures[("reachable_outbox_messages", (("state", "sent"),))] == 0
    assert figures[("reachable_outbox_oldest_due_age_seconds", (("urgent", "false"),))] >= 600
    assert figures[("reachable_outbox_oldest_due_age_seconds", (("urgent", "true"),))] == 0
    assert figures[("reachable_database_up", ())] == 1


def test_alerts_open_and_unacknowledged_by_urgency_and_the_oldest(with_token, db_session, clock):
    programme = make_programme(db_session)
    with transaction(db_session):
        raise_alert(
            db_session, programme_id=programme.id, kind=AlertKind.DUTY_COVER_GAP, detail="No cover", now=clock.now()
        )
    urgency = URGENCY[AlertKind.DUTY_COVER_GAP].value
    clock.advance(minutes=5)

    figures = scrape(with_token.test_client())

    assert figures[("reachable_alerts_unacknowledged", (("urgency", urgency),))] == 1
    assert figures[("reachable_alerts_open", (("urgency", urgency),))] == 1
    assert figures[("reachable_alerts_unacknowledged", (("urgency", "urgent"),))] == 0
    assert figures[("reachable_alerts_oldest_unacknowledged_age_seconds", (("urgency", urgency),))] == 300


def test_each_scheduler_job_last_success_and_whether_it_is_late(with_token, db_session, clock):
    record_run_finished(
        db_session, job="dispatch_outbox", started_at=clock.now(), duration_ms=250, error=None, now=clock.now()
    )
    clock.advance(seconds=10)

    figures = scrape(with_token.test_client())

    job = (("job", "dispatch_outbox"),)
    assert (
        figures[("reachable_scheduler_job_last_success_timestamp_seconds", job)]
        == (clock.now() - timedelta(seconds=10)).timestamp()
    )
    assert figures[("reachable_scheduler_job_last_duration_seconds", job)] == 0.25
    assert figures[("reachable_scheduler_job_late", job)] == 0
    assert figures[("reachable_scheduler_job_late", (("job", "purge_expired_records"),))] == 1  # never ran
    clock.advance(seconds=25)  # 35 s since its success: more than twice its interval
    assert scrape(with_token.test_client())[("reachable_scheduler_job_late", job)] == 1
