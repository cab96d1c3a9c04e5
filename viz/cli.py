"""``aquawatch api`` serves the HTTP API; ``aquawatch users create-admin`` adds an admin."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import sys

import uvicorn
from pydantic import ValidationError

from telemetry import (
    ConfigError,
    SystemClock,
    add_settings_arguments,
    connect,
    migrate,
    settings_from_args,
)
from viz.api import ApiSettings, Role, create_app
from viz.api.auth import Passwords
from viz.api.queries.accounts import UserIn, create_user


class RedactSecrets(logging.Filter):
    """Masks ``token=`` query values in access-log lines (Kannel's callbacks carry one)."""

    _TOKEN = re.compile(r"(token=)[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drop it."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(ApiSettings, args)
    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    migrate(settings.database_url.get_secret_value())
    print(f"AquaWatch API on http://{settings.host}:{settings.port}/docs", flush=True)
    uvicorn.run(
        create_app(settings, clock=SystemClock()),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level.lower(),
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides whom to
        # believe (AQUAWATCH_TRUSTED_PROXIES).
        proxy_headers=False,
    )
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    settings = settings_from_args(ApiSettings, args)
    password = os.environ.get("AQUAWATCH_ADMIN_PASSWORD")
    if password is None:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    try:
        new = UserIn(username=args.username, role=Role.ADMIN, password=password)
    except ValidationError as exc:
        msg = f"invalid account: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
        raise ConfigError(msg) from exc
    url = settings.database_url.get_secret_value()
    migrate(url)
    with connect(url) as conn:
        create_user(conn, new, passwords=Passwords(), actor="cli")
    print(f"created admin {new.username}")
    return 0


def register_api_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch api``."""
    cmd = subparsers.add_parser("api", help="serve the HTTP API (OpenAPI docs at /docs)")
    add_settings_arguments(cmd, ApiSettings)
    cmd.set_defaults(handler=_serve)


def register_users_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch users create-admin``."""
    users = subparsers.add_parser("users", help="API accounts")
    actions = users.add_subparsers(dest="users_command", required=True)
    cmd = actions.add_parser(
        "create-admin",
        help="create an admin account (password from AQUAWATCH_ADMIN_PASSWORD, stdin or a prompt)",
    )
    cmd.add_argument("--username", required=True)
    cmd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add_settings_arguments(cmd, ApiSettings)
    cmd.set_defaults(handler=_create_admin)
