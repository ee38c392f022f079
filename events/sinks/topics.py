"""The topics of the matched sinks: every contract's output topic, followed while running."""

import time
from collections.abc import Callable

from django.db import close_old_connections

from schemas_admin.lookup import matchable_versions


class ContractTopics:
    """Output topic -> event name of the contracts with a matchable version, reloaded every
    ``refresh_seconds``; ``on_change`` gets the new topic list when it changes."""

    def __init__(self, refresh_seconds: float, on_change: Callable[[list[str]], None]) -> None:
        self.refresh_seconds = refresh_seconds
        self.on_change = on_change
        self.events: dict[str, str] = {}
        self.topics: list[str] = []
        self.refreshed_at = float("-inf")

    def event_name(self, topic: str) -> str | None:
        return self.events.get(topic)

    def load(self) -> list[str]:
        close_old_connections()
        found = {v.contract.output_topic: v.contract.event_name for v in matchable_versions()}
        # A topic once seen keeps its name: records already in it still belong to that event.
        self.events = {**self.events, **found}
        self.refreshed_at = time.monotonic()
        self.topics = sorted(found)
        return self.topics

    def refresh(self) -> None:
        if time.monotonic() - self.refreshed_at < self.refresh_seconds:
            return
        before = self.topics
        if self.load() != before:
            self.on_change(self.topics)
