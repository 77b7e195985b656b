"""Group durability for a local folder: many writers, one ``syncfs`` per round.

A file is durable once its data and its directory entry are on the disk. Calling fsync on
each file and folder costs a disk flush each, and a virtual disk serialises them (about
4 ms each here). ``syncfs(2)`` flushes the whole file system at once, so writers that finish
at about the same time share one flush: a writer joins the next round, which starts only
after it asked, so its write is always covered.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["SyncRounds"]


@functools.cache
def _libc_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    function = getattr(ctypes.CDLL(name, use_errno=True), "syncfs", None)
    return function


def _syncfs(folder: Path) -> None:
    """Flush the file system holding ``folder`` (Linux ``syncfs``; elsewhere ``sync``)."""
    syncfs = _libc_syncfs()
    if syncfs is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(folder))
    finally:
        os.close(fd)


class SyncRounds:
    """``await rounds.sync()`` returns once everything written before the call is on disk."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = asyncio.Lock()
        self._next: asyncio.Future[None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caducee-syncfs")

    async def sync(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._round())
        await asyncio.shield(self._next)

    async def _round(self) -> None:
        async with self._lock:  # wait for the round in progress, if any
            waiting, self._next = self._next, None
            assert waiting is not None
            try:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._pool, _syncfs, self._folder)
            except OSError as exc:
                waiting.set_exception(exc)
            else:
                waiting.set_result(None)
