"""``aquawatch simulate`` arguments, settings and failure messages (no broker needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from simulators import PublisherError
from simulators.cli import SimulatorSettings, register_cli
from simulators.publisher import read_credentials
from telemetry import ConfigError
from tests.support.network import free_port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aquawatch")
    register_cli(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv: str) -> int:
    args = _parser().parse_args(["simulate", *argv])
    status: int = args.handler(args)
    return status


def test_help_lists_run_options_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["simulate", "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    flags = ["--start", "--speed", "--fast", "--duration", "--stations", "--scenario", "--seed"]
    flags += ["--topic-prefix", "--max-inflight", "--backfill-batch"]
    for flag in flags:
        assert flag in text
    assert "--mqtt-url" not in text  # a secret (it may hold a password): environment only
    assert "AQUAWATCH_MQTT_URL[_FILE]" in text


def test_speed_and_fast_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["simulate", "--fast", "--speed", "60"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQUAWATCH_MAX_INFLIGHT", "250")
    assert SimulatorSettings().max_inflight == 250


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "soon"], "--duration: a duration such as"),
        (["--duration=-1h"], "--duration must be positive"),
        (["--speed", "0"], "--speed must be positive"),
        (["--stations", "0", "--fast"], "--stations must be at least 1"),
        (["--start", "yesterday", "--fast"], "--start: 'yesterday' is not ISO 8601"),
        (["--max-inflight", "0", "--fast"], "max_inflight"),
    ],
)
def test_bad_arguments_are_config_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _run(*argv)


def test_a_bad_broker_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQUAWATCH_MQTT_URL", "http://x")
    with pytest.raises(ConfigError, match="must start with mqtt://"):
        _run("--fast")


def test_unreachable_broker_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AQUAWATCH_MQTT_URL", url)
    with pytest.raises(PublisherError, match=f"cannot reach the broker at {url}"):
        _run("--fast", "--duration", "1h")
    assert capsys.readouterr().out == ""


def test_station_credentials_come_from_id_secret_lines(tmp_path: Path) -> None:
    path = tmp_path / "logins"
    path.write_text("# issued 2026-12-05\nKG-SR-01:s3cret-one\n\nKG-SR-02:two:with-colon\n")
    assert read_credentials(path) == {"KG-SR-01": "s3cret-one", "KG-SR-02": "two:with-colon"}
    path.write_text("KG-SR-01:s3cret-one\nKG-SR-02 s3cret-two\n")
    with pytest.raises(PublisherError, match="line 2: expected ID:SECRET") as caught:
        read_credentials(path)
    assert "s3cret" not in str(caught.value)


def test_a_station_without_a_secret_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "logins"
    path.write_text("KG-SR-01:s3cret-one\n")
    with pytest.raises(ConfigError, match="no secret for KG-SR-02, KG-SR-03") as caught:
        _run("--fast", "--duration", "1h", "--credentials-file", str(path))
    assert "s3cret" not in str(caught.value)
