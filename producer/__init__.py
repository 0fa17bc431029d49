"""Producer library and CLI for the twilio-azure-functions queues.

Other systems enqueue SMS and call requests validated with the app's own contracts
(`shared.contracts`), read a request's delivery state and the delivery events; operators inspect
and replay poison queues. Library: `Producer(load_settings()).send_sms({...})`; CLI:
`python -m producer --help`."""

from producer.client import Producer
from producer.errors import (
    DeliveryNotFoundError,
    InvalidInputError,
    ProducerError,
    StorageUnavailableError,
)
from producer.settings import ProducerSettings, load_settings

__all__ = [
    "DeliveryNotFoundError",
    "InvalidInputError",
    "Producer",
    "ProducerError",
    "ProducerSettings",
    "StorageUnavailableError",
    "load_settings",
]
