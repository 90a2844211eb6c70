"""Console pages for inlets: inquiries that did not become leads, and CSV import.

An upload is parsed and shown before anything is stored; the file waits in the app's
store for 30 minutes under a random token until the manager confirms the import.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.controllers import is_htmx, render, require_user
from backend.errors import BadInput, Conflict, NotFound
from backend.intake import importer, inquiries
from backend.intake.loading import import_batch

logger = logging.getLogger(__name__)

UPLOAD_TTL_S = 30 * 60
PREVIEW_ROWS = 10
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
LISTED = ("failed", "ignored", "spam")


@dataclass
class ImportUpload:
    """The import form: a file to preview, or the token of one previewed, to import."""

    file: UploadFile | None = None
    source: str = ""
    country: str = ""
    token: str = ""


def _country(text: str) -> str | None:
    code = text.strip().upper()
    if code and (len(code) != 2 or not code.isalpha()):
        raise BadInput(f"The country {text!r} must be a 2-letter code such as BR.")
    return code or None


def _source(text: str) -> str:
    source = text.strip() or importer.DEFAULT_SOURCE
    if len(source) > 100:
        raise BadInput("The source name is longer than 100 characters.")
    return source


class InletConsoleController(Controller):
    path = "/console"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/inquiries")
    async def inquiries(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[str] = "failed",
    ) -> Template:
        chosen = status if status in LISTED else "failed"
        rows, _ = await inquiries.list_inquiries(db_session, chosen, limit=200)
        return render(
            "inquiries.html", user=request.session, rows=rows, status=chosen, statuses=LISTED
        )

    @post("/inquiries/{inquiry_id:str}/retry", status_code=200)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        inquiry_id: FromPath[str],
    ) -> Response[Any]:
        """Retry one; htmx gets its row back, a plain form the list again."""
        try:
            received = await inquiries.retry_inquiry(db_session, inquiry_id)
        except (NotFound, Conflict) as exc:
            return render("_inquiry_row.html", 409, row=None, message=exc.message)
        logger.info("inquiry retried from console inquiry_id=%s", inquiry_id)
        if received.result is not None:
            lead = received.result.lead
            message = (
                f"Retried: now lead {lead.id if lead else '-'}, {lead.status if lead else ''}."
            )
        else:
            message = f"Failed again: {received.problem}"
        if not is_htmx(request):
            return Redirect("/console/inquiries", status_code=303)
        row = await inquiries.get_inquiry(db_session, inquiry_id)
        return render("_inquiry_row.html", row=row, message=message)

    @get("/import")
    async def import_form(self, request: Request[Any, Any, Any]) -> Template:
        return render("import.html", user=request.session, batch=None, report=None)

    @post("/import", status_code=200)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: MultipartBody[ImportUpload],
    ) -> Template:
        """Preview an uploaded file, or import the previewed one its token names."""
        store = request.app.stores.get("csv_uploads")
        try:
            source, country = _source(data.source), _country(data.country)
            if data.token:
                return await self._import(request, db_session, store, data, source, country)
            content, name = await _upload(data)
            batch = importer.parse_csv_bytes(
                content, name, default_source=source, default_country=country
            )
        except BadInput as exc:
            return render("import.html", 422, user=request.session, problem=exc.message)
        token = secrets.token_urlsafe(16)
        await store.set(token, name.encode() + b"\n" + content, expires_in=UPLOAD_TTL_S)
        return render(
            "import.html",
            user=request.session,
            batch=batch,
            file_name=name,
            token=token,
            source=source,
            country=country or "",
            preview=list(zip(batch.row_numbers, batch.rows, strict=False))[:PREVIEW_ROWS],
        )

    async def _import(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        store: Any,
        data: ImportUpload,
        source: str,
        country: str | None,
    ) -> Template:
        kept = await store.get(data.token)
        if kept is None:
            raise BadInput("That preview has expired; upload the file again.")
        await store.delete(data.token)
        name, _, content = bytes(kept).partition(b"\n")
        batch = importer.parse_csv_bytes(
            content, name.decode(), default_source=source, default_country=country
        )
        report = await import_batch(session, batch, name.decode())
        logger.info("csv imported from console created=%d", report.created)
        return render("import.html", user=request.session, report=report, file_name=name.decode())


async def _upload(data: ImportUpload) -> tuple[bytes, str]:
    if data.file is None or not data.file.filename:
        raise BadInput("Choose a CSV file to upload.")
    content = await data.file.read()
    if not content.strip():
        raise BadInput(f"{data.file.filename} is empty.")
    if len(content) > MAX_UPLOAD_BYTES:
        raise BadInput("The file is larger than 2 MiB; import it with pursuit leads import.")
    return content, data.file.filename.replace("\n", " ")


ROUTES: list[Any] = [InletConsoleController]
