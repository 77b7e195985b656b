"""Run as a process: append records (one, then a batch of three) forever, printing the size."""

from __future__ import annotations

import asyncio
import sys

from caducee.evidence import EvidenceLog, LogIdentity
from caducee.store import Database
from tests.evidence.samples import ORIGIN, identity_key, make_record


async def main(url: str, start: int) -> None:
    database = Database(url)
    log = EvidenceLog(database, LogIdentity(ORIGIN, identity_key()))
    i = start
    while True:
        async with database.transaction() as session:
            await log.append(session, make_record(i))
            await log.append_many(session, [make_record(i + k) for k in range(1, 4)])
        i += 4
        print(i, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
