"""``lpcore broker ...``: operate a TicketBroker account on chain (Arbitrum One by default).

    lpcore broker status        --rpc URL [--address 0x..] [--queue queue.db] [--wei]
    lpcore broker fund          --rpc URL --keystore k.json --deposit 0.1 --reserve 0.05
    lpcore broker unlock        --rpc URL --keystore k.json
    lpcore broker cancel-unlock --rpc URL --keystore k.json
    lpcore broker withdraw      --rpc URL --keystore k.json
    lpcore broker redeem        --rpc URL --keystore k.json --queue queue.db

The key comes from a keystore (``--keystore``, password from ``--password-file`` or ``$LPCORE_SIGNER_PASSWORD``)
or from an environment variable holding the hex key (``--key-env``, default ``LPCORE_SIGNER_KEY``); it is never
taken on the command line, where other users of the machine could read it. Amounts are ETH unless ``--wei``.
Transactions are journaled in ``--journal`` (default ``~/.lpcore/broker-journal.sqlite3``) so an interrupted
command can be resumed: every command first reconciles what a previous run left in flight.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .._units import format_eth, parse_eth

DEFAULT_JOURNAL = Path("~/.lpcore/broker-journal.sqlite3")


def _common(p: argparse.ArgumentParser, *, needs_key: bool) -> None:
    p.add_argument("--rpc", required=True, help="JSON-RPC URL of an Arbitrum One node (http(s):// or ws(s)://)")
    p.add_argument("--controller", help="Controller address (default: Arbitrum One's)")
    p.add_argument("--ticket-broker", help="TicketBroker address (default: resolved through the Controller)")
    p.add_argument("--chain-id", type=int, default=42161, help="expected chain id (default 42161; 0 = any)")
    p.add_argument("--journal", default=str(DEFAULT_JOURNAL), help="transaction journal (SQLite)")
    p.add_argument("--max-gas-price", type=int, help="refuse to send above this gas price (wei)")
    p.add_argument("--wei", action="store_true", help="amounts in wei (input) and with wei (output)")
    p.add_argument("--tx-timeout", type=float, default=300.0, help="seconds before a stuck tx is replaced")
    g = p.add_argument_group("key" + ("" if needs_key else " (optional: status shows the account's view)"))
    g.add_argument("--keystore", help="V3 keystore file of the account")
    g.add_argument("--password-file", help="file with the keystore password (else $LPCORE_SIGNER_PASSWORD)")
    g.add_argument("--key-env", help="environment variable holding the hex private key (default LPCORE_SIGNER_KEY)")


def register(subparsers) -> None:
    broker = subparsers.add_parser("broker", help="fund, unlock, withdraw and redeem on the on-chain TicketBroker")
    sub = broker.add_subparsers(dest="broker_command", required=True)
    st = sub.add_parser("status", help="deposit, reserve, withdraw round, tickets and recent transactions")
    _common(st, needs_key=False)
    st.add_argument("--address", help="account to show (default: the key's)")
    st.add_argument("--queue", help="redemption queue database, for queued/pending tickets")
    st.add_argument("--recent", type=int, default=10, help="recent transactions to list")
    fund = sub.add_parser("fund", help="fundDepositAndReserve / fundDeposit / fundReserve")
    _common(fund, needs_key=True)
    fund.add_argument("--deposit", default="0", help="deposit to add (ETH, or wei with --wei)")
    fund.add_argument("--reserve", default="0", help="reserve to add (ETH, or wei with --wei)")
    for name, helptext in (("unlock", "start the unlock period"), ("cancel-unlock", "cancel an unlock"),
                           ("withdraw", "withdraw deposit and reserve after the unlock period")):
        _common(sub.add_parser(name, help=helptext), needs_key=True)
    red = sub.add_parser("redeem", help="redeem the due winning tickets of a redemption queue now")
    _common(red, needs_key=True)
    red.add_argument("--queue", required=True, help="redemption queue database (pm.RedemptionQueue)")
    red.add_argument("--recipient", help="the tickets' recipient (default: the key's address)")
    for p in sub.choices.values():
        p.set_defaults(func=run)


def _key(args):
    from ..signer.keys import DEFAULT_KEY_ENV, key_from_env, load_keystore_file

    if args.keystore:
        return load_keystore_file(args.keystore, args.password_file, flag="--keystore")
    name = args.key_env or DEFAULT_KEY_ENV
    if args.key_env or os.environ.get(name):
        return key_from_env(name)
    return None


def _hex_addr(text: str) -> bytes:
    t = text[2:] if text.startswith(("0x", "0X")) else text
    if len(t) != 40:
        raise ValueError(f"invalid address {text!r}")
    return bytes.fromhex(t)


def _broker(args, key):
    from .onchain import ChainBroker
    from .rpc import ARBITRUM_ONE_CONTROLLER

    journal = Path(os.path.expanduser(args.journal))
    journal.parent.mkdir(parents=True, exist_ok=True)
    return ChainBroker(args.rpc, controller=_hex_addr(args.controller) if args.controller else ARBITRUM_ONE_CONTROLLER,
                       ticket_broker=_hex_addr(args.ticket_broker) if args.ticket_broker else None,
                       key=key, chain_id=args.chain_id or None, journal=str(journal),
                       max_gas_price=args.max_gas_price, tx_timeout_s=args.tx_timeout)


def unlock_state(info, current_round: int) -> str:
    """livepeer_cli's states: Empty / Locked / Unlocking / Unlocked (spec/chain.md §5)."""
    if info.deposit == 0 and info.funds_remaining == 0:
        return "Empty"
    if info.withdraw_round == 0:
        return "Locked"
    return "Unlocking" if info.withdraw_round > current_round else "Unlocked"


def run(args) -> int:
    from ..errors import LpcoreError

    out = sys.stdout
    try:
        key = _key(args)
        if key is None and args.broker_command != "status":
            raise ValueError("this command needs a key: --keystore FILE or --key-env NAME")
        broker = _broker(args, key)
    except (ValueError, LpcoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if broker.sender is not None:
            broker.reconcile(wait_s=0)
        return _COMMANDS[args.broker_command](broker, args, out)
    except (LpcoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        broker.close()


def _status(broker, args, out) -> int:
    from lpcore import pm

    who = _hex_addr(args.address) if args.address else broker.address
    if who is None:
        raise ValueError("give --address or a key")
    info = broker.get_sender_info(who)
    cur = broker.current_round()
    e = lambda v: format_eth(v, args.wei)  # noqa: E731
    print(f"account         {pm.to_checksum_address(who)}", file=out)
    print(f"ETH balance     {e(broker.balance(who))}", file=out)
    print(f"deposit         {e(info.deposit)}", file=out)
    print(f"reserve         {e(info.funds_remaining)} (claimed this round {e(info.claimed_in_current_round)})",
          file=out)
    state = unlock_state(info, cur)
    wr = f"withdraw round  {info.withdraw_round or '-'} ({state}; current round {cur}"
    print(wr + f", unlock period {broker.unlock_period} rounds)", file=out)
    if args.queue:
        q = pm.RedemptionQueue(args.queue)
        try:
            counts = q.counts()
            block = broker.last_seen_l1_block()
            pending = sum(1 for st in q.queued() if st.ticket.params_expiration_block > block)
        finally:
            q.close()
        queued = counts.get("queued", 0)
        print(f"tickets         {queued} queued ({queued - pending} due, {pending} pending params expiry), "
              f"{counts.get('redeemed', 0)} redeemed, {counts.get('failed', 0)} failed"
              + (f", {counts['quarantined']} quarantined" if counts.get("quarantined") else ""), file=out)
    recs = broker.journal.recent(pm.to_checksum_address(who), limit=args.recent)
    if recs:
        print("recent transactions:", file=out)
        for r in recs:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created))
            h = r.final_hash or (r.hashes[-1] if r.hashes else "-")
            extra = f" ({r.reason})" if r.reason and r.state != "confirmed" else ""
            print(f"  {when}  {r.kind:<26} {r.state:<10} nonce {r.nonce if r.nonce is not None else '-':<5} "
                  f"{h}{extra}", file=out)
    return 0


def _fund(broker, args, out) -> int:
    d, r = parse_eth(args.deposit, args.wei), parse_eth(args.reserve, args.wei)
    if d == 0 and r == 0:
        raise ValueError("give --deposit and/or --reserve")
    if d and r:
        tx = broker.fund_deposit_and_reserve(d, r)
    elif d:
        tx = broker.fund_deposit(d)
    else:
        tx = broker.fund_reserve(r)
    print(f"funded deposit {format_eth(d, args.wei)}, reserve {format_eth(r, args.wei)}: 0x{tx.hex()}", file=out)
    return 0


def _lock_op(name):
    def op(broker, args, out) -> int:
        info = broker.get_sender_info(broker.address)
        cur = broker.current_round()
        state = unlock_state(info, cur)
        allowed = {"unlock": ("Locked",), "cancel-unlock": ("Unlocking", "Unlocked"), "withdraw": ("Unlocked",)}
        if state not in allowed[name]:
            hint = {"Empty": "nothing is funded", "Locked": "no unlock in progress (run unlock first)",
                    "Unlocking": f"locked until round {info.withdraw_round} (current {cur})",
                    "Unlocked": "an unlock is already done (withdraw or cancel-unlock)"}[state]
            raise ValueError(f"cannot {name}: account is {state}: {hint}")
        tx = {"unlock": broker.unlock, "cancel-unlock": broker.cancel_unlock, "withdraw": broker.withdraw}[name]()
        msg = {"unlock": f"unlock started: withdraw from round {cur + broker.unlock_period}",
               "cancel-unlock": "unlock cancelled",
               "withdraw": f"withdrew {format_eth(info.deposit + info.funds_remaining, args.wei)}"}[name]
        print(f"{msg}: 0x{tx.hex()}", file=out)
        return 0
    return op


def _redeem(broker, args, out) -> int:
    from lpcore import pm

    recipient = _hex_addr(args.recipient) if args.recipient else broker.address
    q = pm.RedemptionQueue(args.queue)
    try:
        monitor = pm.SenderMonitor(recipient, broker, broker, q, gas_price=broker.gas_price)
        run = monitor.on_new_l1_block(broker.last_seen_l1_block())
        if run.error is not None:
            raise ValueError(f"redemption pass failed: {run.error}")
        for st, tx in run.redeemed:
            print(f"redeemed 0x{st.ticket.hash().hex()} ({format_eth(st.ticket.face_value, args.wei)}): 0x{tx.hex()}",
                  file=out)
        for st, err in run.failed:
            print(f"failed   0x{st.ticket.hash().hex()}: {err}", file=out)
        for st, err in run.retry:
            print(f"deferred 0x{st.ticket.hash().hex()}: {err}", file=out)
        print(f"{len(run.redeemed)} redeemed, {len(run.failed)} failed, {len(run.retry)} deferred, "
              f"{run.not_expired} not yet due", file=out)
    finally:
        q.close()
    return 0


_COMMANDS = {"status": _status, "fund": _fund, "unlock": _lock_op("unlock"),
             "cancel-unlock": _lock_op("cancel-unlock"), "withdraw": _lock_op("withdraw"), "redeem": _redeem}
