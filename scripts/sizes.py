"""The size check: no module over 500 lines, no function over 60, in searchbot (with its
handlers and models), fakegram and the scripts. Migrations are left out: each is a schema
written once and never changed. Run by .ci/run (exit 1 on any finding)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("searchbot", "handlers", "models", "fakegram/src", "scripts")
MODULE_MAX, FUNCTION_MAX = 500, 60


def findings() -> list[str]:
    found: list[str] = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if any(part.is_symlink() for part in (path, *path.parents)):
                continue  # searchbot/handlers and searchbot/models: read from their folders
            source = path.read_text()
            name = path.relative_to(ROOT)
            if (lines := source.count("\n")) > MODULE_MAX:
                found.append(f"{name}: {lines} lines (at most {MODULE_MAX})")
            for node in ast.walk(ast.parse(source, str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > FUNCTION_MAX:
                        found.append(
                            f"{name}:{node.lineno}: {node.name} is {length} lines "
                            f"(at most {FUNCTION_MAX})"
                        )
    return found


def main() -> int:
    problems = findings()
    for problem in problems:
        print(problem)
    if problems:
        print(f"sizes: {len(problems)} finding(s)")
        return 1
    print(f"sizes: no module over {MODULE_MAX} lines, no function over {FUNCTION_MAX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
