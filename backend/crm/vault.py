"""Connection credentials at rest: Fernet, keyed from the server secret."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from backend.errors import BadInput

KEY_CONTEXT = b"pursuit crm credentials v1"


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    # A dedicated derivation: the same secret also signs sessions, never with this key.
    digest = hashlib.pbkdf2_hmac("sha256", secret_key.encode(), KEY_CONTEXT, 100_000)
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str, credentials: dict[str, Any]) -> str:
    return _fernet(secret_key).encrypt(json.dumps(credentials).encode()).decode()


def unseal(secret_key: str, sealed: str) -> dict[str, Any]:
    try:
        opened = json.loads(_fernet(secret_key).decrypt(sealed.encode()))
    except InvalidToken as exc:
        raise BadInput(
            "The stored CRM credentials cannot be read with this server's secret key; "
            "connect the CRM again."
        ) from exc
    assert isinstance(opened, dict)
    return opened
