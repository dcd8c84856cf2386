"""One import package: the layers are subpackages of searchbot, the migrations travel with it,
and the fake Telegram is a separate distribution the product does without. (.ci/run installs the
built wheels into a fresh virtualenv and runs `searchbot db upgrade` and `searchbot demo` there.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import searchbot.migrations
from searchbot.models import db

REPO = Path(__file__).resolve().parent.parent


def test_migrations_are_found_through_the_package() -> None:
    assert Path(searchbot.migrations.__file__).parent == db.MIGRATIONS
    scripts = ScriptDirectory.from_config(db.alembic_config())
    assert scripts.get_current_head() is not None
    assert (db.MIGRATIONS / "env.py").is_file() and (db.MIGRATIONS / "script.py.mako").is_file()


@pytest.mark.parametrize("layer", ["models", "handlers"])
def test_a_layer_imported_by_its_folder_name_says_which_name_to_use(
    layer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # as under pytest, where the root is on sys.path
    monkeypatch.delitem(sys.modules, layer, raising=False)
    with pytest.raises(ImportError, match=f"import searchbot.{layer}, not {layer}"):
        __import__(layer)


def test_the_demo_without_fakegram_says_in_one_line_how_to_install_it(tmp_path: Path) -> None:
    # fakegram is not part of the product: a plain install of the searchbot wheel lacks it
    without_fakegram = (
        "import sys; sys.modules['fakegram'] = None; "
        "from searchbot.cli import main; sys.exit(main(['demo']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", without_fakegram],
        env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "pip install ./fakegram" in result.stderr
