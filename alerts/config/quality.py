"""Data-quality checks configured as data: station kind → parameter → check → limits.

``quality.yaml`` (packaged beside this module) lists, per parameter code, which QARTOD
tests run and with what limits, each with its unit and source; station kinds may replace
single checks. :func:`load_quality_config` validates the file once and compiles it into a
:class:`QualityConfig` whose :meth:`QualityConfig.evaluate` flags many series at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from alerts.errors import QualityConfigError
from alerts.kernels import qartod
from alerts.kernels.rolling import grid_step
from stations import StationKind
from telemetry import PARAMETERS, QCFlag, validate_yaml, worst

Flags = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]

_PACKAGED: Final = "alerts/config/quality.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConfiguredCheck(_Model):
    """One configured test with its limits; ``source`` says where the limits come from."""

    source: str = Field(min_length=1)

    # (suspect field, fail field, whether fail must be the larger), checked on load.
    ORDER: ClassVar[tuple[str, str, bool] | None] = None
    # Whether the check judges a sample as well on a grid coarser than the sampling (one
    # value per few minutes): true of the ranges over hours, not of a spike.
    COARSE: ClassVar[bool] = False

    @model_validator(mode="after")
    def _fail_beyond_suspect(self) -> Self:
        if self.ORDER is not None:
            suspect, fail = getattr(self, self.ORDER[0]), getattr(self, self.ORDER[1])
            larger = self.ORDER[2]
            if fail is not None and (fail < suspect if larger else fail > suspect):
                msg = (
                    f"fail ({fail}) must be at {'least' if larger else 'most'} suspect ({suspect})"
                )
                raise ValueError(msg)
        return self

    def limits(self) -> dict[str, Any]:
        """The limits as keyword arguments of the test function."""
        return self.model_dump(exclude={"source"})

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        """Flag ``values`` (S, T) sampled at ``times`` (T,); only the newest ``last``."""
        raise NotImplementedError

    @property
    def lookback_s(self) -> float:
        """Seconds of history before a sample that the check needs to judge it."""
        return 0.0


def _tail(array: npt.NDArray[Any], last: int | None) -> npt.NDArray[Any]:
    return array if last is None else array[:, array.shape[1] - min(last, array.shape[1]) :]


class GrossRangeCheck(ConfiguredCheck):
    """Sensor span (fail) and operator span (suspect), inclusive."""

    fail: tuple[float, float]
    suspect: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _spans(self) -> GrossRangeCheck:
        low, high = self.suspect or self.fail
        if not self.fail[0] <= low <= high <= self.fail[1]:
            msg = f"need fail low ≤ suspect low ≤ suspect high ≤ fail high: {self.limits()}"
            raise ValueError(msg)
        return self

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        low, high = self.suspect or (None, None)
        return qartod.gross_range(
            _tail(values, last),
            fail_low=self.fail[0],
            fail_high=self.fail[1],
            suspect_low=low,
            suspect_high=high,
        )


class SpikeCheck(ConfiguredCheck):
    """Deviation from the mean of the next sample and the last passed one, in the unit.

    ``max_gap_s``: farthest neighbour that counts (a station reporting less often than its
    grid still gets judged); ``longest``: longest burst of bad samples caught whole.
    """

    ORDER = ("suspect", "fail", True)
    suspect: PositiveFloat
    fail: PositiveFloat | None = None
    max_gap_s: PositiveFloat = 1800.0
    longest: PositiveInt = 4

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        return _tail(qartod.spike(values, times, **self.limits()), last)

    @property
    def lookback_s(self) -> float:
        # The passed sample a reference may reach back to, across ``longest`` bad ones.
        return (self.longest + 2) * self.max_gap_s


class RateOfChangeCheck(ConfiguredCheck):
    """Suspect above a rate, in the parameter's unit per hour."""

    suspect_per_hour: PositiveFloat

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        return _tail(qartod.rate_of_change(values, times, **self.limits()), last)


class FlatLineCheck(ConfiguredCheck):
    """Max - min within ``tolerance`` for ``suspect_s`` / ``fail_s`` seconds."""

    ORDER = ("suspect_s", "fail_s", True)
    COARSE = True
    tolerance: NonNegativeFloat
    suspect_s: PositiveFloat
    fail_s: PositiveFloat | None = None

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        return qartod.flat_line(values, times, last=last, **self.limits())

    @property
    def lookback_s(self) -> float:
        return self.fail_s or self.suspect_s


class AttenuatedSignalCheck(ConfiguredCheck):
    """Absolute range over a trailing window (site-specific limits)."""

    ORDER = ("suspect_range", "fail_range", False)
    COARSE = True
    window_s: PositiveFloat
    suspect_range: PositiveFloat
    fail_range: PositiveFloat | None = None
    min_fraction: float = Field(default=0.5, gt=0, le=1)

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        return qartod.attenuated_signal(values, times, last=last, **self.limits())

    @property
    def lookback_s(self) -> float:
        return self.window_s


class AttenuatedSignalRelativeCheck(ConfiguredCheck):
    """Range over a trailing window relative to the same window's range in the past."""

    ORDER = ("suspect_ratio", "fail_ratio", False)
    COARSE = True
    window_s: PositiveFloat
    lag_s: PositiveFloat
    lags: PositiveInt
    suspect_ratio: float = Field(gt=0, lt=1)
    fail_ratio: float | None = Field(default=None, gt=0, lt=1)
    min_reference_range: NonNegativeFloat = 0.0
    min_fraction: float = Field(default=0.5, gt=0, le=1)

    def run(self, times: FloatArray, values: FloatArray, *, last: int | None) -> Flags:
        step = float(times[1] - times[0]) if len(times) > 1 else 0.0
        span = float(times[-1] - times[0]) + 2 * step if len(times) else 0.0
        if span < self.lag_s + self.min_fraction * self.window_s:
            # Not even the nearest reference window can fill: all not evaluated (the
            # engine's 26-h window; its longer history for these series judges them).
            tail = _tail(values, last)
            return np.where(np.isnan(tail), QCFlag.MISSING, QCFlag.UNKNOWN).astype(np.uint8)
        return qartod.attenuated_signal_relative(values, times, last=last, **self.limits())

    @property
    def lookback_s(self) -> float:
        return self.window_s + self.lags * self.lag_s


class ParameterChecks(_Model):
    """The checks of one parameter; under ``kinds`` only the checks that change."""

    unit: str | None = None
    gross_range: GrossRangeCheck | None = None
    spike: SpikeCheck | None = None
    rate_of_change: RateOfChangeCheck | None = None
    flat_line: FlatLineCheck | None = None
    attenuated_signal: AttenuatedSignalCheck | None = None
    attenuated_signal_relative: AttenuatedSignalRelativeCheck | None = None


def _check_codes(table: Mapping[str, ParameterChecks], *, where: str) -> None:
    for code, checks in table.items():
        if code not in PARAMETERS:
            msg = f"{where}.{code}: unknown parameter code; known: {sorted(PARAMETERS)}"
            raise ValueError(msg)
        expected = PARAMETERS[code].unit
        if checks.unit is None and where == "parameters":
            msg = f"{where}.{code}.unit: required, the catalogue unit {expected!r}"
            raise ValueError(msg)
        if checks.unit is not None and checks.unit != expected:
            msg = (
                f"{where}.{code}.unit: must be the catalogue unit {expected!r}, got {checks.unit!r}"
            )
            raise ValueError(msg)


class _QualityFile(_Model):
    parameters: dict[str, ParameterChecks]
    kinds: dict[StationKind, dict[str, ParameterChecks]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_codes(self) -> _QualityFile:
        _check_codes(self.parameters, where="parameters")
        for kind, table in self.kinds.items():
            _check_codes(table, where=f"kinds.{kind.value}")
        return self


def _merge(
    base: ParameterChecks | None, override: ParameterChecks | None
) -> dict[str, ConfiguredCheck]:
    """Checks of one (kind, parameter): the defaults, each replaced where the kind says so."""
    merged: dict[str, ConfiguredCheck] = {}
    for name in [n for n in ParameterChecks.model_fields if n != "unit"]:
        source = override if override and name in override.model_fields_set else base
        check = getattr(source, name) if source else None
        if check is not None:
            merged[name] = check
    return merged


class QualityConfig:
    """Compiled quality checks for every (station kind, parameter).

    Args:
        plans: Checks by ``(kind, parameter)``; kind ``None`` holds the defaults.
        source: Where the configuration was read from (for messages).
    """

    def __init__(
        self, plans: Mapping[tuple[str | None, str], Mapping[str, ConfiguredCheck]], *, source: str
    ) -> None:
        self._plans = {key: MappingProxyType(dict(checks)) for key, checks in plans.items()}
        self.source = source

    def checks(self, *, kind: str, parameter: str) -> Mapping[str, ConfiguredCheck]:
        """The checks run on ``parameter`` at stations of ``kind`` (empty: not evaluated)."""
        plan = self._plans.get((kind, parameter), self._plans.get((None, parameter)))
        return plan if plan is not None else MappingProxyType({})

    @property
    def lookback_s(self) -> float:
        """Longest history, in seconds, any check needs before the newest sample.

        Give :meth:`evaluate` at least this much plus two samples, or the checks that
        need more history answer UNKNOWN.
        """
        checks = (c for plan in self._plans.values() for c in plan.values())
        return max((c.lookback_s for c in checks), default=0.0)

    def evaluate(
        self,
        *,
        times: npt.ArrayLike,
        values: npt.ArrayLike,
        parameters: Sequence[str],
        kinds: Sequence[str],
        status: npt.ArrayLike | None = None,
        last: int | None = None,
        beyond_s: float | None = None,
    ) -> Flags:
        """Run every configured check on many series and combine them (worst flag wins).

        Rows are grouped by (kind, parameter) and each group's checks run vectorised on
        all its rows. A parameter without checks gives UNKNOWN for its samples; a missing
        sample is always MISSING. A device status of 1 (calibrating) or 2 (error) makes
        the sample SUSPECT or FAIL; status 0 (measuring) alone does not make it GOOD.

        Args:
            times: (T,) epoch seconds, a regular grid shared by all rows.
            values: (S, T) samples, NaN where missing.
            parameters: Parameter code of each row (length S).
            kinds: Station kind of each row (length S); unknown kinds get the defaults.
            status: (S, T) Circular 10/2021 device status codes, or None.
            last: Flag only the newest ``last`` samples: the checks then run on those
                plus the history each group needs, and (S, last) is returned.
            beyond_s: Run only the checks that look back further than this and judge a
                coarse grid as well (the engine's longer, coarser history for them; its
                window's flags hold the others').

        Returns:
            (S, T) or (S, last) uint8 QARTOD flags.
        """
        t = np.asarray(times, dtype=np.float64)
        x = np.asarray(values, dtype=np.float64)
        rows, length = x.shape
        if len(parameters) != rows or len(kinds) != rows or t.shape != (length,):
            msg = f"values {x.shape} needs {rows} parameters and kinds and {length} times"
            raise ValueError(msg)
        step = grid_step(t)
        codes = None if status is None else np.asarray(status)
        keep = length if last is None else min(max(last, 0), length)
        run_last = None if last is None else keep
        out = np.empty((rows, keep), dtype=np.uint8)
        for (kind, parameter), indices in _groups(kinds, parameters):
            # rows ordered by (kind, parameter) are sliced as views, not copied
            contiguous = indices[-1] - indices[0] + 1 == indices.size
            members = slice(indices[0], indices[-1] + 1) if contiguous else indices
            plan = [
                c
                for c in self.checks(kind=kind, parameter=parameter).values()
                if beyond_s is None or (c.COARSE and c.lookback_s > beyond_s)
            ]
            # samples of history each check needs before the first flagged sample
            history = {id(c): math.ceil(c.lookback_s / step) + 2 for c in plan}
            start = max(0, length - keep - max(history.values(), default=0))
            sub_t, sub_x = t[start:], x[members, start:]
            missing = np.isnan(sub_x[:, sub_x.shape[1] - keep :])
            results = [np.where(missing, QCFlag.MISSING, QCFlag.UNKNOWN).astype(np.uint8)]
            for check in plan:  # each check sees only the history it needs
                offset = max(0, sub_x.shape[1] - keep - history[id(check)])
                results.append(check.run(sub_t[offset:], sub_x[:, offset:], last=run_last))
            if codes is not None and beyond_s is None:
                device = qartod.device_status(codes[members, length - keep :])
                device[device == QCFlag.GOOD] = QCFlag.UNKNOWN
                results.append(device)
            out[members] = np.where(missing, QCFlag.MISSING, worst(*results))
        return out


def _groups(
    kinds: Sequence[str], parameters: Sequence[str]
) -> list[tuple[tuple[str, str], npt.NDArray[np.intp]]]:
    """Row indices of each distinct (kind, parameter), without a Python loop over rows."""
    kind_names, kind_index = np.unique(np.asarray(kinds, dtype=np.str_), return_inverse=True)
    codes, code_index = np.unique(np.asarray(parameters, dtype=np.str_), return_inverse=True)
    key = kind_index.ravel() * len(codes) + code_index.ravel()
    order = np.argsort(key, kind="stable")
    uniques, starts = np.unique(key[order], return_index=True)
    return [
        ((str(kind_names[k // len(codes)]), str(codes[k % len(codes)])), members)
        for k, members in zip(uniques.tolist(), np.split(order, starts[1:]), strict=False)
    ]


def parse_quality_config(text: str, *, source: str) -> QualityConfig:
    """Validate quality YAML text and compile it.

    Raises:
        QualityConfigError: Naming ``source``, each bad field and what was expected.
    """
    parsed, problems = validate_yaml(text, _QualityFile)
    if parsed is None:
        raise QualityConfigError(source, problems)
    plans: dict[tuple[str | None, str], Mapping[str, ConfiguredCheck]] = {
        (None, code): _merge(checks, None) for code, checks in parsed.parameters.items()
    }
    for kind, table in parsed.kinds.items():
        for code, override in table.items():
            plans[(kind.value, code)] = _merge(parsed.parameters.get(code), override)
    return QualityConfig(plans, source=source)


def load_quality_config(path: Path | None = None) -> QualityConfig:
    """Load the quality checks at ``path``, or the packaged ``alerts/config/quality.yaml``.

    Raises:
        QualityConfigError: The file is missing or invalid.
    """
    if path is None:
        text = resources.files("alerts.config").joinpath("quality.yaml").read_text("utf-8")
        return parse_quality_config(text, source=_PACKAGED)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise QualityConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    return parse_quality_config(text, source=str(path))
