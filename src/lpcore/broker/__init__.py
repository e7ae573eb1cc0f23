"""TicketBroker models: the interfaces the PM roles use and the embedded SQLite broker (spec/pm.md §7)."""

from __future__ import annotations

from .base import Broker, SenderInfo, SenderInfoSource, StaticChainView, TimeSource
from .chain import Chain
from .local import Event, LocalBroker

__all__ = ["Broker", "Chain", "Event", "LocalBroker", "SenderInfo", "SenderInfoSource", "StaticChainView", "TimeSource"]
