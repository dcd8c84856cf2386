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


def test_a_bot_without_the_command_room_never_imports_aiogram() -> None:
    """aiogram checks the Mini App's init data and builds its whole type library when imported
    (seconds of CPU): a bot that serves no page must not pay for it at start."""
    build = (
        "import sys; from searchbot import app; from searchbot.settings import load_settings; "
        "app.build(load_settings(TELEGRAM_BOT_TOKEN='1:x', DATABASE_URL='sqlite+aiosqlite://')); "
        "print('aiogram' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", build], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "False"


@pytest.mark.mini_app
async def test_the_init_data_check_is_aiograms() -> None:
    """The checker is aiogram's (its own signature rules), fed by a signer of our own that
    shares no code with it (searchbot.rehearsal.init_data)."""
    from fakegram import FakeUser
    from searchbot.rehearsal import init_data
    from searchbot.web import init_data as check

    signed = init_data("42:TOKEN", FakeUser(user_id=9, first_name="Li", language_code="zh"))
    assert (await check.verified("42:TOKEN", signed)).user == check.InitUser(9, "Li", None, "zh")
    with pytest.raises(ValueError):
        await check.verified("43:OTHER", signed)
    assert check._checker is not None and check._checker.__module__ == "aiogram.utils.web_app"
