"""The ``searchbot`` command: run, demo, db upgrade, stations, landmarks and playbooks import."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from searchbot.models import db
from searchbot.models.db import Sessions
from searchbot.operations import logs
from searchbot.operations.startup import Refused, Unreachable, reach_database
from searchbot.settings import Settings, SettingsError, load_settings

DEBUG_HELP = "show the traceback of a failure (by default: one line)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="searchbot", description="Coordinate the search for a missing person on Telegram."
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    # --debug after the sub-command too (`searchbot db upgrade --debug`); SUPPRESS: a sub-command
    # without it keeps the value given before it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str,
        summary: str,
        under: argparse._SubParsersAction | None = None,  # type: ignore[type-arg]
    ) -> argparse.ArgumentParser:
        return (under or commands).add_parser(name, help=summary, parents=[common])

    run = command("run", "run the bot (long polling, or a webhook)")
    run.add_argument("--webhook", metavar="URL", help="public HTTPS URL for Telegram's updates")
    demo = command("demo", "a complete search against fakegram, a fake Telegram")
    demo.add_argument("--groups", type=int, default=12, help="how many groups to register")
    demo.add_argument(
        "--stations", action="store_true", help="two stations: a border, a hand-off, a close"
    )
    database = commands.add_parser("db", help="database tasks")
    tasks = database.add_subparsers(dest="db_command", required=True)
    command("upgrade", "migrate the database to the newest schema", tasks)
    landmarks = commands.add_parser("landmarks", help="the station's named places")
    tasks = landmarks.add_subparsers(dest="landmarks_command", required=True)
    landmark_import = command("import", "load a CSV with columns name,aliases,lat,lon", tasks)
    landmark_import.add_argument("file", type=Path)
    stations = commands.add_parser("stations", help="the district's stations and their areas")
    tasks = stations.add_subparsers(dest="stations_command", required=True)
    station_import = command(
        "import", "load a GeoJSON FeatureCollection of station areas (see the README)", tasks
    )
    station_import.add_argument("file", type=Path)
    playbooks = commands.add_parser("playbooks", help="the station's wording of each role's job")
    tasks = playbooks.add_subparsers(dest="playbooks_command", required=True)
    playbook_import = command(
        "import", "load a CSV with columns role,language,text (see the README)", tasks
    )
    playbook_import.add_argument("file", type=Path)
    export = command("export", "a case as CAP 1.2 messages and a PFIF 1.4 file")
    export.add_argument("case", type=int)
    export.add_argument("--out", type=Path, default=Path("."), help="folder to write into")
    stats = command("stats", "figures for the officers, optionally a PNG chart")
    stats.add_argument("--days", type=int, default=30, help="cases reported in the last N days")
    stats.add_argument("--png", type=Path, help="also write the chart here")
    purge = command("purge", "remove personal data past the retention period")
    purge.add_argument("--dry-run", action="store_true", help="only show what would go")
    audit = commands.add_parser("audit", help="the audit log")
    tasks = audit.add_subparsers(dest="audit_command", required=True)
    command("export", "write the audit log as JSON lines to standard output", tasks)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logs.install()
    try:
        settings = load_settings()
        if args.command == "run" and args.webhook:  # checked like the environment: a webhook
            settings = load_settings(SEARCHBOT_WEBHOOK_URL=args.webhook)  # needs a strong secret
    except SettingsError as error:
        print(f"searchbot: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        return _command(args, settings)
    except (Unreachable, Refused) as trouble:  # the database or Telegram: one line, no traceback
        if args.debug:
            traceback.print_exc()
        print(f"searchbot: {trouble}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return _run(settings, args.debug)
    if args.command == "demo":
        return _demo(args.groups, args.stations)
    if args.command == "db":
        asyncio.run(_upgrade(settings))
        print("database is at the newest schema")
        return 0
    if args.command == "landmarks":
        from searchbot.cases.places import import_landmarks

        return asyncio.run(_import_file(settings, args.file, import_landmarks, "landmarks"))
    if args.command == "playbooks":
        from searchbot.cases.playbooks import import_playbooks

        return asyncio.run(_import_file(settings, args.file, import_playbooks, "playbooks"))
    if args.command == "stations":
        return asyncio.run(_import_stations(settings, args.file))
    if args.command == "purge":
        return asyncio.run(_purge(settings, args.dry_run))
    if args.command == "audit":
        return asyncio.run(_audit_export(settings))
    if args.command == "export":
        return asyncio.run(_export(settings, args.case, args.out))
    if args.command == "stats":
        return asyncio.run(_stats(settings, args.days, args.png))
    return 2


def _run(settings: Settings, debug: bool) -> int:
    """The bot, until SIGINT or SIGTERM (exit code 0, also when they come while it waits for
    the database or Telegram); 2 with one line when either refuses (see ``main``)."""
    if not settings.telegram_bot_token:
        print(
            "searchbot: TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and put it in "
            "the environment or .env (see .env.example). To see the bot at work without a "
            "token, run: searchbot demo",
            file=sys.stderr,
        )
        return 2
    from searchbot.app import serve

    if not _only_instance(settings):
        return 2
    asyncio.run(serve(settings, debug))
    return 0


async def _engine(settings: Settings) -> AsyncEngine:
    """The database's engine once it answers: ``Unreachable`` or ``Refused`` (one line and exit
    code 2, see ``main``) when it does not. The sub-commands other than ``run`` do not wait."""
    engine = db.create_engine(settings.database_url)
    try:
        await reach_database(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


def _only_instance(settings: Settings) -> bool:
    """SQLite serves one process: a second ``searchbot run`` on the same file stops here with
    one line (PostgreSQL takes any number; one of them leads)."""
    from searchbot.delivery.leadership import hold_sqlite

    if not db.is_sqlite(settings.database_url) or hold_sqlite(settings.database_url):
        return True
    print(
        f"searchbot: another searchbot instance is running on {settings.database_url} (it "
        "holds the database's .lock file); SQLite serves one process: stop that one first, or "
        "use PostgreSQL to run several",
        file=sys.stderr,
    )
    return False


def _demo(groups: int, stations: bool = False) -> int:
    try:
        from searchbot.demo import run_demo, run_stations_demo
    except ModuleNotFoundError as missing:
        if missing.name != "fakegram":
            raise
        print(
            "searchbot: the demo plays against fakegram, a fake Telegram that is not part of "
            "the bot: install it from the searchbot repository with pip install ./fakegram",
            file=sys.stderr,
        )
        return 2
    if stations:
        return asyncio.run(run_stations_demo(groups=groups))
    return asyncio.run(run_demo(groups=groups))


async def _upgrade(settings: Settings) -> None:
    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


async def _import_file(
    settings: Settings,
    path: Path,
    load: Callable[[Sessions, Path], Awaitable[int]],
    what: str,
) -> int:
    """Load a station's file (landmarks, playbooks) into the migrated database."""
    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
        count = await load(db.sessions(engine), path)
    except (OSError, ValueError) as error:
        print(f"searchbot: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"imported {count} {what}")
    return 0


async def _import_stations(settings: Settings, path: Path) -> int:
    """Load a GeoJSON file of stations; a bad file changes nothing: one line, exit 2."""
    from datetime import UTC, datetime

    from searchbot.cases.stations import import_stations

    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
        count = await import_stations(db.sessions(engine), path, datetime.now(UTC))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"searchbot: {path.name}: {error}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(f"imported {count} stations")
    return 0


async def _export(settings: Settings, case_id: int, folder: Path) -> int:
    from searchbot.operations.after_action import export_text
    from searchbot.operations.exports import load_case_record
    from searchbot.operations.records import case_documents

    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
        async with db.sessions(engine)() as session:
            record = await load_case_record(session, case_id, settings.escalation)
            page = await export_text(session, case_id, settings)
    finally:
        await engine.dispose()
    if record is None:
        print(f"searchbot: there is no case {case_id}", file=sys.stderr)
        return 1
    try:
        documents = case_documents(settings, record)
    except ValueError as error:  # a SEARCHBOT_RECORDS_DOMAIN that CAP or PFIF refuses
        print(f"searchbot: SEARCHBOT_RECORDS_DOMAIN: {error}", file=sys.stderr)
        return 2
    if page and documents:
        documents.append((f"case-{case_id}-after-action.txt", page))
    folder.mkdir(parents=True, exist_ok=True)
    for name, document in documents:
        (folder / name).write_text(document, encoding="utf-8")
        print(folder / name)
    return 0


async def _stats(settings: Settings, days: int, png: Path | None) -> int:
    from datetime import UTC, datetime, timedelta

    from searchbot.operations.statistics import chart_png, compute

    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
        async with db.sessions(engine)() as session:
            figures = await compute(session, datetime.now(UTC) - timedelta(days=days))
    finally:
        await engine.dispose()
    print(f"cases by outcome: {figures.cases_by_outcome}")
    print(
        f"time to found (min): median {figures.found_median_minutes}, "
        f"p90 {figures.found_p90_minutes}, share within 30 min {figures.found_within_30_share}"
    )
    print(f"sightings per case: {figures.sightings_per_case}")
    print(f"approved groups by role: {figures.approved_groups_by_role}")
    print(f"groups by status: {figures.groups_by_status}")
    print(f"groups that checked: {figures.groups_answered} of {figures.groups_alerted} alerted")
    if png:
        png.write_bytes(chart_png(figures, language=settings.language))
        print(png)
    return 0


async def _purge(settings: Settings, dry_run: bool) -> int:
    from searchbot.app import services_for
    from searchbot.cases.found import forget as forget_found
    from searchbot.models.doorbell import Doorbell
    from searchbot.operations.retention import purge

    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
        sessions = db.sessions(engine)
        services = services_for(settings, sessions, Doorbell())  # no dispatcher: nothing sent
        result = await purge(services, dry_run=dry_run)
        found = await forget_found(services, dry_run=dry_run)
    finally:
        await engine.dispose()
    verb = "would purge" if dry_run else "purged"
    cases = ", ".join(f"#{case}" for case in result.cases) or "none"
    print(
        f"{verb} {len(result.cases)} cases closed over {settings.retention_days} days ago "
        f"({cases}): {result.sightings} sightings, {result.messages} sent messages; "
        f"{result.drafts} abandoned drafts; {result.people} people not heard from since; "
        f"{found} reports of children found alone"
    )
    return 0


async def _audit_export(settings: Settings) -> int:
    import json

    from sqlmodel import col, select

    from searchbot.models import AuditEntry

    engine = await _engine(settings)
    try:
        await db.upgrade(engine)
        async with db.sessions(engine)() as session:
            entries = await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
            for entry in entries:
                record = {
                    "id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor_user_id,
                    "action": entry.action, "case": entry.case_id, "detail": entry.detail,
                }  # fmt: skip
                print(json.dumps(record, ensure_ascii=False))
    finally:
        await engine.dispose()
    return 0
