"""Prometheus metrics at /metrics, for the people who run the app.

Two kinds of figure:

- **Counted by the processes** (prometheus_client): request latency by route and method,
  responses by route, method and status, and the outbox worker's send attempts, failures,
  take-overs after a lease ran out, and webhook attempts. Under gunicorn with several workers
  each process writes its counts to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it
  up, one directory per instance) and /metrics adds them up, whichever worker answers. An outbox
  worker on the same machine given the same directory adds its own; elsewhere, run it with
  `flask outbox-worker --metrics-port N`.
- **Read from the database** when scraped (at most once per METRICS_CACHE_SECONDS per process),
  the same from every instance: the outbox's depth and oldest waiting email, emails and webhook
  deliveries by status, their lease take-overs, and the activation funnel (customers sent an
  activation link, who opened it, activated, and expired).

/metrics answers only direct connections from METRICS_ALLOWED_ADDRESSES (loopback by default),
or a request with `Authorization: Bearer <METRICS_TOKEN>`. A request that came through a proxy
(it carries X-Forwarded-For or Forwarded) needs the token whatever its address, since a proxy on
the same machine connects from loopback on everyone's behalf.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from peewee import Case, fn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .extensions import limiter

bp = Blueprint("metrics", __name__)

# Request latency buckets in seconds: a page here takes a few ms; a slow one a second or more.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "onboarding_http_request_duration_seconds",
    "Time to answer a request, by route template and method.",
    ["route", "method"],
    buckets=BUCKETS,
)
RESPONSES = Counter(
    "onboarding_http_responses_total",
    "Responses sent, by route template, method and status.",
    ["route", "method", "status"],
)
EMAIL_ATTEMPTS = Counter(
    "onboarding_outbox_email_attempts_total",
    "Email send attempts by result: sent; retry (failed, will be tried again); failed (given up).",
    ["result"],
)
EMAIL_LEASE_RESENDS = Counter(
    "onboarding_outbox_email_lease_resends_total",
    "Emails taken over after the sending worker's lease ran out (each possibly a second copy, same Message-ID).",
)
WEBHOOK_ATTEMPTS = Counter(
    "onboarding_webhook_attempts_total",
    "Webhook delivery attempts by result: delivered; retry; failed (retries ran out).",
    ["result"],
)
WEBHOOK_LEASE_RESENDS = Counter(
    "onboarding_webhook_lease_resends_total",
    "Webhook deliveries taken over after the sending worker's lease ran out (same webhook-id).",
)

UNMATCHED = "<unmatched>"
# Methods get their own label value; anything else is "other" (a client cannot add label values).
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class DatabaseCollector:
    """Gauges read from the database at scrape time, cached for METRICS_CACHE_SECONDS."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cached_at = -1e9
        self._families: list = []

    def collect(self):
        seconds = current_app.config["METRICS_CACHE_SECONDS"]
        with self._lock:
            if time.monotonic() - self._cached_at >= seconds:
                self._families = _database_families()
                self._cached_at = time.monotonic()
            return list(self._families)


def _database_families() -> list:
    from .models import ActivationToken, Customer, OutboxEmail, WebhookDelivery, utcnow

    now = utcnow()
    families = []
    # On the request's connection (a connection_context here would close it on the way out).
    for model, name, waiting in (
        (OutboxEmail, "outbox_emails", (OutboxEmail.QUEUED, OutboxEmail.SENDING)),
        (WebhookDelivery, "webhook_deliveries", (WebhookDelivery.PENDING, WebhookDelivery.SENDING)),
    ):
        rows = (
            model.select(model.status, fn.COUNT(model.id), fn.MIN(model.created_at), fn.SUM(model.lease_resends))
            .group_by(model.status)
            .tuples()
        )
        by_status = GaugeMetricFamily(
            f"onboarding_{name}", f"Rows of {model._meta.table_name} by status.", labels=["status"]
        )
        depth, oldest, resends = 0, None, 0
        for status, count, first, resent in rows:
            by_status.add_metric([status], count)
            resends += resent or 0
            if status in waiting:
                depth += count
                oldest = first if oldest is None or (first is not None and first < oldest) else oldest
        families.append(by_status)
        families.append(
            GaugeMetricFamily(
                f"onboarding_{name}_waiting", "Not yet sent: waiting, retrying or being sent now.", value=depth
            )
        )
        families.append(
            GaugeMetricFamily(
                f"onboarding_{name}_oldest_waiting_seconds",
                "Age of the oldest one not yet sent (0: none waiting).",
                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
            )
        )
        families.append(
            GaugeMetricFamily(
                f"onboarding_{name}_lease_resends",
                "Take-overs after a worker's lease ran out, over every row.",
                value=resends,
            )
        )
    activation = ActivationToken.purpose == ActivationToken.ACTIVATION
    created, opened, activated = (
        ActivationToken.select(
            fn.COUNT(ActivationToken.customer.distinct()),
            fn.COUNT(Case(None, [(ActivationToken.opened_at.is_null(False), ActivationToken.customer)]).distinct()),
            fn.COUNT(Case(None, [(ActivationToken.used_at.is_null(False), ActivationToken.customer)]).distinct()),
        )
        .where(activation)
        .tuples()
        .get()
    )
    expired = Customer.select().where(Customer.status == Customer.EXPIRED).count()
    funnel = GaugeMetricFamily(
        "onboarding_activation_funnel_customers",
        "Customers at each stage of activation: sent a link (created), opened it, activated, expired.",
        labels=["stage"],
    )
    for stage, count in (("created", created), ("opened", opened), ("activated", activated), ("expired", expired)):
        funnel.add_metric([stage], count)
    families.append(funnel)
    return families


_database_collector = DatabaseCollector()


def _allowed_networks(config) -> list:
    return [
        ipaddress.ip_network(part.strip(), strict=False)
        for part in str(config["METRICS_ALLOWED_ADDRESSES"]).split(",")
        if part.strip()
    ]


def allowed() -> bool:
    """Whether this request may read the metrics (see the module's note)."""
    config = current_app.config
    token = config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or request.environ.get(
        "REMOTE_ADDR", ""
    )
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _allowed_networks(config))


@bp.get("/metrics")
@limiter.exempt
def metrics():
    """The metrics in Prometheus's text format (for the monitoring system, not for people)."""
    if not allowed():
        return Response(
            "Not allowed: scrape from METRICS_ALLOWED_ADDRESSES or send the METRICS_TOKEN.\n",
            status=403,
            mimetype="text/plain",
            headers={"Cache-Control": "no-store"},
        )
    body = process_metrics() + generate_latest(_DatabaseRegistry())
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class _DatabaseRegistry:
    """Just enough of a registry for generate_latest: the database gauges."""

    def collect(self):
        return _database_collector.collect()


def process_metrics() -> bytes:
    """The counted metrics: of every process sharing PROMETHEUS_MULTIPROC_DIR, else of this one."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.isdir(directory):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def init_app(app: Flask) -> None:
    """Time every request and count every response (the /metrics route is in `bp`)."""

    @app.before_request
    def _start_timer():
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("_metrics_started", None)
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else UNMATCHED
            method = request.environ.get("REQUEST_METHOD", request.method)
            method = method if method in METHODS else "other"
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
            RESPONSES.labels(route, method, str(response.status_code)).inc()
        return response
