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

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


def _site_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an absolute http(s) URL: {value!r}")
    return value.rstrip("/")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: ``run`` and ``preview``."""
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Posts the Key Takeaways of a publication's new articles to Discord.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the bot (watch sources, post new articles)",
        description="Watch the content folder and feeds and post new articles to Discord. "
        "With --dry-run (or no DISCORD_TOKEN) print the posts instead of sending them.",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print posts instead of sending; needs no token"
    )

    preview = commands.add_parser(
        "preview",
        help="show the post the bot would send for articles or feeds",
        description="Read Markdown files, folders (recursively) or feed documents and print the "
        "exact post the bot would send for each article. Exit 0 when every input was read, "
        "1 when any was rejected (the others are still printed), 2 on usage errors.",
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
    return parser


def configure_logging(level: str) -> None:
    """Log to stderr; discord.py's own loggers follow the same level."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # One line per detected change is noise at INFO; our own sources log what matters.
    logging.getLogger("watchfiles").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsbot`` console script."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C while starting up, before the command's own handler (which stops it
        # cleanly) is in place: nothing was running yet, so stop as quietly.
        print("newsbot: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    # Imported here, not at the top: most of start-up is importing, and an interrupt
    # during it should end as quietly as one a moment later.
    from bot.config import SettingsError, load_settings

    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
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


if __name__ == "__main__":
    sys.exit(main())
