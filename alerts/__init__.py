"""Alert engine: data-quality, threshold, trend, pollution and disease-risk checks.

Evaluates committed readings tick by tick (``aquawatch alerts``), stores QC flags with the
readings, and turns the episodes it finds into alerts and alert events exactly once.
"""

from alerts.backtest import BacktestAlert, BacktestResult, WhatIf, run_backtest, what_if
from alerts.config.compiled_rules import CompiledRule
from alerts.config.quality import QualityConfig, load_quality_config
from alerts.config.threshold_profiles import Profiles, load_profiles
from alerts.detectors.findings import AlertEpisode, Detector, Findings, View
from alerts.engine import Engine
from alerts.errors import (
    AlertConfigError,
    AlertError,
    AlertNotOpenError,
    ProfileError,
    QualityConfigError,
)
from alerts.notify import (
    NewSubscriber,
    NotifySettings,
    Subscriber,
    SubscriberError,
    UnknownStationsError,
    add_subscriber,
    fan_out,
    get_subscriber,
    handle_reply,
    list_subscribers,
    record_delivery,
    remove_subscriber,
    replace_subscriber,
    sms_callbacks,
)
from alerts.persistence.lifecycle import Transition, acknowledge, reconcile, resolve
from alerts.persistence.store import sync_profiles
from alerts.quantities import DERIVED_QUANTITIES, DerivedQuantity, SeriesKey, quantity_label
from alerts.settings import AlertSettings
from alerts.states import (
    AlertFamily,
    AlertState,
    BuiltinRule,
    EventKind,
    Severity,
    TransitionKind,
    sensor_notice_rule,
)

__all__ = [
    "DERIVED_QUANTITIES",
    "AlertConfigError",
    "AlertEpisode",
    "AlertError",
    "AlertFamily",
    "AlertNotOpenError",
    "AlertSettings",
    "AlertState",
    "BacktestAlert",
    "BacktestResult",
    "BuiltinRule",
    "CompiledRule",
    "DerivedQuantity",
    "Detector",
    "Engine",
    "EventKind",
    "Findings",
    "NewSubscriber",
    "NotifySettings",
    "ProfileError",
    "Profiles",
    "QualityConfig",
    "QualityConfigError",
    "SeriesKey",
    "Severity",
    "Subscriber",
    "SubscriberError",
    "Transition",
    "TransitionKind",
    "UnknownStationsError",
    "View",
    "WhatIf",
    "acknowledge",
    "add_subscriber",
    "fan_out",
    "get_subscriber",
    "handle_reply",
    "list_subscribers",
    "load_profiles",
    "load_quality_config",
    "quantity_label",
    "reconcile",
    "record_delivery",
    "remove_subscriber",
    "replace_subscriber",
    "resolve",
    "run_backtest",
    "sensor_notice_rule",
    "sms_callbacks",
    "sync_profiles",
    "what_if",
]
