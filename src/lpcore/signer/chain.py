"""Compatibility re-export: the signer's chain-state sources now live in :mod:`lpcore.broker.rpc` (the one chain
view shared with the on-chain broker)."""

from __future__ import annotations

from ..broker.rpc import (  # noqa: F401
    ARBITRUM_ONE_CONTROLLER,
    BrokerChainState,
    ChainSnapshot,
    ChainStateSource,
    ChainStateUnavailable,
    JsonRpcChainState,
    StaticChainState,
)

__all__ = ["ChainSnapshot", "ChainStateSource", "ChainStateUnavailable", "StaticChainState", "BrokerChainState",
           "JsonRpcChainState", "ARBITRUM_ONE_CONTROLLER"]
