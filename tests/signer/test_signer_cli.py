"""``lpcore signer serve`` argument handling: key sources, chain options, limits, the loopback rule."""

from __future__ import annotations

import argparse
import json
from fractions import Fraction

import pytest

pytest.importorskip("google.protobuf")  # the signer extra

from tests.signer.helpers import SIGNER_KEY
from lpcore.signer import JsonRpcChainState, SignerConfig, StaticChainState, cli


def parse(*argv):
    parser = argparse.ArgumentParser(prog="lpcore")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["signer", "serve", *argv])


def test_defaults_and_env_key(monkeypatch):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    args = parse()
    assert (args.host, args.port) == ("127.0.0.1", 8935)
    signer = cli.build_signer(args)
    assert signer.checksum_address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert isinstance(signer.chain, StaticChainState)
    cfg = signer.config
    assert (cfg.max_ticket_ev, cfg.max_total_ev, cfg.deposit_multiplier, cfg.max_price) == (
        3 * 10**12, 2 * 10**13, 1, None)


def test_keystore_limits_and_static_chain(tmp_path, monkeypatch):
    eth_account = pytest.importorskip("eth_account")
    monkeypatch.delenv("LPCORE_SIGNER_KEY", raising=False)
    ks = tmp_path / "ks.json"
    ks.write_text(json.dumps(eth_account.Account.encrypt(SIGNER_KEY, "pw", kdf="pbkdf2", iterations=2)))
    pw = tmp_path / "pw.txt"
    pw.write_text("pw\n")
    per_cap = json.dumps([{"capability": 35, "model": "sd", "price": "1/2"}])
    signer = cli.build_signer(parse("--key", str(ks), "--password-file", str(pw), "--l1-block", "7", "--round", "3",
                                    "--round-hash", "0x" + "ab" * 32, "--deposit", "9", "--reserve", "8",
                                    "--max-price-per-unit", "3", "--pixels-per-unit", "2", "--deposit-multiplier",
                                    "4", "--max-price-per-capability", per_cap))
    snap = signer.chain.snapshot()
    assert (snap.last_seen_l1_block, snap.last_initialized_round, snap.deposit, snap.reserve_funds_remaining) == (
        7, 3, 9, 8)
    assert snap.last_initialized_block_hash == bytes.fromhex("ab" * 32)
    assert signer.config.max_price == Fraction(3, 2) and signer.config.deposit_multiplier == 4
    assert signer.config.max_price_per_capability == {(35, "sd"): Fraction(1, 2)}
    with pytest.raises(ValueError, match="password"):
        monkeypatch.delenv("LPCORE_SIGNER_PASSWORD", raising=False)
        cli.build_signer(parse("--key", str(ks)))


def test_eth_url_uses_the_poller(monkeypatch):
    from tests.signer.test_signer_wire import FakeNode

    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    node = FakeNode()
    try:
        signer = cli.build_signer(parse("--eth-url", node.url, "--controller", "0x" + FakeNode.CONTROLLER.hex(),
                                        "--poll-interval", "60"))
        assert isinstance(signer.chain, JsonRpcChainState)
        assert signer.chain.snapshot().last_initialized_round == node.round
        signer.chain.close()
    finally:
        node.close()


def test_serve_refuses_public_listener_without_auth(monkeypatch, capsys):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    args = parse("--host", "0.0.0.0")
    assert args.func(args) == 2
    assert "non-loopback" in capsys.readouterr().err
    from lpcore.signer.app import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


def test_bad_key_exits_cleanly(monkeypatch, capsys):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", "nope")
    args = parse()
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "LPCORE_SIGNER_KEY" in err and "nope" not in err


def test_public_listener_refusal_names_the_cli_flag(monkeypatch, capsys):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    args = parse("--host", "10.0.0.1")
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "--allow-no-auth" in err and "allow_no_auth=True" not in err
    assert len(err.strip().splitlines()) == 1
    assert cli.build_signer(parse("--allow-no-auth")).config.allow_no_auth


def test_unreachable_eth_url_is_one_line_exit_2(monkeypatch, capsys):
    from tests.signer.helpers import free_socket

    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    sock = free_socket()  # bound, not listening: connection refused
    try:
        args = parse("--eth-url", f"http://127.0.0.1:{sock.getsockname()[1]}")
        assert args.func(args) == 2
    finally:
        sock.close()
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("lpcore signer: ") and "chain state" in err


def test_sign_threads_default_all_cores_and_zero_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    args = parse()
    assert args.sign_threads is None and cli.build_signer(args).config.threads is None
    assert cli.build_signer(parse("--sign-threads", "2")).config.threads == 2
    for bad in ("0", "-1", "x"):
        with pytest.raises(SystemExit) as exc:
            parse("--sign-threads", bad)
        assert exc.value.code == 2
        assert "--sign-threads" in capsys.readouterr().err
    with pytest.raises(ValueError, match="threads"):
        SignerConfig(threads=0)


@pytest.mark.parametrize("flag, value, message", [
    ("--max-price-per-unit", "1e999999999", "--max-price-per-unit has an exponent outside"),  # was 10**999999999
    ("--max-ticket-ev", "9" * 300, "--max-ticket-ev has more than"),
    ("--pixels-per-unit", "abc", "--pixels-per-unit must be a number"),
    ("--max-price-per-capability", '[{"capability": 1, "price": "1e5000"}]', "--max-price-per-capability has an"),
])
def test_operator_numbers_go_through_the_bounded_rational_parser(monkeypatch, flag, value, message):
    monkeypatch.setenv("LPCORE_SIGNER_KEY", SIGNER_KEY.hex())
    with pytest.raises(ValueError, match=message):
        cli.build_signer(parse(flag, value))
    ok = cli.build_signer(parse("--max-price-per-unit", "3e2", "--pixels-per-unit", "1/2")).config
    assert ok.max_price == 600
