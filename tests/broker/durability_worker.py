"""Subprocess for test_durability: fund, pay, receive and redeem forever on a state directory, logging what
each call acknowledged. The test SIGKILLs it at random points and restarts it on the same directory.

Usage: python durability_worker.py STATE_DIR SEED [--drain]
"""

from __future__ import annotations

import os
import random
import sys
from fractions import Fraction
from pathlib import Path

from lpcore import pm
from lpcore.broker import LocalBroker
from lpcore.pm import errors as E

SENDER_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ORCH = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
SECRET = b"\x07" * 32
EV = 10**6


def log(path: Path, line: str) -> None:
    # Appended and fsync'd only after the call returned: the log is what the process acknowledged.
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def main() -> None:
    state, seed = Path(sys.argv[1]), int(sys.argv[2])
    drain = "--drain" in sys.argv
    rng = random.Random(seed)
    broker = LocalBroker(state / "broker.db", round_length=50)
    chain = broker.chain
    if not broker.is_active_transcoder(ORCH):
        broker.register_transcoder(ORCH)
    signer = pm.Signer(SENDER_KEY)
    sender = pm.Sender(signer, chain, broker, max_ev=Fraction(10**12), max_total_ev=Fraction(10**15))
    queue = pm.RedemptionQueue(state / "queue.db")
    monitor = pm.SenderMonitor(ORCH, broker, chain, queue)
    recipient = pm.Recipient(ORCH, monitor, chain, secret=SECRET, ev=EV, max_face_value=5 * EV)
    chain.subscribe_l1_blocks(monitor.on_new_l1_block)
    acks = state / "acks.log"
    if drain:
        for _ in range(20):
            chain.advance(5)
        print("drained", flush=True)
        return
    print("ready", flush=True)
    while True:
        op = rng.random()
        if op < 0.15 or broker.get_sender_info(signer.address).deposit < 10**9:
            d, r = rng.randrange(10**9, 2 * 10**9), rng.randrange(10**8, 10**9)
            broker.fund_deposit_and_reserve(signer.address, d, r)
            log(acks, f"fund {d} {r}")
        elif op < 0.8:
            params = recipient.ticket_params(signer.address, Fraction(1))
            sid = sender.start_session(params)
            try:
                payment = sender.create_ticket_batch(sid, 40)
            except E.TicketParamsError:
                continue
            res = recipient.receive_payment(payment)
            for st in res.winners:
                log(acks, f"win {st.ticket.hash().hex()} {st.sig.hex()}")
        else:
            chain.advance(5)
            log(acks, f"block {chain.last_seen_l1_block()}")


if __name__ == "__main__":
    main()
