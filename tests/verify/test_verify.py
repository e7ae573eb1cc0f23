"""Verifier policy (go-livepeer fast verification) with an injected RNG and the lpms signatures."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lpcore.errors import MissingHash, PixelMismatch, SignatureMismatch
from lpcore.verify import Rendition, TranscodeResult, Verifier, count_pixels, verify_segment

from tests._shared import vector_path

VEC = vector_path("lpms")


def sig(name: str) -> bytes:
    return (VEC / f"sign_{name}.bin").read_bytes()


class ScriptedRng(random.Random):
    """random.Random whose getrandbits/randrange answers come from scripts (then fall back to a seed)."""

    def __init__(self, bits=(), ranges=()):
        super().__init__(0)
        self.bits, self.ranges = list(bits), list(ranges)
        self.calls: list[str] = []

    def getrandbits(self, k):
        self.calls.append("bits")
        return self.bits.pop(0) if self.bits else super().getrandbits(k)

    def randrange(self, n, *a, **kw):
        self.calls.append("range")
        return self.ranges.pop(0) if self.ranges else super().randrange(n, *a, **kw)


def result(o: str, *names: str | None, pixels=None, media=None) -> TranscodeResult:
    return TranscodeResult(o, [Rendition(None if n is None else sig(n), media=media, pixels=pixels) for n in names])


TRUSTED = result("T", "sw1", "sw2")          # two renditions: 37-frame and 60-frame clips
HONEST = result("H", "nv1", "nv2")           # GPU signatures of the same renditions
CHEAT = result("C", "sw2", "sw1")            # renditions swapped: wrong content


@pytest.mark.parametrize("preset", ["livepeer", "exact"])
def test_honest_untrusted_is_used_and_becomes_verified(preset):
    v = Verifier(3, preset=preset, rng=ScriptedRng(ranges=[0]))
    d = v.choose(TRUSTED, [HONEST])
    assert d.accepted is HONEST and d.verified and d.passed == ["H"] and d.rendition == 0
    assert v.verified == "H" and not d.failures and d.matches["H"].code == 2


def test_failed_before_the_passing_one_is_suspended():
    v = Verifier(3, rng=ScriptedRng(ranges=[1]))
    d = v.choose(TRUSTED, [CHEAT, HONEST])
    assert d.accepted is HONEST and d.rendition == 1
    assert isinstance(d.failures["C"], SignatureMismatch) and d.failures["C"].orchestrator == "C"
    assert d.suspended == ["C"] and v.is_suspended("C") and not v.is_suspended("H")
    v.release("C")
    assert not v.is_suspended("C")


def test_nobody_passes_trusted_is_used_without_suspension():
    v = Verifier(3, rng=ScriptedRng(ranges=[0]))
    d = v.choose(TRUSTED, [CHEAT, result("D", "nv2", "nv1")])
    assert d.accepted is TRUSTED and not d.verified and d.orchestrator == "T"
    assert set(d.failures) == {"C", "D"} and all(isinstance(e, SignatureMismatch) for e in d.failures.values())
    assert d.suspended == [] and v.suspensions == {} and v.verified is None


def test_missing_hash_fails_that_orchestrator():
    v = Verifier(3, rng=ScriptedRng(ranges=[1]))
    d = v.choose(TRUSTED, [result("M", "nv1", None), HONEST])
    assert isinstance(d.failures["M"], MissingHash) and d.accepted is HONEST and d.suspended == ["M"]
    d = Verifier(3, rng=ScriptedRng(ranges=[0])).choose(TRUSTED, [TranscodeResult("E", [Rendition(b"")])])
    assert isinstance(d.failures["E"], MissingHash) and d.accepted is TRUSTED


def test_missing_trusted_hash_uses_trusted_result():
    d = Verifier(3, rng=ScriptedRng(ranges=[0])).choose(result("T", None), [HONEST])
    assert d.accepted.orchestrator == "T" and isinstance(d.failures["T"], MissingHash) and not d.verified


def test_corrupt_untrusted_hash_is_a_signature_mismatch():
    d = Verifier(3, rng=ScriptedRng(ranges=[0])).choose(TRUSTED, [TranscodeResult("X", [Rendition(sig("nv1")[:200])])])
    assert isinstance(d.failures["X"], SignatureMismatch)


def test_pixel_check():
    counted = []

    def counter(media):
        counted.append(media)
        return 426 * 240 * 37

    v = Verifier(3, check_pixels=True, pixel_counter=counter, rng=ScriptedRng(ranges=[0, 0]))
    bad = result("P", "nv1", "nv2", pixels=123, media="p.ts")
    good = result("H", "nv1", "nv2", pixels=426 * 240 * 37, media="h.ts")
    d = v.choose(TRUSTED, [bad, good])
    assert isinstance(d.failures["P"], PixelMismatch) and d.accepted is good and counted == ["p.ts", "h.ts"]
    # no reported pixels: cannot be checked, so it fails
    d = v.choose(TRUSTED, [result("N", "nv1", "nv2")])
    assert isinstance(d.failures["N"], PixelMismatch)


def test_count_pixels_on_frames_and_files(tmp_path):
    assert count_pixels(np.zeros((5, 40, 64), np.uint8)) == 5 * 40 * 64
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    out = tmp_path / "c.ts"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)], check=True)
    assert count_pixels(out) == 10 * 64 * 48
    assert count_pixels(out.read_bytes()) == 10 * 64 * 48
    from lpcore.errors import VideoDecodeError

    with pytest.raises(VideoDecodeError):
        count_pixels(b"not a video" * 10)
    with pytest.raises(ValueError, match="media frames"):
        count_pixels(np.zeros((3, 4), np.uint8))


def test_sticky_verified_orchestrator_and_sampling():
    rng = ScriptedRng(bits=[7, 9], ranges=[0])
    v = Verifier(4, rng=rng)
    assert v.select(["T"], ["H", "C", "Z"]) == v.select(["T"], ["H", "C", "Z"])  # no verified yet: no draw
    assert rng.calls == []
    s = v.select(["T"], ["H", "C"])
    assert s.verify and s.trusted == ("T",) and s.untrusted == ("H", "C")
    v.choose(TRUSTED, [HONEST])
    # 7 % 4 != 0: reuse the verified orchestrator, no verification
    s = v.select(["T"], ["C", "H"])
    assert s.untrusted == ("H",) and s.trusted == () and not s.verify
    # 9 % 4 != 0 again
    assert not v.select(["T"], ["H"]).verify
    # 8 % 4 == 0: verify this segment, all three orchestrators
    rng.bits = [8]
    s = v.select(["T"], ["C", "H"])
    assert s.verify and s.untrusted == ("C", "H")
    # the verified orchestrator is checked first
    rng.ranges = [0]
    d = v.choose(TRUSTED, [result("C2", "nv1", "nv2"), HONEST])
    assert d.passed == ["H"] and "C2" not in d.failures


def test_verified_orchestrator_not_selected_loses_status():
    v = Verifier(4, rng=ScriptedRng(ranges=[0]))
    v.choose(TRUSTED, [HONEST])
    assert v.verified == "H"
    s = v.select(["T"], ["C", "Z"])
    assert s.verify and v.verified is None


def test_verified_orchestrator_that_fails_loses_status():
    v = Verifier(2, rng=ScriptedRng(ranges=[0, 0]))
    v.choose(TRUSTED, [HONEST])
    d = v.choose(TRUSTED, [result("H", "sw2", "sw1")])
    assert isinstance(d.failures["H"], SignatureMismatch) and v.verified is None


def test_suspended_orchestrators_are_not_selected_and_policy_off():
    v = Verifier(3, rng=ScriptedRng(ranges=[0]))
    v.choose(TRUSTED, [CHEAT, HONEST])
    assert v.select(["T"], ["C", "H", "Z"]).untrusted in {("H", "Z"), ("H",)}
    off = Verifier(0)
    s = off.select(["T"], ["U1", "U2"])
    assert not s.verify and s.untrusted == ("U1",) and s.trusted == ()
    assert off.select(["T"], []).trusted == ("T",)


def test_bad_arguments():
    with pytest.raises(ValueError, match="verification_freq"):
        Verifier(-1)
    with pytest.raises(ValueError, match="preset"):
        Verifier(1, preset="nope")
    with pytest.raises(TypeError, match="unknown threshold"):
        Verifier(1, thresholds={"th_zz": 1})
    with pytest.raises(ValueError):
        Verifier(1).choose(None, [])


def test_verify_segment_inputs():
    assert verify_segment(sig("sw1"), sig("nv1")).code == 2
    assert not verify_segment(VEC / "sign_sw1.bin", VEC / "sign_sw2.bin")
    with pytest.raises(MissingHash):
        verify_segment(b"", sig("nv1"))
