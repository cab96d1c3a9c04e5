"""Settings from the environment and flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from telemetry import (
    CommonSettings,
    ConfigError,
    MqttEndpoint,
    add_settings_arguments,
    parse_mqtt_url,
    redact_url,
    secret_names,
    setting_given,
    settings_from_args,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", MqttEndpoint("127.0.0.1", 1883, None, None, tls=False)),
        ("mqtt://broker", MqttEndpoint("broker", 1883, None, None, tls=False)),
        ("mqtts://u:p%40ss@b.example:8884", MqttEndpoint("b.example", 8884, "u", "p@ss", tls=True)),
        ("mqtts://b.example", MqttEndpoint("b.example", 8883, None, None, tls=True)),
    ],
)
def test_mqtt_urls(url: str, expected: MqttEndpoint) -> None:
    assert parse_mqtt_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker", "must start with mqtt://"),
        ("mqtt://", "has no host"),
        ("mqtt://broker:99999", "bad port"),
    ],
)
def test_bad_mqtt_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mqtt_url(url)


def test_passwords_never_printed() -> None:
    assert redact_url("postgresql://aw:s3cret@db/aquawatch") == "postgresql://aw:***@db/aquawatch"
    assert parse_mqtt_url("mqtt://st:pw@h:1").display() == "mqtt://st@h:1"


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQUAWATCH_TOPIC_PREFIX", "from-env")
    monkeypatch.setenv("AQUAWATCH_MQTT_URL", "mqtt://env-host:1883")
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, CommonSettings)
    settings = settings_from_args(CommonSettings, parser.parse_args(["--topic-prefix", "flag"]))
    assert settings.topic_prefix == "flag"
    assert settings.mqtt_url.get_secret_value() == "mqtt://env-host:1883"
    assert "env-host" not in repr(settings)


def test_invalid_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import IngestSettings

    monkeypatch.setenv("AQUAWATCH_INFLIGHT_WINDOW", "many")
    with pytest.raises(ConfigError, match="inflight_window"):
        settings_from_args(IngestSettings, argparse.Namespace())


def test_deployables_do_not_share_setting_names() -> None:
    # One AQUAWATCH_* variable must never mean two things: `up` hands its environment to
    # every process (an ingester and a simulator with one client id evict each other).
    from ingest import IngestSettings
    from simulators.cli import SimulatorSettings

    common = set(CommonSettings.model_fields)
    ingest = set(IngestSettings.model_fields) - common
    simulate = set(SimulatorSettings.model_fields) - common
    assert not ingest & simulate


def test_secrets_get_no_flag(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, CommonSettings)
    assert secret_names(CommonSettings) == ["database_url", "mqtt_url"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--database-url", "postgresql://aw:s3cret@db/aquawatch"])
    assert "unrecognized arguments" in capsys.readouterr().err
    text = parser.format_help()
    assert "--topic-prefix" in text
    assert "AQUAWATCH_DATABASE_URL[_FILE]" in text


def test_a_secret_comes_from_the_file_its_file_variable_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "mqtt_url"
    secret.write_text("mqtt://st:pw@file-host:1883\n")
    monkeypatch.setenv("AQUAWATCH_MQTT_URL_FILE", str(secret))
    settings = settings_from_args(CommonSettings, argparse.Namespace())
    assert settings.mqtt_url.get_secret_value() == "mqtt://st:pw@file-host:1883"
    assert setting_given(CommonSettings, argparse.Namespace(), "mqtt_url")
    assert not setting_given(CommonSettings, argparse.Namespace(), "database_url")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"AQUAWATCH_MQTT_URL_FILE": "/nonexistent/aquawatch"}, "cannot read /nonexistent"),
        (
            {"AQUAWATCH_MQTT_URL_FILE": "/dev/null", "AQUAWATCH_MQTT_URL": "mqtt://h"},
            "set AQUAWATCH_MQTT_URL or AQUAWATCH_MQTT_URL_FILE, not both",
        ),
    ],
)
def test_bad_secret_files_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        settings_from_args(CommonSettings, argparse.Namespace())
