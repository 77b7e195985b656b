"""Run every benchmark in this folder, one after the other, and print their tables.

Each ``bench_*.py`` measures Caducée against a peer in the same run and prints ratios;
none of them is a test. ``make bench`` runs this file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    failures = 0
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        result = subprocess.run([sys.executable, str(script)], check=False)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
