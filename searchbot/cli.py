"""The ``searchbot`` command: run, demo, db upgrade, landmarks import."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from searchbot import db
from searchbot.settings import Settings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="searchbot", description="Coordinate the search for a missing person on Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling)")
    demo = commands.add_parser("demo", help="a complete search against a built-in fake Telegram")
    demo.add_argument("--groups", type=int, default=12, help="how many groups to register")
    database = commands.add_parser("db", help="database tasks")
    database.add_subparsers(dest="db_command", required=True).add_parser(
        "upgrade", help="migrate the database to the newest schema"
    )
    landmarks = commands.add_parser("landmarks", help="the station's named places")
    importing = landmarks.add_subparsers(dest="landmarks_command", required=True).add_parser(
        "import", help="load a CSV with columns name,aliases,lat,lon"
    )
    importing.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"searchbot: configuration error: {error}", file=sys.stderr)
        return 2
    if args.command == "run":
        return _run(settings)
    if args.command == "demo":
        from searchbot.demo import run_demo

        return asyncio.run(run_demo(groups=args.groups))
    if args.command == "db":
        asyncio.run(_upgrade(settings))
        print("database is at the newest schema")
        return 0
    if args.command == "landmarks":
        return asyncio.run(_import_landmarks(settings, args.file))
    return 2


def _run(settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(
            "searchbot: TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and put it in "
            "the environment or .env (see .env.example). To see the bot at work without a token, "
            "run: searchbot demo",
            file=sys.stderr,
        )
        return 2
    from searchbot.app import build

    runtime = build(settings)
    runtime.application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])
    return 0


async def _upgrade(settings: Settings) -> None:
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


async def _import_landmarks(settings: Settings, path: Path) -> int:
    from searchbot.places import import_landmarks

    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        count = await import_landmarks(db.sessions(engine), path)
    except (OSError, ValueError) as error:
        print(f"searchbot: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"imported {count} landmarks")
    return 0
