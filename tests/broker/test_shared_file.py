"""Several processes on one broker file (issue 15 items 5, 6 and 12): the chain state lives only in SQLite, block
subscribers are isolated from each other, and funding beyond uint256 reverts as the contract does."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest
from coincurve import PrivateKey

from lpcore import BrokerRevert, pm
from lpcore._db import connect
from lpcore.broker import Chain, LocalBroker
from lpcore.broker.local import PANIC_ARITHMETIC, UINT256_MAX
from lpcore.pm.params import MAX_WIN_PROB
from tests.pm import pyref
from tests.pm.helpers import ORCH_ADDR, SENDER_KEY

SENDER = pyref.address_of(PrivateKey(SENDER_KEY).public_key)
RAND = 5

# A child process: open the chain file, say "ready", wait for a line on stdin, then advance and print the block.
_ADVANCER = textwrap.dedent("""
    import sys
    from lpcore.broker import Chain
    chain = Chain(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    how, n = sys.argv[2], int(sys.argv[3])
    print(chain.advance(n) if how == "blocks" else chain.advance_rounds(n), flush=True)
""")


class Advancer:
    """Another process holding its own Chain on ``path`` (opened, and so read, before it is told to advance)."""

    def __init__(self, path, how: str, n: int):
        self.proc = subprocess.Popen([sys.executable, "-c", _ADVANCER, str(path), how, str(n)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            pytest.fail(f"advancer did not start: {self.proc.communicate(timeout=30)[1]}")

    def go(self) -> int:
        out, err = self.proc.communicate("go\n", timeout=60)
        assert self.proc.returncode == 0, err
        return int(out.strip())


def test_two_processes_advancing_one_chain_add_up(tmp_path):
    path = tmp_path / "broker.db"
    Chain(path, round_length=50, start_block=500).close()
    a, b = Advancer(path, "blocks", 10), Advancer(path, "blocks", 10)  # both opened at block 500
    assert a.go() == 510
    assert b.go() == 520  # not 510: the increment happens in SQL, on the committed value
    reopened = Chain(path)
    assert reopened.last_seen_l1_block() == 520


def test_broker_opened_before_another_process_advanced_refuses_expired_ticket(tmp_path):
    path = tmp_path / "broker.db"
    broker = LocalBroker(path, round_length=50)  # its chain lives in the same file
    broker.register_transcoder(ORCH_ADDR)
    broker.fund_deposit_and_reserve(SENDER, 1000, 1000)
    cr = broker.chain.last_initialized_round()
    t = pm.Ticket(recipient=ORCH_ADDR, sender=SENDER, face_value=100, win_prob=MAX_WIN_PROB, sender_nonce=1,
                  recipient_rand_hash=pyref.rand_hash(RAND), creation_round=cr,
                  creation_round_block_hash=broker.chain.block_hash_for_round(cr))
    sig = pyref.sign(SENDER_KEY, t.hash())

    other = Advancer(path, "rounds", 2)  # ticketValidityPeriod = 2 rounds: the ticket is then expired
    block = other.go()
    assert broker.chain.last_seen_l1_block() == block and broker.chain.current_round() == cr + 2
    assert broker.chain.last_initialized_round() == cr + 2  # the other process initialized the round
    with pytest.raises(BrokerRevert) as ei:
        broker.redeem_winning_ticket(t, sig, RAND)
    assert ei.value.reason == "ticket is expired"
    assert broker.transcoder_fees(ORCH_ADDR) == 0 and not broker.is_used_ticket(t.hash())


def test_one_failing_subscriber_never_stops_the_others(tmp_path, caplog):
    chain = Chain(tmp_path / "c.db", round_length=50, start_block=500)
    seen = []

    def broken(block):
        raise RuntimeError("subscriber bug")

    chain.subscribe_l1_blocks(seen.append)
    chain.subscribe_l1_blocks(broken)
    chain.subscribe_l1_blocks(lambda block: seen.append(-block))
    with caplog.at_level(logging.ERROR, logger="lpcore.broker"):
        assert chain.advance(3) == 503
    assert seen == [503, -503]
    assert chain.last_seen_l1_block() == 503
    assert any("subscriber bug" in (r.exc_text or "") or "subscriber bug" in str(r.exc_info) for r in caplog.records)


def test_a_locked_subscriber_database_neither_undoes_the_block_nor_skips_later_subscribers(tmp_path):
    """A subscriber whose own database is locked by another writer fails after its own busy timeout; the block
    is already committed and the subscribers after it still run."""
    chain = Chain(tmp_path / "c.db", round_length=50, start_block=500)
    queue_path = tmp_path / "queue.db"
    holder = connect(queue_path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the queue database
    queue = connect(queue_path, timeout=0.05)
    later = []
    chain.subscribe_l1_blocks(lambda block: queue.execute("INSERT INTO t VALUES (?)", (block,)))
    chain.subscribe_l1_blocks(later.append)
    try:
        assert chain.advance(1) == 501
    finally:
        holder.execute("ROLLBACK")
    assert later == [501] and Chain(tmp_path / "c.db").last_seen_l1_block() == 501
    assert queue.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0  # the locked subscriber really failed


@pytest.mark.parametrize("fund", ["deposit", "reserve", "deposit_and_reserve"])
def test_funding_beyond_uint256_reverts_like_solidity_08(tmp_path, fund):
    b = LocalBroker(tmp_path / "b.db")
    b.fund_deposit(SENDER, UINT256_MAX - 1)  # one call each: their sum would not fit in one msg.value
    b.fund_reserve(SENDER, UINT256_MAX - 1)
    before = (b.get_sender_info(SENDER), b.events(), b.totals())
    with pytest.raises(BrokerRevert) as ei:
        if fund == "deposit":
            b.fund_deposit(SENDER, 2)
        elif fund == "reserve":
            b.fund_reserve(SENDER, 2)
        else:
            b.fund_deposit_and_reserve(SENDER, 0, 2)
    assert ei.value.reason == PANIC_ARITHMETIC
    assert (b.get_sender_info(SENDER), b.events(), b.totals()) == before  # the whole call rolled back
    # exactly at the limit is fine
    b.fund_deposit(SENDER, 1)
    b.fund_reserve(SENDER, 1)
    info = b.get_sender_info(SENDER)
    assert info.deposit == info.funds_remaining == UINT256_MAX


def test_deposit_plus_reserve_overflow_reverts_before_the_value_check(tmp_path):
    """``checkDepositReserveETHValueSplit`` computes ``d.add(r)``: two amounts that each fit but whose sum does
    not revert with the panic, not with the msg.value message, whatever msg.value is."""
    b = LocalBroker(tmp_path / "b.db")
    half = 2**255
    for value in (None, 0, UINT256_MAX):
        with pytest.raises(BrokerRevert) as ei:
            b.fund_deposit_and_reserve(SENDER, half, half, value=value)
        assert ei.value.reason == PANIC_ARITHMETIC
    assert b.get_sender_info(SENDER).deposit == 0 and b.events() == []
    with pytest.raises(BrokerRevert, match="msg.value does not equal"):
        b.fund_deposit_and_reserve(SENDER, 1, 2, value=4)


def test_reading_the_chain_inside_a_write_on_its_file_never_waits_for_a_blocked_advance(tmp_path):
    """A LocalBroker transaction holds the file's write lock and reads the chain; meanwhile another thread's
    ``advance`` waits for that lock. The read must not queue behind the advance (a deadlock until the busy
    timeout); it sees the last committed block, and the advance completes once the lock is released."""
    import threading

    path = tmp_path / "broker.db"
    chain = Chain(path, round_length=50, start_block=500)
    writer = connect(path)
    writer.execute("BEGIN IMMEDIATE")  # what LocalBroker._tx holds while it redeems
    advanced = []
    advancing = threading.Thread(target=lambda: advanced.append(chain.advance(1)), daemon=True)
    advancing.start()
    advancing.join(0.3)
    assert advancing.is_alive()  # blocked on the file lock, as it should be
    read = []
    reader = threading.Thread(target=lambda: read.append((chain.last_seen_l1_block(), chain.current_round(),
                                                          chain.block_hash_for_round(10))), daemon=True)
    reader.start()
    reader.join(20)
    alive = reader.is_alive()
    writer.execute("COMMIT")
    advancing.join(60)
    assert not alive and read == [(500, 10, chain.block_hash(499))]
    assert advanced == [501] and chain.last_seen_l1_block() == 501
