"""`flask outbox-worker` as its own process, as production runs it, for tests that need a real
worker: one they can kill, or two at once."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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
    return spawn([sys.executable, "-m", "flask", "--app", "wsgi", "outbox-worker"], env=environment)


def spawn(command: list[str], *, env: dict) -> subprocess.Popen:
    """`command` run from the project's folder; what it prints goes to a file, which stop_worker
    reads back. (A pipe that nobody reads while the process runs fills at 64 KiB, and the process
    then blocks in its next write: a worker logging a line per email stopped sending half-way.)"""
    output = tempfile.TemporaryFile(mode="w+", prefix="worker-output-")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    process.output_file = output
    return process


def stop_worker(process: subprocess.Popen) -> str:
    """Kill the worker if it still runs; its output (the same again when called twice)."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=15)
    if not process.output_file.closed:
        with process.output_file as file:
            file.seek(0)
            process.output = file.read()
    return process.output
