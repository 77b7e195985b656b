"""Ciphertext storage on obstore: a local folder by default, S3 for the scale-out.

Blobs are content-addressed (``sha256/ab/cd/<hex>``): a message stored for many recipients
is stored once, and a retried upload rewrites nothing. On a local folder ``put`` returns
once the file system was flushed after the write (one flush shared by concurrent writers,
see ``_durability``), so "accepted" means "on disk".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import LocalStore, S3Store

from caducee.store._durability import SyncRounds
from caducee.store.errors import BlobNotFound, StoreUnavailable

__all__ = ["BlobEntry", "BlobStore", "S3Options", "blob_key", "open_blob_store"]

BLOB_PREFIX = "sha256/"
_BLOB_KEY = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})")


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3-compatible store (moto in tests, MinIO or a cloud in production)."""

    endpoint: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    allow_http: bool = False


def blob_key(digest_hex: str) -> str:
    """The object key of a blob from its SHA-256 in hex."""
    if len(digest_hex) != 64 or any(c not in "0123456789abcdef" for c in digest_hex):
        raise ValueError("a blob key is a lower-case hex SHA-256")
    return f"sha256/{digest_hex[:2]}/{digest_hex[2:4]}/{digest_hex}"


@dataclass(frozen=True)
class BlobEntry:
    """One stored object under the blob prefix, as a listing gives it.

    ``digest`` is None for an object whose key is not a blob key (left there by something
    else): callers leave those alone.
    """

    key: str
    digest: str | None
    size: int
    modified: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class BlobStore:
    """Put, get and delete immutable blobs by their SHA-256."""

    def __init__(self, store: LocalStore | S3Store, *, local_root: Path | None = None) -> None:
        self._store = store
        self._local_root = local_root
        self._rounds = SyncRounds(local_root) if local_root is not None else None

    @property
    def url(self) -> str:
        return self._local_root.as_uri() if self._local_root else "s3"

    async def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 hex. Durable when this returns."""
        digest = hashlib.sha256(data).hexdigest()
        key = blob_key(digest)
        try:
            await obstore.put_async(self._store, key, data)
            if self._rounds is not None:  # S3 answers a PUT once it is durable
                await self._rounds.sync()
        except BaseError as exc:  # map third-party errors at the boundary
            raise StoreUnavailable(f"blob store refused the write of {digest}: {exc}") from exc
        except OSError as exc:
            raise StoreUnavailable(f"the blob folder could not be flushed: {exc}") from exc
        return digest

    async def get(self, digest_hex: str) -> bytes:
        """The blob's bytes, or ``BlobNotFound``."""
        try:
            result = await obstore.get_async(self._store, blob_key(digest_hex))
            return bytes(await result.bytes_async())
        except (NotFoundError, FileNotFoundError) as exc:
            raise BlobNotFound(f"no blob {digest_hex}") from exc
        except BaseError as exc:
            raise StoreUnavailable(f"blob store refused the read of {digest_hex}: {exc}") from exc

    async def exists(self, digest_hex: str) -> bool:
        try:
            await obstore.head_async(self._store, blob_key(digest_hex))
        except (NotFoundError, FileNotFoundError):
            return False
        except BaseError as exc:
            raise StoreUnavailable(f"blob store did not answer for {digest_hex}: {exc}") from exc
        return True

    async def modified(self, digest_hex: str) -> datetime | None:
        """When the blob was last written (a retried upload refreshes it); None if absent."""
        try:
            meta = await obstore.head_async(self._store, blob_key(digest_hex))
        except (NotFoundError, FileNotFoundError):
            return None
        except BaseError as exc:
            raise StoreUnavailable(f"blob store did not answer for {digest_hex}: {exc}") from exc
        return _aware(meta["last_modified"])

    async def entries(self, *, chunk_size: int = 500) -> AsyncIterator[list[BlobEntry]]:
        """Every object under the blob prefix, in chunks (for the orphan sweep)."""
        try:
            async for chunk in obstore.list(self._store, prefix=BLOB_PREFIX, chunk_size=chunk_size):
                entries = []
                for meta in chunk:
                    key = str(meta["path"])
                    match = _BLOB_KEY.fullmatch(key)
                    entries.append(
                        BlobEntry(
                            key=key,
                            digest=match.group(1) if match else None,
                            size=int(meta["size"]),
                            modified=_aware(meta["last_modified"]),
                        )
                    )
                yield entries
        except BaseError as exc:  # map third-party errors at the boundary
            raise StoreUnavailable(f"the blob store could not be listed: {exc}") from exc

    async def delete(self, digest_hex: str) -> None:
        """Delete a blob (retention); deleting a missing blob is not an error."""
        try:
            await obstore.delete_async(self._store, blob_key(digest_hex))
        except (NotFoundError, FileNotFoundError):
            return
        except BaseError as exc:
            raise StoreUnavailable(f"blob store refused to delete {digest_hex}: {exc}") from exc


def open_blob_store(url: str, s3: S3Options | None = None) -> BlobStore:
    """Open ``file:///folder`` or ``s3://bucket[/prefix]``."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        root = Path(parsed.path)
        root.mkdir(parents=True, exist_ok=True)
        return BlobStore(LocalStore(prefix=root, mkdir=True), local_root=root)
    if parsed.scheme == "s3":
        options = s3 or S3Options()
        config: dict[str, str] = {"region": options.region}
        if options.endpoint:
            config["endpoint"] = options.endpoint
        if options.access_key_id:
            config["access_key_id"] = options.access_key_id
        if options.secret_access_key:
            config["secret_access_key"] = options.secret_access_key
        store = S3Store(
            parsed.netloc,
            prefix=parsed.path.lstrip("/") or None,
            client_options={"allow_http": options.allow_http},
            **config,  # type: ignore[arg-type]
        )
        return BlobStore(store)
    raise ValueError(f"unsupported blob store URL {url!r}: use file:///folder or s3://bucket")
