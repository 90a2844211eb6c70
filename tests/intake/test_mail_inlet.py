"""Mail to lead over a real SMTP exchange: what becomes a lead, and what is only kept."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import pytest
from sqlalchemy import select

from backend.app import create_app
from backend.intake.models import Inquiry
from backend.intake.smtp import MailInlet
from backend.settings import Settings
from tests.intake.conftest import make_inlet
from tests.mail import free_port

TO = "leads@inlet.example"


@pytest.fixture
async def smtp_port(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: Any
) -> AsyncIterator[int]:
    await make_inlet(
        client, auth, kind="email", slug="leads", source="mailbox", default_country="BR"
    )
    inlet = MailInlet(sessions, "127.0.0.1", free_port())
    await inlet.start()
    yield inlet.port
    await inlet.stop()


def mail(
    sender: str, subject: str, text: str | None = None, html: str | None = None, **headers: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, TO, subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        message.set_content(html, subtype="html")
    return message


async def send(port: int, message: EmailMessage | bytes, sender: str = "rita@example.org") -> None:
    await aiosmtplib.send(message, sender=sender, recipients=[TO], hostname="127.0.0.1", port=port)


async def stored(sessions: Any) -> list[Inquiry]:
    async with sessions() as session:
        return list((await session.scalars(select(Inquiry).order_by(Inquiry.received_at))).all())


async def test_plain_mail_becomes_a_lead(smtp_port: int, sessions: Any, rep: str) -> None:
    body = (
        "Olá,\nquero um orçamento de energia solar.\n"
        "Empresa: Lima Energia\nLigue: (11) 99123-4567\n"
    )

    await send(
        smtp_port,
        mail("Rita Lima <Rita@Example.org>", "Orçamento", body, Message_ID="<m-1@example.org>"),
    )

    [inquiry] = await stored(sessions)
    assert (inquiry.inlet, inquiry.source, inquiry.external_id) == (
        "email",
        "mailbox",
        "m-1@example.org",
    )
    assert inquiry.status == "processed"
    assert inquiry.lead_id is not None
    payload = inquiry.payload
    assert (payload["first_name"], payload["last_name"]) == ("Rita", "Lima")
    assert payload["email"] == "Rita@Example.org"
    assert payload["phone"] == "+5511991234567"
    assert payload["company"] == "Lima Energia"
    assert payload["country"] == "BR"
    assert payload["message"] == f"Orçamento\n\n{body.strip()}"


async def test_html_only_mail_prefers_reply_to(smtp_port: int, sessions: Any, rep: str) -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body>"
        "<p>New enquiry from the site</p><p>Name: Ana Reis<br>Phone: +1 617-555-0100</p>"
        "<script>track()</script></body></html>"
    )

    await send(
        smtp_port,
        mail(
            "Website <forms@site.example>",
            "Contact form",
            html=html,
            Reply_To="Ana Reis <ana@example.org>",
        ),
    )

    [inquiry] = await stored(sessions)
    assert inquiry.status == "processed"
    assert inquiry.payload["email"] == "ana@example.org"
    assert (inquiry.payload["first_name"], inquiry.payload["last_name"]) == ("Ana", "Reis")
    assert inquiry.payload["phone"] == "+16175550100"
    assert inquiry.payload["message"] == (
        "Contact form\n\nNew enquiry from the site\n\nName: Ana Reis\nPhone: +1 617-555-0100"
    )


async def test_iso_8859_1_mail_keeps_the_accented_name(
    smtp_port: int, sessions: Any, rep: str
) -> None:
    raw = (
        b"From: =?iso-8859-1?q?Jos=E9_M=FCller?= <jose@example.org>\r\n"
        b"To: leads@inlet.example\r\n"
        b"Subject: =?iso-8859-1?q?Cota=E7=E3o?=\r\n"
        b"Message-ID: <latin@example.org>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "Preciso de uma cotação. São Paulo, tel 11 3456-7890\r\n".encode("iso-8859-1")
    )

    await send(smtp_port, raw)

    [inquiry] = await stored(sessions)
    assert inquiry.status == "processed"
    assert (inquiry.payload["first_name"], inquiry.payload["last_name"]) == ("José", "Müller")
    assert inquiry.payload["phone"] == "+551134567890"
    assert (
        inquiry.payload["message"]
        == "Cotação\n\nPreciso de uma cotação. São Paulo, tel 11 3456-7890"
    )


async def test_auto_reply_is_kept_as_ignored_without_a_lead(
    smtp_port: int, sessions: Any, rep: str
) -> None:
    reply = mail(
        "Rita <rita@example.org>", "Out of office", "Back Monday.", Auto_Submitted="auto-replied"
    )

    await send(smtp_port, reply)

    [inquiry] = await stored(sessions)
    assert (inquiry.status, inquiry.lead_id) == ("ignored", None)
    assert inquiry.error == "Not a lead: an automatic mail (Auto-Submitted: auto-replied)."


async def test_bounce_from_mailer_daemon_is_ignored(
    smtp_port: int, sessions: Any, rep: str
) -> None:
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example>"
    bounce["To"], bounce["Subject"] = TO, "Undelivered Mail Returned to Sender"
    bounce.set_content("Your message could not be delivered.")

    await send(smtp_port, bounce, sender="")

    [inquiry] = await stored(sessions)
    assert (inquiry.status, inquiry.lead_id) == ("ignored", None)
    assert inquiry.error == "Not a lead: a bounce (empty return path <>)."


async def test_postmaster_sender_is_ignored(smtp_port: int, sessions: Any) -> None:
    await send(
        smtp_port,
        mail("postmaster@mx.example", "Delivery report", "x"),
        sender="postmaster@mx.example",
    )

    [inquiry] = await stored(sessions)
    assert inquiry.error == "Not a lead: a bounce (sent by a mailer daemon or postmaster)."


async def test_same_message_id_twice_is_one_inquiry(
    smtp_port: int, sessions: Any, rep: str
) -> None:
    message = mail("Rita <rita@example.org>", "Hi", "Call me", Message_ID="<twice@example.org>")

    await send(smtp_port, message)
    await send(smtp_port, message)

    inquiries = await stored(sessions)
    assert [(i.external_id, i.status) for i in inquiries] == [("twice@example.org", "processed")]


async def test_mail_without_a_way_to_reach_anyone_fails_with_why(
    smtp_port: int, sessions: Any
) -> None:
    await send(smtp_port, mail("Website", "Form", "Someone asked about prices."))

    [inquiry] = await stored(sessions)
    assert inquiry.status == "failed"
    assert inquiry.error == "The mail has no sender address and no phone number to reach anyone at."
    assert "Someone asked about prices." in inquiry.payload["raw"]["mail"]["text"]


async def test_unknown_recipient_is_refused(smtp_port: int) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await aiosmtplib.send(
            mail("a@example.org", "x", "y"), recipients=["nobody@inlet.example"],
            hostname="127.0.0.1", port=smtp_port,
        )  # fmt: skip

    [error] = refused.value.recipients
    assert error.code == 550
    assert error.message == "5.1.1 No email inlet is called 'nobody' here"


async def test_server_starts_the_inlet_when_a_port_is_set(
    settings: Settings, auth: dict[str, str]
) -> None:
    port = free_port()
    app = create_app(dataclasses.replace(settings, smtp_inlet_port=port))

    async with app.lifespan():
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        code, _ = await smtp.noop()
        await smtp.quit()
    await asyncio.sleep(0)

    assert code == 250
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=2).connect()


async def test_failed_mail_is_retried_once_the_inlet_knows_its_country(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: Any, rep: str
) -> None:
    await make_inlet(client, auth, kind="email", slug="leads", source="mailbox")
    inlet = MailInlet(sessions, "127.0.0.1", free_port())
    await inlet.start()
    message = mail("Website", "Form", "Ligar para 11 3456-7890", Message_ID="<retry@example.org>")
    await send(inlet.port, message)
    await inlet.stop()
    [failed] = (await client.get("/api/v1/inquiries?status=failed", headers=auth)).json()["items"]
    await client.patch("/api/v1/inlets/leads", json={"default_country": "BR"}, headers=auth)

    response = await client.post(f"/api/v1/inquiries/{failed['id']}/retry", headers=auth)

    assert failed["reason"] == (
        "The mail has no sender address and no phone number to reach anyone at."
    )
    assert response.status_code == 200
    assert response.json()["inquiry_id"] == failed["id"]
    assert response.json()["status"] == "offered"
    after = (await client.get(f"/api/v1/inquiries/{failed['id']}", headers=auth)).json()
    assert (after["status"], after["external_id"]) == ("processed", "retry@example.org")
    assert after["payload"]["phone"] == "+551134567890"
