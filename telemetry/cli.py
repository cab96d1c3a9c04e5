"""The ``aquawatch`` command. Subcommands are plugins registered by each package."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

import psycopg

from telemetry.errors import AquaWatchError

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the parser with the named subcommand, or with every installed one."""
    parser = argparse.ArgumentParser(
        prog="aquawatch", description="AquaWatch water-quality telemetry for aquaculture"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plugins = entry_points(group="aquawatch.commands")
    chosen = [e for e in plugins if e.name == command] or list(plugins)
    for entry in sorted(chosen, key=lambda e: e.name):
        register: Register = entry.load()
        register(subparsers)
    return parser


def _command_name(argv: Sequence[str] | None) -> str | None:
    """Find the subcommand so that only its plugin is imported."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--log-level")
    pre.add_argument("command", nargs="?")
    known, _ = pre.parse_known_args(argv)
    return known.command if isinstance(known.command, str) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser(_command_name(argv)).parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.handler(args)
    except AquaWatchError as exc:
        print(f"aquawatch {args.command}: {exc}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:
        print(f"aquawatch {args.command}: database unavailable: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
