"""The trust boundary made visible: the agent talks to the server over HTTP only."""

from __future__ import annotations

import ast
from pathlib import Path

import caducee.agent

FORBIDDEN = ("caducee.server", "caducee.relay", "caducee.directory", "caducee.store")
SOURCES = [
    *Path(caducee.agent.__file__).parent.rglob("*.py"),
    Path(caducee.agent.__file__).parent.parent / "commands" / "agent.py",
]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_agent_never_imports_the_server_side() -> None:
    assert len(SOURCES) > 10
    for path in SOURCES:
        bad = sorted(n for n in _imports(path) if n.startswith(FORBIDDEN))
        assert bad == [], f"{path.name} imports {bad}"


def test_every_module_declares_its_public_surface() -> None:
    for path in SOURCES:
        tree = ast.parse(path.read_text("utf-8"))
        targets = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        ]
        assert "__all__" in targets, f"{path.name} has no __all__"
