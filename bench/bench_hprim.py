"""HPRIM médecin parsing throughput over the synthetic corpus, against a bare line split.

    .venv/bin/python bench/bench_hprim.py [--mb 4] [--rounds 5]

Two workloads built from the valid HPRIM files of ``tests/formats/corpus``: one big file (every
document re-written into one transmission, repeated to ``--mb`` MB) and many small files (the
corpus files repeated to the same size). The baseline is the least any reader must do:
``data.split("\\n")`` then ``line.split("|")`` per line, on already-decoded text.
"""

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from caducee.formats.hprim import parse_hprim, to_hprim, validate_hprim
from caducee.formats.text import to_text

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "formats" / "corpus"


def load_small_files() -> list[bytes]:
    expected = json.loads((CORPUS / "expected.json").read_text())
    return [
        (CORPUS / name).read_bytes()
        for name, e in sorted(expected.items())
        if e["kind"] == "hprim" and "error" not in e
    ]


def baseline(text: str) -> int:
    """Split into lines and fields; count the fields (so nothing is optimised away)."""
    return sum(len(line.split("|")) for line in text.split("\n"))


def best_of(rounds: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(rounds):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    target = int(args.mb * 1024 * 1024)

    small = load_small_files()
    docs = [doc for data in small for doc in parse_hprim(data)]
    unit = to_hprim(docs).encode("cp1252")
    big = to_hprim(docs * (target // len(unit) + 1)).encode("cp1252")
    files: list[bytes] = []
    while sum(map(len, files)) < target:
        files.extend(small)
    size_files = sum(map(len, files))
    big_text = to_text(big)
    file_texts = [to_text(f) for f in files]
    n_big = len(parse_hprim(big))
    n_files = sum(len(parse_hprim(f)) for f in files)

    rows: list[tuple[str, str, float, int, int]] = []

    def run(name: str, workload: str, size: int, docs_n: int, fn: Callable[[], int]) -> None:
        seconds, _ = best_of(args.rounds, fn)
        rows.append((name, workload, seconds, size, docs_n))

    run("baseline split (decoded str)", "one big file", len(big), n_big, lambda: baseline(big_text))
    run("parse_hprim (str)", "one big file", len(big), n_big, lambda: len(parse_hprim(big_text)))
    run(
        "parse_hprim (bytes, + decode)",
        "one big file",
        len(big),
        n_big,
        lambda: len(parse_hprim(big)),
    )
    run("validate_hprim (bytes)", "one big file", len(big), n_big, lambda: len(validate_hprim(big)))
    run("baseline split (decoded str)", f"{len(files)} files", size_files, n_files,
        lambda: sum(baseline(t) for t in file_texts))  # fmt: skip
    run("parse_hprim (bytes, + decode)", f"{len(files)} files", size_files, n_files,
        lambda: sum(len(parse_hprim(f)) for f in files))  # fmt: skip

    base = {w: s for n, w, s, _, _ in rows if n.startswith("baseline")}
    print(f"HPRIM médecin parsing, best of {args.rounds} rounds")
    print(f"{'reader':32} {'workload':16} {'MB/s':>8} {'docs/s':>10} {'x baseline':>11}")
    for name, workload, seconds, size, docs_n in rows:
        mbs = size / seconds / 1e6
        print(f"{name:32} {workload:16} {mbs:8.1f} {docs_n / seconds:10.0f} "
              f"{seconds / base[workload]:10.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
