"""`make bench`: every performance target of issue 7 (8: the API, issue 16; 9: the import, issue 17), measured
against its floor, as one table.

    python -m bench              # everything (a few minutes)
    python -m bench --only 2,5   # some targets

Each figure is a ratio measured in the same run against a floor: a bare endpoint registered
on the app by the bench (renders a trivial template, goes through every hook a page does),
a static file, or for mail an SMTP server that answers at once. Load goes to loopback only
and every loop is bounded in count and time. Progress goes to stderr; the table (Markdown,
ready for the README) and the PostgreSQL query plans go to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

from .harness import Row, failed_row, log, postgres_available

DATABASES = [("sqlite", "SQLite"), ("postgres", "PostgreSQL")]


def _run(target: str, benchmark, *args) -> tuple[list[Row], list[str]]:
    """Run one benchmark; a crash becomes a FAIL row instead of ending the bench."""
    try:
        result = benchmark(*args)
    except Exception as error:  # noqa: BLE001 - every target must appear in the table
        log(f"{target} failed: {type(error).__name__}: {error}")
        return [failed_row(target, error)], []
    if isinstance(result, tuple):
        return result
    return result, []


def benchmarks(only: set[str]) -> tuple[list[Row], list[str]]:
    from . import (
        api,
        assets,
        customers,
        imports,
        mail_stall,
        memory,
        queries_per_page,
        throughput,
        wizard,
    )

    have_postgres = postgres_available()
    databases = [(k, label) for k, label in DATABASES if k == "sqlite" or have_postgres]
    if not have_postgres:
        log("PostgreSQL is not reachable: its rows are skipped")
    rows: list[Row] = []
    notes: list[str] = []

    def add(result):
        rows.extend(result[0])
        notes.extend(result[1])

    if "1" in only:
        for kind, label in databases:
            add(_run(f"1 wizard Continue ({label})", wizard.run, kind, label))
    if "2" in only:
        for kind, label in databases:
            add(_run(f"2 customers list and search ({label})", customers.run, kind, label))
    if "3" in only:
        add(_run("3 queries per page", queries_per_page.run))
    if "4" in only:
        add(_run("4 create submit with a stalled SMTP server", mail_stall.run))
    if "5" in only:
        add(_run("5 page weight", assets.run))
    if "6" in only:
        for kind, label in databases:
            add(_run(f"6 throughput ({label})", throughput.run, kind, label))
    if "7" in only:
        add(_run("7 memory", memory.run))
    if "8" in only:
        if have_postgres:
            add(_run("8 API create (PostgreSQL)", api.run_create, "postgres", "PostgreSQL"))
        for kind, label in databases:
            add(_run(f"8 API customer list ({label})", api.run_list, kind, label))
    if "9" in only:
        for kind, label in databases:
            add(_run(f"9 import ({label})", imports.run, kind, label))
    if not have_postgres and only & {"1", "2", "6", "8", "9"}:
        rows.append(Row("PostgreSQL rows", "not run: PostgreSQL not reachable on 127.0.0.1:5432", None, "—", None))
    return rows, notes


def machine() -> str:
    """The machine and versions the figures belong to, and how busy it was: the README quotes this line."""
    import sqlite3
    from importlib.metadata import version

    memory = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.split("\n")[1]
    total = memory.split()[1] if memory else "?"
    postgres = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtc", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {total} memory, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres.split()[0] if postgres else 'not reachable'}, "
        f"Flask {version('flask')}, peewee {version('peewee')}, WTForms {version('wtforms')}, "
        f"gunicorn {version('gunicorn')}; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def table(rows: list[Row]) -> str:
    lines = ["| target | measured | ratio | threshold | result |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row.target, row.figures, row.ratio_text, row.threshold, row.verdict]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9", help="comma-separated target numbers")
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}

    began = time.monotonic()
    rows, notes = benchmarks(only)
    elapsed = time.monotonic() - began

    for note in notes:
        print(note, end="\n\n")
    print(f"Machine: {machine()}. Bench time {elapsed:.0f}s.\n")
    print(table(rows))
    verdicts = [r.verdict for r in rows]
    print(f"\n{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL, {verdicts.count('info')} info")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
