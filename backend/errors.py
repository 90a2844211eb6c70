"""Domain errors: one base with a stable code and a sentence safe to show a person.

PursuitError
├── BadInput (422)        a value is present but wrong
├── NotAuthenticated (401)
├── Forbidden (403)       the caller may not touch this record
├── NotFound (404)
├── Conflict (409)        the record is no longer in a state that allows this
└── TooLarge (413)
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

logger = logging.getLogger(__name__)


class PursuitError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadInput(PursuitError):
    status_code = 422
    code = "invalid"


class NotAuthenticated(PursuitError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(PursuitError):
    status_code = 403
    code = "forbidden"


class NotFound(PursuitError):
    status_code = 404
    code = "not_found"


class Conflict(PursuitError):
    status_code = 409
    code = "conflict"


class TooLarge(PursuitError):
    status_code = 413
    code = "too_large"


PLAIN_WORDS = {
    404: "There is nothing at {path}.",
    405: "{path} does not accept {method} requests.",
    413: "The request body is larger than the 2 MiB this server accepts.",
}


HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "too_many_requests",
}


def nesting_error_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested so deep that decoding it runs out of stack is bad input, not a crash."""
    logger.info("request refused code=too_deep path=%s", request.url.path)
    detail = "The request is not valid: its JSON is nested too deeply."
    return Response(_body(400, detail, {"code": "too_deep"}), status_code=400)


def _body(status: int, detail: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"status_code": status, "detail": detail, "extra": extra}


def pursuit_error_handler(request: Request[Any, Any, Any], exc: PursuitError) -> Response[Any]:
    logger.info(
        "request refused code=%s status=%s path=%s", exc.code, exc.status_code, request.url.path
    )
    extra = {"code": exc.code, **exc.extra}
    return Response(_body(exc.status_code, exc.message, extra), status_code=exc.status_code)


# How the body decoder words a wrong field, and the words a person reading it expects.
EXPECTED = re.compile(r"Expected `(?P<wanted>[^`]+)`, got `(?P<got>[^`]+)`")
MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
WHERE = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
KINDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "array": "a list",
    "object": "an object",
    "datetime": "a date and time",
}
FORMATS = {
    "Invalid RFC3339 encoded datetime": "must be a date and time such as 2026-03-01T09:30:00Z",
    "Invalid ISO 8601 date": "must be a date such as 2026-03-01",
}


def plain_problem(message: str, field: str | None = None) -> str:
    """A decoder's complaint about one field as a phrase a person understands.

    ``message`` may carry its own location (`` - at `$.value` ``); ``field`` names it
    otherwise. Messages it does not know are kept as they are.
    """
    where = WHERE.search(message)
    if where:
        message, field = message[: where.start()], where["path"] or field
    missing = MISSING.fullmatch(message)
    if missing:
        return f"{missing['field']} is missing"
    unknown = UNKNOWN.fullmatch(message)
    if unknown:
        return f"{unknown['field']} is not a field this request takes"
    subject = field or "the body"
    expected = EXPECTED.fullmatch(message)
    if expected:
        wanted = [KINDS.get(kind, kind) for kind in expected["wanted"].split(" | ")]
        wanted = [kind for kind in wanted if kind != "null"] or ["null"]
        got = KINDS.get(expected["got"], expected["got"])
        return f"{subject} must be {' or '.join(wanted)}, not {got}"
    if message in FORMATS:
        return f"{subject} {FORMATS[message]}"
    return f"{subject}: {message}" if field else message


def validation_error_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """Turn Litestar's field errors into one readable sentence plus the details."""
    problems = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for item in problems:
        if not isinstance(item, dict):
            continue
        key = item.get("key") or item.get("source") or "body"
        message = str(item.get("message", "is not valid"))
        if key == "data" and message == "'data'":
            parts.append("the body is empty; send a JSON object")
        elif key == "data" and (UNKNOWN.fullmatch(message) or MISSING.fullmatch(message)):
            parts.append(plain_problem(message))
        elif key == "data":
            parts.append(f"the body must be a JSON object ({message.lower()})")
        else:
            parts.append(plain_problem(message, key))
    detail = "The request is not valid"
    detail += (": " + "; ".join(parts) + ".") if parts else f": {exc.detail}."
    return Response(
        _body(400, detail, {"code": "bad_request", "errors": problems}),
        status_code=400,
        media_type=MediaType.JSON,
    )


CSRF_FAILED = "CSRF token verification failed"
REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Pursuit</title><link rel="stylesheet" href="/static/css/app.css"></head>
<body><main id="main" class="page"><h1>{title}</h1>
<p>{sentence}</p>
<p><a class="button" href="{back}">Back</a></p></main></body></html>
"""
BROWSER_PAGES = {
    403: (
        "This form had expired",
        "Nothing was changed. Reload the page you came from and try again.",
    ),
    413: (
        "This file is too large",
        "Nothing was imported: the console takes files up to 2 MiB. Split the file into "
        "smaller ones, or import it on the server with pursuit leads import.",
    ),
}


def _refused_page(request: Request[Any, Any, Any], status: int) -> Response[Any]:
    """A browser form the server refused as a whole gets a page a person can act on."""
    referer = request.headers.get("referer", "")
    same_site = referer.startswith(str(request.base_url).rstrip("/") + "/")
    back = html.escape(referer if same_site else "/console", quote=True)
    title, sentence = BROWSER_PAGES[status]
    page = REFUSED_PAGE.format(title=title, sentence=html.escape(sentence), back=back)
    return Response(page, status_code=status, media_type="text/html")


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    wants_page = "text/html" in request.headers.get("accept", "")
    from_browser_form = wants_page and request.headers.get("hx-request") != "true"
    if from_browser_form and (exc.detail == CSRF_FAILED or exc.status_code == 413):
        return _refused_page(request, 403 if exc.detail == CSRF_FAILED else 413)
    extra = exc.extra if isinstance(exc.extra, dict) else {"errors": exc.extra}
    extra = {"code": HTTP_CODES.get(exc.status_code, "error"), **extra}
    detail = str(exc.detail)
    if exc.status_code == 400 and not detail.endswith("."):
        # Body decoding failures arrive as a bare parser message, such as a truncation.
        detail = f"The request is not valid: {detail}."
    elif exc.status_code in PLAIN_WORDS:
        detail = PLAIN_WORDS[exc.status_code].format(path=request.url.path, method=request.method)
    return Response(
        _body(exc.status_code, detail, extra or {}),
        status_code=exc.status_code,
        headers=exc.headers,
    )
