"""Kannel (bearerbox, smsbox) with its fake carrier, on free ports."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.common import unavailable, wait_for
from tests.support.network import free_port

KANNEL_CONFIG = """\
group = core
admin-port = {admin}
admin-password = {secret}
smsbox-port = {box}
box-allow-ip = 127.0.0.1
store-type = spool
store-location = {dir}/spool
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = {carrier}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
log-level = 1

group = sendsms-user
username = aquawatch
password = {secret}
default-smsc = fake
default-sender = AquaWatch
max-messages = 3
concatenation = true

group = sms-service
keyword = default
get-url = "{mo_url}&id=%I&from=%p&to=%P&text=%a"
max-messages = 0
catch-all = true
"""
_FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
_RECEIVED = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) ?(.*)>$")


def _ucs2(printed: str) -> str:
    """Decode UTF-16 the fake carrier printed URL-encoded (a space as ``+``)."""
    return urllib.parse.unquote_to_bytes(printed.replace("+", " ")).decode("utf-16-be")


@dataclass(frozen=True)
class CarrierSms:
    """A message as the fake carrier received it."""

    sender: str
    to: str
    coding: str
    text: str


class Kannel:
    """Kannel's bearerbox and smsbox with its fake carrier (fakesmsc), on free ports.

    Args:
        mo_url: Where replies go: the API's ``/api/v1/sms/mo?token=...``.
    """

    def __init__(self, *, mo_url: str) -> None:
        if not (shutil.which("bearerbox") or Path("/usr/sbin/bearerbox").exists()):
            unavailable("Kannel (Debian packages kannel, kannel-extras)")
        if not Path(_FAKESMSC).exists():
            unavailable("Kannel's fake carrier (Debian package kannel-extras)")
        self.dir = Path(tempfile.mkdtemp(prefix="aw-kannel-"))
        (self.dir / "spool").mkdir()
        self.ports = {k: free_port() for k in ("admin", "box", "carrier", "sendsms")}
        self.secret = uuid.uuid4().hex
        self.config = self.dir / "kannel.conf"
        self.config.write_text(
            KANNEL_CONFIG.format(dir=self.dir, secret=self.secret, mo_url=mo_url, **self.ports)
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._carrier_logs: list[Path] = []

    @property
    def sms_url(self) -> str:
        """The AQUAWATCH_SMS_URL of this Kannel."""
        return (
            f"kannel://aquawatch:{self.secret}@127.0.0.1:{self.ports['sendsms']}?sender=AquaWatch"
        )

    def _spawn(self, name: str, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self.processes[name] = subprocess.Popen(argv, stdout=out, stderr=out)

    def _listening(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self) -> None:
        """Start bearerbox, smsbox and the fake carrier; wait until sendsms answers."""
        self._spawn("bearerbox", ["bearerbox", str(self.config)], self.dir / "bearerbox.log")
        wait_for(lambda: self._listening(self.ports["box"]), timeout=20, what="bearerbox")
        self._spawn("smsbox", ["smsbox", str(self.config)], self.dir / "smsbox.log")
        self._carrier()
        wait_for(lambda: self._listening(self.ports["sendsms"]), timeout=20, what="smsbox")
        wait_for(self._carrier_online, timeout=20, what="the fake carrier connected")

    def _carrier_online(self) -> bool:
        status = f"http://127.0.0.1:{self.ports['admin']}/status.txt?password={self.secret}"
        with urllib.request.urlopen(status, timeout=2) as response:
            text: str = response.read().decode()
        return "fake" in text and "online" in text

    def _carrier(self, *messages: str) -> None:
        """(Re)start the fake carrier; it sends ``messages`` (MO) once, then only receives."""
        old = self.processes.pop("fakesmsc", None)
        if old is not None:
            old.terminate()
            old.wait(timeout=10)
        log = self.dir / f"fakesmsc-{len(self._carrier_logs)}.log"
        self._carrier_logs.append(log)
        port = str(self.ports["carrier"])
        argv = [
            "stdbuf",
            "-oL",
            _FAKESMSC,
            "-H",
            "127.0.0.1",
            "-r",
            port,
            "-i",
            "0.1",
            "-m",
            str(len(messages)),
            *(messages or ("x y text nop",)),
        ]
        self._spawn("fakesmsc", argv, log)

    def reply(self, sender: str, text: str) -> None:
        """A phone sends ``text`` to the service (an MO message through the fake carrier)."""
        self._carrier(f"{sender} 8085 text {text}")
        wait_for(
            lambda: "sent message 1" in self._carrier_logs[-1].read_text(errors="replace"),
            timeout=20,
            what="the fake carrier to send the reply",
        )

    def received(self) -> list[CarrierSms]:
        """Every message the fake carrier received, in order; UCS-2 decoded, parts joined.

        The fake carrier prints concatenated parts as ``udh <header> data <payload>`` without
        their coding; AquaWatch sends only UCS-2 messages in several parts.
        """
        found: list[CarrierSms] = []
        parts: dict[tuple[str, int], dict[int, str]] = {}
        for log in self._carrier_logs:
            for line in log.read_text(errors="replace").splitlines():
                match = _RECEIVED.search(line)
                if match is None:
                    continue
                sender, to, coding, data = match.groups()
                if coding == "ucs-2":
                    data = _ucs2(data)
                elif coding == "udh":
                    header, _, payload = data.partition(" data ")
                    ref, total, seq = urllib.parse.unquote_to_bytes(header)[3:6]
                    got = parts.setdefault((to, ref), {})
                    got[seq] = _ucs2(payload)
                    if len(got) < total:
                        continue
                    coding, data = "ucs-2", "".join(got[n] for n in sorted(got))
                    del parts[(to, ref)]
                found.append(CarrierSms(sender, to, coding, data))
        return found

    def close(self) -> None:
        """Stop everything (bounded time) and remove the files."""
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
