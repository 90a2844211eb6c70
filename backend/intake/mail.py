"""Mail to lead: who wrote, how to call them and what they asked, from one message.

Auto-replies and bounces are recognised (RFC 3834 and the headers mail systems add in
practice) and kept as ignored inquiries; nothing here ever sends a reply.
"""

from __future__ import annotations

import hashlib
import logging
import re
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import BadInput
from backend.intake.importer import lead_key
from backend.intake.inlets import split_name
from backend.intake.inquiries import Received, raw_text, record_unrouted, take_in
from backend.intake.models import Inlet
from backend.intake.service import TEXT_LIMITS, find_inquiry

logger = logging.getLogger(__name__)

BULK = ("bulk", "junk", "list", "auto_reply")
ROBOTS = ("mailer-daemon", "postmaster")
LABELLED = re.compile(r"^\s*([^:\n]{2,40}?)\s*:\s*(\S.*?)\s*$", re.MULTILINE)
# Labelled lines such as "Company: Lima Energia" fill these when the headers do not.
LABELLED_FIELDS = ("name", "first_name", "last_name", "phone", "company", "city", "address",
                   "region", "postal_code", "country", "product")  # fmt: skip
BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul"}


class _Text(HTMLParser):
    """Visible text of an HTML body, a line per block; scripts and styles dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.hidden += 1
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def parse(content: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)  # policy.default always builds one
    return message


def external_id(message: EmailMessage, content: bytes) -> str:
    """The Message-ID, so a mail delivered twice is one inquiry; a digest when it has none."""
    found = str(message.get("message-id", "")).strip().strip("<>").strip()
    if found:
        return found[:200]
    return "sha256:" + hashlib.sha256(content).hexdigest()


def why_ignored(message: EmailMessage, return_path: str | None) -> str | None:
    """Why a mail is an automatic one (an auto-reply, a bounce, a list); None for a person's."""
    auto = str(message.get("auto-submitted", "")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"an automatic mail (Auto-Submitted: {auto})"
    precedence = str(message.get("precedence", "")).strip().lower()
    if precedence in BULK:
        return f"an automatic mail (Precedence: {precedence})"
    for header in ("x-autoreply", "x-autorespond"):
        if header in message:
            return f"an auto-reply ({header.title()} header)"
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report (multipart/report)"
    if return_path is not None and return_path.strip() in ("", "<>"):
        return "a bounce (empty return path <>)"
    senders = [addr for _, addr in getaddresses([str(message.get("from", ""))])]
    if any(addr.split("@")[0].lower() in ROBOTS for addr in [*senders, return_path or ""]):
        return "a bounce (sent by a mailer daemon or postmaster)"
    return None


def _sender(message: EmailMessage) -> tuple[str | None, str | None]:
    """The display name and address to answer: Reply-To first, then From."""
    for header in ("reply-to", "from"):
        value = message.get(header)
        addresses: tuple[Address, ...] = getattr(value, "addresses", ())
        for address in addresses:
            if address.addr_spec and "@" in address.addr_spec:
                return (address.display_name or None), address.addr_spec
    return None, None


def body_text(message: EmailMessage) -> str:
    """The plain-text body, else the HTML one as text; decoded from any charset."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content).replace("\r\n", "\n")
    return html_text(text) if part.get_content_type() == "text/html" else text.strip()


def _labelled(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for label, value in LABELLED.findall(text):
        key = lead_key(label)
        if key in LABELLED_FIELDS and key not in found:
            found[key] = value
    return found


def first_phone(text: str, country: str | None) -> str | None:
    for match in phonenumbers.PhoneNumberMatcher(text, country):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


def lead_body(inlet: Inlet, content: bytes) -> dict[str, Any]:
    """A lead body from a mail; BadInput when it gives no way to reach its writer."""
    message = parse(content)
    display, address = _sender(message)
    text = body_text(message)
    labelled = _labelled(text)
    body: dict[str, Any] = {
        "source": inlet.source,
        "external_id": external_id(message, content),
        "email": address,
        "country": inlet.default_country,
    }
    name = display or labelled.pop("name", None)
    if name:
        body["first_name"], body["last_name"] = split_name(name)
    labelled.pop("name", None)
    body.update({key: value for key, value in labelled.items() if key != "phone"})
    searched = "\n".join([labelled.get("phone", ""), text])
    body["phone"] = first_phone(searched, inlet.default_country)

    subject = str(message.get("subject", "")).strip()
    message_text = "\n\n".join(part for part in (subject, text) if part)
    body["message"] = message_text[: TEXT_LIMITS["message"]] or None
    if not address and not body["phone"]:
        raise BadInput("The mail has no sender address and no phone number to reach anyone at.")
    return {key: value for key, value in body.items() if value is not None}


async def receive_mail(
    session: AsyncSession, inlet: Inlet, content: bytes, return_path: str | None
) -> Received:
    """Store one mail as an inquiry: routed, ignored as automatic, or failed with why."""
    raw = {"kind": "email", "inlet": inlet.slug, "mail": raw_text(content)}
    try:
        message = parse(content)
        mail_id = external_id(message, content)
        reason = why_ignored(message, return_path)
    except Exception as exc:
        # Whatever a mail holds, it is kept: refusing it would make the sender retry forever.
        mail_id = "sha256:" + hashlib.sha256(content).hexdigest()
        problem = f"The mail could not be read ({type(exc).__name__})."
        return await _keep(session, inlet, raw, mail_id, "failed", problem)
    if found := await find_inquiry(session, inlet.source, mail_id):
        logger.info("mail already received inquiry_id=%s", found.id)
        return Received(found, problem="delivered before")

    if reason:
        return await _keep(session, inlet, raw, mail_id, "ignored", f"Not a lead: {reason}.")
    try:
        body = lead_body(inlet, content)
    except BadInput as exc:
        return await _keep(session, inlet, raw, mail_id, "failed", exc.message)
    return await take_in(session, body, inlet="email", raw=raw)


async def _keep(
    session: AsyncSession,
    inlet: Inlet,
    raw: dict[str, Any],
    mail_id: str,
    status: str,
    reason: str,
) -> Received:
    kept = await record_unrouted(
        session, source=inlet.source, inlet="email", raw=raw, status=status, reason=reason,
        external_id=mail_id,
    )  # fmt: skip
    return Received(kept, problem=reason)
