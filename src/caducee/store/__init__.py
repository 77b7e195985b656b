"""Storage: the metadata database, its migrations, and the blob store."""

from caducee.store.blobs import BlobStore, S3Options, open_blob_store
from caducee.store.database import Database, is_sqlite
from caducee.store.errors import BlobNotFound, StoreError, StoreUnavailable
from caducee.store.migrate import downgrade_database, upgrade_database

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "Database",
    "S3Options",
    "StoreError",
    "StoreUnavailable",
    "downgrade_database",
    "is_sqlite",
    "open_blob_store",
    "upgrade_database",
]
