"""Alert engine: data-quality, threshold, trend, pollution and disease-risk checks.

Evaluates committed readings tick by tick (``aquawatch alerts``), stores QC flags with the
readings, and turns the episodes it finds into alerts and alert events exactly once.
"""

from alerts.config.quality import QualityConfig, QualityConfigError, load_quality_config
from alerts.config.threshold_profiles import CompiledRule, ProfileError, Profiles, load_profiles
from alerts.engine import Engine
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
)
from alerts.persistence.lifecycle import (
    AlertError,
    Episode,
    Severity,
    Transition,
    acknowledge,
    resolve,
)
from alerts.settings import AlertSettings

__all__ = [
    "AlertError",
    "AlertSettings",
    "CompiledRule",
    "Engine",
    "Episode",
    "NewSubscriber",
    "NotifySettings",
    "ProfileError",
    "Profiles",
    "QualityConfig",
    "QualityConfigError",
    "Severity",
    "Subscriber",
    "SubscriberError",
    "Transition",
    "UnknownStationsError",
    "acknowledge",
    "add_subscriber",
    "fan_out",
    "get_subscriber",
    "handle_reply",
    "list_subscribers",
    "load_profiles",
    "load_quality_config",
    "record_delivery",
    "remove_subscriber",
    "replace_subscriber",
    "resolve",
]
