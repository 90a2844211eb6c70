"""Offer notifications per second: the real notifier pushing to a push service on loopback.

Run from the repository root:  .venv/bin/python bench/push.py [--offers N] [--devices D]

A fresh SQLite database in a temporary directory holds N offers to one agent with D
devices; every offer is notified at once, each push signed (ES256) and encrypted
(aes128gcm) for its device. The push service answers 201 without decrypting.
This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.db import create_engine, session_factory, upgrade_database, utcnow
from backend.notify.service import Notifier, save_subscription
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent
from backend.settings import Settings


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def push_service(received: list[int]) -> tuple[web.AppRunner, str]:
    async def take(request: web.Request) -> web.Response:
        received.append(len(await request.read()))
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/push/{name}", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def main(offers: int, devices: int) -> None:
    var = Path(tempfile.mkdtemp(prefix="pursuit-push-bench-"))
    url = f"sqlite+aiosqlite:///{var / 'bench.db'}"
    await asyncio.to_thread(upgrade_database, url)
    settings = Settings.from_env(
        var_dir=var,
        database_url=url,
        base_url="https://pursuit.example",
        secret_key="bench-secret-key-0123456789abcdef",  # noqa: S106 - a throwaway database
        vapid_subject="mailto:ops@pursuit.example",
        push_allowed_hosts=("127.0.0.1",),
    )
    engine = create_engine(url)
    sessions = session_factory(engine)
    received: list[int] = []
    runner, origin = await push_service(received)

    async with sessions() as session:
        agent = Agent(name="Ana Souza", email="ana@example.com", timezone="UTC")
        session.add(agent)
        await session.flush()
        ids = []
        for n in range(offers):
            lead = Lead(source="web", company=f"Company {n}", product="solar", country="BR")
            session.add(lead)
            await session.flush()
            offer = Offer(
                lead_id=lead.id, agent_id=agent.id, expires_at=utcnow() + timedelta(hours=1)
            )
            session.add(offer)
            await session.flush()
            ids.append(offer.id)
        await session.commit()
        for d in range(devices):
            key = ec.generate_private_key(ec.SECP256R1()).public_key()
            point = key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            await save_subscription(
                session,
                agent.id,
                f"{origin}/push/d{d}",
                b64url(point),
                b64url(os.urandom(16)),
                ("127.0.0.1",),
            )

    notifier = Notifier(settings, sessions)
    await notifier.start()
    started = time.perf_counter()
    await asyncio.gather(*(notifier.notify_offer(offer_id) for offer_id in ids))
    elapsed = time.perf_counter() - started
    await notifier.close()
    await runner.cleanup()
    await engine.dispose()

    pushes = len(received)
    print(f"offers notified       {offers}")
    print(f"pushes delivered      {pushes} ({devices} devices each)")
    print(f"wall time             {elapsed:.2f} s")
    print(f"offers per second     {offers / elapsed:.0f}")
    print(f"pushes per second     {pushes / elapsed:.0f}")
    print(f"mean push body        {sum(received) / max(pushes, 1):.0f} bytes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=200)
    parser.add_argument("--devices", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.offers, args.devices))
