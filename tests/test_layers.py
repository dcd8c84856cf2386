"""scripts/layers.py and scripts/sizes.py, the gates .ci/run keeps: the real tree passes, and a
tree with an upward import, a circle, fakegram importing searchbot, or a long function fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gate_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in ("handlers", "models", "migrations", "fakegram/src/fakegram"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return root


def test_the_real_tree_runs_one_way_down_within_its_sizes() -> None:
    assert script("layers").findings() == []
    assert script("sizes").findings() == []


def test_an_upward_import_a_circle_and_fakegram_importing_searchbot_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layers = script("layers")
    monkeypatch.setattr(layers, "ROOT", tree(tmp_path, {
        "searchbot/__init__.py": "",
        "searchbot/domain/__init__.py": "",
        "searchbot/domain/grid.py": "from searchbot.cases import reporting\n",
        "searchbot/cases/__init__.py": "",
        "searchbot/cases/reporting.py": "from searchbot.cases import closing\n",
        "searchbot/cases/closing.py": "def later():\n    from searchbot.cases import reporting\n",
        "fakegram/src/fakegram/rehearsal.py": "import searchbot.app\n",
    }))  # fmt: skip
    found = "\n".join(layers.findings())
    assert "searchbot.domain.grid (layer 0) imports searchbot.cases.reporting" in found
    assert "import circle: searchbot.cases.closing -> searchbot.cases.reporting" in found
    assert "fakegram imports searchbot.app" in found


def test_a_long_function_or_module_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = script("sizes")
    body = "".join(f"    x{n} = {n}\n" for n in range(60))
    monkeypatch.setattr(sizes, "ROOT", tree(tmp_path, {
        "searchbot/long.py": f"def long():\n{body}",
        "searchbot/big.py": "x = 1\n" * 501,
    }))  # fmt: skip
    found = "\n".join(sizes.findings())
    assert "long is 61 lines" in found and "big.py: 501 lines" in found
