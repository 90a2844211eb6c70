"""The emptiest Litestar JSON route: what one uvicorn worker can answer at most.

Run: .venv/bin/uvicorn --app-dir bench ceiling_app:app --workers 1 --no-access-log
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[ping])
