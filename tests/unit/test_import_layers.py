"""The import graph between the package's parts (subpackages and top-level modules) runs one way where it must:
read from the source with `ast`, so an import inside a function counts as much as one at the top (one under
`if TYPE_CHECKING:`, for annotations only, does not)."""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

import pytest

import clinic_reminders

ROOT = Path(clinic_reminders.__file__).parent


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:` (imports for annotations only never run)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(child for child in ast.iter_child_nodes(node) if not _is_type_checking(child))
    return found


def _imported_parts(path: Path) -> set[str]:
    """The parts of the package that the module at `path` imports when it runs."""
    package = list(path.relative_to(ROOT).parts[:-1])  # an __init__.py's package is its folder, as a module's is
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[list[str]] = []
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                targets.append(base + node.module.split("."))
            else:
                targets.extend([*base, alias.name] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("clinic_reminders."):
            targets.append((node.module or "").split(".")[1:])
        elif isinstance(node, ast.Import):
            targets.extend(a.name.split(".")[1:] for a in node.names if a.name.startswith("clinic_reminders."))
        found.update(target[0].removesuffix(".py") for target in targets if target)
    return found


@cache
def graph() -> dict[str, frozenset[str]]:
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] == "migrations":
            continue
        edges.setdefault(parts[0].removesuffix(".py"), set()).update(_imported_parts(path))
    return {part: frozenset(targets - {part}) for part, targets in edges.items()}


def path_between(start: str, goal: str) -> list[str] | None:
    """The shortest chain of imports from `start` to `goal`, or None."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        part = queue.popleft()
        if part == goal:
            chain: list[str] = []
            step: str | None = part
            while step is not None:
                chain.append(step)
                step = came_from[step]
            return chain[::-1]
        for nxt in graph().get(part, frozenset()):
            if nxt not in came_from:
                came_from[nxt] = part
                queue.append(nxt)
    return None


def test_it_reads_the_imports_it_is_meant_to_judge() -> None:
    """The reader itself: known edges are seen, so the tests below cannot pass for want of any."""
    assert "conversations" in graph()["dispatcher"]  # outcomes act on what delivery errors teach
    assert "reminder_text" in graph()["conversations"]
    assert {"models", "booking"} <= graph()["conversations"]  # `from ..models import`, `from .. import booking`
    assert "dispatcher" in graph()["web"]  # `from ...dispatcher.worker import`, two folders down


# (lower, higher): the higher part may import the lower one, never the other way round (also not through others).
ONE_WAY = [("conversations", "dispatcher")]


@pytest.mark.parametrize(("lower", "higher"), ONE_WAY)
def test_it_keeps_the_import_graph_one_way(lower: str, higher: str) -> None:
    back = path_between(lower, higher)
    assert back is None, f"{lower} imports {higher}: {' -> '.join(back)}; move what both need where it belongs"
