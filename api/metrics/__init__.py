"""Operational metrics in Prometheus' text format (GET /metrics, with a token of its own: api/metrics/web.py).

Two kinds of figure, kept apart on purpose:
- per-process instruments (requests, latency, the database pool, SMS sends), which prometheus_client writes to
  files in PROMETHEUS_MULTIPROC_DIR when it is set, so that one scrape of any gunicorn worker sums every worker
  (and the scheduler, on the same host): api/metrics/instruments.py;
- figures read from the database at scrape time (the outbox, alerts, the scheduler's heartbeats), so every
  process serving /metrics gives the same numbers: api/metrics/figures.py.
No label ever holds personal data: routes are templates (/children/<uuid:child_id>), never the path requested.
"""
