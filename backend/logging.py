"""Log setup: one logger per module, lower-case event names with key=value context."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    level = os.environ.get("PURSUIT_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
