"""The core imports no feature: what it needs from one, the feature registers (labelbot/registry.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FEATURES = "labelbot.features"


def _imports_of(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            found.append((node.lineno, node.module))
    return found


def test_no_module_of_the_core_imports_a_feature() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "labelbot").rglob("*.py"))
        if path.relative_to(ROOT / "labelbot").parts[0] not in ("features", "migrations")
        for line, module in _imports_of(path)
        if module == FEATURES or module.startswith(f"{FEATURES}.")
    ]
    assert offenders == []
