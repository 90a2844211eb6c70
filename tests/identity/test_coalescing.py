"""Repeat inquiries through POST /api/v1/leads: which join their prospect's open lead, which
start a lead of their own, and a manager's split and merge."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import func, select

from backend.db import utcnow
from backend.identity.models import ProspectKey
from backend.intake.models import Inquiry
from backend.pursuit.models import Lead
from backend.settings import Settings
from tests.factories import Client, link_for, make_agent, make_rule
from tests.mail import Inbox

Body = dict[str, Any]


@pytest.fixture
def settings(settings: Settings, inbox: tuple[Inbox, str]) -> Settings:
    """The app mails its notices to the tests' own SMTP server."""
    return dataclasses.replace(settings, smtp_url=inbox[1])


async def post(client: Client, auth: dict[str, str], external_id: str, **fields: Any) -> Any:
    body = {"source": "web", "external_id": external_id, "country": "BR", **fields}
    return await client.post("/api/v1/leads", json=body, headers=auth)


async def lead_of(client: Client, auth: dict[str, str], lead_id: str) -> Body:
    response = await client.get(f"/api/v1/leads/{lead_id}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def events(lead: Body, kind: str) -> list[Body]:
    return [e for e in lead["events"] if e["type"] == kind]


@pytest.fixture
async def ana(client: Client, auth: dict[str, str]) -> str:
    """One rep, Ana, who takes every lead."""
    agent = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "All", [agent])
    return agent


async def test_all_caps_email_joins_the_open_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(client, auth, "f-1", first_name="Rita", email="rita.lima@example.org")

    again = await post(client, auth, "f-2", first_name="RITA", email="RITA.LIMA@EXAMPLE.ORG")
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {
        "inquiry_id": again.json()["inquiry_id"],
        "lead_id": first.json()["lead_id"],
        "coalesced": True,
        "status": "offered",
        "owner": None,
        "offer": first.json()["offer"],
    }
    assert lead["email"] == "rita.lima@example.org"
    assert [i["external_id"] for i in lead["inquiries"]] == ["f-1", "f-2"]
    [coalesced] = events(lead, "inquiry_coalesced")
    assert coalesced["actor"] == "system"
    assert coalesced["data"] == {
        "inquiry_id": again.json()["inquiry_id"],
        "source": "web",
        "inlet": "api",
        "lead_id": first.json()["lead_id"],
        "keys": ["email"],
        "scores": {},
        "offer_id": first.json()["offer"]["id"],
        "agent_id": ana,
    }


async def test_gmail_dots_and_tag_join_without_rewriting_the_address(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(client, auth, "g-1", email="rita.lima@gmail.com")

    again = await post(client, auth, "g-2", email="R.i.t.a.Lima+quote@googlemail.com")
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert again.status_code == 200 and again.json()["coalesced"] is True
    assert again.json()["lead_id"] == first.json()["lead_id"]
    assert lead["email"] == "rita.lima@gmail.com"
    assert lead["inquiries"][1]["payload"]["email"] == "R.i.t.a.Lima+quote@googlemail.com"


async def test_trunk_prefix_after_country_code_is_the_same_phone(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(client, auth, "p-1", last_name="Lima", phone="+44 (0)20 7946 0018")

    again = await post(client, auth, "p-2", last_name="Lima", phone="+442079460018")
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert again.json()["coalesced"] is True and again.json()["lead_id"] == lead["id"]
    assert lead["phone"] == "+442079460018"
    assert events(lead, "inquiry_coalesced")[0]["data"]["keys"] == ["phone"]


async def test_national_number_without_country_is_refused_and_nothing_stored(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    body = {"source": "web", "external_id": "n-1", "last_name": "Lima", "phone": "020 7946 0018"}

    response = await client.post("/api/v1/leads", json=body, headers=auth)
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(Inquiry))

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "phone '020 7946 0018' has no country code and no country was given to read it in; "
        "write it as +<country code> <number>, or give the country."
    )
    assert stored == 0


async def test_extensions_are_kept_apart(client: Client, auth: dict[str, str], ana: str) -> None:
    desk = await post(
        client, auth, "x-1", first_name="Rita", last_name="Lima", phone="+1 212-555-0100 ext. 42"
    )
    colleague = await post(
        client, auth, "x-2", first_name="Paulo", last_name="Reis", phone="+1 212 555 0100 x43"
    )
    same_desk = await post(
        client, auth, "x-3", first_name="Rita", last_name="Lima", phone="+1 (212) 555-0100 #42"
    )
    lead = await lead_of(client, auth, desk.json()["lead_id"])

    assert (lead["phone"], lead["phone_extension"]) == ("+12125550100", "42")
    assert colleague.status_code == 201 and colleague.json()["coalesced"] is False
    assert same_desk.json()["coalesced"] is True
    assert same_desk.json()["lead_id"] == desk.json()["lead_id"]


async def test_idn_domain_in_unicode_or_ascii_is_one_mailbox(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(client, auth, "i-1", email="jose@bücher.de")

    again = await post(client, auth, "i-2", email="JOSE@xn--bcher-kva.de")

    assert again.json()["coalesced"] is True
    assert again.json()["lead_id"] == first.json()["lead_id"]


async def test_name_and_company_join_across_legal_suffix_and_accents(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(
        client,
        auth,
        "c-1",
        first_name="José",
        last_name="Müller",
        company="Müller Technik GmbH",
        email="jose@muller-technik.example",
    )

    again = await post(
        client, auth, "c-2", first_name="Jose", last_name="Muller", company="MULLER TECHNIK LTD"
    )
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert again.json()["coalesced"] is True and again.json()["lead_id"] == lead["id"]
    [coalesced] = events(lead, "inquiry_coalesced")
    assert coalesced["data"]["keys"] == ["name_company"]
    assert coalesced["data"]["scores"] == {
        "first_name": 1.0,
        "last_name": 1.0,
        "company": 100.0,
        "weight": 24.46,
    }


async def test_typo_in_the_first_name_joins_the_open_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(
        client, auth, "t-1", first_name="Jonathan", last_name="Pereira", postal_code="01310-100"
    )

    again = await post(
        client, auth, "t-2", first_name="Jonahtan", last_name="Pereira", postal_code="01310100"
    )
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert (again.status_code, again.json()["lead_id"]) == (200, lead["id"])
    [coalesced] = events(lead, "inquiry_coalesced")
    assert coalesced["data"]["keys"] == ["name_area", "name_postal"]
    assert coalesced["data"]["scores"] == {
        "first_name": 0.975,
        "last_name": 1.0,
        "postal_code": 1.0,
        "weight": 24.46,
    }


async def test_typo_in_the_postal_code_meets_by_the_sound_of_the_name(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = await post(
        client, auth, "p-1", first_name="Flynn", last_name="Rokobaro", postal_code="2227"
    )

    again = await post(
        client, auth, "p-2", first_name="Flynn", last_name="Rokobaro", postal_code="2272"
    )
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert (again.status_code, again.json()["lead_id"]) == (200, lead["id"])
    [coalesced] = events(lead, "inquiry_coalesced")
    assert coalesced["data"]["keys"] == ["name_area"]
    assert coalesced["data"]["scores"] == {
        "first_name": 1.0,
        "last_name": 1.0,
        "postal_code": 0.5,
        "weight": 17.71,
    }


async def test_a_household_at_one_address_stays_two_leads(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    place = {"last_name": "Souza", "postal_code": "01310-100", "city": "São Paulo"}
    carla = await post(client, auth, "h-1", first_name="Carla", **place)

    marta = await post(client, auth, "h-2", first_name="Marta", **place)
    again = await post(client, auth, "h-3", first_name="Carla", **place)

    assert marta.status_code == 201 and marta.json()["coalesced"] is False
    assert marta.json()["lead_id"] != carla.json()["lead_id"]
    assert (again.status_code, again.json()["lead_id"]) == (200, carla.json()["lead_id"])


async def test_a_household_at_one_street_address_joins_one_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    place = {"last_name": "Souza", "postal_code": "01310-100", "city": "São Paulo"}
    carla = await post(
        client, auth, "a-1", first_name="Carla", address="Rua Augusta, 1500, apto 42", **place
    )

    marta = await post(
        client, auth, "a-2", first_name="Marta", address="R. Augusta 1500 - Apto. 42", **place
    )
    lead = await lead_of(client, auth, carla.json()["lead_id"])

    assert (marta.status_code, marta.json()["lead_id"]) == (200, lead["id"])
    assert lead["address"] == "Rua Augusta, 1500, apto 42"
    [coalesced] = events(lead, "inquiry_coalesced")
    assert coalesced["data"]["keys"] == [
        "address_name",
        "address_postal",
        "name_city",
        "name_postal",
    ]
    assert coalesced["data"]["scores"] == {
        "first_name": 0.733,
        "last_name": 1.0,
        "address": 1.0,
        "house_number": 1.0,
        "postal_code": 1.0,
        "city": 1.0,
        "one_home": 1.0,
        "weight": 30.72,
    }


async def test_a_household_with_its_own_emails_still_joins_one_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    home = {"last_name": "Souza", "postal_code": "01310-100", "address": "Rua Augusta 1500"}
    carla = await post(client, auth, "e-1", first_name="Carla", email="carla@example.org", **home)

    marta = await post(client, auth, "e-2", first_name="Marta", email="marta@example.org", **home)

    assert (marta.status_code, marta.json()["lead_id"]) == (200, carla.json()["lead_id"])


async def test_a_household_name_at_another_house_number_stays_two_leads(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    place = {"last_name": "Souza", "postal_code": "01310-100", "city": "São Paulo"}
    carla = await post(client, auth, "n-1", first_name="Carla", address="Rua Augusta 1500", **place)

    marta = await post(client, auth, "n-2", first_name="Marta", address="Rua Augusta 1502", **place)

    assert marta.status_code == 201 and marta.json()["coalesced"] is False
    assert marta.json()["lead_id"] != carla.json()["lead_id"]


async def test_one_central_line_at_two_street_addresses_is_two_sites(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    line = {"company": "Erie House", "phone": "+1 312 432 2213", "country": "US"}
    first = await post(client, auth, "c-1", address="4414 N Christiana Ave", **line)

    other = await post(client, auth, "c-2", address="1656 N Springfield Ave", **line)
    same = await post(client, auth, "c-3", address="4414 North Christiana Avenue", **line)

    assert other.status_code == 201 and other.json()["lead_id"] != first.json()["lead_id"]
    assert (same.status_code, same.json()["lead_id"]) == (200, first.json()["lead_id"])


async def test_two_people_at_one_company_stay_two_leads(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    anna = await post(
        client,
        auth,
        "s-1",
        first_name="Anna",
        last_name="Schmidt",
        company="Acme GmbH",
        postal_code="01310-100",
    )

    peter = await post(
        client,
        auth,
        "s-2",
        first_name="Peter",
        last_name="Schmidt",
        company="ACME Ltd",
        postal_code="01310-100",
    )

    assert peter.status_code == 201 and peter.json()["coalesced"] is False
    assert peter.json()["lead_id"] != anna.json()["lead_id"]


async def test_one_mailbox_under_another_name_is_another_prospect(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    rita = await post(
        client, auth, "m-1", first_name="Rita", last_name="Lima", email="casa@example.org"
    )

    pedro = await post(
        client, auth, "m-2", first_name="Pedro", last_name="Alves", email="CASA@example.org"
    )
    again = await post(
        client, auth, "m-3", first_name="Rita", last_name="Lima", email="casa@example.org"
    )

    assert pedro.status_code == 201 and pedro.json()["coalesced"] is False
    assert pedro.json()["lead_id"] != rita.json()["lead_id"]
    assert (again.status_code, again.json()["lead_id"]) == (200, rita.json()["lead_id"])


async def test_inquiry_after_the_window_starts_a_new_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    start = utcnow() - timedelta(days=70)
    first = await post(client, auth, "w-1", email="rita@example.org", received_at=start.isoformat())
    inside = await post(
        client,
        auth,
        "w-2",
        email="rita@example.org",
        received_at=(start + timedelta(days=29)).isoformat(),
    )

    # 31 days after the latest inquiry on the lead, not after the first one.
    late = await post(
        client,
        auth,
        "w-3",
        email="rita@example.org",
        received_at=(start + timedelta(days=29 + 31)).isoformat(),
    )

    assert inside.json()["coalesced"] is True
    assert inside.json()["lead_id"] == first.json()["lead_id"]
    assert late.status_code == 201 and late.json()["coalesced"] is False
    assert late.json()["lead_id"] != first.json()["lead_id"]


async def _closed_lead_of_ana(client: Client, auth: dict[str, str]) -> tuple[str, str, Body]:
    """Ana and Bruno take turns; Ana wins the prospect's first lead."""
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "All", [ana, bruno], strategy="round_robin")
    first = (await post(client, auth, "r-1", email="rita@example.org")).json()
    link = await link_for(client, auth, ana)
    await client.post(f"/api/v1/offers/{first['offer']['id']}/accept", headers=link)
    won = await client.post(
        f"/api/v1/leads/{first['lead_id']}/activities",
        json={"kind": "call", "outcome": "won"},
        headers=link,
    )
    assert won.status_code == 201, won.text
    return ana, bruno, first


async def test_return_after_a_closed_lead_goes_to_the_previous_owner_first(
    client: Client, auth: dict[str, str]
) -> None:
    ana, _, first = await _closed_lead_of_ana(client, auth)

    back = await post(client, auth, "r-2", email="RITA@example.org")
    lead = await lead_of(client, auth, back.json()["lead_id"])

    assert back.status_code == 201 and back.json()["coalesced"] is False
    assert back.json()["offer"]["agent_id"] == ana  # the rotation alone gives Bruno the turn
    assert lead["previous_lead_id"] == first["lead_id"]
    [returning] = events(lead, "returning_prospect")
    assert returning["data"] == {
        "previous_lead_id": first["lead_id"],
        "previous_owner_id": ana,
        "evidence": {"lead_id": first["lead_id"], "keys": ["email"], "scores": {}},
    }
    assert lead["decisions"][0]["explanation"] == (
        "All: Ana chosen, the prospect's previous owner, who is eligible again"
    )


async def test_return_goes_to_the_rotation_while_the_previous_owner_is_away(
    client: Client, auth: dict[str, str]
) -> None:
    ana, bruno, first = await _closed_lead_of_ana(client, auth)
    away = (utcnow() + timedelta(days=7)).isoformat()
    await client.patch(f"/api/v1/agents/{ana}", json={"out_of_office_until": away}, headers=auth)

    back = await post(client, auth, "r-2", email="rita@example.org")
    lead = await lead_of(client, auth, back.json()["lead_id"])

    assert back.json()["offer"]["agent_id"] == bruno
    assert lead["previous_lead_id"] == first["lead_id"]


async def test_owner_is_mailed_when_the_prospect_asks_again(
    app: Litestar, client: Client, auth: dict[str, str], ana: str, inbox: tuple[Inbox, str]
) -> None:
    first = await post(client, auth, "m-1", first_name="Rita", last_name="Lima", email="r@x.org")
    await app.state.notifier.drain()
    offers_mailed = len(inbox[0].envelopes)

    await post(client, auth, "m-2", first_name="Rita", last_name="Lima", email="R@x.org")
    await app.state.notifier.drain()
    [mail] = inbox[0].envelopes[offers_mailed:]
    message = message_from_bytes(mail.content)
    lead = await lead_of(client, auth, first.json()["lead_id"])

    assert offers_mailed == 1
    assert mail.rcpt_tos == ["ana@example.com"]
    assert message["Subject"] == "Asked again: Rita Lima"
    assert "The same prospect asked again, through web (api)." in message.get_payload()
    notified = [e["data"]["channel"] for e in events(lead, "notified")]
    assert notified == ["email", "email"]


async def test_split_takes_an_inquiry_out_into_its_own_routed_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    first = (await post(client, auth, "sp-1", email="shared@example.org")).json()
    wrong = (await post(client, auth, "sp-2", email="Shared@example.org", last_name="Reis")).json()

    response = await client.post(f"/api/v1/inquiries/{wrong['inquiry_id']}/split", headers=auth)
    split_off, old = response.json(), await lead_of(client, auth, first["lead_id"])
    again = await client.post(f"/api/v1/inquiries/{wrong['inquiry_id']}/split", headers=auth)

    assert response.status_code == 200
    assert split_off["id"] != first["lead_id"] and split_off["status"] == "offered"
    assert [i["id"] for i in split_off["inquiries"]] == [wrong["inquiry_id"]]
    assert [i["id"] for i in old["inquiries"]] == [first["inquiry_id"]]
    assert events(old, "inquiry_split")[0]["data"] == {
        "inquiry_id": wrong["inquiry_id"],
        "to_lead_id": split_off["id"],
    }
    assert events(split_off, "split_from")[0]["actor"].startswith("api_key:")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"Inquiry {wrong['inquiry_id']} is the only one on its lead; it is already apart."
    )


async def test_merge_moves_inquiries_and_ends_the_other_lead(
    client: Client, auth: dict[str, str], ana: str, sessions: Any
) -> None:
    into = (await post(client, auth, "mg-1", email="rita@example.org")).json()
    other = (await post(client, auth, "mg-2", email="rita.lima@work.example")).json()

    response = await client.post(
        f"/api/v1/leads/{into['lead_id']}/merge",
        json={"from_lead_id": other["lead_id"]},
        headers=auth,
    )
    merged, ended = response.json(), await lead_of(client, auth, other["lead_id"])
    later = await post(client, auth, "mg-3", email="rita.lima@work.example")
    async with sessions() as session:
        filed = await session.scalars(
            select(ProspectKey.lead_id).where(ProspectKey.kind == "email")
        )

    assert response.status_code == 200
    assert [i["id"] for i in merged["inquiries"]] == [into["inquiry_id"], other["inquiry_id"]]
    assert events(merged, "lead_merged")[0]["data"] == {
        "from_lead_id": other["lead_id"],
        "inquiry_ids": [other["inquiry_id"]],
    }
    assert ended["status"] == "merged" and ended["inquiries"] == []
    assert [o["status"] for o in ended["offers"]] == ["withdrawn"]
    assert events(ended, "merged_into")[0]["data"] == {"into_lead_id": into["lead_id"]}
    assert later.json()["lead_id"] == into["lead_id"]
    assert set(filed.all()) == {into["lead_id"]}


async def test_merge_refuses_a_lead_into_itself_and_an_unknown_lead(
    client: Client, auth: dict[str, str], ana: str
) -> None:
    lead = (await post(client, auth, "mx-1", email="rita@example.org")).json()["lead_id"]

    itself = await client.post(
        f"/api/v1/leads/{lead}/merge", json={"from_lead_id": lead}, headers=auth
    )
    unknown = await client.post(
        f"/api/v1/leads/{lead}/merge", json={"from_lead_id": "nope"}, headers=auth
    )
    missing = await client.post(f"/api/v1/leads/{lead}/merge", json={}, headers=auth)

    assert (itself.status_code, itself.json()["detail"]) == (
        422,
        "A lead cannot be merged into itself.",
    )
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "Lead nope does not exist.")
    assert (missing.status_code, missing.json()["detail"]) == (
        422,
        "Name the lead to merge in as from_lead_id.",
    )


async def test_merge_refuses_a_closed_lead_either_way_and_changes_nothing(
    client: Client, auth: dict[str, str]
) -> None:
    _, _, won = await _closed_lead_of_ana(client, auth)
    open_lead = (await post(client, auth, "mw-1", email="other@example.org")).json()

    away = await client.post(
        f"/api/v1/leads/{open_lead['lead_id']}/merge",
        json={"from_lead_id": won["lead_id"]},
        headers=auth,
    )
    onto = await client.post(
        f"/api/v1/leads/{won['lead_id']}/merge",
        json={"from_lead_id": open_lead["lead_id"]},
        headers=auth,
    )
    still_won = await lead_of(client, auth, won["lead_id"])
    still_open = await lead_of(client, auth, open_lead["lead_id"])

    refusal = (
        f"Lead {won['lead_id']} is closed as won: merging would hide its outcome or leave "
        "inquiries on a lead nobody pursues. Only open leads are merged."
    )
    assert (away.status_code, away.json()["detail"]) == (409, refusal)
    assert (onto.status_code, onto.json()["detail"]) == (409, refusal)
    assert (still_won["status"], still_open["status"]) == ("won", "offered")
    assert [i["id"] for i in still_won["inquiries"]] == [won["inquiry_id"]]
    assert [i["id"] for i in still_open["inquiries"]] == [open_lead["inquiry_id"]]


async def test_same_external_id_posted_concurrently_makes_one_lead_and_one_inquiry(
    client: Client, auth: dict[str, str], ana: str, sessions: Any
) -> None:
    answers = await asyncio.gather(
        *(post(client, auth, "dup-1", email="rita@example.org") for _ in range(4))
    )
    async with sessions() as session:
        inquiries = await session.scalar(select(func.count()).select_from(Inquiry))
        leads = await session.scalar(select(func.count()).select_from(Lead))

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert (inquiries, leads) == (1, 1)


async def test_one_new_prospect_asking_twice_at_once_makes_one_lead(
    client: Client, auth: dict[str, str], ana: str, sessions: Any
) -> None:
    answers = await asyncio.gather(
        post(client, auth, "both-1", email="rita@example.org"),
        post(client, auth, "both-2", email="Rita@Example.org"),
    )
    async with sessions() as session:
        leads = await session.scalar(select(func.count()).select_from(Lead))

    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.json()["lead_id"] for a in answers}) == 1
    assert leads == 1
