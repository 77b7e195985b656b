"""The blob store on a local folder and on a real S3 protocol server (moto)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from caducee.store import BlobNotFound, BlobStore, S3Options, open_blob_store
from caducee.store.blobs import blob_key


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield open_blob_store((tmp_path / "blobs").as_uri())
        return
    import boto3

    endpoint = request.getfixturevalue("moto_s3")
    bucket = f"caducee-{secrets.token_hex(4)}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    options = S3Options(
        endpoint=endpoint, access_key_id="test", secret_access_key="test", allow_http=True
    )
    yield open_blob_store(f"s3://{bucket}/messages", options)


async def test_put_get_is_content_addressed_and_idempotent(blob_store: BlobStore) -> None:
    data = secrets.token_bytes(4096)
    digest = await blob_store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert await blob_store.put(data) == digest  # a retry rewrites nothing new
    assert await blob_store.get(digest) == data
    assert await blob_store.exists(digest)


async def test_missing_and_deleted_blobs(blob_store: BlobStore) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()
    assert not await blob_store.exists(digest)
    with pytest.raises(BlobNotFound):
        await blob_store.get(digest)
    stored = await blob_store.put(b"to be deleted")
    await blob_store.delete(stored)
    await blob_store.delete(stored)  # deleting twice is fine
    assert not await blob_store.exists(stored)


def test_local_blobs_land_under_their_digest(tmp_path: Path) -> None:
    import asyncio

    store = open_blob_store((tmp_path / "b").as_uri())
    digest = asyncio.run(store.put(b"x"))
    assert (tmp_path / "b" / blob_key(digest)).read_bytes() == b"x"


def test_bad_keys_and_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="hex SHA-256"):
        blob_key("../../etc/passwd")
    with pytest.raises(ValueError, match="unsupported blob store URL"):
        open_blob_store("ftp://example.test/x")


async def test_concurrent_local_puts_share_flushes_and_all_land(tmp_path: Path) -> None:
    """Group durability: 200 concurrent writers, every blob readable, far fewer flushes."""
    import asyncio
    from unittest import mock

    from caducee.store import _durability

    store = open_blob_store((tmp_path / "group").as_uri())
    calls = 0
    real = _durability._syncfs

    def counting(folder: Path) -> None:
        nonlocal calls
        calls += 1
        real(folder)

    with mock.patch.object(_durability, "_syncfs", counting):
        blobs = [secrets.token_bytes(512) for _ in range(200)]
        digests = await asyncio.gather(*(store.put(b) for b in blobs))
    assert [await store.get(d) for d in digests] == blobs
    assert 1 <= calls < 200
