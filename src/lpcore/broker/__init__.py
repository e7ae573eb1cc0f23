"""TicketBroker models: the interfaces the PM roles use, the embedded SQLite broker (spec/pm.md §7) and the
on-chain broker over web3 (spec/chain.md).

The on-chain names (:class:`ChainBroker`, :func:`load_account`, :class:`ChainView`, :class:`TxJournal`) load on
first use, so ``import lpcore.broker`` needs only the base dependencies (web3 is the ``chain`` extra).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import Broker, SenderInfo, SenderInfoSource, StaticChainView, TimeSource
from .chain import Chain
from .local import Event, LocalBroker

if TYPE_CHECKING:  # pragma: no cover
    from .onchain import ChainBroker, load_account
    from .rpc import ChainError, ChainView
    from .txn import TxJournal

_LAZY = {"ChainBroker": ".onchain", "load_account": ".onchain", "ChainError": ".rpc", "ChainView": ".rpc",
         "TxJournal": ".txn"}

__all__ = ["Broker", "Chain", "ChainBroker", "ChainError", "ChainView", "Event", "LocalBroker", "SenderInfo",
           "SenderInfoSource", "StaticChainView", "TimeSource", "TxJournal", "load_account"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
