"""Configuration from ``PURSUIT_*`` environment variables, with single-machine defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    ".push.services.mozilla.com",
    ".push.apple.com",
    ".notify.windows.com",
)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PURSUIT_{name}")
    return value if value not in (None, "") else default


def _read_or_create_secret(path: Path) -> str:
    """A secret generated once and kept under ``var/`` so restarts keep sessions and links."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def parse_rates(text: str) -> dict[str, float]:
    """``USD=5.1,EUR=5.6``: what one unit of each currency is worth in the reporting one."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, _, rate = item.partition("=")
        try:
            value = float(rate)
        except ValueError:
            value = 0.0
        if len(code.strip()) != 3 or not value > 0:
            raise ValueError(
                f"PURSUIT_EXCHANGE_RATES has {item!r}; write rates as USD=5.1,EUR=5.6."
            )
        rates[code.strip().upper()] = value
    return rates


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"PURSUIT_SMTP_INLET_PORT is {text!r}; give a port from 1 to 65535.")
    return int(text)


def _positive(name: str, text: str | None) -> int:
    if text is None or not text.isdigit() or int(text) < 1:
        raise ValueError(f"PURSUIT_{name} is {text!r}; give a whole number of at least 1.")
    return int(text)


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    base_url: str
    secret_key: str
    redis_url: str | None = None
    vapid_private_key: str | None = None
    vapid_subject: str | None = None  # unset: the first admin's mailto:, else the https base URL
    smtp_url: str | None = None
    mail_from: str = "Pursuit <pursuit@localhost>"
    sweep_interval_s: float = 1.0
    push_allowed_hosts: tuple[str, ...] = field(default=DEFAULT_PUSH_HOSTS)
    push_ttl_s: int = 3600
    push_timeout_s: float = 10.0
    currency: str | None = None
    exchange_rates: dict[str, float] = field(default_factory=dict)
    sms_url: str | None = None
    sms_token: str | None = field(default=None, repr=False)
    crm_interval_s: float = 2.0
    crm_max_attempts: int = 8
    smtp_inlet_port: int | None = None
    smtp_inlet_host: str = "127.0.0.1"
    form_posts_per_minute: int = 10
    weekly_summary: str = "mon 08:00"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        var_dir = Path(_env("VAR_DIR", "var") or "var")
        database_url = _env("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'pursuit.db'}"
        hosts = _env("PUSH_ALLOWED_HOSTS")
        values: dict[str, object] = {
            "var_dir": var_dir,
            "database_url": database_url,
            "base_url": (_env("BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/"),
            "secret_key": _env("SECRET_KEY") or _read_or_create_secret(var_dir / "secret_key"),
            "redis_url": _env("REDIS_URL"),
            "vapid_private_key": _env("VAPID_PRIVATE_KEY"),
            "vapid_subject": _env("VAPID_SUBJECT"),
            "smtp_url": _env("SMTP_URL"),
            "mail_from": _env("MAIL_FROM", cls.mail_from),
            "sweep_interval_s": float(_env("SWEEP_INTERVAL_S", "1") or 1),
            "push_allowed_hosts": (
                tuple(h.strip() for h in hosts.split(",") if h.strip())
                if hosts
                else DEFAULT_PUSH_HOSTS
            ),
            "currency": (_env("CURRENCY") or "").upper() or None,
            "exchange_rates": parse_rates(_env("EXCHANGE_RATES") or ""),
            "sms_url": _env("SMS_URL"),
            "sms_token": _env("SMS_TOKEN"),
            "crm_interval_s": float(_env("CRM_INTERVAL_S", "2") or 2),
            "crm_max_attempts": int(_env("CRM_MAX_ATTEMPTS", "8") or 8),
            "smtp_inlet_port": _port(_env("SMTP_INLET_PORT")),
            "smtp_inlet_host": _env("SMTP_INLET_HOST", cls.smtp_inlet_host),
            "form_posts_per_minute": _positive(
                "FORM_POSTS_PER_MINUTE", _env("FORM_POSTS_PER_MINUTE", "10")
            ),
            "weekly_summary": _env("WEEKLY_SUMMARY", cls.weekly_summary),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
