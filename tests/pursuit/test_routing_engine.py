"""Routing through the services: every filter and strategy, delegates, timeouts, escalation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.access.service import create_user
from backend.notify.service import Notifier
from backend.pursuit import service
from backend.pursuit.models import Offer
from backend.roster.service import create_partner, create_team, update_agent
from backend.routing import service as routing_service
from backend.routing.strategies import shown_records
from tests.factories import (
    Client,
    add_agent,
    add_rule,
    link_for,
    make_agent,
    make_rule,
    post_lead,
    submit,
)
from tests.mail import Inbox

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday
Sessions = async_sessionmaker[AsyncSession]


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def route_many(session: AsyncSession, prefix: str, count: int, **fields: Any) -> list[str]:
    """Submit ``count`` leads a minute apart; answers who each was offered to."""
    picks = []
    for i in range(count):
        result = await submit(session, f"{prefix}{i}", minutes(i), **fields)
        picks.append(result.offer.agent_id if result.offer else "-")
    return picks


async def team_with_manager(session: AsyncSession, name: str) -> str:
    team = await create_team(session, name)
    await create_user(session, f"{name.lower()}-lead@pursuit.example", "manager", team.id)
    return team.id


async def team_rule(session: AsyncSession, team_id: str) -> None:
    await add_rule(session, "Field", [], pool={"team_ids": [team_id]}, strategy="round_robin")


async def alerts_of(session: AsyncSession, lead_id: str) -> list[Any]:
    journey = await service.journey(session, lead_id)
    return [e for e in journey["events"] if e.type == "alert"]


# The manager queue


async def test_rule_whose_only_agent_is_inactive_alerts_the_teams_manager(
    sessions: Sessions, mailing_notifier: Notifier, inbox: tuple[Inbox, str]
) -> None:
    async with sessions() as session:
        north = await team_with_manager(session, "North")
        await team_with_manager(session, "South")
        ana = await add_agent(session, "Ana", team_id=north, active=False)
        await add_rule(session, "Brazil", [ana])

        result = await submit(session, "i1", T0)
        said = service.take_announcements(session)
        [alert] = await alerts_of(session, result.lead.id)
        journey = await service.journey(session, result.lead.id)
    await mailing_notifier.notify_event(alert.id)

    assert (result.lead.status, result.lead.owner_id, result.offer) == ("unassigned", None, None)
    assert [e.type for e in journey["events"]] == ["received", "unassigned", "alert"]
    assert said.event_ids == [alert.id]
    assert alert.data["team_ids"] == [north]
    assert alert.data["why"] == "no rule had an eligible agent"
    assert journey["decisions"][0].rules_tried[0]["why"] == "no eligible agent in the pool"
    assert [envelope.rcpt_tos for envelope in inbox[0].envelopes] == [
        ["north-lead@pursuit.example"]
    ]


async def test_unassigned_decision_keeps_the_filtered_out_candidates(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", active=False)
        await add_rule(session, "Brazil", [ana])

        result = await submit(session, "i1", T0)
        journey = await service.journey(session, result.lead.id)

    [decision] = journey["decisions"]
    assert [
        (c["agent_id"], c["eligible"], c["reasons"]) for c in shown_records(decision.candidates)
    ] == [(ana, False, ["inactive"])]


async def test_escalation_of_two_steps_ends_in_the_manager_queue(
    sessions: Sessions, mailing_notifier: Notifier, inbox: tuple[Inbox, str]
) -> None:
    async with sessions() as session:
        north = await team_with_manager(session, "North")
        ana, bia, caio = [
            await add_agent(session, n, team_id=north) for n in ("Ana", "Bia", "Caio")
        ]
        never = {"country": ["IS"]}  # no lead is from Iceland: the steps take only escalations
        last = await add_rule(session, "Leads", [caio], conditions=never, accept_timeout_s=180)
        middle = await add_rule(
            session,
            "Seniors",
            [bia],
            conditions=never,
            accept_timeout_s=120,
            escalate_to_rule_id=last,
        )
        await add_rule(session, "Reps", [ana], accept_timeout_s=60, escalate_to_rule_id=middle)
        result = await submit(session, "e1", T0)

        first = await service.expire_due_offers(session, now=minutes(1))
        second = await service.expire_due_offers(session, now=minutes(3))
        third = await service.expire_due_offers(session, now=minutes(6))
        lead = await service.get_lead(session, result.lead.id)
        journey = await service.journey(session, lead.id)
        [alert] = await alerts_of(session, lead.id)
    await mailing_notifier.notify_event(alert.id)

    assert result.offer.agent_id == ana
    assert [o.agent_id for o in first] == [bia]
    assert [o.agent_id for o in second] == [caio]
    assert third == []
    assert [(o.agent_id, o.status) for o in journey["offers"]] == [
        (ana, "expired"),
        (bia, "expired"),
        (caio, "expired"),
    ]
    assert [d.trigger for d in journey["decisions"]] == [
        "intake",
        "escalation",
        "escalation",
        "escalation",
    ]
    assert journey["decisions"][-1].explanation == "the escalation ladder ends here"
    assert (lead.status, lead.owner_id) == ("unassigned", None)
    assert alert.data["team_ids"] == [north]
    assert [envelope.rcpt_tos for envelope in inbox[0].envelopes] == [
        ["north-lead@pursuit.example"]
    ]


# Strategies and filters


async def test_round_robin_with_an_agent_added_and_one_removed_stays_fair(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        team = (await create_team(session, "Field")).id
        a, b, c = [await add_agent(session, n, team_id=team) for n in ("A", "B", "C")]
        await team_rule(session, team)
        before = await route_many(session, "r", 4)
        d = await add_agent(session, "D", team_id=team)
        await update_agent(session, b, {"team_id": None})

        after = await route_many(session, "s", 6)

    assert before == [a, b, c, a]
    assert after == [d, c, a, d, c, a]


async def test_preferred_tier_first_and_the_next_only_when_none_is_eligible(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        silver = await add_agent(session, "Silver", tier=2)
        gold = await add_agent(session, "Gold", tier=1, capacity=1)
        await add_rule(session, "All", [silver, gold])

        first = await submit(session, "t1", minutes(0))
        second = await submit(session, "t2", minutes(1))
        journey = await service.journey(session, first.lead.id)

    assert (first.offer.agent_id, second.offer.agent_id) == (gold, silver)
    [decision] = journey["decisions"]
    assert (
        decision.explanation == "All: Gold chosen, next in the round-robin rotation; tier 1 first"
    )
    assert [(c["name"], c["held_back"], c["rank"]) for c in shown_records(decision.candidates)] == [
        ("Silver", "tier 2 waits while a tier 1 agent is eligible", None),
        ("Gold", None, 1),
    ]


@pytest.mark.parametrize(
    ("performance_weighting", "expected"),
    [
        (False, ["p", "q", "p", "p", "q", "p"]),
        (True, ["p", "q", "p", "q", "p", "q"]),
    ],
)
async def test_partner_fair_share_unless_performance_weighting(
    sessions: Sessions, performance_weighting: bool, expected: list[str]
) -> None:
    async with sessions() as session:
        p = (await create_partner(session, "Sol", fair_share=2.0)).id
        q = (await create_partner(session, "Vento", fair_share=1.0)).id
        ana = await add_agent(session, "Ana", partner_id=p)
        bia = await add_agent(session, "Bia", partner_id=q)
        await add_rule(
            session,
            "Partners",
            [],
            pool={"partner_ids": [p, q]},
            performance_weighting=performance_weighting,
        )

        picks = await route_many(session, "f", 6)

    assert picks == [{"p": ana, "q": bia}[g] for g in expected]


async def test_fair_share_counts_only_the_rolling_window(sessions: Sessions) -> None:
    async with sessions() as session:
        p = (await create_partner(session, "Sol")).id
        q = (await create_partner(session, "Vento")).id
        ana = await add_agent(session, "Ana", partner_id=p)
        bia = await add_agent(session, "Bia", partner_id=q)
        await add_rule(session, "Partners", [], pool={"partner_ids": [p, q]})
        old = [await submit(session, f"o{i}", T0 - timedelta(days=31)) for i in range(2)]

        fresh = await route_many(session, "w", 2)

    # Ana and Bia each had one lead 31 days ago; outside the window they count for nothing.
    assert [o.offer.agent_id for o in old] == [ana, bia]
    assert fresh == [ana, bia]


async def test_weighted_round_robin_with_weights_and_a_daily_cap(sessions: Sessions) -> None:
    async with sessions() as session:
        heavy = await add_agent(session, "Heavy", weight=3, daily_cap=4)
        light = await add_agent(session, "Light", weight=1)
        await add_rule(session, "All", [heavy, light], strategy="weighted_round_robin")

        today = await route_many(session, "d", 8)
        capped = await submit(session, "d8", minutes(8))
        tomorrow = await submit(session, "n0", T0 + timedelta(days=1))
        journey = await service.journey(session, capped.lead.id)

    h, li = heavy, light
    assert today == [h, li, h, h, h, li, li, li]
    assert capped.offer.agent_id == light
    assert shown_records(journey["decisions"][0].candidates)[0]["reasons"] == [
        "reached the daily cap (4 of 4 leads today)"
    ]
    assert tomorrow.offer.agent_id == heavy


async def test_value_source_and_campaign_conditions_pick_the_specialist(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        big, fair, spring, rest = [
            await add_agent(session, n) for n in ("Big", "Fair", "Spring", "Rest")
        ]
        await add_rule(session, "Big", [big], priority=1, conditions={"value_min": 10000})
        await add_rule(session, "Fair", [fair], priority=2, conditions={"source": ["fair"]})
        await add_rule(session, "Spring", [spring], priority=3, conditions={"campaign": ["spring"]})
        await add_rule(session, "Rest", [rest], priority=4)

        picks = [
            (await submit(session, "v1", T0, value=10000)).offer.agent_id,
            (await submit(session, "v2", T0, value=9999, source="fair")).offer.agent_id,
            (await submit(session, "v3", T0, campaign="spring")).offer.agent_id,
            (await submit(session, "v4", T0, campaign="autumn")).offer.agent_id,
        ]

    assert picks == [big, fair, spring, rest]


async def test_agent_value_band_source_and_campaign_filter_the_pool(sessions: Sessions) -> None:
    async with sessions() as session:
        small = await add_agent(session, "Small", value_max=5000)
        events = await add_agent(session, "Events", sources=["fair"])
        promo = await add_agent(session, "Promo", campaigns=["spring"])
        anyone = await add_agent(session, "Anyone")
        await add_rule(session, "All", [small, events, promo, anyone], strategy="least_loaded")

        result = await submit(session, "b1", T0, value=8000, campaign="autumn")
        journey = await service.journey(session, result.lead.id)

    assert result.offer.agent_id == anyone
    assert [c["reasons"] for c in shown_records(journey["decisions"][0].candidates)] == [
        ["takes only leads worth under 5000 (this one 8000)"],
        ["does not take leads from source web"],
        ["does not take leads from campaign autumn"],
        [],
    ]


async def test_postal_prefix_041_routes_zip_04101(sessions: Sessions) -> None:
    async with sessions() as session:
        maine = await add_agent(session, "Maine", territories=[{"postal_prefix": "041"}])
        other = await add_agent(session, "Other")
        await add_rule(session, "Maine", [maine], priority=1, conditions={"postal_prefix": ["041"]})
        await add_rule(session, "Rest", [other], priority=2)
        place = {"country": "US", "region": "ME"}

        inside = await submit(session, "z1", T0, postal_code="04101", **place)
        outside = await submit(session, "z2", T0, postal_code="4101", **place)

    assert (inside.offer.agent_id, outside.offer.agent_id) == (maine, other)


async def test_returning_prospect_goes_back_to_their_previous_owner(sessions: Sessions) -> None:
    async with sessions() as session:
        a, b = await add_agent(session, "A"), await add_agent(session, "B")
        await add_rule(session, "All", [a, b])
        first = await submit(session, "p1", minutes(0), email="rita@example.org")
        await service.accept_offer(session, first.offer.id, agent_id=a, now=minutes(1))
        await service.log_activity(
            session, first.lead.id, agent_id=a, kind="call", outcome="won", now=minutes(2)
        )
        others = await route_many(session, "q", 2)

        # The first lead is closed, so the return opens a lead of its own.
        back = await submit(session, "p2", minutes(5), email="rita@example.org")
        journey = await service.journey(session, back.lead.id)

    assert others == [b, a]
    assert back.offer.agent_id == a  # the rotation alone would have chosen B
    [decision] = journey["decisions"]
    assert decision.explanation == (
        "All: A chosen, the prospect's previous owner, who is eligible again"
    )
    assert [(c["agent_id"], c["rank"]) for c in shown_records(decision.candidates)] == [
        (a, 1),
        (b, None),
    ]


async def test_returning_prospect_whose_owner_is_away_takes_the_rotation(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        a, b = await add_agent(session, "A"), await add_agent(session, "B")
        await add_rule(session, "All", [a, b])
        first = await submit(session, "p1", minutes(0), phone="+55 11 99123-4567")
        await service.accept_offer(session, first.offer.id, agent_id=a, now=minutes(1))
        await service.log_activity(
            session, first.lead.id, agent_id=a, kind="call", outcome="lost", now=minutes(2)
        )
        await update_agent(session, a, {"out_of_office_until": T0 + timedelta(days=7)})

        back = await submit(session, "p2", minutes(5), phone="+55 11 99123-4567")

    assert back.offer.agent_id == b


async def test_out_of_office_agent_hands_leads_to_the_delegate(sessions: Sessions) -> None:
    async with sessions() as session:
        stand_in = await add_agent(session, "Dora", territories=[{"country": "US"}])
        away = await add_agent(
            session,
            "Ana",
            territories=[{"country": "BR"}],
            out_of_office_until=T0 + timedelta(days=1),
            delegate_id=stand_in,
        )
        await add_rule(session, "Brazil", [away])

        during = await submit(session, "o1", T0)
        after = await submit(session, "o2", T0 + timedelta(days=2))
        journey = await service.journey(session, during.lead.id)

    assert during.offer.agent_id == stand_in  # Ana's territory counts, Dora's does not
    assert after.offer.agent_id == away
    [decision] = journey["decisions"]
    assert decision.explanation == (
        "Brazil: Dora (for Ana, out of office) chosen, next in the round-robin rotation"
    )
    assert [
        (c["agent_id"], c["reasons"], c["delegate_for"]) for c in shown_records(decision.candidates)
    ] == [
        (away, ["out of office until 2026-06-02T12:00:00+00:00"], None),
        (stand_in, [], away),
    ]


async def test_delegate_in_the_same_pool_stands_in_where_only_the_absent_one_fits(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        zed = await add_agent(session, "Zed", territories=[{"country": "US"}])
        yan = await add_agent(session, "Yan", territories=[{"country": "US"}])
        uma = await add_agent(
            session,
            "Uma",
            territories=[{"country": "BR"}],
            out_of_office_until=T0 + timedelta(days=1),
            delegate_id=yan,
        )
        await add_rule(session, "Team", [zed, yan, uma])

        during = await submit(session, "d1", T0)
        journey = await service.journey(session, during.lead.id)

    assert during.offer.agent_id == yan
    [decision] = journey["decisions"]
    assert [
        (c["agent_id"], c["reasons"], c["delegate_for"]) for c in shown_records(decision.candidates)
    ] == [
        (zed, ["territory does not cover BR/SP/01310-100"], None),
        (yan, ["territory does not cover BR/SP/01310-100"], None),
        (uma, ["out of office until 2026-06-02T12:00:00+00:00"], None),
        (yan, [], uma),
    ]


async def test_delegate_who_fits_in_their_own_right_is_offered_the_lead_once(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        yan = await add_agent(session, "Yan", territories=[{"country": "BR"}])
        uma = await add_agent(
            session,
            "Uma",
            territories=[{"country": "BR"}],
            out_of_office_until=T0 + timedelta(days=1),
            delegate_id=yan,
        )
        await add_rule(session, "Team", [yan, uma], strategy="broadcast")

        during = await submit(session, "d2", T0)
        journey = await service.journey(session, during.lead.id)

    [decision] = journey["decisions"]
    assert [o.agent_id for o in journey["offers"]] == [yan]
    assert [
        (c["agent_id"], c["reasons"], c["delegate_for"]) for c in shown_records(decision.candidates)
    ] == [
        (yan, [], None),
        (uma, ["out of office until 2026-06-02T12:00:00+00:00"], None),
        (yan, ["already a candidate in their own right"], uma),
    ]


# After acceptance


async def test_contact_timeout_reminds_the_owner_then_routes_on(sessions: Sessions) -> None:
    async with sessions() as session:
        a, b = await add_agent(session, "A"), await add_agent(session, "B")
        await add_rule(session, "All", [a, b], accept_timeout_s=600, contact_timeout_s=3600)
        result = await submit(session, "c1", T0)
        await service.accept_offer(session, result.offer.id, agent_id=a, now=minutes(1))

        early = await service.chase_overdue_contacts(session, now=minutes(60.99))
        reminded = await service.chase_overdue_contacts(session, now=minutes(61))
        offer = await session.get(Offer, result.offer.id)
        grace_ends = offer.contact_due_at
        still = await service.chase_overdue_contacts(session, now=minutes(70.99))
        moved = await service.chase_overdue_contacts(session, now=minutes(71))
        lead = await service.get_lead(session, result.lead.id)
        journey = await service.journey(session, lead.id)

    assert (early, reminded, still) == ([], [], [])
    assert grace_ends == minutes(71)  # as long again as the offer gave to accept
    assert [o.agent_id for o in moved] == [b]
    assert [(o.agent_id, o.status, o.withdrawn_reason) for o in journey["offers"]] == [
        (a, "withdrawn", "no_contact"),
        (b, "pending", None),
    ]
    assert (lead.status, lead.owner_id) == ("offered", None)
    assert [e.type for e in journey["events"]] == [
        "received",
        "offered",
        "accepted",
        "contact_overdue",
        "withdrawn",
        "offered",
    ]
    decision = journey["decisions"][1]
    assert decision.trigger == "contact_timeout"
    assert shown_records(decision.candidates)[0]["reasons"] == [
        "held this lead without contacting the prospect in time"
    ]


async def test_contact_in_time_stops_the_chase(sessions: Sessions) -> None:
    async with sessions() as session:
        a, b = await add_agent(session, "A"), await add_agent(session, "B")
        await add_rule(session, "All", [a, b], contact_timeout_s=3600)
        result = await submit(session, "c1", T0)
        await service.accept_offer(session, result.offer.id, agent_id=a, now=minutes(1))
        await service.log_activity(session, result.lead.id, agent_id=a, kind="call", now=minutes(2))

        moved = await service.chase_overdue_contacts(session, now=minutes(500))
        lead = await service.get_lead(session, result.lead.id)
        offer = await session.get(Offer, result.offer.id)

    assert moved == []
    assert (lead.status, lead.owner_id) == ("contacted", a)
    assert (offer.status, offer.contact_due_at) == ("accepted", None)


async def test_a_lead_closed_without_contact_leaves_no_deadline_to_chase(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        a = await add_agent(session, "A")
        await add_rule(session, "All", [a], contact_timeout_s=3600)
        result = await submit(session, "c1", T0)
        await service.accept_offer(session, result.offer.id, agent_id=a, now=minutes(1))
        await service.log_activity(
            session, result.lead.id, agent_id=a, kind="note", outcome="lost", now=minutes(2)
        )
        moved = await service.chase_overdue_contacts(session, now=minutes(500))
        lead = await service.get_lead(session, result.lead.id)
        offer = await session.get(Offer, result.offer.id)

    assert moved == []
    assert (lead.status, lead.first_contact_at) == ("lost", None)
    assert (offer.status, offer.contact_due_at) == ("accepted", None)


async def test_a_lead_contacted_before_it_changed_hands_sets_its_new_owner_no_deadline(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        a, b = await add_agent(session, "A"), await add_agent(session, "B")
        await add_rule(session, "All", [a], contact_timeout_s=3600)
        result = await submit(session, "c1", T0)
        await service.accept_offer(session, result.offer.id, agent_id=a, now=minutes(1))
        await service.log_activity(session, result.lead.id, agent_id=a, kind="call", now=minutes(2))
        await service.send_back_to_routing(session, result.lead.id, actor="manager", now=minutes(3))
        manual = await service.offer_to_agent(
            session, result.lead.id, b, actor="manager", accept_timeout_s=600, now=minutes(4)
        )
        await service.accept_offer(session, manual.id, agent_id=b, now=minutes(5))
        moved = await service.chase_overdue_contacts(session, now=minutes(500))
        taken = await session.get(Offer, manual.id)
        lead = await service.get_lead(session, result.lead.id)

    assert moved == []
    assert (taken.status, taken.contact_due_at) == ("accepted", None)
    assert (lead.owner_id, lead.first_contact_at) == (b, minutes(2))


# Why this rep


async def test_lead_shows_why_this_rep_with_candidates_ranks_and_scores(
    client: Client, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing_service, "SCORE_DRAWS", random.Random(11))
    ana = await make_agent(client, auth, "Ana", products=["wind"])
    bruno = await make_agent(client, auth, "Bruno")
    caio = await make_agent(client, auth, "Caio")
    rule = await make_rule(client, auth, "Scored", [ana, bruno, caio], strategy="score")
    first = await post_lead(client, auth, "y1")
    chosen = first["offer"]["agent_id"]
    link = await link_for(client, auth, chosen)
    await client.post(
        f"/api/v1/offers/{first['offer']['id']}/decline", json={"reason": "other"}, headers=link
    )

    body = (await client.get(f"/api/v1/leads/{first['lead_id']}", headers=auth)).json()

    first_decision, second_decision = body["decisions"]
    by_agent = {c["agent_id"]: c for c in first_decision["candidates"]}
    other = caio if chosen == bruno else bruno
    assert (first_decision["rule_id"], first_decision["strategy"]) == (rule, "score")
    assert (by_agent[ana]["eligible"], by_agent[ana]["reasons"]) == (
        False,
        ["does not handle product solar"],
    )
    assert by_agent[ana] == {
        "agent_id": ana,
        "name": "Ana",
        "eligible": False,
        "reasons": ["does not handle product solar"],
        "held_back": None,
        "rank": None,
        "load": None,
        "score": None,
        "tier": 1,
        "partner_id": None,
        "delegate_for": None,
    }
    assert (by_agent[chosen]["rank"], by_agent[other]["rank"]) == (1, 2)
    assert by_agent[chosen]["score"] >= by_agent[other]["score"]
    assert first_decision["explanation"] == (
        f"Scored: {by_agent[chosen]['name']} chosen, best draw from the pursuit scores "
        f"({by_agent[chosen]['score']:g}), then fewest open leads"
    )
    assert second_decision["agent_id"] == other
    assert [(c["agent_id"], c["rank"]) for c in second_decision["candidates"]] == [
        (ana, None),
        (bruno, 1 if other == bruno else None),
        (caio, 1 if other == caio else None),
    ]
    assert by_agent[chosen]["agent_id"] == chosen
    declined = next(c for c in second_decision["candidates"] if c["agent_id"] == chosen)
    assert declined["reasons"] == ["declined this lead before"]
