"""A real PKCS#11 token for tests: SoftHSM2 in a temporary folder with its own config."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pkcs11
import pytest

from caducee.crypto.pkcs11_keys import DEFAULT_PKCS11_MODULE
from tests.peers import require_tool

PIN, SO_PIN = "123456", "12345678"


@contextmanager
def softhsm_token(root: Path, label: str) -> Iterator[Path]:
    """Initialise an empty token ``label`` under ``root``; yield its SOFTHSM2_CONF path.

    SoftHSM reads its configuration at C_Initialize, so the module is re-initialised while
    SOFTHSM2_CONF points at this token's folder.
    """
    softhsm = require_tool("softhsm2-util", "softhsm2")
    (root / "tokens").mkdir(parents=True, exist_ok=True)
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(
            [softhsm, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
        )
        pkcs11.lib(DEFAULT_PKCS11_MODULE).reinitialize()
        yield conf
