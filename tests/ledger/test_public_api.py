"""The public surface of ``caducee.ledger`` is pinned; the core imports nothing of the rest."""

import ast
from pathlib import Path

import caducee.ledger
from caducee.errors import CaduceeError
from caducee.ledger import errors

SRC = Path(caducee.ledger.__file__).parent
ALLOWED = {"caducee.errors", "caducee.ledger", "cryptography", "asn1crypto"}


def test_all_names_exist() -> None:
    for name in caducee.ledger.__all__:
        assert hasattr(caducee.ledger, name), name
    assert "verify_receipt" in caducee.ledger.__all__
    assert "InMemoryTree" in caducee.ledger.__all__


def test_every_error_is_a_ledger_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.LedgerError)
        assert issubclass(cls, CaduceeError)
        assert cls.code.startswith("ledger-")


def test_pure_core_imports() -> None:
    """Only the stdlib, cryptography, asn1crypto and caducee.errors (never pymerkle)."""
    for path in SRC.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "caducee":
                    assert any(name.startswith(a) for a in ALLOWED), (path.name, name)
                else:
                    assert top in {"cryptography", "asn1crypto"} or top in _stdlib(), name


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names)
