"""RFC 3161 time-stamps of checkpoints: what a TSA is asked, over HTTP (§3.4).

The imprint is SHA-256 of the checkpoint text (the note body the log signed), as
:func:`caducee.ledger.checkpoint_digest` defines it. A TSA that fails leaves the checkpoint
without a token (logged): the log stays available, the receipt says it has no time-stamp.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx

from caducee.ledger import (
    LedgerError,
    build_timestamp_request,
    checkpoint_digest,
    parse_checkpoint,
    parse_signed_note,
    token_from_response,
)

__all__ = ["HTTPTimestamper", "Timestamper", "request_timestamp"]

log = logging.getLogger(__name__)

Timestamper = Callable[[bytes], Awaitable[bytes]]
"""DER ``TimeStampReq`` in, DER ``TimeStampResp`` out."""

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
TSA_TIMEOUT = 10.0


class HTTPTimestamper:
    """POST the request to a TSA URL (RFC 3161 §3.4); ``transport`` is the test seam."""

    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self._transport = transport

    async def __call__(self, query: bytes) -> bytes:
        async with httpx.AsyncClient(transport=self._transport, timeout=TSA_TIMEOUT) as client:
            response = await client.post(
                self.url, content=query, headers={"Content-Type": QUERY_TYPE}
            )
        response.raise_for_status()
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind != REPLY_TYPE:
            raise httpx.HTTPError(f"the TSA answered {kind!r}, not {REPLY_TYPE}")
        return response.content


async def request_timestamp(timestamper: Timestamper, note: str) -> bytes | None:
    """The DER token time-stamping the note's checkpoint, or None if the TSA failed."""
    checkpoint = parse_checkpoint(parse_signed_note(note).text)
    query, _nonce = build_timestamp_request(checkpoint_digest(checkpoint))
    try:
        return token_from_response(await timestamper(query))
    except (httpx.HTTPError, LedgerError, OSError) as exc:
        log.warning("time-stamp of checkpoint size %d failed: %s", checkpoint.size, exc)
        return None
