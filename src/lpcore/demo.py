"""``lpcore demo``: the main job end to end on the embedded broker.

One gateway pays two orchestrators per segment of a generated clip with PM tickets on a fresh
:class:`~lpcore.broker.LocalBroker` in a temporary directory: each orchestrator advertises ticket params
(HMAC commitment), the gateway validates them and signs a batch of tickets (one ``sign_batch`` per payment),
each orchestrator validates the payment (one ``verify_batch`` + one ``is_winning_batch``), queues its winners
durably, and redeems them on the broker once their params expire while the chain advances. Each returned
rendition is checked against the gateway's own reference rendition with MPEG-7 video signatures
(``lpcore.vsig.compute`` + ``compare``); the second orchestrator tampers with some segments and is caught.
A summary table compares the expected value paid with the face value actually redeemed.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

GATEWAY_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ORCH_KEYS = {
    "O1": bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"),
    "O2": bytes.fromhex("c87509a1c067bbde78beb793e6fa76530b6382a4c0241e5e4a9ec0a0f44dc0d3"),
}
SOURCE_W, SOURCE_H, RENDITION_W, RENDITION_H = 256, 144, 128, 72
PRICED_PIXELS_PER_FRAME = 1280 * 720  # the rendition profile the gateway pays for (720p)


# --- the clip --------------------------------------------------------------------------------------------


def make_clip(n_frames: int, seed: int) -> np.ndarray:
    """A synthetic luma clip: a panning textured background, moving blobs, a scene cut every 90 frames.
    Every term is separable in x and y (outer products of 1-D profiles), so generation is cheap."""
    rng = np.random.default_rng(seed)
    x = np.arange(SOURCE_W, dtype=np.float32)
    y = np.arange(SOURCE_H, dtype=np.float32)
    frames = np.empty((n_frames, SOURCE_H, SOURCE_W), np.uint8)
    scene = None
    for t in range(n_frames):
        if t % 90 == 0:
            scene = dict(fx=rng.uniform(0.02, 0.09), fy=rng.uniform(0.02, 0.09), vx=rng.uniform(-2, 2),
                         blobs=rng.uniform([0, 0, 8, -3, -3], [SOURCE_W, SOURCE_H, 30, 3, 3], size=(4, 5)),
                         base=rng.uniform(40, 180))
        s = scene
        img = s["base"] + 50 * np.outer(np.cos(s["fy"] * y + 0.05 * t), np.sin(s["fx"] * (x + s["vx"] * t)))
        for bx, by, r, vx, vy in s["blobs"]:
            cx, cy = (bx + vx * t) % SOURCE_W, (by + vy * t) % SOURCE_H
            img += 70 * np.outer(np.exp(-((y - cy) ** 2) / (2 * r * r)), np.exp(-((x - cx) ** 2) / (2 * r * r)))
        frames[t] = np.clip(img, 0, 255)
    return frames


def transcode(frames: np.ndarray, noise_seed: int) -> np.ndarray:
    """A stand-in for an encoder: 2x2 box downscale plus mild quantisation noise."""
    sums = frames.reshape(len(frames), RENDITION_H, 2, RENDITION_W, 2).sum(axis=(2, 4), dtype=np.int16)
    noise = np.random.default_rng(noise_seed).integers(-2, 3, size=sums.shape, dtype=np.int16)
    return np.clip((sums + 2) // 4 + noise, 0, 255).astype(np.uint8)


def tamper(frames: np.ndarray, seed: int) -> np.ndarray:
    """What a cheating orchestrator returns: unrelated content of the right size and length."""
    return transcode(make_clip(len(frames), seed), seed)


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class OrchStats:
    name: str
    address: bytes
    tickets: int = 0
    payments: int = 0
    credited_ev: Fraction = Fraction(0)
    winners: int = 0
    face_value: int = 0
    win_prob: Fraction = Fraction(0)
    expected_winners: float = 0.0
    verified: int = 0
    matched: int = 0
    mismatched: int = 0
    tampered: int = 0
    detected: int = 0
    false_alarms: int = 0
    receive_s: float = 0.0
    balance: Fraction = Fraction(0)       # the gateway's credit at this orchestrator (§5.4)


def run(*, segments: int = 24, frames_per_segment: int = 48, seed: int = 7, workdir: Path | None = None,
        tamper_every: int = 3, out=sys.stdout) -> dict:
    from lpcore import pm
    from lpcore.broker import LocalBroker

    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="lpcore-demo-")) if workdir is None else Path(workdir)
    tmp.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        print(msg, file=out, flush=True)

    broker = LocalBroker(tmp / "broker.db", round_length=50)
    chain = broker.chain
    gateway = pm.Signer(GATEWAY_KEY)
    ev = 10**9                                  # wei per ticket the orchestrators require
    price = Fraction(2500)                      # wei per pixel (mainnet prices are ~1e3 wei/pixel)
    deposit, reserve = 5 * 10**13, 2 * 10**13
    broker.fund_deposit_and_reserve(gateway.address, deposit, reserve)
    sender = pm.Sender(gateway, chain, broker)  # go-livepeer's default maxTicketEV / maxTotalEV / multiplier

    orchs: dict[str, tuple] = {}
    stats: dict[str, OrchStats] = {}
    for name, key in ORCH_KEYS.items():
        addr = pm.Signer(key).address
        broker.register_transcoder(addr)
        queue = pm.RedemptionQueue(tmp / f"{name}-queue.db")
        monitor = pm.SenderMonitor(addr, broker, chain, queue)
        # Deterministic secret and params seeds from --seed, so a run is reproducible.
        secret = hashlib.sha256(b"lpcore-demo" + name.encode() + seed.to_bytes(8, "big")).digest()
        recipient = pm.Recipient(addr, monitor, chain, ev=ev, secret=secret, rng=random.Random(f"{seed}-{name}"),
                                 max_face_value=25 * ev)  # -maxFaceValue: win probability 4 %
        chain.subscribe_l1_blocks(monitor.on_new_l1_block)
        orchs[name] = (recipient, monitor, queue)
        stats[name] = OrchStats(name, addr)

    say(f"lpcore demo: 1 gateway, 2 orchestrators, embedded TicketBroker at {tmp}")
    say(f"  gateway {pm.to_checksum_address(gateway.address)} funds deposit {deposit} wei + reserve {reserve} wei")
    clip = make_clip(segments * frames_per_segment, seed)
    say(f"  clip: {len(clip)} frames {SOURCE_W}x{SOURCE_H}, {segments} segments of {frames_per_segment} frames; "
        f"price {price} wei/pixel at 720p")

    try:
        from lpcore import vsig
        have_vsig = True
    except ImportError as exc:  # the verification step needs the signature engine
        vsig, have_vsig = None, False
        say(f"  verification SKIPPED: lpcore.vsig is not available ({exc})")

    fee = Fraction(frames_per_segment * PRICED_PIXELS_PER_FRAME) * price
    for k in range(segments):
        seg = clip[k * frames_per_segment:(k + 1) * frames_per_segment]
        reference = vsig.compute(transcode(seg, 10_000 + k)) if have_vsig else None
        for name, (recipient, monitor, queue) in orchs.items():
            st = stats[name]
            # The orchestrator's latest params come back with every segment (OrchestratorInfo).
            params = recipient.ticket_params(gateway.address, price)
            sender.validate_ticket_params(params)
            sid = sender.start_session(params)
            ev_ticket = sender.ev(sid)
            n = pm.tickets_for_fee(fee, ev_ticket, st.balance)
            st.balance += n * ev_ticket - fee
            if n:
                payment = sender.create_ticket_batch(sid, n)
                t0 = time.perf_counter()
                res = recipient.receive_payment(payment)
                st.receive_s += time.perf_counter() - t0
                if res.error is not None:
                    raise RuntimeError(f"{name} rejected a payment: {res.error}")
                st.tickets += res.tickets
                st.payments += 1
                st.credited_ev += res.credited_ev
                st.winners += len(res.winners)
                st.face_value = params.face_value
                st.win_prob = Fraction(params.win_prob, pm.MAX_WIN_PROB)
                st.expected_winners += float(st.win_prob) * res.tickets
            sender.cleanup_session(sid)
            if have_vsig:
                cheat = name == "O2" and tamper_every > 0 and k % tamper_every == tamper_every - 1
                rendition = tamper(seg, 50_000 + k) if cheat else transcode(seg, 20_000 + 31 * k + len(name))
                match = vsig.compare(reference, vsig.compute(rendition), preset="livepeer")
                st.verified += 1
                ok = match.code > 0  # lpms: partial or whole counts as a match
                st.matched += ok
                st.mismatched += not ok
                st.tampered += cheat
                st.detected += cheat and not ok
                st.false_alarms += (not cheat) and not ok
        chain.advance(5)  # ~ one segment of wall time; expired params' winners get redeemed
        if (k + 1) % 8 == 0 or k + 1 == segments:
            say(f"  segment {k + 1}/{segments}: block {chain.last_seen_l1_block()}, round {chain.current_round()}, "
                f"tickets {sum(s.tickets for s in stats.values())}, "
                f"redeemed {sum(q.counts().get('redeemed', 0) for _, _, q in orchs.values())}")
    for _ in range(9):  # let the last params expire and drain the queues
        chain.advance(5)

    # --- summary --------------------------------------------------------------------------------------
    totals = broker.totals()
    info = broker.get_sender_info(gateway.address)
    rows = []
    for name, (recipient, monitor, queue) in orchs.items():
        st = stats[name]
        counts = queue.counts()
        paid = broker.transcoder_fees(st.address)
        sd = math.sqrt(st.expected_winners * (1 - float(st.win_prob))) if st.win_prob else 0.0
        z = (st.winners - st.expected_winners) / sd if sd else 0.0
        rows.append((name, st, counts, paid, z))
    say("")
    say(f"{'':4}{'tickets':>8}{'winners':>9}{'expected':>10}{'z':>7}{'redeemed':>10}"
        f"{'EV credited (wei)':>20}{'face value paid (wei)':>23}{'paid/EV':>9}{'rx tickets/s':>14}")
    for name, st, counts, paid, z in rows:
        ratio = float(Fraction(paid) / st.credited_ev) if st.credited_ev else 0.0
        rate = st.tickets / st.receive_s if st.receive_s else 0.0
        say(f"{name:4}{st.tickets:>8}{st.winners:>9}{st.expected_winners:>10.1f}{z:>7.2f}"
            f"{counts.get('redeemed', 0):>10}{float(st.credited_ev):>20.4g}{paid:>23}{ratio:>9.3f}{rate:>14.0f}")
    all_tickets = sum(st.tickets for st in stats.values())
    all_ev = sum((st.credited_ev for st in stats.values()), Fraction(0))
    all_paid = totals["transferred"]
    all_exp = sum(st.expected_winners for st in stats.values())
    all_win = sum(st.winners for st in stats.values())
    say(f"{'all':4}{all_tickets:>8}{all_win:>9}{all_exp:>10.1f}{'':>7}"
        f"{sum(c.get('redeemed', 0) for _, _, c, _, _ in rows):>10}{float(all_ev):>20.4g}{all_paid:>23}"
        f"{float(Fraction(all_paid) / all_ev) if all_ev else 0:>9.3f}")
    conserved = totals["funded"] == totals["deposits"] + totals["reserves"] + totals["transferred"] + totals["withdrawn"]
    lost = sum(c.get("queued", 0) for _, _, c, _, _ in rows)
    say("")
    say(f"broker: deposit {deposit} -> {info.deposit}, reserve {reserve} -> {info.funds_remaining}, "
        f"used tickets {totals['used_tickets']}, money conserved: {'yes' if conserved else 'NO'}, "
        f"winners left unredeemed: {lost}")
    if have_vsig:
        say("verification (MPEG-7 signature of each returned rendition vs the gateway's reference, lpms rule):")
        for name, st, *_ in rows:
            say(f"  {name}: {st.verified} renditions checked, {st.matched} match, {st.mismatched} mismatch; "
                f"tampered {st.tampered}, detected {st.detected}, false alarms {st.false_alarms}")
    else:
        say("verification: SKIPPED (lpcore.vsig not available) - no rendition was checked")
    elapsed = time.perf_counter() - t_start
    say(f"done in {elapsed:.1f} s")
    if workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return dict(tickets=all_tickets, winners=all_win, expected_winners=all_exp, credited_ev=all_ev, paid=all_paid,
                conserved=conserved, unredeemed=lost, verification=have_vsig,
                stats={name: st for name, st, *_ in rows}, elapsed=elapsed, totals=totals)


def _main(args: argparse.Namespace) -> int:
    res = run(segments=args.segments, frames_per_segment=args.frames, seed=args.seed, workdir=args.dir,
              tamper_every=args.tamper_every)
    ok = res["conserved"] and res["unredeemed"] == 0
    if res["verification"]:
        o2 = res["stats"]["O2"]
        ok = ok and o2.detected == o2.tampered and all(s.false_alarms == 0 for s in res["stats"].values())
    return 0 if ok else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="end-to-end gateway/orchestrator run on the embedded TicketBroker",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--segments", type=int, default=24, help="segments in the generated clip (default 24)")
    p.add_argument("--frames", type=int, default=48, help="frames per segment (default 48)")
    p.add_argument("--seed", type=int, default=7, help="clip seed (default 7)")
    p.add_argument("--tamper-every", type=int, default=3, help="O2 tampers every Nth segment (0: never; default 3)")
    p.add_argument("--dir", type=Path, default=None, help="keep the broker and queues in this directory")
    p.set_defaults(func=_main)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="lpcore")
    register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["demo", *sys.argv[1:]])
    sys.exit(ns.func(ns))
