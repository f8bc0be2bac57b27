"""The ``newsbot`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot import __version__
from bot.redaction import RedactingFilter

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


def _site_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an absolute http(s) URL: {value!r}")
    return value.rstrip("/")


def _postgres_url(value: str) -> str:
    from bot.config import is_postgres_url

    if not is_postgres_url(value):
        raise argparse.ArgumentTypeError(f"not a postgresql:// URL: {value!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: ``run``, ``status``, ``preview`` and ``migrate-store``."""
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Posts the Key Takeaways of a publication's new articles to Discord.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the bot (watch sources, post new articles)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Watch the content folder and feeds and post new articles to Discord.\n"
        "Needs DISCORD_TOKEN (in .env or the environment); with --dry-run it needs no token\n"
        "and prints the posts instead of sending them.",
        epilog="exit status:\n"
        "  0  stopped on request: Ctrl-C (SIGINT) or SIGTERM, at any moment, start-up included\n"
        "  1  could not start (Discord refused the token, unreachable, database unusable),\n"
        "     or the database was deleted or replaced while running\n"
        "  2  an invalid setting, no DISCORD_TOKEN without --dry-run, or a usage error",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print posts instead of sending; needs no token"
    )

    status = commands.add_parser(
        "status",
        help="show how the bot is doing, from its database",
        description="Read the database (NEWSBOT_DATABASE; read-only, beside a running bot or "
        "with none) and show each source's state, articles by status, the last announcements, "
        "the outbox and paused subscriptions. Exit 0 healthy, 1 something needs attention "
        "(a failing source, a post waiting over 10 minutes), 2 the database cannot be read.",
    )
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")

    preview = commands.add_parser(
        "preview",
        help="show the post the bot would send for articles or feeds",
        description="Read Markdown files, folders (recursively) or feed documents and print the "
        "exact post the bot would send for each article. Exit 0 when every input was read, "
        "1 when any was rejected (the others are still printed), 2 on usage errors, "
        "130 when interrupted (Ctrl-C) before the end.",
    )
    preview.add_argument("paths", nargs="+", metavar="PATH", help="file, folder or feed document")
    preview.add_argument(
        "--json",
        action="store_true",
        help="JSON Lines: {source, article, message} or {source, error}",
    )
    preview.add_argument(
        "--site-url", type=_site_url, metavar="URL", help="resolve site-relative links against URL"
    )

    migrate = commands.add_parser(
        "migrate-store",
        help="copy a SQLite store into an empty PostgreSQL database",
        description="Copy everything the bot keeps in the SQLite file SQLITE_PATH (articles, "
        "sources and their first-start state, subscriptions and filters, deliveries and the "
        "ids of posted messages, settings) into the empty PostgreSQL database POSTGRES_URL, "
        "so that a bot started on it announces nothing again. Stop the bot first. Exit 0 "
        "copied, 1 not copied (a non-empty target, a file in use, a database unreachable; "
        "nothing is written then), 2 usage error.",
    )
    migrate.add_argument("sqlite_path", metavar="SQLITE_PATH", help="the bot's SQLite file")
    migrate.add_argument(
        "postgres_url", metavar="POSTGRES_URL", type=_postgres_url, help="postgresql://..."
    )
    return parser


def configure_logging(level: str, shape: str = "text") -> None:
    """Log to stderr, as readable lines or (``shape="json"``) one JSON object a line;
    discord.py's own loggers follow the same level."""
    handler = logging.StreamHandler(sys.stderr)
    if shape == "json":
        from bot.logs import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    # Secrets (webhook tokens in discord.py's request lines, credentials in URLs) are
    # cut out of every line.
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, handlers=[handler])
    # One line per detected change is noise at INFO; our own sources log what matters.
    logging.getLogger("watchfiles").setLevel(max(logging.WARNING, logging.getLevelName(level)))


#: Exit status of a command stopped by Ctrl-C. ``run`` is a service: Ctrl-C (like
#: SIGTERM) is how it is asked to stop, so it exits 0 whether the interrupt comes during
#: start-up or later. ``preview`` is a one-shot command whose output was cut short: 130,
#: the shell's convention for SIGINT.
INTERRUPTED = {"run": 0, "preview": 130, "migrate-store": 130}


#: The settings ``newsbot preview`` reads; any other may be invalid without stopping it.
PREVIEW_SETTINGS = frozenset(
    {"site_url", "timezone", "max_file_bytes", "log_level", "takeaways_headings"}
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsbot`` console script."""
    command = "run"
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        return _main(args)
    except KeyboardInterrupt:
        # Ctrl-C while starting up, before the command's own handler (which stops it
        # cleanly) is in place: nothing was running yet, so stop as quietly.
        print("newsbot: interrupted; stopped", file=sys.stderr)
        return INTERRUPTED[command]


def _main(args: argparse.Namespace) -> int:
    # Imported here, not at the top: most of start-up is importing, and an interrupt
    # during it should end as quietly as one a moment later.
    if args.command == "migrate-store":
        return _migrate_store(args.sqlite_path, args.postgres_url)
    from bot.config import Settings, SettingsError, check_content_dir, load_settings

    # A bad setting that preview does not use does not stop it.
    lenient = set(Settings.model_fields) - PREVIEW_SETTINGS if args.command == "preview" else ()
    try:
        settings = load_settings(lenient=lenient)
        if args.command == "run":
            check_content_dir(settings)
    except SettingsError as exc:
        for line in exc.problems.values():
            print(f"newsbot: {line}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "status":
        import asyncio

        from bot.status import run_status

        return asyncio.run(run_status(settings.database, as_json=args.json))
    if args.command == "preview":
        from bot.preview import run_preview

        try:
            return run_preview(
                list(args.paths),
                as_json=args.json,
                site_url=args.site_url or settings.site_url,
                tz=settings.tz if settings.timezone else None,
                max_bytes=settings.max_file_bytes,
                headings=settings.headings,
            )
        except BrokenPipeError:
            # The reader went away (`newsbot preview ... | head`): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return _run(settings, dry_run=args.dry_run)


def _run(settings: Settings, *, dry_run: bool) -> int:
    """``newsbot run``: the dry run, or the Discord client; returns the exit code."""
    from bot.articles.site import SiteConfigError

    try:
        return _start(settings, dry_run=dry_run)
    except SiteConfigError as exc:
        # The site's own configuration (hugo.toml ...) holds a value the bot cannot use.
        print(f"newsbot: site configuration: {exc}", file=sys.stderr)
        return 2


def _start(settings: Settings, *, dry_run: bool) -> int:
    import asyncio

    if dry_run:
        from bot.service import run_dry

        return asyncio.run(run_dry(settings))
    if settings.discord_token is None:
        print(
            "newsbot: DISCORD_TOKEN is not set. Put it in .env or the environment, "
            "or use `newsbot run --dry-run` to print posts without Discord.",
            file=sys.stderr,
        )
        return 2
    from bot.client import run_bot

    return asyncio.run(run_bot(settings))


def _migrate_store(sqlite_path: str, url: str) -> int:
    """``newsbot migrate-store``: one line per table copied, or one line why not."""
    import asyncio
    import sqlite3

    import asyncpg

    from bot.redaction import redact
    from bot.store import StoreError
    from bot.store.transfer import copy_store

    try:
        copied = asyncio.run(copy_store(sqlite_path, url))
    except (StoreError, sqlite3.Error, asyncpg.PostgresError, OSError) as exc:
        print(f"newsbot: cannot migrate the store: {redact(str(exc), url)}", file=sys.stderr)
        return 1
    for table, rows in copied.items():
        print(f"{table}: {rows} rows")
    print(f"copied {sqlite_path} into {redact(url)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
