"""Whether a Web Push subscription can be kept: its endpoint and keys, checked.

The server will POST to the endpoint, so it must be https (RFC 8030 §8) on a known push
service (the browsers' own: Google, Mozilla, Apple, Microsoft), or on the loopback only (a
test's stand-in push service, plain http allowed there): otherwise any device could make the
server send requests to hosts of its choosing, inside the operator's network included. Its
keys (``p256dh``, ``auth``) are checked for shape and then dropped: pushes carry no payload,
so nothing is ever encrypted to them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from urllib.parse import urlsplit

from caducee.instant.service_errors import InstantError

__all__ = ["MAX_ENDPOINT", "PUSH_SERVICES", "InvalidSubscription", "check_subscription"]

MAX_ENDPOINT = 2048
LOOPBACK_NAMES = {"localhost"}
# The push services of the browsers that can install the app; a host matches itself and its
# subdomains.
PUSH_SERVICES = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)


class InvalidSubscription(InstantError):
    code = "instant-push-invalid-subscription"


def _refuse(why: str) -> InvalidSubscription:
    return InvalidSubscription(f"abonnement push invalide / invalid push subscription: {why}")


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _known_service(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in PUSH_SERVICES)


def _b64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise _refuse("keys must be base64url") from None


def check_subscription(endpoint: str, p256dh: str, auth: str) -> str:
    """The endpoint, if the subscription is acceptable; :class:`InvalidSubscription` if not."""
    if len(endpoint) > MAX_ENDPOINT or any(ord(c) < 0x21 or ord(c) > 0x7E for c in endpoint):
        raise _refuse("the endpoint must be a URL of at most 2048 characters")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise _refuse("the endpoint is not a URL") from None
    if not host or parts.username is not None or parts.password is not None:
        raise _refuse("the endpoint needs a host and no credentials")
    if _loopback(host):
        if parts.scheme not in ("https", "http"):
            raise _refuse("the endpoint must be https")
    elif parts.scheme != "https":
        raise _refuse("the endpoint must be https")
    elif not _known_service(host):
        raise _refuse("the endpoint must be a browser's push service")
    point = _b64url(p256dh)
    if len(point) != 65 or point[0] != 4:
        raise _refuse("p256dh must be an uncompressed P-256 point")
    if len(_b64url(auth)) != 16:
        raise _refuse("auth must be 16 bytes")
    return endpoint
