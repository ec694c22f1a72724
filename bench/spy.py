"""Where gunicorn's workers spend a request under load: py-spy samples them while wrk drives a URL.

    python -m bench.spy api-create   # POST /api/v1/customers, the customer option (target 8)
    python -m bench.spy floor        # the insert-per-request floor it is compared with

bench/profile.py profiles requests in-process, through Flask's test client; this one watches the
production set-up that target 8 measures (bench.wsgi:app under gunicorn, 2 workers, pooled
PostgreSQL, wrk with 4 connections), so the shares include gunicorn, the driver and the waits
for PostgreSQL as they really are. py-spy reads the workers from outside (ptrace: run as root,
or with CAP_SYS_PTRACE); the app runs unchanged. It prints each frame's share of the samples,
inclusive (the frame and what it called) and self (the frame alone).
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import api
from .harness import INSERT_FLOOR_URL, build_app, close_database, gunicorn, pooled, throwaway_database, wrk

# Where a sample is the database's: the statement, the transaction's BEGIN and COMMIT, and the
# pool's check of a connection it hands out (peewee runs SELECT 1 on it).
DRIVER_FRAMES = {
    "Database._execute_cursor",
    "PostgresqlDatabase.begin",
    "Database.commit",
    "_BasePsycopgAdapter.is_connection_closed",
}
SERVER_FRAMES = ("<module> (gunicorn", "_run_", "Arbiter.", "Application.run", "BaseApplication.run", "run (gunicorn")
SERVER_FRAMES += ("SyncWorker.run", "SyncWorker.accept", "SyncWorker.handle (", "Worker.init_process")
FRAME = re.compile(r"(?P<name>.+?) \((?P<file>.+?):\d+\)")


def _frame_name(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    where = match["file"].split("site-packages/")[-1]
    where = where.split(str(Path(__file__).resolve().parent.parent) + "/")[-1]
    return f"{match['name']} ({where})"


def shares(raw_files: list[Path]) -> tuple[int, collections.Counter, collections.Counter]:
    """Samples in all, and per frame the samples it was on the stack (inclusive) and on top (self),
    from py-spy's raw output (one `frame;frame;... count` line per distinct stack)."""
    inclusive: collections.Counter = collections.Counter()
    alone: collections.Counter = collections.Counter()
    total = 0
    for path in raw_files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_frame_name(f) for f in stack.split(";")]
            total += int(count)
            for name in set(frames):
                inclusive[name] += int(count)
            alone[frames[-1]] += int(count)
    return total, inclusive, alone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", choices=["api-create", "floor"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()
    spy = Path(sys.executable).with_name("py-spy")
    out = Path(tempfile.mkdtemp(prefix="bench-spy-"))
    with throwaway_database("postgres") as url:
        app = build_app(pooled(url))
        secret, body = api._key(app), api._create_body(app)
        close_database()
        with gunicorn(pooled(url), api.WORKERS, str(out / "gunicorn.log"), RATELIMIT_ENABLED="0") as (port, process):
            target = f"http://127.0.0.1:{port}" + (
                "/api/v1/customers" if args.path == "api-create" else INSERT_FLOOR_URL
            )
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
            script = api.WRK_CREATE.replace("@@BODY@@", body)

            def load(seconds: int, run: str):
                return wrk(
                    target,
                    seconds=seconds,
                    connections=api.CONNECTIONS,
                    threads=2,
                    headers=headers,
                    script=script.replace("@@RUN@@", run),
                )

            load(2, "warm-up")
            workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
            spies = [
                subprocess.Popen(
                    [str(spy), "record", "--pid", pid, "--duration", str(args.seconds + 1), "--rate", "200"]
                    + ["--format", "raw", "--nonblocking", "--output", str(out / f"worker-{pid}.txt")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid in workers
            ]
            time.sleep(0.5)
            result = load(args.seconds, "measured")
            for sampler in spies:
                sampler.wait()
    total, inclusive, alone = shares(sorted(out.glob("worker-*.txt")))
    if not total:
        sys.exit(f"py-spy recorded nothing (it needs ptrace: root or CAP_SYS_PTRACE); see {out}")
    print(
        f"{args.path}: {result.requests / result.seconds:.0f} req/s, {result.not_200} not 2xx; "
        f"{total:,} samples of {len(workers)} gunicorn workers over {args.seconds} s"
    )
    # Time in the database driver: PostgreSQL's work, the round trip and psycopg2's own.
    database = sum(alone[name] for name in alone if name.split(" (")[0] in DRIVER_FRAMES)
    print(
        f"{100 * database / total:5.1f}%  in the driver: statements, BEGIN, COMMIT, the pool's check (waits included)"
    )
    print("\ninclusive (the frame and everything it called; gunicorn's own frames left out)")
    shown = [(name, count) for name, count in inclusive.most_common() if not name.startswith(SERVER_FRAMES)]
    for name, count in shown[: args.top]:
        print(f"{100 * count / total:5.1f}%  {name}")
    print("\nself (the frame alone)")
    for name, count in alone.most_common(15):
        print(f"{100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
