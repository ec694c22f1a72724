"""gunicorn's settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (Procfile, docs/deploy/).
gunicorn also reads this file by itself when started in this folder; options on its command line win.

Everything can be set from the environment, so one file serves every instance on a machine:

| variable | default | meaning |
|---|---|---|
| `HOST`, `PORT` (or `GUNICORN_BIND`) | `127.0.0.1`, `8000` | where this instance listens: loopback behind a proxy on the same machine; `HOST=0.0.0.0` where a platform's router connects from outside |
| `WEB_CONCURRENCY` | `2` | worker processes (one request at a time each): about one per CPU core |
| `GUNICORN_TIMEOUT` | `30` | a worker silent this long (a request stuck that long) is killed and replaced |
| `GUNICORN_GRACEFUL_TIMEOUT` | `30` | on SIGTERM or a reload, requests in flight get this long to finish |
| `GUNICORN_ACCESS_LOG` | `-` (stdout) | where the access log goes; empty: none |
| `GUNICORN_CONTROL_SOCKET` | none | a `gunicornc` control socket for this instance (gunicorn 25.1+); each instance needs its own path, or two share `~/.gunicorn/gunicorn.ctl` and one takes the other's |
| `PROMETHEUS_MULTIPROC_DIR` | a new temporary directory | where this instance's workers keep their metrics for /metrics to add up; one per instance, emptied when the instance starts |
"""

import os
import shutil
import tempfile

# Before anything imports prometheus_client: its multiprocess mode is chosen at import time, and
# the workers, forked from this process, inherit the setting.
_made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="onboarding-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]

from gunicorn.glogging import Logger  # noqa: E402

from webapp.logs import redact_links  # noqa: E402

bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"  # one request per process at a time; the app does no long waits in a request
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # seconds an idle keep-alive connection from the proxy stays open
# The workers' heartbeat files on tmpfs: a slow or full disk cannot make the master think a
# healthy worker hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No preload: each worker opens its own database connections after the fork.
preload_app = False

if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# Access log on stdout: the request line with emailed tokens taken out, status, bytes, time in
# ms, and the request id the app answered with (X-Request-ID), which its own log lines carry.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # "" turns it off (the benchmarks do)
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


class RedactingLogger(Logger):
    """gunicorn's logger, with activation and invitation tokens taken out of the request line
    and the Referer (a page reached from an emailed link has the token in its URL)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():  # the request line, path, Referer, raw URI...
            if isinstance(value, str) and ("/activate/" in value or "/invite/" in value):
                atoms[key] = redact_links(value)
        return atoms


logger_class = RedactingLogger


def on_starting(server):
    """The metrics directory belongs to this instance: counts of a previous run are dropped."""
    for name in os.listdir(_metrics_dir):
        path = os.path.join(_metrics_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def child_exit(server, worker):
    """A worker that exited: its gauges leave the sum (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """A metrics directory this file made for the instance goes with it."""
    if _made_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
