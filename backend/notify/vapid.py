"""The VAPID key this server signs Web Push requests with: configured, or generated once."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from backend.settings import Settings

logger = logging.getLogger(__name__)

KEY_FILE = "vapid_private.pem"
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


@dataclass(frozen=True)
class VapidIdentity:
    """The signing key, and the base64url public point browsers pass to ``subscribe()``."""

    signer: Vapid02
    public_key: str


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url, padded or not; anything outside the alphabet is an error."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url text")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url text") from exc


def load_vapid(settings: Settings) -> VapidIdentity:
    if settings.vapid_private_key:
        key = parse_private_key(settings.vapid_private_key)
    else:
        key = _read_or_create_key(settings.var_dir / KEY_FILE)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidIdentity(signer=Vapid02(key), public_key=b64url_encode(point))


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM text or from a base64url raw 32-byte scalar."""
    text = text.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return key
        raise ValueError("The VAPID private key is a PEM key, but not a P-256 one.")
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError(f"A raw VAPID private key has 32 bytes; this one has {len(raw)}.")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _read_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        return parse_private_key(path.read_text())
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not _publish_once(path, pem):
        # Another process won the race; every process must sign with the same key.
        return parse_private_key(path.read_text())
    logger.info("vapid key generated path=%s", path)
    return key


def _publish_once(path: Path, content: bytes) -> bool:
    """Create ``path`` with mode 0600 holding ``content``; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)
    return True
