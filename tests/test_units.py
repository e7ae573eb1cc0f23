"""lpcore._units: the one wei <-> ETH text conversion (demo, broker and market CLIs)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lpcore._units import WEI_PER_ETH, InvalidAmount, format_eth, parse_eth
from lpcore.errors import LpcoreError


def test_format_is_exact_and_trimmed():
    assert format_eth(0) == "0 ETH"
    assert format_eth(WEI_PER_ETH) == "1 ETH"
    assert format_eth(2**256 - 1) == "115792089237316195423570985008687907853269984665640564039457.584007913129639935 ETH"
    assert format_eth(1234, True) == "0.000000000000001234 ETH (1234 wei)"
    assert format_eth(Fraction(5, 2)) == "0.000000000000000002 ETH"  # expected values round to the nearest wei
    assert format_eth(-WEI_PER_ETH // 2) == "-0.5 ETH"


@pytest.mark.parametrize("wei", [0, 1, 10**18 - 1, 10**18, 2**256 - 1])
def test_parse_inverts_format(wei):
    assert parse_eth(format_eth(wei).removesuffix(" ETH")) == wei
    assert parse_eth(str(wei), wei=True) == wei


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "x", "", "1e78", "1e999999999", "9" * 101, "0.5e-18"])
def test_parse_refuses(text):
    with pytest.raises(InvalidAmount) as e:
        parse_eth(text)
    assert isinstance(e.value, (LpcoreError, ValueError))


def test_uint256_bound_both_sides():
    assert parse_eth(str(2**256 - 1), wei=True) == 2**256 - 1
    with pytest.raises(InvalidAmount, match="uint256"):
        parse_eth(str(2**256), wei=True)

