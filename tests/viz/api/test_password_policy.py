"""The password policy: trivial, personal and common passwords are refused, with the reason."""

from __future__ import annotations

import argparse

import pytest

from telemetry import ConfigError
from viz.api.password_policy import weakness
from viz.cli import register_users_cli

REFUSED = [
    ("short-one", "needs at least 10 characters"),
    ("aaaaaaaaaa", "needs at least 5 different characters"),
    ("ababababab", "needs at least 5 different characters"),
    ("abcdefghij", "simple sequence"),
    ("9876543210", "simple sequence"),
    ("qwertyuiop", "simple sequence"),
    ("lkjhgfdsa!", "simple sequence"),  # a row of keys backwards, with a symbol
    ("abcdeabcde", "repeats a short pattern"),
    ("ranger-of-the-mekong", "contains the user name"),
    ("RANGER2026x", "contains the user name"),
    ("password123", "common"),
    ("P@ssw0rd2024!", "common"),
    ("Dragon2024!!", "common"),
    ("1qaz2wsx3edc", "common"),
    ("iloveyou12", "common"),
    ("letmein2025", "common"),
]
ACCEPTED = [
    "correct-horse-battery",
    "tide-gauge-at-rach-gia",
    "sunflower-delta-92",
    "Xk9#mQ2$vLp",
    "monkey-banana-boat",
]


@pytest.mark.parametrize(("password", "reason"), REFUSED)
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    found = weakness(password, username="ranger")
    assert found is not None
    assert reason in found


@pytest.mark.parametrize("password", ACCEPTED)
def test_strong_passwords_pass(password: str) -> None:
    assert weakness(password, username="ranger") is None


def test_create_admin_refuses_a_weak_password(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    register_users_cli(parser.add_subparsers())
    args = parser.parse_args(["users", "create-admin", "--username", "root-admin"])
    monkeypatch.setenv("AQUAWATCH_ADMIN_PASSWORD", "aaaaaaaaaa")
    with pytest.raises(ConfigError, match="at least 5 different characters"):
        args.handler(args)
