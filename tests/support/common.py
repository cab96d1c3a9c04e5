"""Skip locally but fail under CI; poll with a deadline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")

IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def unavailable(message: str) -> NoReturn:
    """Skip locally, fail under CI."""
    if IN_CI:
        pytest.fail(f"required service missing under CI: {message}")
    pytest.skip(message)


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, every: float = 0.05) -> T:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {value!r})")
        time.sleep(every)
