"""TicketBroker models: the interfaces the PM roles use and the embedded SQLite broker (spec/pm.md §7)."""

from __future__ import annotations

from .base import Broker, SenderInfo, SenderInfoSource, StaticChainView, TimeSource

__all__ = ["Broker", "SenderInfo", "SenderInfoSource", "StaticChainView", "TimeSource"]
