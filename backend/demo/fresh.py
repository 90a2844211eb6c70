"""What a person meets after the replay: fresh offers for two reps, and logins."""

from __future__ import annotations

import logging
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import create_agent_link, create_user
from backend.demo.replay import inquiry_for
from backend.demo.roster import PARTNERS, DemoAgent, DemoRoster
from backend.errors import Conflict
from backend.intake.olist import OlistLead
from backend.intake.service import submit_inquiry
from backend.pursuit.service import get_lead, offer_to_agent

logger = logging.getLogger(__name__)

FRESH_EACH = 3
FRESH_TIMEOUT_S = 24 * 3600
MANAGER_EMAIL = "manager@demo.pursuit.example"
UNAMBIGUOUS = set(string.ascii_letters + string.digits) - set("IOl01")
PASSWORD_ALPHABET = "".join(sorted(UNAMBIGUOUS))
CLOSED = ("won", "lost")


@dataclass(frozen=True)
class DemoLogin:
    agent: DemoAgent
    token: str


def demo_reps(roster: DemoRoster) -> tuple[DemoAgent, DemoAgent]:
    """An always available employee, not a team lead, and the first partner's rep."""
    employee = next(
        agent
        for agent in roster.of_kind("employee")
        if agent.always_available and not agent.is_lead
    )
    partner_rep = next(
        agent
        for agent in roster.of_kind("partner")
        if agent.always_available and agent.group == PARTNERS[0]
    )
    return employee, partner_rep


async def pick_fresh_leads(
    session: AsyncSession, sample: list[OlistLead], lead_ids: dict[str, str], count: int
) -> list[OlistLead]:
    """The newest replayed leads with a business segment, closed ones first.

    A closed lead cannot absorb a new inquiry from the same company, so each fresh
    inquiry opens a lead of its own.
    """
    replayed = [lead for lead in reversed(sample) if lead.mql_id in lead_ids]
    with_segment = [lead for lead in replayed if lead.body["product"]]
    closed: list[OlistLead] = []
    for lead in with_segment:
        if len(closed) == count:
            break
        if (await get_lead(session, lead_ids[lead.mql_id])).status in CLOSED:
            closed.append(lead)
    chosen = {lead.mql_id: lead for lead in closed}
    for lead in with_segment + replayed:
        chosen.setdefault(lead.mql_id, lead)
    return list(chosen.values())[:count]


async def offer_fresh(
    session: AsyncSession, leads: list[OlistLead], agent: DemoAgent, now: datetime
) -> list[str]:
    """Each lead as a new inquiry received now, offered by hand to ``agent``."""
    offer_ids = []
    for lead in leads:
        external_id = f"demo-{lead.mql_id}"
        data = inquiry_for(lead, external_id=external_id, received_at=now.isoformat())
        result = await submit_inquiry(session, data, inlet="csv", now=now)
        if result.lead is None or not result.created:
            raise Conflict(f"The fresh demo inquiry {external_id} opened no new lead.")
        offer = await offer_to_agent(
            session,
            result.lead.id,
            agent.id,
            actor="demo",
            accept_timeout_s=FRESH_TIMEOUT_S,
            now=now,
        )
        offer_ids.append(offer.id)

    logger.info("demo fresh offers made agent_id=%s offers=%d", agent.id, len(offer_ids))
    return offer_ids


async def create_manager(session: AsyncSession) -> str:
    """The demo manager with a new random password, answered for printing."""
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12))
    await create_user(session, MANAGER_EMAIL, "manager", password=password)
    return password


async def create_login(session: AsyncSession, agent: DemoAgent) -> DemoLogin:
    token, _ = await create_agent_link(session, agent.id)
    return DemoLogin(agent, token)
