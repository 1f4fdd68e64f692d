"""/metrics under several gunicorn workers: one scrape, served by any worker, sums every worker's requests.

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its instruments to files of its own there and /metrics reads
them all (api/metrics/web.py); gunicorn.conf.py drops an exited worker's live gauges. Without it, a scrape would
show only the requests of the worker that happened to answer it. The outbox and the scheduler's health are read
from the database at scrape time, so they are the same whichever worker answers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from api.health.service import record_run_finished
from tests.concurrency.due_check_in_links import due_check_in_links
from tests.conftest import DEFAULT_NOW
from tests.reliability.processes import gunicorn, wait_until

TOKEN = "metrics-token-" + "w" * 24
BATCH = 20
HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}


def healthz_count(samples) -> float:
    return sum(
        sample.value
        for sample in samples
        if sample.name == "reachable_http_requests_total" and dict(sample.labels) == HEALTHZ
    )


def per_worker_healthz_counts(directory: Path) -> list[float]:
    # Each worker's own file, read alone (prometheus_client's reader, as /metrics uses it, one file at a time).
    counts = []
    for path in sorted(directory.glob("counter_*.db")):
        metrics = MultiProcessCollector._read_metrics([str(path)])
        counts.append(healthz_count(sample for metric in metrics.values() for sample in metric.samples))
    return counts


def test_one_scrape_sums_the_requests_of_every_worker_and_shows_the_outbox_and_scheduler(
    committed_database_url, committed_db_session, tmp_path
):
    due_check_in_links(committed_db_session, 3)
    record_run_finished(
        committed_db_session, job="dispatch_outbox", started_at=DEFAULT_NOW, duration_ms=40, error=None,
        now=DEFAULT_NOW,
    )  # fmt: skip
    directory = tmp_path / "prometheus"
    directory.mkdir()
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "REACHABLE_METRICS_TOKEN": TOKEN}
    with gunicorn(committed_database_url, workers=2, environment=environment) as server:
        session = requests.Session()
        statuses: list[int] = []

        def both_workers_answered_some() -> bool:
            # Several at once, so that both workers answer (the second may still be loading the app at first).
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses.extend(pool.map(lambda _: requests.get(server.base_url + "/healthz", timeout=30).status_code,
                                         range(BATCH)))  # fmt: skip
            return len([count for count in per_worker_healthz_counts(directory) if count]) == 2

        wait_until(both_workers_answered_some, "both workers have answered /healthz")
        scraped = session.get(server.base_url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        refused = session.get(server.base_url + "/metrics", timeout=30)

    assert set(statuses) == {200}
    # Both workers answered some /healthz (else the test proves nothing), and the one scrape has them all.
    workers = [count for count in per_worker_healthz_counts(directory) if count]
    assert len(workers) == 2, workers
    assert scraped.status_code == 200
    samples = [sample for family in text_string_to_metric_families(scraped.text) for sample in family.samples]
    assert healthz_count(samples) == sum(workers) > max(workers)
    # The readiness probe gunicorn() waits on asks /healthz too.
    assert healthz_count(samples) >= len(statuses)
    figures = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value for sample in samples}
    assert figures[("reachable_outbox_messages", (("state", "queued"),))] == 3
    assert figures[("reachable_outbox_oldest_due_age_seconds", (("urgent", "false"),))] > 0
    assert figures[("reachable_scheduler_job_last_success_timestamp_seconds", (("job", "dispatch_outbox"),))] == (
        DEFAULT_NOW.timestamp()
    )
    assert figures[("reachable_scheduler_job_late", (("job", "dispatch_outbox"),))] == 1  # long ago, by the wall clock
    assert refused.status_code == 401
