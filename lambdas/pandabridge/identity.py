"""Incident identity: a BigPanda incident id is unique only within the integration that sent it.

Two integrations (two BigPanda organisations, or two environments wired to two webhooks) may
share an incident id, so everything we keep is keyed by the *storage key*: the id itself for
the integration ``default`` (so the data of a single-integration deployment keeps its keys,
with no migration), and ``<integration>#<incident id>`` for any other. The storage key is the
partition key of the incidents and tickets tables, the id in the queue messages, what
``pandabridge.fifo.fifo_id`` turns into a message group, and what archive keys are built from.
Code that talks to BigPanda uses ``IncidentKey.incident_id``, BigPanda's own id.

A default-path incident id that reads as another integration's storage key (``ops#123`` while
an integration ``ops`` exists) would land on that integration's incident; ingest refuses it
(``collides``), naming why. Without an integration of that name the id is stored as it is.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

DEFAULT_INTEGRATION: Final = "default"
INTEGRATION_NAME_PATTERN: Final = r"^[a-z][a-z0-9-]{0,31}$"
# Between the integration and the incident id in a storage key; never in an integration name.
SEPARATOR: Final = "#"

_NAME: Final = re.compile(INTEGRATION_NAME_PATTERN)


def is_integration_name(name: str) -> bool:
    """Whether ``name`` can name an integration (and so a path ``/webhook/<name>``)."""
    return bool(_NAME.match(name))


@dataclass(frozen=True)
class IncidentKey:
    """One incident of one integration."""

    integration: str
    incident_id: str  # BigPanda's own incident id, as in the webhook body

    @property
    def is_default(self) -> bool:
        return self.integration == DEFAULT_INTEGRATION

    @property
    def storage_key(self) -> str:
        """The key everything we keep about the incident is stored and queued under."""
        if self.is_default:
            return self.incident_id
        return f"{self.integration}{SEPARATOR}{self.incident_id}"

    @classmethod
    def parse(cls, storage_key: str, integrations: Collection[str]) -> IncidentKey:
        """The key a storage key stands for, given the deployment's integration names: a key
        is scoped only when what precedes its first ``#`` is one of them (not ``default``)."""
        prefix, separator, rest = storage_key.partition(SEPARATOR)
        if separator and rest and prefix != DEFAULT_INTEGRATION and prefix in integrations:
            return cls(prefix, rest)
        return cls(DEFAULT_INTEGRATION, storage_key)

    def collides(self, integrations: Collection[str]) -> bool:
        """Whether this key's storage key would be read back as another integration's: a
        default incident id of the shape ``<integration>#...`` while that integration exists."""
        return IncidentKey.parse(self.storage_key, integrations) != self
