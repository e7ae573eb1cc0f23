"""TicketBroker models: the interfaces the PM roles use, the embedded SQLite broker (spec/pm.md §7) and the
on-chain broker over web3 (spec/chain.md)."""

from __future__ import annotations

from .base import Broker, SenderInfo, SenderInfoSource, StaticChainView, TimeSource
from .chain import Chain
from .local import Event, LocalBroker
from .onchain import ChainBroker, load_account
from .rpc import ChainError, ChainView
from .txn import TxJournal

__all__ = ["Broker", "Chain", "ChainBroker", "ChainError", "ChainView", "Event", "LocalBroker", "SenderInfo",
           "SenderInfoSource", "StaticChainView", "TimeSource", "TxJournal", "load_account"]
