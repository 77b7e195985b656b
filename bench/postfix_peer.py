"""Postfix as a benchmark peer: durable acceptance of 4 KB messages over SMTP on loopback.

Postfix fsyncs each queue file before its 250 reply, then the ``discard`` transport drops
the mail; so what ``smtp-source`` measures is durable acceptance, like our relay's
"accepted". The system's Postfix configuration is saved and restored around the run.
Needs root and Debian's ``postfix`` package (``smtp-source`` comes with it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["postfix_available", "postfix_on_loopback", "smtp_source_rate"]

PORT = 2525
SETTINGS = [
    "inet_interfaces = loopback-only",
    "mydestination =",
    "local_recipient_maps =",
    "relay_domains =",
    "default_transport = discard",
    "relay_transport = discard",
    "mynetworks = 127.0.0.0/8",
    "smtpd_recipient_restrictions = permit_mynetworks,reject",
    "smtpd_client_connection_rate_limit = 0",
    "default_process_limit = 100",
]


def postfix_available() -> bool:
    return all(shutil.which(tool) for tool in ("postfix", "postconf", "smtp-source"))


@contextmanager
def postfix_on_loopback() -> Iterator[int]:
    """Configure and start Postfix on 127.0.0.1:2525; yield the port; restore afterwards."""
    etc = Path("/etc/postfix")
    saved = {name: (etc / name).read_bytes() for name in ("main.cf", "master.cf")}
    try:
        subprocess.run(["postfix", "stop"], capture_output=True, check=False)
        subprocess.run(["postconf", "-e", *SETTINGS], check=True)
        master = saved["master.cf"].decode().splitlines()
        rewritten = [
            f"{PORT}      inet  n       -       y       -       -       smtpd"
            if line.startswith("smtp ") and " inet " in line
            else line
            for line in master
        ]
        (etc / "master.cf").write_text("\n".join(rewritten) + "\n")
        subprocess.run(["postfix", "start"], check=True, capture_output=True)
        time.sleep(1.0)
        yield PORT
    finally:
        subprocess.run(["postfix", "stop"], capture_output=True, check=False)
        for name, content in saved.items():
            (etc / name).write_bytes(content)


def smtp_source_rate(port: int, messages: int, sessions: int, size: int = 4096) -> float:
    """Messages per second accepted by the SMTP server at ``port`` (wall clock)."""
    started = time.perf_counter()
    subprocess.run(
        [
            "smtp-source",
            "-s",
            str(sessions),
            "-m",
            str(messages),
            "-l",
            str(size),
            "-f",
            "a@example.test",
            "-t",
            "b@example.test",
            f"127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
    )
    return messages / (time.perf_counter() - started)
