"""A Web Push service on 127.0.0.1 that checks every message as a real one would: the VAPID
token's ES256 signature and claims (RFC 8292, with `cryptography`), then decrypts the payload
for the device it is addressed to with `http_ece`, the library real push stacks use (RFC 8291)."""
from __future__ import annotations

import base64
import json
import os
import time

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from recording_server import QuietHandler, RecordingServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Device:
    """A browser's push subscription: its own key pair and authentication secret."""

    def __init__(self, service: PushService, name: str):
        self.name = name
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = f"{service.base}/push/{name}"

    def subscription(self) -> dict:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}


def verify_vapid(authorization: str, audience: str, server_key: str) -> dict:
    """The token's claims, once its signature, audience, expiry and key are checked."""
    scheme, _, params = authorization.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert scheme == "vapid" and fields["k"] == server_key, authorization
    header, claims, signature = fields["t"].split(".")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public_key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("VAPID signature does not verify")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    decoded = json.loads(unb64url(claims))
    assert decoded["aud"] == audience, decoded
    assert time.time() < decoded["exp"] <= time.time() + 86400, decoded
    assert decoded["sub"].startswith(("mailto:", "https:")), decoded
    return decoded


class PushService(RecordingServer):
    """Records every message; answers each device with the statuses scripted for it, then 201."""

    def __init__(self, delay: float = 0.0):
        self.messages: list[dict] = []
        self.scripts: dict[str, list[int]] = {}
        self.devices: dict[str, Device] = {}
        self.server_key = ""
        service = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                time.sleep(delay)
                name = self.path.rsplit("/", 1)[-1]
                record = {"device": name, "headers": {key.lower(): value for key, value in self.headers.items()}}
                try:
                    assert self.headers["content-encoding"] == "aes128gcm" and int(self.headers["ttl"]) > 0
                    verify_vapid(self.headers["authorization"], service.base, service.server_key)
                    device = service.devices[name]
                    plain = http_ece.decrypt(body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm")
                    record["payload"] = json.loads(plain)
                except Exception as error:  # recorded, and the test fails on it
                    record["error"] = repr(error)
                with service.lock:
                    script = service.scripts.get(name, [])
                    status = 400 if "error" in record else script.pop(0) if script else 201
                    record["status"] = status
                    service.messages.append(record)
                self.answer(status, {"retry-after": "1"} if status == 503 else None)

        super().__init__(Handler)

    def device(self, name: str) -> Device:
        self.devices[name] = Device(self, name)
        return self.devices[name]

    def received(self, device: str | None = None) -> list[dict]:
        """The messages (to `device`), each verified and decrypted; raises if one was not."""
        with self.lock:
            messages = [m for m in self.messages if device is None or m["device"] == device]
        errors = [m["error"] for m in messages if "error" in m]
        assert not errors, errors
        return messages

    def wait_for(self, count: int, device: str | None = None, timeout: float = 15.0) -> list[dict]:
        return self.wait_until(lambda: self.received(device), count, f"messages to {device or 'any device'}", timeout)
