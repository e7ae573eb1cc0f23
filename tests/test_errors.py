"""lpcore.errors: every error lpcore raises on purpose is an LpcoreError; argument errors stay ValueError/TypeError."""

from __future__ import annotations

import pytest

from lpcore.errors import LpcoreError


def test_argument_errors_are_lpcore_errors(tmp_path):
    """Bad arguments to the broker models, the chain view poller and the signer config are LpcoreErrors that
    stay ValueError/TypeError (issue 10: every error lpcore raises on purpose is in one hierarchy)."""
    from lpcore.broker import Chain, LocalBroker
    from lpcore.broker.rpc import JsonRpcChainState
    from lpcore.errors import BrokerArgumentError, MarketSettingError
    from lpcore.market import ProbabilitySelection

    with pytest.raises(BrokerArgumentError) as e:
        Chain(round_length=0)
    assert isinstance(e.value, ValueError) and isinstance(e.value, LpcoreError)
    with pytest.raises(TypeError):
        Chain().advance("3")
    with pytest.raises(BrokerArgumentError):
        LocalBroker(tmp_path / "broker.db").fund_deposit(b"short", 1)
    with pytest.raises(BrokerArgumentError):
        JsonRpcChainState("http://127.0.0.1:9", b"short")
    with pytest.raises(MarketSettingError) as e:
        ProbabilitySelection(stake_weight=2.0)
    assert isinstance(e.value, ValueError)
