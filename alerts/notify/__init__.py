"""SMS notifications: subscribers, the outbox, channels (log, Kannel), replies, the notifier.

The alert engine calls ``fan_out`` in the transaction that records alert transitions;
``aquawatch notify`` sends what it wrote; the API mounts ``sms_callbacks``, the routes that
pass Kannel's delivery reports and replies to ``record_delivery`` and ``handle_reply``.
"""

from alerts.notify.callbacks import sms_callbacks
from alerts.notify.channels import KannelChannel, LogChannel, Outcome, Sms, SmsChannel
from alerts.notify.errors import (
    ChannelError,
    InvalidSubscriberError,
    NoSuchSubscriberError,
    NotifyError,
    PhoneError,
    PhoneTakenError,
    SubscriberError,
    UnknownStationsError,
)
from alerts.notify.outbox import fan_out
from alerts.notify.phones import normalise_phone
from alerts.notify.replies import handle_reply, parse_reply, record_delivery
from alerts.notify.settings import NotifySettings
from alerts.notify.subscribers import (
    NewSubscriber,
    Subscriber,
    add_subscriber,
    get_subscriber,
    list_subscribers,
    remove_subscriber,
    replace_subscriber,
)
from alerts.notify.templates import alert_code, parse_alert_code
from alerts.notify.worker import Notifier

__all__ = [
    "ChannelError",
    "InvalidSubscriberError",
    "KannelChannel",
    "LogChannel",
    "NewSubscriber",
    "NoSuchSubscriberError",
    "Notifier",
    "NotifyError",
    "NotifySettings",
    "Outcome",
    "PhoneError",
    "PhoneTakenError",
    "Sms",
    "SmsChannel",
    "Subscriber",
    "SubscriberError",
    "UnknownStationsError",
    "add_subscriber",
    "alert_code",
    "fan_out",
    "get_subscriber",
    "handle_reply",
    "list_subscribers",
    "normalise_phone",
    "parse_alert_code",
    "parse_reply",
    "record_delivery",
    "remove_subscriber",
    "replace_subscriber",
    "sms_callbacks",
]
