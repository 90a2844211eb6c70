"""``pursuit demo``: a fresh database telling a real year of inbound leads.

The bundled Olist sample is replayed through the real router with simulated
reps, then two demo reps get a few fresh offers a person can act on. The build
is synchronous and runs its own event loop, so call it outside one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import create_engine, session_factory, utcnow
from backend.demo.database import build_session, prepare_database
from backend.demo.fresh import (
    FRESH_EACH,
    FRESH_TIMEOUT_S,
    MANAGER_EMAIL,
    DemoLogin,
    create_login,
    create_manager,
    demo_reps,
    offer_fresh,
    pick_fresh_leads,
)
from backend.demo.replay import Replay
from backend.demo.roster import build_roster, build_rules, set_lead_values
from backend.intake.olist import OlistLead, load_deals, load_sample
from backend.notify.service import Notifier
from backend.reports.service import Summary, summary
from backend.settings import Settings

logger = logging.getLogger(__name__)

# Their per-step INFO lines would bury the demo's progress; DEBUG still shows them.
CHATTY_LOGGERS = (
    "alembic", "backend.access", "backend.intake", "backend.notify", "backend.pursuit",
    "backend.roster", "backend.routing", "backend.scoring",
)  # fmt: skip


@dataclass(frozen=True)
class DemoState:
    replayed: int
    figures: Summary
    password: str
    employee: DemoLogin
    partner_rep: DemoLogin
    fresh_offer_ids: list[str]


def build_demo(settings: Settings, seed: int = 7, limit: int | None = None) -> str:
    """Build the demo into ``settings.database_url`` and answer the text to print.

    ``limit`` replays only the first leads of the sample, to keep tests quick.
    """
    if _loop_running():
        raise RuntimeError("build_demo runs its own event loop; call it outside one.")
    started = time.perf_counter()

    with quiet(CHATTY_LOGGERS):
        prepare_database(settings.database_url)
        state = asyncio.run(_build(settings, seed, limit))

    seconds = time.perf_counter() - started
    logger.info("demo built seed=%d leads=%d seconds=%.1f", seed, state.figures.leads, seconds)
    return report_text(state, settings.base_url)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _build(settings: Settings, seed: int, limit: int | None) -> DemoState:
    engine = create_engine(settings.database_url)
    try:
        async with build_session(engine) as session:
            state = await populate(session, seed, limit)
        await keep_notifications(settings, session_factory(engine), state.fresh_offer_ids)
    finally:
        await engine.dispose()
    return state


def brought_forward(sample: list[OlistLead], now: datetime) -> list[OlistLead]:
    """The sample moved forward by whole weeks, so that its last lead arrives in the week
    before ``now``: weekdays and times of day stay as in the data, and the pursuit scores
    learned from it are recent enough to count (their evidence halves every 30 days)."""
    if not sample:
        return sample
    last = max(lead.received_at for lead in sample)
    weeks = (now - timedelta(days=7) - last) // timedelta(weeks=1)
    offset = timedelta(weeks=max(weeks, 0))

    def moved(lead: OlistLead) -> OlistLead:
        at = lead.received_at + offset
        deal = replace(lead.deal, won_date=lead.deal.won_date + offset) if lead.deal else None
        return replace(
            lead, body={**lead.body, "received_at": at.isoformat()}, received_at=at, deal=deal
        )

    return [moved(lead) for lead in sample]


async def populate(session: AsyncSession, seed: int, limit: int | None) -> DemoState:
    """Roster and rules, the replayed sample, then fresh offers and logins."""
    sample = brought_forward(load_sample(), utcnow())
    roster = await build_roster(session, list(load_deals().values()))
    await build_rules(session, roster)
    await set_lead_values(session)

    replay = Replay.for_roster(session, roster.agents, seed)
    await replay.run(sample[:limit])

    now = utcnow()
    employee, partner_rep = demo_reps(roster)
    fresh = await pick_fresh_leads(session, sample, replay.lead_ids, 2 * FRESH_EACH)
    offer_ids = await offer_fresh(session, fresh[:FRESH_EACH], employee, now)
    offer_ids += await offer_fresh(session, fresh[FRESH_EACH:], partner_rep, now)

    password = await create_manager(session)
    employee_login = await create_login(session, employee)
    partner_login = await create_login(session, partner_rep)
    figures = await summary(session, now=now)
    replayed = len(replay.lead_ids)
    return DemoState(replayed, figures, password, employee_login, partner_login, offer_ids)


async def keep_notifications(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], offer_ids: list[str]
) -> None:
    """Tell the demo reps of their fresh offers; with no device, mail is kept."""
    notifier = Notifier(replace(settings, smtp_url=None), sessions)
    await notifier.start()
    try:
        for offer_id in offer_ids:
            await notifier.notify_offer(offer_id)
    finally:
        await notifier.close()


@contextlib.contextmanager
def quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Raise the named loggers to ERROR for a while, unless set to debug: the warnings of a
    replayed year (leads unassigned, reps unreachable) are history, not news."""
    loggers = [logging.getLogger(name) for name in names]
    before = [each.level for each in loggers]
    for each in loggers:
        if each.getEffectiveLevel() > logging.DEBUG:
            each.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for each, level in zip(loggers, before, strict=True):
            each.setLevel(level)


def report_text(state: DemoState, base_url: str) -> str:
    return "\n".join([headline(state), *access_lines(state, base_url)])


def headline(state: DemoState) -> str:
    figures = state.figures
    return (
        f"Demo built from {state.replayed:,} real Olist leads: {figures.leads:,} leads, "
        f"{figures.pursued:,} pursued ({figures.pursuit_rate:.1%}), "
        f"{figures.lost_leads:,} lost, lost revenue BRL {figures.lost_revenue:,.0f}, "
        f"LRL BRL {figures.lrl:,.2f} per lead."
    )


def access_lines(state: DemoState, base_url: str) -> list[str]:
    employee, partner_rep = state.employee, state.partner_rep
    return [
        f"Console: {base_url}/console  login {MANAGER_EMAIL} / {state.password}",
        f"Rep app (employee {employee.agent.name}): {base_url}/r/{employee.token}",
        f"Rep app (partner rep {partner_rep.agent.name}, {partner_rep.agent.group}): "
        f"{base_url}/r/{partner_rep.token}",
        f"Each demo rep has {FRESH_EACH} fresh offers waiting, open for "
        f"{FRESH_TIMEOUT_S // 3600} hours.",
    ]
