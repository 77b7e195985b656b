"""Dovecot (Debian packages) for IMAP clients, configured and started by Caducée on loopback.

Dovecot runs as the user that runs Caducée (or, when that is root, as Debian's ``dovecot``
and ``dovenull`` accounts), with its own base, state and log files under
``<data_dir>/dovecot``. It authenticates against Caducée's own tables: the password of an
IMAP login is one of the person's *application passwords* (Argon2id, the hash Python's
argon2-cffi writes and Dovecot reads as ``{ARGON2ID}``), through ``dovecot-sqlite`` on
SQLite or ``dovecot-pgsql`` on PostgreSQL. One ``passdb`` per possible active password
(``LIMIT 1 OFFSET k``; a failure continues to the next). Mail arrives over LMTP only
(``imap_delivery``), already S/MIME-encrypted for the person: Dovecot never sees clear text.
TLS: ``ssl = required`` with the edge's certificate (``disable_plaintext_auth``).
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import pwd
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from caducee.gateway.config import GatewayConfig
from caducee.gateway.errors import GatewayError
from caducee.gateway.passwords import MAX_ACTIVE_PASSWORDS

__all__ = ["DovecotError", "DovecotServer", "dovecot_sql_connect", "write_dovecot_config"]

log = logging.getLogger(__name__)
START_TIMEOUT = 15.0
PASSWORD_QUERY = (
    "SELECT m.address AS user, '{{ARGON2ID}}' || p.password_hash AS password "  # noqa: S105
    "FROM gateway_app_password p JOIN directory_mailbox m ON m.id = p.mailbox_id "
    "WHERE m.address = '%Lu' AND m.active AND p.revoked_at IS NULL "
    "ORDER BY p.id DESC LIMIT 1 OFFSET {offset}"
)


class DovecotError(GatewayError):
    code = "dovecot-error"


def dovecot_sql_connect(database_url: str) -> tuple[str, str]:
    """(driver, connect string) for Dovecot's SQL passdb from our SQLAlchemy URL."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return "sqlite", str(Path(unquote(parts.path)[1:]).resolve())
    if scheme in ("postgresql", "postgres"):
        fields = {
            "host": parts.hostname or "127.0.0.1",
            "port": str(parts.port or 5432),
            "dbname": parts.path.lstrip("/"),
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
        }
        return "pgsql", " ".join(f"{k}={v}" for k, v in fields.items() if v)
    raise DovecotError(f"Dovecot cannot read a {scheme} database")


def _accounts() -> tuple[str, str, str]:
    """(internal user, its group, login user): ourselves, or Debian's accounts as root."""
    if os.geteuid() == 0:
        return "dovecot", "dovecot", "dovenull"
    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, grp.getgrgid(os.getegid()).gr_name, me


@dataclass(frozen=True)
class DovecotFiles:
    root: Path
    config: Path
    log: Path
    mail: Path


def write_dovecot_config(
    config: GatewayConfig, database_url: str, cert: Path, key: Path
) -> DovecotFiles:
    """Write ``dovecot.conf`` and one SQL file per passdb under ``<data_dir>/dovecot``."""
    root = (config.dovecot_dir or Path(config.data_dir) / "dovecot").resolve()
    for name in ("run", "state", "mail"):
        (root / name).mkdir(parents=True, exist_ok=True)
    user, group, login = _accounts()
    if os.geteuid() == 0:
        root.chmod(0o711)
        shutil.chown(root / "mail", user, group)
    driver, connect = dovecot_sql_connect(database_url)
    passdbs = []
    for offset in range(MAX_ACTIVE_PASSWORDS):
        sql = root / f"sql-{offset}.conf.ext"
        sql.write_text(
            f"driver = {driver}\nconnect = {connect}\ndefault_pass_scheme = ARGON2ID\n"
            f"password_query = {PASSWORD_QUERY.format(offset=offset)}\n"
        )
        sql.chmod(0o600)
        passdbs.append(f"passdb {{\n  driver = sql\n  args = {sql}\n}}\n")
    instance = f"caducee-{abs(hash(str(root))) % 10**8}"
    text = f"""# Written by Caducée (gateway.dovecot): do not edit, it is rewritten at each start.
protocols = imap lmtp
listen = {config.imap_host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = {instance}
log_path = {root}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {pwd.getpwnam(user).pw_uid}
first_valid_gid = {grp.getgrnam(group).gr_gid}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
disable_plaintext_auth = yes
{"".join(passdbs)}userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%Ld/%Ln allow_all_users=yes
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {config.imap_host}
    port = {config.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {config.lmtp_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {user}
  }}
  unix_listener stats-writer {{
    user = {user}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@{config.mail_domain}
}}
"""
    path = root / "dovecot.conf"
    path.write_text(text)
    return DovecotFiles(root, path, root / "dovecot.log", root / "mail")


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class DovecotServer:
    """One Dovecot master process (``dovecot -F``) owned by this server process."""

    def __init__(self, config: GatewayConfig, database_url: str, cert: Path, key: Path) -> None:
        self.config = config
        self.database_url = database_url
        self.cert = cert
        self.key = key
        self.files: DovecotFiles | None = None
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which(self.config.dovecot_binary) or shutil.which(
            self.config.dovecot_binary, path="/usr/sbin:/sbin"
        )
        if binary is None:
            raise DovecotError(
                "dovecot is not installed: apt-get install dovecot-imapd dovecot-lmtpd "
                "dovecot-sqlite dovecot-pgsql"
            )
        self.files = await asyncio.to_thread(
            write_dovecot_config, self.config, self.database_url, self.cert, self.key
        )
        self._process = await asyncio.create_subprocess_exec(
            binary, "-F", "-c", str(self.files.config), stdin=asyncio.subprocess.DEVNULL
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while loop.time() < deadline:
            if self._process.returncode is not None:
                raise DovecotError(
                    f"dovecot exited with {self._process.returncode}: see {self.files.log}"
                )
            ready = await asyncio.to_thread(
                lambda: (
                    _port_open(self.config.imap_host, self.config.imap_port)
                    and _port_open("127.0.0.1", self.config.lmtp_port)
                )
            )
            if ready:
                log.info(
                    "dovecot started: IMAP %s:%d, LMTP 127.0.0.1:%d",
                    self.config.imap_host,
                    self.config.imap_port,
                    self.config.lmtp_port,
                )
                return
            await asyncio.sleep(0.1)
        await self.stop()
        raise DovecotError(f"dovecot did not open its ports in {START_TIMEOUT:.0f} s")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.info("dovecot stopped")
