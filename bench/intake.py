"""Intake throughput and latency of the real server, next to two ceilings on this machine.

Run from the repository root:  .venv/bin/python bench/intake.py [--json]

1. ``pursuit serve`` on a fresh SQLite database in a temporary directory, a roster of
   agents and one least-loaded rule created through the API, then ``wrk`` posting
   unique leads to ``POST /api/v1/leads``; intake-to-offer times read from the database.
2. Ceiling: an empty Litestar JSON route under one uvicorn worker, same ``wrk`` settings.
3. Ceiling: raw SQLite commits, one row per transaction, WAL and synchronous=NORMAL.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PURSUIT = ROOT / ".venv" / "bin" / "pursuit"
LEAD_SCRIPT = ROOT / "bench" / "wrk" / "post_lead.lua"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


@dataclass
class IntakeResult:
    leads_per_s: float
    leads_stored: int
    wrk: WrkResult
    offer_p50_ms: float | None
    offer_p99_ms: float | None
    offered: int


# -- processes and HTTP ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, base_url: str) -> Iterator[None]:
    """Start a server, wait until it answers, and stop it (SIGTERM, then SIGKILL) afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)
    try:
        wait_until_up(process, base_url, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(base_url, timeout=2):  # noqa: S310 (loopback only)
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise SystemExit(f"server did not answer {base_url} within 90 s; see {log}")


def post_json(url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.load(response)
    return answer


# -- wrk ------------------------------------------------------------------------------------


def run_wrk(url: str, args: argparse.Namespace, script_args: list[str] | None = None) -> WrkResult:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    command += ["--latency", "--timeout", "30s"]
    if script_args is not None:
        command += ["-s", str(LEAD_SCRIPT), url, "--", *script_args]
    else:
        command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Figures from ``wrk --latency`` text output."""
    percentiles = {
        int(p): _ms(v, u)
        for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not (total and rate and 50 in percentiles and 99 in percentiles):
        raise SystemExit(f"could not read wrk output:\n{output}")

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        requests=int(total.group(1)),
        duration_s=_ms(total.group(2), total.group(3)) / 1e3,
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, errors.groups())) if errors else 0,
    )


# -- the intake run -------------------------------------------------------------------------


def server_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PURSUIT_VAR_DIR"] = str(workdir)
    env["PURSUIT_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    return env


def create_api_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(PURSUIT), "api-key", "create", "bench"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1].strip()


def create_roster(base: str, key: str, agents: int) -> None:
    """Agents with room for every lead, and one least-loaded rule over all of them."""
    agent_ids = []
    for number in range(1, agents + 1):
        body = {"name": f"Bench agent {number}", "capacity": 1_000_000, "kind": "employee"}
        agent_ids.append(post_json(f"{base}/api/v1/agents", key, body)["id"])

    rule = {
        "name": "Bench: everything", "priority": 1, "conditions": {},
        "pool": {"agent_ids": agent_ids, "team_ids": [], "partner_ids": []},
        "strategy": "least_loaded", "accept_timeout_s": 900, "contact_timeout_s": 86400,
    }  # fmt: skip
    post_json(f"{base}/api/v1/rules", key, rule)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def offer_delays_ms(database: Path) -> list[float]:
    """Per lead: its first offer's ``offered_at`` minus its inquiry's ``received_at``."""
    query = """
        SELECT i.received_at, MIN(o.offered_at)
        FROM inquiries AS i JOIN offers AS o ON o.lead_id = i.lead_id
        WHERE i.source = 'bench'
        GROUP BY i.id
    """
    with sqlite3.connect(database) as connection:
        rows = connection.execute(query).fetchall()
    return [_delta_ms(received, offered) for received, offered in rows]


def _delta_ms(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() * 1e3


def count_leads(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        query = "SELECT COUNT(*) FROM inquiries WHERE source = 'bench' AND lead_id IS NOT NULL"
        return int(connection.execute(query).fetchone()[0])


def measure_intake(workdir: Path, args: argparse.Namespace) -> IntakeResult:
    env = server_env(workdir)
    key = create_api_key(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(PURSUIT), "serve", "--host", "127.0.0.1", "--port", str(port)]

    with running(command, env, workdir / "server.log", f"{base}/health"):
        create_roster(base, key, args.agents)
        result = run_wrk(f"{base}/api/v1/leads", args, [key, uuid.uuid4().hex[:8]])

    delays = offer_delays_ms(workdir / "bench.db")
    answered = result.requests - result.non_2xx
    return IntakeResult(
        leads_per_s=answered / result.duration_s,
        leads_stored=count_leads(workdir / "bench.db"),
        wrk=result,
        offer_p50_ms=percentile(delays, 0.50) if delays else None,
        offer_p99_ms=percentile(delays, 0.99) if delays else None,
        offered=len(delays),
    )


# -- ceilings -------------------------------------------------------------------------------


def measure_http_ceiling(workdir: Path, args: argparse.Namespace) -> WrkResult:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "ceiling_app:app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    with running(command, dict(os.environ), workdir / "ceiling.log", base):
        return run_wrk(base, args)


def measure_sqlite_commits(database: Path, seconds: float) -> float:
    """Commits per second, one small row per transaction, with the app's pragmas."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, payload TEXT, at TEXT)")

    commits = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO rows VALUES (?, ?, ?)",
            (uuid.uuid4().hex, '{"source": "bench"}', datetime.now().isoformat()),
        )
        connection.execute("COMMIT")
        commits += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return commits / elapsed


# -- report ---------------------------------------------------------------------------------


def report(
    args: argparse.Namespace, intake: IntakeResult, http: WrkResult, commits: float
) -> dict[str, Any]:
    return {
        "settings": {
            "threads": args.threads, "connections": args.connections,
            "duration_s": args.duration, "agents": args.agents, "strategy": "least_loaded",
            "cpus": os.cpu_count(), "python": sys.version.split()[0],
        },
        "intake": asdict(intake),
        "ceilings": {"http_empty_json_rps": http.requests_per_s, "http": asdict(http),
                     "sqlite_commits_per_s": commits},
        "ratios": {
            "intake_to_http_ceiling": intake.leads_per_s / http.requests_per_s,
            "intake_to_sqlite_commits": intake.leads_per_s / commits,
        },
    }  # fmt: skip


def _fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def print_report(data: dict[str, Any]) -> None:
    s, intake, ceilings, ratios = data["settings"], data["intake"], data["ceilings"], data["ratios"]
    wrk = intake["wrk"]
    print(
        f"wrk {s['threads']} threads, {s['connections']} connections, {s['duration_s']} s; "
        f"{s['agents']} agents, {s['strategy']}; {s['cpus']} CPUs, Python {s['python']}"
    )
    print(
        f"intake    POST /api/v1/leads   {intake['leads_per_s']:9.1f} leads/s   "
        f"p50 {_fmt_ms(wrk['p50_ms'])}   p99 {_fmt_ms(wrk['p99_ms'])}   "
        f"({wrk['requests']} answered, {wrk['non_2xx']} non-2xx, "
        f"{wrk['socket_errors']} socket errors, {intake['leads_stored']} stored)"
    )
    print(
        f"          intake to offer (db) p50 {_fmt_ms(intake['offer_p50_ms'])}   "
        f"p99 {_fmt_ms(intake['offer_p99_ms'])}   ({intake['offered']} leads offered)"
    )
    if intake["offer_p99_ms"] == 0:
        print("          (both times come from one clock reading per request; wrk's is the bound)")
    print(
        f"ceiling   empty Litestar GET   {ceilings['http_empty_json_rps']:9.1f} req/s     "
        f"p50 {_fmt_ms(ceilings['http']['p50_ms'])}   p99 {_fmt_ms(ceilings['http']['p99_ms'])}"
        f"   intake = {ratios['intake_to_http_ceiling']:.1%} of it"
    )
    print(
        f"ceiling   SQLite commits       {ceilings['sqlite_commits_per_s']:9.1f} commits/s "
        f"  intake = {ratios['intake_to_sqlite_commits']:.1%} of it"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure lead intake against two ceilings.")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--sqlite-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="pursuit-bench-"))
    try:
        intake = measure_intake(workdir, args)
        http = measure_http_ceiling(workdir, args)
        commits = measure_sqlite_commits(workdir / "ceiling.db", args.sqlite_seconds)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    data = report(args, intake, http, commits)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
