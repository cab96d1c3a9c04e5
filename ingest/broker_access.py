"""Who may do what on the broker: Mosquitto's dynamic-security configuration, from the registry.

``aquawatch broker config --out DIR`` writes ``DIR/mosquitto.conf`` (the shipped settings, a
listener, the dynamic-security plugin), ``DIR/data/dynamic-security.json`` (accounts with
hashed passwords, and what each may do), ``DIR/service.env`` (the URL AquaWatch's own
processes use) and ``DIR/admin.env`` (the account ``aquawatch stations credentials`` uses to
change the running broker at once). The result:

- anonymous clients are refused;
- each station (user = station id, secret from ``aquawatch stations credentials issue``) may
  publish only its own ``readings`` and ``status`` topics, may subscribe to and receive
  nothing, and must connect with its id as client id, so no one can take over another
  client's session (Mosquitto drops the older of two connections with one client id);
- only the service account may subscribe, and join the ingest share group.

A password file and ACL are not enough: on Mosquitto 2.0.11 they still let a station
subscribe to ``$share/ingest/...``, and the broker then hands it its share of the readings
and drops them (5 of 10 lost, measured). The plugin checks the whole ``$share/...`` filter.
A gateway account (``--gateway NAME``) may publish as any station: for simulators and load
tests, never for real stations.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import orjson

from ingest.certificates import TlsFiles, make_tls_files
from ingest.errors import BrokerConfigError
from ingest.secret_files import write_private
from stations import StoredCredential, credentials
from telemetry import dynsec

SERVICE_ACCOUNT: Final = "aquawatch-service"
DYNSEC_FILE: Final = "dynamic-security.json"
SERVICE_ENV: Final = "service.env"
ADMIN_ACCOUNT: Final = "aquawatch-admin"
ADMIN_ENV: Final = "admin.env"
_PLUGIN_NAME: Final = "mosquitto_dynamic_security.so"
_PLUGIN_DIRS: Final = ("/usr/lib", "/usr/local/lib")
DEFAULT_HOSTNAMES: Final = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Account:
    """A broker login that is not a station: its name and secret (kept by AquaWatch)."""

    username: str
    secret: str


def find_plugin() -> Path:
    """The dynamic-security plugin shipped with Debian's mosquitto package.

    Raises:
        BrokerConfigError: It is not installed.
    """
    multiarch = sorted(Path("/usr/lib").glob(f"*-linux-gnu/{_PLUGIN_NAME}"))
    for candidate in (*multiarch, *(Path(d) / _PLUGIN_NAME for d in _PLUGIN_DIRS)):
        if candidate.exists():
            return candidate
    msg = f"Mosquitto's {_PLUGIN_NAME} was not found (apt-get install mosquitto)"
    raise BrokerConfigError(msg)


def _hashed(username: str, salt: bytes, iterations: int, digest: bytes) -> dict[str, Any]:
    return {
        "username": username,
        "salt": base64.b64encode(salt).decode("ascii"),
        "iterations": iterations,
        "password": base64.b64encode(digest).decode("ascii"),
    }


def _account(account: Account, role: str) -> dict[str, Any]:
    salt = secrets.token_bytes(credentials.SALT_BYTES)
    digest = credentials.hash_secret(account.secret, salt)
    entry = _hashed(account.username, salt, credentials.ITERATIONS, digest)
    return {**entry, "roles": [{"rolename": role}]}


def dynsec_document(
    stations: Sequence[StoredCredential],
    *,
    service: Account,
    gateways: Iterable[Account] = (),
    admin: Account | None = None,
    topic_prefix: str,
    share_group: str,
) -> dict[str, Any]:
    """The dynamic-security plugin's configuration: every account and what it may do."""
    root = f"{topic_prefix}/v1"
    roles: list[dict[str, Any]] = [
        {
            "rolename": "service",
            "acls": [
                dynsec.allow("subscribePattern", f"{root}/#"),
                dynsec.allow("subscribePattern", f"$share/{share_group}/{root}/#"),
                dynsec.allow("publishClientReceive", f"{root}/#"),
            ],
        },
        {
            "rolename": "gateway",
            "acls": [
                dynsec.allow("publishClientSend", f"{root}/+/readings"),
                dynsec.allow("publishClientSend", f"{root}/+/status"),
            ],
        },
    ]
    clients = [_account(service, "service")]
    clients += [_account(gateway, "gateway") for gateway in gateways]
    if admin is not None:
        roles.append(dynsec.admin_role())
        clients.append(_account(admin, dynsec.ADMIN_ROLE))
    for stored in stations:
        role = dynsec.station_role(stored.station_id, topic_prefix)
        roles.append(role)
        clients.append(
            {
                **_hashed(stored.station_id, stored.salt, stored.iterations, stored.hash),
                "clientid": stored.station_id,
                "roles": [{"rolename": role["rolename"]}],
            }
        )
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }


def access_settings(dynsec: Path, *, plugin: Path, tls: TlsFiles | None = None) -> str:
    """Configuration lines that follow a ``listener`` line: TLS, and the plugin's rules."""
    lines = ["allow_anonymous false", f"plugin {plugin}", f"plugin_opt_config_file {dynsec}"]
    if tls is not None:
        lines += [
            f"cafile {tls.ca}",
            f"certfile {tls.cert}",
            f"keyfile {tls.key}",
            "tls_version tlsv1.2",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BrokerAccess:
    """Everything the broker's rules say: the stations, AquaWatch's accounts, the topics."""

    stations: Sequence[StoredCredential]
    service: Account
    gateways: tuple[Account, ...] = ()
    admin: Account | None = None
    topic_prefix: str = "aquawatch"
    share_group: str = "ingest"
    tls: TlsFiles | None = None

    def install(self, folder: Path, *, owner: str | None = None) -> str:
        """Write the plugin's file into ``folder``; return the lines after a ``listener``."""
        dynsec = folder / DYNSEC_FILE
        document = dynsec_document(
            self.stations,
            service=self.service,
            gateways=self.gateways,
            admin=self.admin,
            topic_prefix=self.topic_prefix,
            share_group=self.share_group,
        )
        write_private(
            dynsec, orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(), owner=owner
        )
        return access_settings(dynsec, plugin=find_plugin(), tls=self.tls)


def service_url(account: Account, *, host: str, port: int, ca: Path | None = None) -> str:
    """``AQUAWATCH_MQTT_URL`` for ``account`` (``mqtts://...?cafile=`` with a CA)."""
    scheme = "mqtts" if ca is not None else "mqtt"
    query = f"?{urlencode({'cafile': str(ca)})}" if ca is not None else ""
    user = f"{quote(account.username, safe='')}:{quote(account.secret, safe='')}"
    return f"{scheme}://{user}@{host}:{port}{query}"


def broker_user() -> str | None:
    """The user Mosquitto drops to when started as root (``mosquitto``), if it exists."""
    try:
        pwd.getpwnam("mosquitto")
    except KeyError:
        return None
    return "mosquitto"


@dataclass(frozen=True)
class BrokerOptions:
    """How ``broker config`` shapes the broker."""

    port: int
    bind: str | None
    hostnames: tuple[str, ...]
    tls: bool
    gateways: tuple[str, ...]
    topic_prefix: str
    share_group: str


def _env_file(path: Path, url: str, *, who: str, variable: str = "AQUAWATCH_MQTT_URL") -> None:
    write_private(path, f"# {variable} for {who}; keep this file private.\n{variable}={url}\n")


def _kept(env_file: Path, username: str) -> Account:
    """``username``'s account: the secret an earlier run left in ``env_file``, or a new one."""
    with contextlib.suppress(FileNotFoundError):
        for line in env_file.read_text("utf-8").splitlines():
            parts = urlsplit(line.partition("=")[2])
            if parts.username == username and parts.password:
                return Account(username, parts.password)
    return Account(username, credentials.new_secret())


def write_broker_config(
    out: Path, stations: Sequence[StoredCredential], options: BrokerOptions, *, now: datetime
) -> list[Path]:
    """Write the broker's configuration for ``stations`` into ``out``; return the files.

    Secrets of the service and gateway accounts already in ``out`` are kept, so a rerun
    after issuing or revoking station credentials needs no change anywhere else.

    Raises:
        BrokerConfigError: ``out`` exists and is not a folder.
    """
    if out.exists() and not out.is_dir():
        msg = f"{out} is not a folder"
        raise BrokerConfigError(msg)
    out.mkdir(parents=True, exist_ok=True)
    owner = broker_user()
    data = out / "data"
    data.mkdir(exist_ok=True)
    data.chmod(0o700)
    if owner is not None and os.geteuid() == 0:
        shutil.chown(data, owner, owner)
    tls = (
        make_tls_files(out / "tls", options.hostnames, now=now, owner=owner)
        if options.tls
        else None
    )
    service = _kept(out / SERVICE_ENV, SERVICE_ACCOUNT)
    admin = _kept(out / ADMIN_ENV, ADMIN_ACCOUNT)
    gateways = tuple(
        _kept(out / f"gateway-{name}.env", f"gateway-{name}") for name in options.gateways
    )
    access = BrokerAccess(
        stations,
        service,
        gateways,
        admin,
        topic_prefix=options.topic_prefix,
        share_group=options.share_group,
        tls=tls,
    )
    # In the broker's own folder: live changes (credentials issue/revoke) are saved there.
    rules = access.install(data, owner=owner)
    listener = f"listener {options.port}" + (f" {options.bind}" if options.bind else "")
    config = out / "mosquitto.conf"
    config.write_text(
        f"{shipped_broker_config()}\n{listener}\n{rules}persistence_location {data}/\n", "utf-8"
    )
    ca = tls.ca if tls is not None else None
    host = options.hostnames[0]
    written = [config, data / DYNSEC_FILE, out / SERVICE_ENV, out / ADMIN_ENV]
    _env_file(
        out / SERVICE_ENV,
        service_url(service, host=host, port=options.port, ca=ca),
        who="AquaWatch's own processes (ingest, alerts, notify, api)",
    )
    _env_file(
        out / ADMIN_ENV,
        service_url(admin, host=host, port=options.port, ca=ca),
        who="aquawatch stations credentials, to change the running broker",
        variable="AQUAWATCH_BROKER_ADMIN_URL",
    )
    for gateway in gateways:
        path = out / f"{gateway.username}.env"
        _env_file(path, service_url(gateway, host=host, port=options.port, ca=ca), who="a gateway")
        written.append(path)
    if tls is not None:
        written += [tls.ca, tls.cert, tls.key]
    return written


def shipped_broker_config() -> str:
    """The broker settings AquaWatch ships (``ingest/broker/mosquitto.conf``)."""
    return resources.files("ingest").joinpath("broker/mosquitto.conf").read_text("utf-8")
