"""``lpcore signer serve``: run the remote signer (go-livepeer ``-remoteSigner`` drop-in) over HTTP."""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from typing import Any

from .._units import parse_rat


def register(subparsers: Any) -> None:
    """Add ``signer serve`` to the ``lpcore`` command line."""
    signer = subparsers.add_parser("signer", help="remote signer service (wire-compatible with go-livepeer)")
    from ..cli import add_subcommands

    sub = add_subcommands(signer, "signer_command")
    serve = sub.add_parser("serve", help="serve /sign-orchestrator-info and /generate-live-payment")
    key = serve.add_argument_group("key (one of)")
    key.add_argument("--key", metavar="KEYSTORE", help="V3 keystore file (password from --password-file or "
                                                      "$LPCORE_SIGNER_PASSWORD)")
    key.add_argument("--key-env", metavar="VAR", help="environment variable holding the hex private key "
                                                      "(default LPCORE_SIGNER_KEY when --key is not given)")
    serve.add_argument("--password-file", help="file whose first line is the keystore password")
    serve.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8935, help="listen port (default 8935)")
    serve.add_argument("--allow-no-auth", action="store_true",
                       help="serve non-loopback callers without an auth webhook (only behind an authenticating "
                            "proxy: anyone who reaches the signer can spend its deposit)")
    chain = serve.add_argument_group("chain view (JSON-RPC poller, or static values)")
    chain.add_argument("--eth-url", help="Ethereum JSON-RPC URL (e.g. Arbitrum One); polled for blocks, round, deposit")
    chain.add_argument("--controller", help="Controller address for --eth-url (default: Arbitrum One)")
    chain.add_argument("--poll-interval", type=float, default=5.0, help="seconds between polls (default 5)")
    chain.add_argument("--l1-block", type=int, default=0, help="static: last seen L1 block")
    chain.add_argument("--round", type=int, default=0, help="static: last initialized round")
    chain.add_argument("--round-hash", default="00" * 32, help="static: that round's block hash (hex)")
    chain.add_argument("--deposit", type=int, default=0, help="static: TicketBroker deposit (wei)")
    chain.add_argument("--reserve", type=int, default=0, help="static: TicketBroker reserve (wei)")
    chain.add_argument("--withdraw-round", type=int, default=0, help="static: withdraw round (0 = locked)")
    limits = serve.add_argument_group("limits (go-livepeer defaults)")
    limits.add_argument("--max-ticket-ev", default="3000000000000", help="max EV per ticket, wei")
    limits.add_argument("--max-total-ev", default="20000000000000", help="max EV per payment, wei")
    limits.add_argument("--deposit-multiplier", type=int, default=1, help="face value <= deposit / multiplier")
    limits.add_argument("--max-price-per-unit", default="0", help="price ceiling numerator, wei (0 = none)")
    limits.add_argument("--pixels-per-unit", default="1", help="price ceiling denominator")
    limits.add_argument("--max-price-per-capability", metavar="JSON",
                        help='per-(capability, model) ceilings: [{"capability": 35, "model": "m", "price": "1/2"}]')
    limits.add_argument("--sign-threads", type=_thread_count, default=None, metavar="N",
                        help="threads per ticket batch, >= 1 (default: all cores)")
    limits.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body (default 1 MiB)")
    serve.add_argument("--auth-webhook-url", help="auth webhook (go-livepeer -remoteSignerWebhookUrl)")
    serve.add_argument("--auth-webhook-headers", default="",
                       help="extra webhook headers, 'Name:value,Name2:value2' (-remoteSignerWebhookHeaders)")
    serve.add_argument("--discovery", metavar="FILE",
                       help="JSON list of orchestrators served by GET /discover-orchestrators")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port in 0..65535, got {text!r}")
    return value


def _thread_count(text: str) -> int:
    """``--sign-threads``: an int >= 1; omitting the flag means all cores (lpcore's ``threads=None``)."""
    from .._args import InvalidThreads, threads

    try:
        value = int(text)
        threads(value)
    except (ValueError, InvalidThreads):
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r} (omit it to use all cores)") from None
    return value


def _rational(text: str, flag: str) -> Fraction:
    """An operator-typed number (wei, a ratio ``"1/2"``, a decimal) through the one bounded rational parser."""
    try:
        value = parse_rat(text)
    except ValueError as exc:  # too long, or an exponent out of bounds
        raise ValueError(f"{flag} {exc}") from None
    if value is None:
        raise ValueError(f"{flag} must be a number (an integer, a decimal or a ratio a/b), got {text[:100]!r}")
    return value


def _load_key(args: argparse.Namespace) -> bytes:
    from .keys import DEFAULT_KEY_ENV, key_from_env, load_keystore_file

    if args.key and args.key_env:
        raise ValueError("give either --key or --key-env, not both")
    if args.key:
        return load_keystore_file(args.key, args.password_file, flag="--key")
    return key_from_env(args.key_env or DEFAULT_KEY_ENV)


def build_signer(args: argparse.Namespace):
    """The :class:`RemoteSigner` the parsed ``serve`` arguments describe."""
    from .. import pm
    from ..broker.rpc import ARBITRUM_ONE_CONTROLLER, ChainSnapshot, JsonRpcChainState, StaticChainState
    from .auth import webhook
    from .service import RemoteSigner, SignerConfig

    key = _load_key(args)
    address = bytes(pm.Signer(key).address)
    if _rational(args.pixels_per_unit, "--pixels-per-unit") <= 0:
        raise ValueError("--pixels-per-unit must be > 0")
    max_price = _rational(args.max_price_per_unit, "--max-price-per-unit") / _rational(args.pixels_per_unit,
                                                                                       "--pixels-per-unit")
    per_cap = {}
    if args.max_price_per_capability:
        try:
            for item in json.loads(args.max_price_per_capability):
                per_cap[(int(item["capability"]), str(item.get("model", "")))] = _rational(str(item["price"]),
                                                                                       "--max-price-per-capability")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError('--max-price-per-capability must be a JSON list of {"capability": id, "model": name, '
                             f'"price": wei}} objects ({type(exc).__name__}: {exc})') from None
    discovery = None
    if args.discovery:
        with open(args.discovery, encoding="utf-8") as f:
            discovery = json.load(f)
    auth_hook = None
    if args.auth_webhook_url:
        headers = dict(item.split(":", 1) for item in args.auth_webhook_headers.split(",") if ":" in item)
        auth_hook = webhook(args.auth_webhook_url, {k.strip(): v.strip() for k, v in headers.items()})
    config = SignerConfig(auth_hook=auth_hook, max_ticket_ev=_rational(args.max_ticket_ev, "--max-ticket-ev"),
                          max_total_ev=_rational(args.max_total_ev, "--max-total-ev"),
                          deposit_multiplier=args.deposit_multiplier, max_price=max_price if max_price > 0 else None,
                          max_price_per_capability=per_cap, discovery=discovery, max_body_bytes=args.max_body_bytes,
                          threads=args.sign_threads, allow_no_auth=args.allow_no_auth)
    # The chain view last: a JSON-RPC poller starts a thread, so everything that can be refused is checked first.
    if args.eth_url:
        controller = bytes.fromhex(args.controller.removeprefix("0x")) if args.controller else ARBITRUM_ONE_CONTROLLER
        chain: Any = JsonRpcChainState(args.eth_url, address, controller=controller,
                                       interval_s=args.poll_interval).start()
    else:
        chain = StaticChainState(ChainSnapshot(
            last_seen_l1_block=args.l1_block, last_initialized_round=args.round,
            last_initialized_block_hash=bytes.fromhex(args.round_hash.removeprefix("0x")),
            deposit=args.deposit, withdraw_round=args.withdraw_round, reserve_funds_remaining=args.reserve))
    return RemoteSigner(key, chain, config)


def _serve(args: argparse.Namespace) -> int:
    from ..errors import LpcoreError
    from .app import serve
    from .auth import check_listener
    from ..errors import ChainStateUnavailable

    # Every expected failure (bad key, unreachable --eth-url, a public listener without auth) is one line on
    # stderr and exit status 2, never a traceback.
    expected = (LpcoreError, ChainStateUnavailable, ValueError, OSError)
    signer = None
    try:
        signer = build_signer(args)
        check_listener(signer, args.host)
        print(f"lpcore signer: address {signer.checksum_address} on http://{args.host}:{args.port}",
              file=sys.stderr)
        serve(signer, args.host, args.port, log_level=args.log_level)
    except expected as exc:
        print(f"lpcore signer: {exc}", file=sys.stderr)
        return 2
    finally:
        close = getattr(signer.chain, "close", None) if signer is not None else None
        if close is not None:
            close()
    return 0


__all__ = ["register", "build_signer"]
