"""Lint, types and the dependency arrows are part of the suite."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_arrows_point_one_way() -> None:
    workflow = imports("workflow")
    assert not workflow & {"flask", "flask_smorest", "sqlalchemy", "audit", "api"}
    assert "api" not in imports("audit")


def test_offline_verifier_needs_only_stdlib_and_cryptography() -> None:
    code = ("import sys, audit.verifier.verify; bad = [m for m in sys.modules if "
            "m.split('.')[0] in ('sqlalchemy', 'flask', 'workflow', 'api', 'click')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_ruff_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_mypy_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout


# The shape of the house (issue 24): no import circle, small modules and functions, no SQL
# text and no unit-of-work `with` under api/ (entry points make one call to the service
# layer, which owns the transaction), no SQL text in workflow/.
PACKAGES = ("workflow", "audit", "api")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if "migrations" not in p.parts]


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_imports(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import mod` imports the module; `from mod import name`, the module
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [s for s in subs if s in known] or [node.module]
        found |= {n for n in names if n in known}
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        for n in graph[m]:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            part = stack[stack.index(m):]
            del stack[stack.index(m):]
            if len(part) > 1:
                found.append(sorted(part))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    return found


def test_no_import_circle() -> None:
    modules = {_module_of(p): p for p in _sources()}
    graph = {m: _module_imports(p, set(modules)) - {m} for m, p in modules.items()}
    assert _circles(graph) == []


def test_modules_and_functions_are_small() -> None:
    big_modules, long_functions = [], []
    for path in _sources():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            big_modules.append(f"{path.relative_to(ROOT)} {len(text.splitlines())}")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.name} {length}")
    assert not big_modules + long_functions, big_modules + long_functions


SQL = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "sqlalchemy")


def test_no_sql_text_under_api_or_workflow() -> None:
    found = []
    for pkg in ("api", "workflow"):
        for path in (ROOT / pkg).rglob("*.py"):
            # the test and benchmark testbed is not Baton; the composition root makes engines
            if path.name in {"testbed.py", "testbed_hostile.py", "container.py"}:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
                        word in node.value for word in SQL[:4]):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if isinstance(node, ast.Import | ast.ImportFrom):
                    mod = node.module if isinstance(node, ast.ImportFrom) else None
                    names = [mod or ""] + [a.name for a in node.names]
                    if any(n.split(".")[0] == "sqlalchemy" for n in names if n):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports sqlalchemy")
    assert not found, found


def test_no_unit_of_work_opened_under_api() -> None:
    found = []
    for path in (ROOT / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.With):
                for item in node.items:
                    call = item.context_expr
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr in {"uow", "unit_of_work"}):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
