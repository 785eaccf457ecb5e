"""The dependency rule: core imports only the standard library; plugins never import adapters."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: Path) -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(path, node.lineno, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((path, node.lineno, node.module))
    return found


def test_core_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, line, module in imported_modules(ROOT / "core")
        if module.split(".")[0] not in allowed and not module.startswith("openmailer.core")
    ]
    assert offenders == []


def test_plugins_depend_on_core_not_on_adapters() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, line, module in imported_modules(ROOT / "plugins")
        if module.startswith(("openmailer.adapters", "sender_rs"))
    ]
    assert offenders == []


def test_the_contract_check_sees_a_violation(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import sqlalchemy\nfrom os import path\n")
    modules = [module for _, _, module in imported_modules(tmp_path)]
    assert modules == ["sqlalchemy", "os"]
