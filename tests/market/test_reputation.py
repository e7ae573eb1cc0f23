"""Reputation: durable per-orchestrator record; survives a restart; fed by Verifier verdicts."""

from __future__ import annotations

import subprocess
import sys

from lpcore.market.reputation import Reputation
from lpcore.verify import Rendition, TranscodeResult, Verifier


def test_record_and_restart(tmp_path):
    path = tmp_path / "rep.db"
    rep = Reputation(path)
    rep.record_job("0xa", ok=True, latency_s=0.8, paid_wei=3 * 10**19)
    rep.record_job("0xa", ok=False, failure="timeout", latency_s=4.0, paid_wei=10**19)
    rep.record_job("0xa", ok=False)
    rep.record_verification("0xa", True)
    rep.record_verification("0xa", False, "profile")
    rep.record_suspension("0xa")
    rep.record_swap("0xa")
    rep.close()
    again = Reputation(path)
    r = again.get("0xa")
    assert (r.jobs, r.successes, r.failures) == (3, 1, {"timeout": 1, "error": 1})
    assert r.paid_wei == 4 * 10**19            # beyond SQLite's int64
    assert (r.verified_pass, r.verified_fail, r.suspensions, r.swaps) == (1, 1, 1, 1)
    assert r.by_detector == {("mpeg7", True): 1, ("profile", False): 1}
    assert 0.8 <= r.latency_quantile(0.5) < 1.0 and r.latency_quantile(0.95) >= 4.0
    assert again.get("0xnew").jobs == 0 and again.get("0xnew").latency_quantile(0.5) is None
    assert again.addresses() == ["0xa"]
    again.close()


def test_survives_sigkill_between_writes(tmp_path):
    path = tmp_path / "rep.db"
    code = (f"import os, signal\nfrom lpcore.market.reputation import Reputation\nr = Reputation({str(path)!r})\n"
            "for i in range(5):\n    r.record_job('0xb', ok=True, latency_s=1.0)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -9
    with Reputation(path) as rep:
        assert rep.get("0xb").jobs == 5


def test_verdicts_feed_the_reputation():
    rep = Reputation()

    def judge(reference, candidate):
        from lpcore.errors import TamperDetected

        return TamperDetected("x") if candidate.media == "bad" else None

    v = Verifier(detector=judge, report=rep)
    t = TranscodeResult("T", [Rendition(media="r")])
    v.choose(t, [TranscodeResult("C", [Rendition(media="bad")]), TranscodeResult("H", [Rendition(media="ok")])])
    assert rep.get("C").verified_fail == 1 and rep.get("H").verified_pass == 1 and rep.get("T").jobs == 0
