"""`flask outbox-worker` as its own process, as production runs it, for tests that need a real
worker: one they can kill, or two at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_worker(database_url: str, **env) -> subprocess.Popen:
    """The worker on the tests' database, with short timings; `env` adds or overrides settings."""
    environment = {k: v for k, v in os.environ.items() if k not in {"APP_ENV", "FLASK_ENV", "DATABASE_URL"}}
    environment.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "MAIL_SERVER": "127.0.0.1",
            "OUTBOX_POLL_SECONDS": "0.2",
            "OUTBOX_BACKOFF_SECONDS": "0",
            "SCHEDULE_INTERVAL_SECONDS": "3600",
            "APP_BASE_URL": "https://onboarding.example.com",
        }
    )
    environment.update({k: str(v) for k, v in env.items()})
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox-worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(process: subprocess.Popen) -> str:
    """Kill the worker if it still runs; its output."""
    if process.poll() is None:
        process.kill()
    output, _ = process.communicate(timeout=15)
    return output
