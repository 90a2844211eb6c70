"""The weekly summary: exact figures for a small week, mailed once through real SMTP."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from typing import Any

from backend.access.service import create_user
from backend.console.summary import due, parse_schedule, send_all, week_of
from backend.pursuit.service import accept_offer, expire_due_offers, log_activity
from backend.roster.service import create_team
from backend.settings import Settings
from tests.factories import add_agent, add_rule, submit
from tests.mail import Inbox

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday: last week is Nov 16 to 22


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def _week(sessions: Any) -> dict[str, str]:
    """North's Ana: one lead pursued the week before; this week one pursued, two lost."""
    async with sessions() as session:
        north = (await create_team(session, "North")).id
        south = (await create_team(session, "South")).id
        ana = await add_agent(session, "Ana", team_id=north)
        bruno = await add_agent(session, "Bruno", team_id=south)
        await add_rule(
            session, "North", [ana], conditions={"country": ["BR"]}, contact_timeout_s=3600
        )
        await add_rule(
            session, "South", [bruno], conditions={"country": ["US"]}, contact_timeout_s=3600
        )
        earlier = await submit(session, "W0", at(10), value=600)
        pursued = await submit(session, "W1", at(17), value=1000)
        ignored = await submit(session, "W2", at(18), value=3000)
        expired = await submit(session, "W3", at(19), value=500)
        await submit(session, "W4", at(20), value=2000, country="US")

        for result, day in ((earlier, 10), (pursued, 17)):
            assert result.offer is not None and result.lead is not None
            await accept_offer(session, result.offer.id, agent_id=ana, now=at(day, 10, 5))
            await log_activity(
                session,
                result.lead.id,
                agent_id=ana,
                kind="call",
                outcome="connected",
                now=at(day, 10, 10),
            )
        assert ignored.offer is not None and expired.lead is not None
        await accept_offer(session, ignored.offer.id, agent_id=ana, now=at(18, 10, 5))
        await expire_due_offers(session, now=at(19, 10, 30))
        await create_user(session, "north@example.com", "manager", team_ids=[north])
        await create_user(session, "boss@example.com", "admin")
    assert ignored.lead is not None
    return {"ignored": ignored.lead.id, "expired": expired.lead.id, "ana": ana}


def _text(envelope: Any) -> str:
    return str(message_from_bytes(envelope.content, policy=default).get_content()).replace(
        "\r\n", "\n"
    )


async def test_weekly_summary_mails_exact_figures_once(
    settings: Settings, sessions: Any, inbox: tuple[Inbox, str]
) -> None:
    ids = await _week(sessions)
    mailing = dataclasses.replace(settings, smtp_url=inbox[1])

    async with sessions() as session:
        first = await send_all(session, mailing, NOW)
    async with sessions() as session:
        second = await send_all(session, mailing, NOW)

    assert [o.status for o in first] == ["sent", "sent"]
    assert [o.status for o in second] == ["already sent", "already sent"]
    mails = {e.rcpt_tos[0]: _text(e) for e in inbox[0].envelopes}
    assert sorted(mails) == ["boss@example.com", "north@example.com"]
    base = "http://testserver.local"
    assert mails["north@example.com"] == (
        "Pursuit weekly summary, 2026-11-16 to 2026-11-22\n"
        "Scope: North\n"
        "\n"
        "Leads: 3 (week before: 1)\n"
        "Pursued: 1, pursuit rate 33.3% (week before: 100.0%)\n"
        "Lost revenue: 3,500.00 BRL on 2 lost leads\n"
        "LRL: 1,166.67 BRL per lead (week before: 0.00; up 1,166.67)\n"
        "\n"
        "Costliest leads lost without contact:\n"
        f"1. 3,000.00 BRL, solar, BR, received 2026-11-18: {base}/console/leads/{ids['ignored']}\n"
        f"2. 500.00 BRL, solar, BR, received 2026-11-19: {base}/console/leads/{ids['expired']}\n"
        "\n"
        "Agents to look at:\n"
        f"- Ana: 1 offer expired: {base}/console/agents/{ids['ana']}\n"
        "\n"
        "Rules to look at:\n"
        "- none\n"
    )
    boss = mails["boss@example.com"].splitlines()
    assert boss[1:7] == [
        "Scope: every team and partner",
        "",
        "Leads: 4 (week before: 1)",
        "Pursued: 1, pursuit rate 25.0% (week before: 100.0%)",
        "Lost revenue: 5,500.00 BRL on 3 lost leads",
        "LRL: 1,375.00 BRL per lead (week before: 0.00; up 1,375.00)",
    ]


def test_schedule_reads_a_day_and_time_and_is_due_from_then_on() -> None:
    schedule = parse_schedule("mon 08:00")

    assert schedule is not None
    assert week_of(NOW) == (at(16, 0), at(23, 0))
    assert due(schedule, at(23, 7, 59)) is False
    assert due(schedule, at(23, 8, 0)) is True
    assert due(schedule, at(29, 23, 0)) is True
    assert parse_schedule("off") is None
