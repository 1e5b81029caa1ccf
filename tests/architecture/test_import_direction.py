"""The layout of docs/architecture.md, checked: doors above domains, domains
above core, and no file that imports itself back through others."""

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_linter_contracts_are_kept():
    # given the contracts in pyproject.toml ([tool.importlinter]), checked by
    # the same command a developer runs
    lint_imports = Path(sys.executable).parent / "lint-imports"
    # when
    result = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """The groups of modules that import each other, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_two_files_import_each_other():
    # Function-level imports count too: a cycle hidden in a function is still
    # two modules that cannot be understood (or moved) one without the other.
    graph = grimp.build_graph("clientbase")
    assert strongly_connected(graph) == []
