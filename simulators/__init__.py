"""Station simulators: realistic readings and faults over MQTT or as Circular 10 FTP loggers.

Nothing else in AquaWatch imports this package; it uses only the public APIs of
``telemetry`` and ``stations``.
"""

from simulators.datalogger import FtpLoggers
from simulators.errors import PublisherError, ScenarioError, SimulatorError
from simulators.faults import Block, Fault, apply_faults
from simulators.publisher import MqttPublisher
from simulators.runner import Outgoing, Schedule, Sink, StationRunner, Tally, run
from simulators.scenario import (
    Scenario,
    Script,
    compile_scenarios,
    load_scenario,
    parse_duration,
    parse_scenario,
    resolve_time,
)
from simulators.signals import DoCrash, EffluentPulse, Episode, Rain, simulate

__all__ = [
    "Block",
    "DoCrash",
    "EffluentPulse",
    "Episode",
    "Fault",
    "FtpLoggers",
    "MqttPublisher",
    "Outgoing",
    "PublisherError",
    "Rain",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "Script",
    "SimulatorError",
    "Sink",
    "StationRunner",
    "Tally",
    "apply_faults",
    "compile_scenarios",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
    "resolve_time",
    "run",
    "simulate",
]
