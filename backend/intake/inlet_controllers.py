"""Inlets over HTTP: lead batches, failed inquiries, inlet settings and the public web form."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.idempotency import IdempotencyKey, run_once
from backend.access.service import Actor, require_api_key
from backend.errors import BadInput, NotFound, PursuitError, TooLarge
from backend.intake import inlets, inquiries
from backend.intake.controllers import intake_json
from backend.intake.models import Inlet
from backend.intake.service import printable, submit_inquiry

logger = logging.getLogger(__name__)

BATCH_LIMIT = 1000
RATE_WINDOW_S = 60
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _batch_item(session: AsyncSession, index: int, item: Any) -> tuple[dict[str, Any], str]:
    """One item's answer (its intake answer and status code, or the sentence refusing it)
    and what became of it: created, coalesced, replayed or failed."""
    try:
        if not isinstance(item, dict):
            raise BadInput("Each lead must be a JSON object.")
        result = await submit_inquiry(session, inquiries.lead_in(item), inlet="batch")
    except PursuitError as exc:
        return {"index": index, "status_code": exc.status_code, "detail": exc.message}, "failed"
    except Exception:
        # Stored before routing failed: the inquiry waits in the failed list for a retry.
        logger.exception("batch item not routed index=%d", index)
        detail = "The inquiry was stored but could not be routed; it is listed as failed."
        return {"index": index, "status_code": 500, "detail": detail}, "failed"
    status_code = 201 if result.created else 200
    answer = {"index": index, "status_code": status_code, **intake_json(result)}
    if result.replayed:
        return answer, "replayed"
    return answer, "coalesced" if result.coalesced else "created"


def _tally(outcomes: list[str]) -> dict[str, int]:
    """How many items made a lead, joined an open one, replayed an earlier one, or failed."""
    return {kind: outcomes.count(kind) for kind in ("created", "coalesced", "replayed", "failed")}


def _batch_leads(data: Any) -> list[Any]:
    leads = data.get("leads") if isinstance(data, dict) else None
    if not isinstance(leads, list):
        raise BadInput(
            'The body must be {"leads": [...]}, a list of leads as POST /api/v1/leads takes.'
        )
    if not leads:
        raise BadInput("leads is empty; send from 1 to 1,000 leads.")
    if len(leads) > BATCH_LIMIT:
        raise TooLarge(
            f"A batch holds at most {BATCH_LIMIT:,} leads and this one has {len(leads):,}; "
            "send it in smaller batches."
        )
    return leads


class LeadBatchController(Controller):
    path = "/api/v1/leads/batch"
    dependencies = ACTOR
    tags = ["leads"]

    @post("/", summary="Submit up to 1,000 inquiries, answered one by one", status_code=200)
    async def submit_batch(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[dict[str, Any]],
        idempotency_key: IdempotencyKey,
    ) -> Response[Any]:
        """Each item is answered as ``POST /api/v1/leads`` would, under its ``index``."""
        require_api_key(actor)
        leads = _batch_leads(data)

        async def action() -> tuple[int, dict[str, Any]]:
            answered = [await _batch_item(db_session, i, item) for i, item in enumerate(leads)]
            items = [item for item, _ in answered]
            counts = _tally([outcome for _, outcome in answered])
            logger.info("lead batch answered items=%d failed=%d", len(items), counts["failed"])
            return 200, {"items": items, **counts}

        return await run_once(db_session, actor, "leads/batch", idempotency_key, action, data)


class InquiryController(Controller):
    path = "/api/v1/inquiries"
    dependencies = ACTOR
    tags = ["inquiries"]

    @get("/", summary="List inquiries as received, newest first")
    async def index(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        status: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        require_api_key(actor)
        rows, next_cursor = await inquiries.list_inquiries(db_session, status, limit, cursor)
        return {"items": [inquiries.inquiry_json(row) for row in rows], "next_cursor": next_cursor}

    @get("/{inquiry_id:str}", summary="One inquiry with its payload as received")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        inquiry_id: FromPath[str],
    ) -> dict[str, Any]:
        require_api_key(actor)
        return inquiries.inquiry_json(await inquiries.get_inquiry(db_session, inquiry_id))

    @post("/{inquiry_id:str}/retry", summary="Run a failed inquiry through intake again")
    async def retry(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        inquiry_id: FromPath[str],
    ) -> Response[Any]:
        """200 with the intake answer; 422 with the reason when it fails again."""
        require_api_key(actor)
        received = await inquiries.retry_inquiry(db_session, inquiry_id)
        if received.result is None:
            raise BadInput(
                f"Inquiry {inquiry_id} failed again: {received.problem}",
                inquiry_id=received.inquiry.id if received.inquiry else inquiry_id,
            )
        return Response(intake_json(received.result), status_code=200)


class InletController(Controller):
    path = "/api/v1/inlets"
    dependencies = ACTOR
    tags = ["inlets"]

    @post("/", summary="Create a web form, mailbox or CSV inlet", status_code=201)
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        require_api_key(actor)
        return inlets.inlet_json(await inlets.create_inlet(db_session, data))

    @patch("/{slug:str}", summary="Change an inlet's settings")
    async def change(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        require_api_key(actor)
        return inlets.inlet_json(await inlets.update_inlet(db_session, slug, data))

    @get("/", summary="List inlets")
    async def index(
        self, db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        require_api_key(actor)
        return {"items": [inlets.inlet_json(i) for i in await inlets.list_inlets(db_session)]}


INPUT_TYPES = {"email": "email", "phone": "tel", "value": "number"}
AUTOCOMPLETE = {
    "name": "name", "first_name": "given-name", "last_name": "family-name", "email": "email",
    "phone": "tel", "company": "organization", "postal_code": "postal-code",
    "address": "address-line1", "city": "address-level2", "region": "address-level1",
    "country": "country",
}  # fmt: skip


def _form_page(
    inlet: Inlet, status_code: int = 200, values: dict[str, str] | None = None, **context: Any
) -> Template:
    inputs = [
        {
            "name": name,
            "target": target,
            "label": inlets.LABELS.get(target, target.replace("_", " ").capitalize()),
            "type": INPUT_TYPES.get(target, "text"),
            "autocomplete": AUTOCOMPLETE.get(target, "off"),
        }
        for name, target in inlets.form_inputs(inlet)
    ]
    return Template(
        template_name="intake/form.html",
        context={
            "inlet": inlet,
            "inputs": inputs,
            "values": values or {},
            "honeypot": inlets.HONEYPOT,
            "problem": None,
            **context,
        },
        status_code=status_code,
    )


def _missing(slug: str) -> Template:
    return Template(
        template_name="intake/form_missing.html", context={"slug": slug}, status_code=404
    )


async def _fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Submitted text fields; a repeated name (checkboxes) joins its values."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue
        fields[name] = f"{fields[name]}, {value}" if name in fields else str(value)
    return fields


async def _over_limit(request: Request[Any, Any, Any], slug: str) -> bool:
    """Count this address's posts to this form in a one-minute window."""
    limit = request.app.state.settings.form_posts_per_minute
    # TODO: read the address from a trusted proxy header once settings can name the proxies.
    client = request.client.host if request.client else "unknown"
    store, key = request.app.stores.get("form_posts"), f"{slug}:{client}"
    count = int(await store.get(key) or 0)
    if count >= limit:
        return True
    ttl = await store.expires_in(key) if count else None
    await store.set(key, str(count + 1), expires_in=ttl or RATE_WINDOW_S)
    return False


class FormController(Controller):
    """The public web form: no account, no CSRF token, so any site can post to it."""

    path = "/f"
    include_in_schema = False

    @get("/{slug:str}")
    async def show(
        self, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Template:
        try:
            return _form_page(await inlets.inlet_by_slug(db_session, slug, "form"))
        except NotFound:
            return _missing(slug)

    @get("/{slug:str}/thanks")
    async def thanks(
        self, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Template:
        try:
            inlet = await inlets.inlet_by_slug(db_session, slug, "form")
        except NotFound:
            return _missing(slug)
        return Template(template_name="intake/form_thanks.html", context={"inlet": inlet})

    @post("/{slug:str}", status_code=303)
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        slug: FromPath[str],
    ) -> Response[Any]:
        """Store the post and thank the visitor; a bad one shows the form again with why."""
        try:
            inlet = await inlets.inlet_by_slug(db_session, slug, "form")
        except NotFound:
            return _missing(slug)
        if request.content_type[0] not in FORM_TYPES:
            message = "Send the form as application/x-www-form-urlencoded or multipart/form-data."
            return _form_page(inlet, 415, problem=message)
        if await _over_limit(request, slug):
            message = (
                "Too many messages were sent from your network just now; try again in a minute."
            )
            page = _form_page(inlet, 429, problem=message)
            page.headers["Retry-After"] = str(RATE_WINDOW_S)
            return page
        fields = await _fields(request)
        raw = {"kind": "form", "inlet": inlet.slug, "fields": fields}

        if fields.get(inlets.HONEYPOT, "").strip():
            await inquiries.record_unrouted(
                db_session, source=inlet.source, inlet="form", raw=raw, status="spam",
                reason="The hidden website field was filled in, as only bots do.",
            )  # fmt: skip
            return _thank(inlet)
        try:
            body = inlets.map_fields(inlet, fields)
        except BadInput as exc:
            await inquiries.record_unrouted(
                db_session, source=inlet.source, inlet="form", raw=raw, status="failed",
                reason=exc.message,
            )  # fmt: skip
            shown = {name: printable(value) for name, value in fields.items()}
            return _form_page(inlet, 422, values=shown, problem=exc.message)
        received = await _take(db_session, body, raw)
        if received is not None and _visitor_fixable(received):
            shown = {name: printable(value) for name, value in fields.items()}
            return _form_page(inlet, 422, values=shown, problem=received.problem)
        return _thank(inlet)


def _visitor_fixable(received: inquiries.Received) -> bool:
    """Refused for what was typed (a bad email), not for anything on our side."""
    inquiry = received.inquiry
    return received.result is None and inquiry is not None and inquiry.lead_id is None


async def _take(
    session: AsyncSession, body: dict[str, Any], raw: dict[str, Any]
) -> inquiries.Received | None:
    try:
        return await inquiries.take_in(session, body, inlet="form", raw=raw)
    except Exception:
        # Stored before routing failed: the visitor is done, the failed list has the rest.
        logger.exception("form post stored but not routed")
        return None


def _thank(inlet: Inlet) -> Redirect:
    return Redirect(inlet.thank_you_url or f"/f/{inlet.slug}/thanks", status_code=303)


ROUTES: list[Any] = [LeadBatchController, InquiryController, InletController, FormController]
