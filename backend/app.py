"""The application factory: wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from os import PathLike
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Scope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend import console, intake, notify, pursuit, rep, reports, roster, routing
from backend.access.sessions import STORE, close_store, make_store, session_config
from backend.console.live import channels_plugin, publish_from
from backend.console.summary import WeeklySender
from backend.crm.tasks import CrmWorker
from backend.db import create_engine, session_factory
from backend.errors import (
    PursuitError,
    http_error_handler,
    nesting_error_handler,
    pursuit_error_handler,
    validation_error_handler,
)
from backend.i18n import install_i18n
from backend.intake.smtp import mail_inlet
from backend.logging import configure_logging
from backend.notify.service import Notifier
from backend.pursuit.service import take_announcements
from backend.pursuit.tasks import Sweeper
from backend.settings import Settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent
PROJECT = ROOT.parent
MAX_BODY_BYTES = 2 * 1024 * 1024
REDOC_JS = "/static/vendor/redoc-2.5.4.standalone.js"
SCHEMA_FAVICON = '<link rel="icon" type="image/png" href="/pwa/icons/icon-192.png">'
REQUEST_SESSION = "db_session"  # where a request keeps its session in its scope's state


@get("/health", tags=["health"], summary="Liveness and database check")
async def health(db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    try:
        await db_session.execute(text("SELECT 1"))
    except Exception:
        logger.warning("health check failed database=unreachable")
        return Response({"status": "degraded", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One session per request, closed once the response is sent.

    Offers and events its committed work made are handed to the notifier at the end.

    The engine's lifetime is the app's own (see ``create_app``), so that background work
    still running at shutdown finishes before the engine is disposed.
    """
    state = request.app.state
    async with state.sessions() as session:
        request.state[REQUEST_SESSION] = session
        yield session
        state.notifier.announce(take_announcements(session))


async def close_request_session(exception: Exception, scope: Scope) -> None:
    """Close the session of a request that failed, before the error is answered.

    When a dependency made after the session raises (the caller's token is unknown, say),
    Litestar abandons the dependencies it has made without closing them. The session's
    connection would then go back to the pool only once the garbage collector finalized the
    generator, possibly after the engine was disposed, which leaves it open for good.
    """
    session = scope.get("state", {}).get(REQUEST_SESSION)
    if session is not None:
        await session.close()


def _routes() -> list[Any]:
    from backend.console.audit import ROUTES as console_audit_routes
    from backend.console.controllers import ROUTES as console_routes
    from backend.console.crm import ROUTES as console_crm_routes
    from backend.console.inlets import ROUTES as console_inlet_routes
    from backend.console.partners import ROUTES as console_partner_routes
    from backend.console.roster import ROUTES as console_roster_routes
    from backend.console.rules import ROUTES as console_rule_routes
    from backend.console.summary import ROUTES as console_summary_routes
    from backend.crm.controllers import ROUTES as crm_routes
    from backend.identity.controllers import ROUTES as identity_routes
    from backend.intake.controllers import ROUTES as intake_routes
    from backend.intake.inlet_controllers import ROUTES as inlet_routes
    from backend.notify.controllers import ROUTES as notify_routes
    from backend.pursuit.controllers import ROUTES as pursuit_routes
    from backend.rep.controllers import ROUTES as rep_routes
    from backend.reports.controllers import ROUTES as reports_routes
    from backend.roster.controllers import ROUTES as roster_routes
    from backend.routing.controllers import ROUTES as routing_routes

    return [
        health,
        *inlet_routes,
        *intake_routes,
        *pursuit_routes,
        *roster_routes,
        *routing_routes,
        *reports_routes,
        *notify_routes,
        *crm_routes,
        *console_crm_routes,
        *console_inlet_routes,
        *console_roster_routes,
        *console_audit_routes,
        *console_partner_routes,
        *console_summary_routes,
        *console_rule_routes,
        *console_routes,
        *rep_routes,
        *identity_routes,
        create_static_files_router(path="/static", directories=[PROJECT / "static"]),
    ]


def _template_dirs() -> list[Path | PathLike[Any] | str]:
    modules = (console, intake, notify, pursuit, reports, rep, roster, routing)
    dirs = [
        ROOT / "templates",
        *(ROOT / m.__name__.rsplit(".", 1)[-1] / "templates" for m in modules),
    ]
    return [d for d in dirs if d.is_dir()]


def create_app(settings: Settings | None = None) -> Litestar:
    configure_logging()
    settings = settings or Settings.from_env()
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    notifier = Notifier(settings, sessions)
    sweeper = Sweeper(sessions, notifier, settings.sweep_interval_s)
    crm_worker = CrmWorker(sessions, settings)
    mail = mail_inlet(settings, sessions, notifier.announce)
    store = make_store(settings)
    summaries = WeeklySender(settings, sessions)
    live = channels_plugin(settings.redis_url)
    publish_from(engine, live)

    async def on_startup(app: Litestar) -> None:
        await notifier.start()
        if settings.sweep_interval_s > 0:
            sweeper.start()
            crm_worker.start(settings.crm_interval_s)
            summaries.start()
        if mail is not None:
            await mail.start()
        logger.info("pursuit started base_url=%s", settings.base_url)

    async def on_shutdown(app: Litestar) -> None:
        if mail is not None:
            await mail.stop()
        await sweeper.stop()
        await crm_worker.stop()
        await summaries.stop()
        await notifier.drain()
        await notifier.close()
        await engine.dispose()
        await close_store(store)

    return Litestar(
        route_handlers=_routes(),
        dependencies={"db_session": Provide(provide_db_session)},
        after_exception=[close_request_session],
        state=State(
            {
                "settings": settings,
                "sessions": sessions,
                "notifier": notifier,
                "sweeper": sweeper,
                "crm_worker": crm_worker,
            }
        ),
        template_config=TemplateConfig(
            directory=_template_dirs(), engine=JinjaTemplateEngine, engine_callback=install_i18n
        ),
        middleware=[session_config(settings).middleware],
        stores={STORE: store},
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="pursuit_csrf",
            header_name="x-csrftoken",
            exclude=["/api/", "/r/", "/health", "/f/"],
        ),
        exception_handlers={
            PursuitError: pursuit_error_handler,
            ValidationException: validation_error_handler,
            HTTPException: http_error_handler,
            RecursionError: nesting_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="Pursuit",
            version="1.0.0",
            path="/schema",
            description="Lead routing and pursuit: intake, offers, feedback and lost revenue.",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key (pk_…) or an agent link token (pl_…).",
                    )
                }
            ),
            security=[{"bearer": []}],
            # Served from our own static files: the schema page must work without internet.
            render_plugins=[
                RedocRenderPlugin(
                    js_url=REDOC_JS, google_fonts=False, path="/redoc", favicon=SCHEMA_FAVICON
                ),
                JsonRenderPlugin(),
            ],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=LoggingConfig(
            configure_root_logger=False,
            log_exceptions="always",
            disable_stack_trace={400, 401, 403, 404, 405, 409, 413, 422, 429},
        ),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        plugins=[live],
        debug=False,
    )
