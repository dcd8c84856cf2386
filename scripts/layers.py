"""The layer check: searchbot's imports run one way, down, with no circle; fakegram stands alone.

Reads every module's imports (those inside functions and under TYPE_CHECKING too: a deferred
import is still a dependency) and fails, naming the file and line, on
- an import of a higher layer than the importer's (the order is LAYERS below);
- a circle of imports between modules, within a layer or across;
- fakegram importing searchbot.

Run by .ci/run: ``python scripts/layers.py`` (exit 1 on any finding).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and those before it. A layer is a package of
# searchbot (or one top-level module); the composition root and the entry points come last.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("searchbot.domain",),
    ("searchbot.settings",),
    ("searchbot.models", "searchbot.migrations"),
    ("searchbot.words",),
    ("searchbot.cases",),
    ("searchbot.operations",),
    ("searchbot.telling",),
    ("searchbot.delivery",),
    ("searchbot.telegram",),
    ("searchbot.web",),
    ("searchbot.handlers",),
    (
        "searchbot.app",
        "searchbot.cli",
        "searchbot.__main__",
        "searchbot.demo",
        "searchbot.rehearsal",
    ),
)


def layer_of(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def modules() -> dict[str, Path]:
    """Every module of searchbot by its dotted name (handlers/, models/ and migrations/ are the
    packages searchbot.handlers, searchbot.models, searchbot.migrations)."""
    found: dict[str, Path] = {}
    roots = {
        "searchbot": ROOT / "searchbot",
        "searchbot.handlers": ROOT / "handlers",
        "searchbot.models": ROOT / "models",
        "searchbot.migrations": ROOT / "migrations",
    }
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            if path.is_symlink() or any(part.is_symlink() for part in path.parents):
                continue
            parts = path.relative_to(folder).with_suffix("").parts
            if package == "searchbot" and parts[0] in ("handlers", "models", "migrations"):
                continue  # the links; read from the real folders above
            if package == "searchbot" and parts == ("__init__",):
                continue  # the root package holds nothing
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> Iterator[tuple[int, str]]:
    """(line, imported searchbot module) for each import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _resolved(node.lineno, alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield from _resolved(node.lineno, candidate if candidate in known else base, known)


def _resolved(line: int, name: str, known: set[str]) -> Iterator[tuple[int, str]]:
    while name and name not in known:
        name = name.rpartition(".")[0]
    if name.startswith("searchbot"):
        yield line, name


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def fakegram_imports() -> Iterator[str]:
    for path in sorted((ROOT / "fakegram" / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                if name == "searchbot" or name.startswith("searchbot."):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}: fakegram imports {name}"


def findings() -> list[str]:
    found = modules()
    known = set(found)
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for module, path in found.items():
        own = layer_of(module)
        if own is None:
            problems.append(
                f"{path.relative_to(ROOT)}: {module} is in no layer (scripts/layers.py)"
            )
            continue
        for line, target in imports(module, path, known):
            if target == module or module.startswith(target + "."):
                continue  # a package's own __init__ seen from inside it
            graph.setdefault(module, set()).add(target)
            rank = layer_of(target)
            if rank is not None and rank > own:
                problems.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} (layer {own}) imports "
                    f"{target} (layer {rank}), a higher layer"
                )
    for component in circles(graph):
        problems.append("import circle: " + " -> ".join(component))
    problems.extend(fakegram_imports())
    return problems


def main() -> int:
    problems = findings()
    for problem in problems:
        print(problem)
    if problems:
        print(f"layers: {len(problems)} finding(s)")
        return 1
    print(f"layers: {len(modules())} modules, one way down, no circle; fakegram stands alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
