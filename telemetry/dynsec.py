"""Mosquitto's dynamic-security plugin: a station's role, and live changes to the broker.

The rules for one station are written in one place, used both when ``aquawatch broker
config`` writes the plugin's file and when ``aquawatch stations credentials`` changes a
running broker through the plugin's control topic (``$CONTROL/dynamic-security/v1``) with
the admin account ``broker config`` creates. A change there takes effect at once: deleting
a station's client disconnects whoever is logged in with it.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Final

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.errors import BrokerControlError
from telemetry.settings import MqttEndpoint

CONTROL_TOPIC: Final = "$CONTROL/dynamic-security/v1"
ADMIN_ROLE: Final = "admin"
_MISSING: Final = ("Client not found", "Role not found")


def allow(acltype: str, topic: str) -> dict[str, Any]:
    """One ACL entry granting ``acltype`` on ``topic``."""
    return {"acltype": acltype, "topic": topic, "allow": True}


def station_role(station_id: str, topic_prefix: str) -> dict[str, Any]:
    """A station's role: publish its own readings and status, nothing else."""
    root = f"{topic_prefix}/v1/{station_id}"
    return {
        "rolename": f"station:{station_id}",
        "acls": [
            allow("publishClientSend", f"{root}/readings"),
            allow("publishClientSend", f"{root}/status"),
        ],
    }


def admin_role() -> dict[str, Any]:
    """The role of the account that changes the broker's accounts at run time."""
    return {
        "rolename": ADMIN_ROLE,
        "acls": [
            allow("publishClientSend", f"{CONTROL_TOPIC}"),
            allow("publishClientReceive", f"{CONTROL_TOPIC}/response"),
            allow("subscribePattern", f"{CONTROL_TOPIC}/response"),
        ],
    }


def set_station(station_id: str, secret: str, topic_prefix: str) -> list[dict[str, Any]]:
    """Commands giving ``station_id`` the login ``secret`` (ending any earlier one)."""
    role = station_role(station_id, topic_prefix)
    return [
        *remove_station(station_id),
        {"command": "createRole", **role},
        {
            "command": "createClient",
            "username": station_id,
            "password": secret,
            "clientid": station_id,
            "roles": [{"rolename": role["rolename"]}],
        },
    ]


def remove_station(station_id: str) -> list[dict[str, Any]]:
    """Commands ending ``station_id``'s login; its connection, if any, is closed."""
    return [
        {"command": "deleteClient", "username": station_id},
        {"command": "deleteRole", "rolename": f"station:{station_id}"},
    ]


def apply(endpoint: MqttEndpoint, commands: list[dict[str, Any]], *, timeout_s: float = 10) -> None:
    """Send ``commands`` to the running broker and wait for its answers.

    Deleting what does not exist is not an error (a first issue, a second revoke).

    Raises:
        BrokerControlError: The broker is unreachable, refuses the admin login, does not
            answer in time, or refuses a command (the message names it).
    """
    answered = threading.Event()
    responses: list[dict[str, Any]] = []
    connected = threading.Event()
    refused: list[ReasonCode] = []
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"aquawatch-admin-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set_context(endpoint.ssl_context())

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: ReasonCode, p: Any) -> None:
        if reason.is_failure:
            refused.append(reason)
        else:
            c.subscribe(f"{CONTROL_TOPIC}/response", qos=1)
        connected.set()

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, reasons: list[ReasonCode], p: Any) -> None:
        c.publish(CONTROL_TOPIC, orjson.dumps({"commands": commands}), qos=1)

    def on_message(c: mqtt.Client, u: Any, message: mqtt.MQTTMessage) -> None:
        responses.extend(orjson.loads(message.payload).get("responses", []))
        answered.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(endpoint.host, endpoint.port)
    except OSError as exc:
        msg = f"cannot reach the broker at {endpoint.display()}: {exc}"
        raise BrokerControlError(msg) from exc
    client.loop_start()
    try:
        if not connected.wait(timeout_s) or refused:
            msg = f"the broker at {endpoint.display()} refused the admin login: {refused}"
            raise BrokerControlError(msg)
        if not answered.wait(timeout_s):
            msg = f"no answer from the broker's dynamic-security plugin within {timeout_s} s"
            raise BrokerControlError(msg)
    finally:
        client.disconnect()
        client.loop_stop()
    failed = [r for r in responses if r.get("error") and r.get("error") not in _MISSING]
    if failed:
        msg = "; ".join(f"{r.get('command')}: {r.get('error')}" for r in failed)
        raise BrokerControlError(f"the broker refused: {msg}")
