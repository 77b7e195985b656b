"""Errors of the storage layer (database and blob store)."""

from caducee.errors import CaduceeError

__all__ = ["BlobNotFound", "StoreError", "StoreUnavailable"]


class StoreError(CaduceeError):
    code = "store-error"


class StoreUnavailable(StoreError):
    """The database or the blob store does not answer; say which and where."""

    code = "store-unavailable"


class BlobNotFound(StoreError):
    code = "blob-not-found"
