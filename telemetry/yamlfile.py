"""YAML configuration files validated by pydantic, with problems people can act on."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(error: Mapping[str, Any], *, skip: Collection[object] = ()) -> str:
    """One pydantic error as ``field.path[index]: message (got value)``, for people.

    Args:
        error: One item of ``ValidationError.errors()``.
        skip: Location parts to leave out (e.g. the tags of a discriminated union).
    """
    parts = [p for p in error["loc"] if p not in skip]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    got = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return f"{where}: {message}{got}" if where else message


def validate_yaml(
    text: str, model: type[M], *, skip: Collection[object] = ()
) -> tuple[M | None, list[str]]:
    """Parse YAML text into ``model``.

    Returns:
        The model, or None with every problem found (each naming the field and what was
        expected); the caller adds the file name and raises its own error.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [f"not valid YAML: {exc}"]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [describe_validation_error(e, skip=skip) for e in exc.errors()]
