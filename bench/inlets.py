"""How fast each inlet takes inquiries in, on this machine.

Run from the repository root:  .venv/bin/python bench/inlets.py [--json]

1. ``pursuit serve`` on a fresh SQLite database with the SMTP inlet on, one rep and one
   catch-all rule; one ``POST /api/v1/leads/batch`` of 1,000 leads, timed end to end.
2. 200 mails sent one after another over SMTP to an email inlet of that server.
3. ``parse_csv`` on a generated 10,000-row Windows-1252, semicolon-separated file
   (in process, nothing stored): the cost of decoding, sniffing, mapping and checking.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx

ROOT = Path(__file__).resolve().parents[1]
PURSUIT = ROOT / ".venv" / "bin" / "pursuit"
BATCH = 1000
MAILS = 200
CSV_ROWS = 10_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(PURSUIT), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def wait_healthy(url: str) -> None:
    for _ in range(150):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up")


def seed(api: httpx.Client) -> None:
    agent = api.post("/api/v1/agents", json={"name": "Ana", "capacity": 100_000, "timezone": "UTC"})
    pool = {"agent_ids": [agent.json()["id"]]}
    api.post("/api/v1/rules", json={"name": "all", "pool": pool, "strategy": "least_loaded"})
    api.post("/api/v1/inlets", json={"kind": "email", "slug": "leads", "source": "mail"})


def batch_figures(api: httpx.Client) -> dict[str, float]:
    leads = [
        {"source": "bench", "external_id": f"b-{i}", "email": f"p{i}@example.org", "company": "Co"}
        for i in range(BATCH)
    ]
    started = time.perf_counter()
    response = api.post("/api/v1/leads/batch", json={"leads": leads}, timeout=600)
    seconds = time.perf_counter() - started
    created = response.json()["created"]
    return {"batch_leads": BATCH, "batch_created": created, "batch_s": round(seconds, 2),
            "batch_leads_per_s": round(BATCH / seconds, 1)}  # fmt: skip


async def send_mails(port: int) -> float:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await smtp.connect()
    started = time.perf_counter()
    for number in range(MAILS):
        message = EmailMessage()
        message["From"] = f"Person {number} <m{number}@example.org>"
        message["To"], message["Subject"] = "leads@bench.example", "Quote"
        message["Message-ID"] = f"<bench-{number}@example.org>"
        message.set_content("Please call me on +55 11 99123-4567.")
        await smtp.send_message(message)
    seconds = time.perf_counter() - started
    await smtp.quit()
    return seconds


def csv_figures(directory: Path) -> dict[str, float]:
    from backend.intake.importer import parse_csv

    path = directory / "leads.csv"
    lines = ["Nome;E-mail;Telefone;CEP;Empresa"]
    lines += [
        f"José Müller {i};p{i}@example.org;011 9{i % 10000:04d}-{i % 7919:04d};"
        f"0{i % 9999:04d}-000;Cia {i}"
        for i in range(CSV_ROWS)
    ]
    path.write_bytes("\n".join(lines).encode("cp1252"))
    started = time.perf_counter()
    batch = parse_csv(path, default_country="BR")
    seconds = time.perf_counter() - started
    return {
        "csv_rows": CSV_ROWS,
        "csv_good_rows": len(batch.rows),
        "csv_parse_s": round(seconds, 2),
        "csv_rows_per_s": round(CSV_ROWS / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    as_json = parser.parse_args().json
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        port, smtp_port = free_port(), free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PURSUIT_VAR_DIR": folder, "PURSUIT_BASE_URL": url,
               "PURSUIT_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
               "PURSUIT_SMTP_INLET_PORT": str(smtp_port)}  # fmt: skip
        key = cli(env, "api-key", "create", "bench")
        server = subprocess.Popen(
            [str(PURSUIT), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(url)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:
                seed(api)
                figures.update(batch_figures(api))
            seconds = asyncio.run(send_mails(smtp_port))
            figures.update({"mails": MAILS, "mail_s": round(seconds, 2),
                            "mails_per_s": round(MAILS / seconds, 1)})  # fmt: skip
        finally:
            server.terminate()
            server.wait()
        figures.update(csv_figures(Path(folder)))
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    print(f"batch: {BATCH} leads in {figures['batch_s']} s ({figures['batch_leads_per_s']}/s)")
    print(f"smtp:  {MAILS} mails in {figures['mail_s']} s ({figures['mails_per_s']}/s)")
    print(f"csv:   {CSV_ROWS} rows parsed and checked in {figures['csv_parse_s']} s "
          f"({figures['csv_rows_per_s']}/s, {figures['csv_good_rows']} good)")  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
