"""A push service on loopback that checks VAPID and decrypts what it is sent, as a browser would.

The test plays the browser: ``PushDevice.create`` makes the subscription's P-256 key pair and
auth secret, so the service can open the aes128gcm body with the device's private key.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_EXPIRY_S = 24 * 3600


class PushRejected(Exception):
    """Why the service refused a request; it answers 401 and keeps the reason."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PushDevice:
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @classmethod
    def create(cls, endpoint: str) -> PushDevice:
        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)


@dataclass(frozen=True)
class ReceivedPush:
    path: str
    headers: dict[str, str]
    claims: dict[str, Any]
    vapid_key: str
    body_size: int
    payload: dict[str, Any]
    plaintext_size: int


Answer = tuple[int, dict[str, str]]


@dataclass
class FakePushService:
    received: list[ReceivedPush] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    origin: str = ""
    _devices: dict[str, PushDevice] = field(default_factory=dict)
    _answers: dict[str, list[Answer]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{name}", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def device(self, name: str) -> PushDevice:
        """A subscribed device; a name containing "gone" is answered 410 like an expired one."""
        device = PushDevice.create(f"{self.origin}/push/{name}")
        self._devices[f"/push/{name}"] = device
        return device

    def answer(self, name: str, *answers: Answer) -> None:
        """Answer the next pushes to a device with these statuses and headers, then 201."""
        self._answers.setdefault(f"/push/{name}", []).extend(answers)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            claims, key = verify_vapid(request.headers.get("Authorization", ""), self.origin)
            plaintext = self._decrypt(request.path, body)
            payload = json.loads(plaintext)
        except (PushRejected, InvalidSignature, ValueError, KeyError) as exc:
            self.rejections.append(f"{type(exc).__name__}: {exc}")
            return web.Response(status=401, text=str(exc))

        headers = {name.lower(): value for name, value in request.headers.items()}
        self.received.append(
            ReceivedPush(request.path, headers, claims, key, len(body), payload, len(plaintext))
        )
        if queued := self._answers.get(request.path):
            status, extra = queued.pop(0)
            return web.Response(status=status, headers=extra)
        return web.Response(status=410 if "gone" in request.path else 201)

    def _decrypt(self, path: str, body: bytes) -> bytes:
        device = self._devices[path]
        plaintext = http_ece.decrypt(
            body,
            private_key=device.private_key,
            auth_secret=device.auth_secret,
            version="aes128gcm",
        )
        return bytes(plaintext)


def verify_vapid(header: str, origin: str) -> tuple[dict[str, Any], str]:
    """Check an ``Authorization: vapid t=<jwt>,k=<key>`` header as RFC 8292 asks."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise PushRejected(f"authorization scheme {scheme!r} is not vapid")
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    token, key = fields["t"], fields["k"]

    signed, _, signature = token.rpartition(".")
    jose_header, _, encoded_claims = signed.partition(".")
    if json.loads(unb64url(jose_header)).get("alg") != "ES256":
        raise PushRejected("the JWT is not ES256")
    _verify_es256(key, signed.encode(), unb64url(signature))

    claims: dict[str, Any] = json.loads(unb64url(encoded_claims))
    _check_claims(claims, origin)
    return claims, key


def _verify_es256(key: str, signed: bytes, signature: bytes) -> None:
    if len(signature) != 64:
        raise PushRejected(f"an ES256 signature is r||s of 64 bytes, not {len(signature)}")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    public_key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))


def _check_claims(claims: dict[str, Any], origin: str) -> None:
    if claims.get("aud") != origin:
        raise PushRejected(f"aud {claims.get('aud')!r} is not {origin!r}")
    if not time.time() < int(claims.get("exp", 0)) <= time.time() + MAX_EXPIRY_S:
        raise PushRejected(f"exp {claims.get('exp')!r} is not within the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise PushRejected(f"sub {claims.get('sub')!r} is neither mailto: nor https:")
