"""`POST /api/v1/leads/batch`: every item answered on its own, one bad item blocking none."""

from __future__ import annotations

import httpx

from tests.factories import lead_body


async def test_batch_answers_each_item(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    first = await client.post("/api/v1/leads", json=lead_body("b-0"), headers=auth)
    leads = [
        lead_body("b-1", phone=None),
        {"source": "web", "external_id": "b-2", "email": "not-an-address"},
        lead_body("b-0"),
        {"external_id": "b-4", "email": "x@example.org"},
        "just a string",
        {"source": "web", "external_id": "b-6", "company": "Acme", "value": -5},
    ]

    response = await client.post("/api/v1/leads/batch", json={"leads": leads}, headers=auth)

    assert response.status_code == 200
    body = response.json()
    items = body["items"]
    assert [item["index"] for item in items] == [0, 1, 2, 3, 4, 5]
    assert [item["status_code"] for item in items] == [201, 422, 200, 422, 422, 422]
    assert items[0]["status"] == "offered"
    assert items[0]["offer"]["agent_id"] == rep
    assert items[0]["coalesced"] is False
    assert items[2]["lead_id"] == first.json()["lead_id"]
    assert items[1]["detail"].startswith("email 'not-an-address' is not a valid address")
    assert items[3]["detail"] == "The inquiry is not valid: source is missing."
    assert items[4]["detail"] == "Each lead must be a JSON object."
    assert items[5]["detail"] == "value -5.0 must not be negative."
    assert (body["created"], body["coalesced"], body["replayed"], body["failed"]) == (1, 0, 1, 4)


async def test_batch_over_1000_is_413(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    leads = [{"source": "web", "company": "A"}] * 1001

    response = await client.post("/api/v1/leads/batch", json={"leads": leads}, headers=auth)

    assert response.status_code == 413
    assert response.json()["detail"] == (
        "A batch holds at most 1,000 leads and this one has 1,001; send it in smaller batches."
    )


async def test_batch_needs_a_list(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    empty = await client.post("/api/v1/leads/batch", json={"leads": []}, headers=auth)
    wrong = await client.post("/api/v1/leads/batch", json=[{"source": "web"}], headers=auth)
    anonymous = await client.post("/api/v1/leads/batch", json={"leads": [{}]})

    assert empty.status_code == 422
    assert empty.json()["detail"] == "leads is empty; send from 1 to 1,000 leads."
    assert wrong.status_code == 400
    assert anonymous.status_code == 401


async def test_batch_replay_with_idempotency_key(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    headers = {**auth, "Idempotency-Key": "batch-1"}
    batch = {"leads": [lead_body("k-1", phone=None)]}

    first = await client.post("/api/v1/leads/batch", json=batch, headers=headers)
    again = await client.post("/api/v1/leads/batch", json=batch, headers=headers)

    assert first.json() == again.json()
    assert first.json()["items"][0]["status_code"] == 201


async def test_batch_sent_twice_counts_replays_not_joins(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    leads = [lead_body("r-1"), lead_body("r-2"), lead_body("r-3", email="r-1@example.org")]

    first = await client.post("/api/v1/leads/batch", json={"leads": leads}, headers=auth)
    again = await client.post("/api/v1/leads/batch", json={"leads": leads}, headers=auth)

    counts = ("created", "coalesced", "replayed", "failed")
    assert [first.json()[key] for key in counts] == [2, 1, 0, 0]
    assert [again.json()[key] for key in counts] == [0, 0, 3, 0]
    assert [item["status_code"] for item in again.json()["items"]] == [200, 200, 200]
    assert [item["coalesced"] for item in again.json()["items"]] == [False, False, True]


async def test_inquiries_filtered_by_coalesced_list_the_joined_one(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    leads = [lead_body("j-1"), lead_body("j-2", email="j-1@example.org")]
    answered = await client.post("/api/v1/leads/batch", json={"leads": leads}, headers=auth)

    response = await client.get("/api/v1/inquiries?status=coalesced", headers=auth)

    assert response.status_code == 200
    [item] = response.json()["items"]
    joined = answered.json()["items"][1]
    assert (item["id"], item["external_id"], item["status"], item["lead_id"]) == (
        joined["inquiry_id"],
        "j-2",
        "coalesced",
        answered.json()["items"][0]["lead_id"],
    )
