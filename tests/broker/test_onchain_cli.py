"""``lpcore broker status|fund|unlock|cancel-unlock|withdraw|redeem`` over HTTP JSON-RPC on the real contract."""

from __future__ import annotations

import pytest

from lpcore import pm
from lpcore._units import format_eth as fmt_eth, parse_eth as parse_amount
from lpcore.cli import main

from tests.broker.evm_node import serve
from tests.broker.onchain_helpers import GATEWAY_KEY, ORCH, ORCH_KEY, env  # noqa: F401


@pytest.fixture
def cli(env, tmp_path, monkeypatch, capsys):
    server = serve(env.node)
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def run(*argv, key=GATEWAY_KEY):
        monkeypatch.setenv("LPCORE_SIGNER_KEY", key.hex())
        base = ["--rpc", url, "--controller", env.dep.controller.address, "--chain-id", "0",
                "--journal", str(tmp_path / f"journal-{key.hex()[:4]}.db")]
        code = main(["broker", argv[0], *base, *argv[1:]])
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    try:
        yield run
    finally:
        server.shutdown()
        server.server_close()


def test_amounts():
    assert parse_amount("1.5", False) == 15 * 10**17 and parse_amount("7", True) == 7
    assert fmt_eth(15 * 10**17, False) == "1.5 ETH" and fmt_eth(1, True) == "0.000000000000000001 ETH (1 wei)"
    for bad in ("-1", "nan", "1e999", "1e999999999", "0.1", "x", "9" * 101):
        with pytest.raises(ValueError):
            parse_amount(bad, bad == "0.1")


def test_operator_flow(env, cli, tmp_path):
    code, out, err = cli("status")
    assert code == 0 and "deposit         0 ETH" in out and "Empty" in out
    code, out, err = cli("unlock")
    assert code == 1 and "account is Empty" in err
    assert cli("fund", "--deposit", "1.5", "--reserve", "0.5")[0] == 0
    code, out, _ = cli("status", "--wei")
    assert "deposit         1.5 ETH (1500000000000000000 wei)" in out and "Locked" in out
    assert "fundDepositAndReserve" in out and "confirmed" in out
    code, out, _ = cli("unlock")
    assert code == 0 and "withdraw from round 12" in out
    code, out, err = cli("withdraw")
    assert code == 1 and "Unlocking" in err
    assert cli("cancel-unlock")[0] == 0 and cli("unlock")[0] == 0
    env.dep.set_round(12)
    code, out, _ = cli("withdraw")
    assert code == 0 and "withdrew 2 ETH" in out
    assert "Empty" in cli("status")[1]


def test_redeem_and_ticket_counts(env, cli, tmp_path):
    assert cli("fund", "--deposit", "1", "--reserve", "0")[0] == 0
    q = pm.RedemptionQueue(tmp_path / "queue.db")
    q.add(env.ticket(nonce=1, face_value=10**16))
    q.add(env.ticket(nonce=2, face_value=10**16, params_expiration_block=2000))  # params not expired yet
    q.close()
    code, out, _ = cli("status", "--address", "0x" + ORCH.hex(), "--queue", str(tmp_path / "queue.db"))
    assert "2 queued (1 due, 1 pending params expiry)" in out
    code, out, err = cli("redeem", "--queue", str(tmp_path / "queue.db"), key=ORCH_KEY)
    assert code == 0 and "1 redeemed, 0 failed, 0 deferred, 1 not yet due" in out, err
    assert env.dep.fees(ORCH) == 10**16
    code, out, _ = cli("status", "--queue", str(tmp_path / "queue.db"), key=ORCH_KEY)
    assert "1 queued" in out and "1 redeemed" in out and "redeemWinningTicket" in out
