"""The vendored HPKE bundle is the one its README and lock file describe (no hand edits).

Rebuilding needs the npm registry (``tools/instant-vendor/build.sh``), so this test checks
what can be checked offline: the bundle's sha256 is the one recorded, every bundled package
is pinned in the lock file at the version named in the README, and its licence ships with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "caducee" / "server" / "static" / "instant" / "vendor"
LOCK = ROOT / "tools" / "instant-vendor" / "package-lock.json"
BUNDLED = ["@hpke/core", "@hpke/common", "@hpke/dhkem-x25519", "@hpke/hybridkem-x-wing", "mlkem"]


def test_the_bundle_has_the_recorded_sha256() -> None:
    readme = (VENDOR / "README.md").read_text()
    recorded = re.search(r"sha256 of `hpke.js`: `([0-9a-f]{64})`", readme)
    assert recorded is not None
    assert hashlib.sha256((VENDOR / "hpke.js").read_bytes()).hexdigest() == recorded.group(1)


def test_every_bundled_package_is_pinned_and_its_licence_ships() -> None:
    lock = json.loads(LOCK.read_text())["packages"]
    readme = (VENDOR / "README.md").read_text()
    for package in BUNDLED:
        entry = lock[f"node_modules/{package}"]
        assert entry["integrity"].startswith("sha512-"), package
        version = entry["version"]
        assert f"| `{package}` | {version} |" in readme, package
        licence = VENDOR / f"{package.lstrip('@').replace('/', '-')}-{version}.LICENSE"
        assert "MIT License" in licence.read_text(), licence.name


def test_the_modules_import_only_the_bundle_and_each_other() -> None:
    """No CDN, no bare npm specifier left for the browser to resolve."""
    for module in (VENDOR.parent).glob("*.js"):
        for target in re.findall(r'from "([^"]+)"', module.read_text()):
            assert target.startswith("./"), (module.name, target)
