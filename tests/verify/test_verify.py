"""Verifier (judging only) with an injected RNG and the lpms signatures; its verdicts drive
lpcore.market.FastVerification (selection, sticky verified orchestrator, suspension)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lpcore.errors import BadRendition, MissingHash, PixelMismatch, SignatureMismatch, TamperDetected
from lpcore.market import FastVerification
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
    fast = FastVerification(3)
    v = Verifier(preset=preset, rng=ScriptedRng(ranges=[0]), report=fast)
    d = v.choose(TRUSTED, [HONEST])
    assert d.accepted is HONEST and d.verified and d.passed == ["H"] and d.rendition == 0
    assert fast.verified == "H" and not d.failures and d.matches["H"].code == 2


def test_failed_before_the_passing_one_is_rejected_and_suspended_by_the_selector():
    fast = FastVerification(3, rng=ScriptedRng())
    v = Verifier(rng=ScriptedRng(ranges=[1]), report=fast)
    d = v.choose(TRUSTED, [CHEAT, HONEST])
    assert d.accepted is HONEST and d.rendition == 1 and d.checked == ["C", "H"] and d.trusted == "T"
    assert isinstance(d.failures["C"], SignatureMismatch) and d.failures["C"].orchestrator == "C"
    assert d.rejected == ["C"] and fast.is_suspended("C") and not fast.is_suspended("H")
    assert fast.verified == "H"
    fast.refresh()                      # penalty 1: out for the next refresh, back after it
    assert fast.is_suspended("C")
    fast.refresh()
    assert not fast.is_suspended("C")


def test_nobody_passes_trusted_is_used_without_suspension():
    fast = FastVerification(3)
    v = Verifier(rng=ScriptedRng(ranges=[0]), report=fast)
    d = v.choose(TRUSTED, [CHEAT, result("D", "nv2", "nv1")])
    assert d.accepted is TRUSTED and not d.verified and d.orchestrator == "T"
    assert set(d.failures) == {"C", "D"} and all(isinstance(e, SignatureMismatch) for e in d.failures.values())
    assert d.rejected == [] and fast.suspender.list == {} and fast.verified is None


def test_mismatch_of_the_verified_orchestrator_swaps_and_suspends():
    """A verification mismatch in the Verifier leads to a swap and a suspension through the selector."""
    fast = FastVerification(2, rng=ScriptedRng(bits=[0, 0]))
    v = Verifier(rng=ScriptedRng(ranges=[0, 0]), report=fast)
    assert fast.select(["T"], ["H", "Z"]).untrusted == ("H", "Z")
    v.choose(TRUSTED, [HONEST])
    assert fast.verified == "H"
    s = fast.select(["T"], ["Z", "H"])          # 0 % 2 == 0: re-verify, the verified orchestrator first
    assert s.verify and s.untrusted == ("H", "Z")
    d = v.choose(TRUSTED, [result("H", "sw2", "sw1"), result("Z", "nv1", "nv2")])
    assert d.rejected == ["H"] and d.passed == ["Z"]
    assert fast.verified == "Z" and fast.swaps == 1 and fast.is_suspended("H")
    assert "H" not in fast.select(["T"], ["H", "Z", "Y"]).untrusted


def test_missing_hash_fails_that_orchestrator():
    v = Verifier(rng=ScriptedRng(ranges=[1]))
    d = v.choose(TRUSTED, [result("M", "nv1", None), HONEST])
    assert isinstance(d.failures["M"], MissingHash) and d.accepted is HONEST and d.rejected == ["M"]
    d = Verifier(rng=ScriptedRng(ranges=[0])).choose(TRUSTED, [TranscodeResult("E", [Rendition(b"")])])
    assert isinstance(d.failures["E"], MissingHash) and d.accepted is TRUSTED


def test_missing_trusted_hash_uses_trusted_result():
    d = Verifier(rng=ScriptedRng(ranges=[0])).choose(result("T", None), [HONEST])
    assert d.accepted.orchestrator == "T" and isinstance(d.failures["T"], MissingHash) and not d.verified


def test_corrupt_untrusted_hash_is_a_signature_mismatch():
    d = Verifier(rng=ScriptedRng(ranges=[0])).choose(TRUSTED, [TranscodeResult("X", [Rendition(sig("nv1")[:200])])])
    assert isinstance(d.failures["X"], SignatureMismatch)


def test_pixel_check():
    counted = []

    def counter(media):
        counted.append(media)
        return 426 * 240 * 37

    v = Verifier(check_pixels=True, pixel_counter=counter, rng=ScriptedRng(ranges=[0, 0]))
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
    rng = ScriptedRng(bits=[7, 9])
    fast = FastVerification(4, rng=rng)
    v = Verifier(rng=ScriptedRng(ranges=[0, 0]), report=fast)
    assert fast.select(["T"], ["H", "C", "Z"]) == fast.select(["T"], ["H", "C", "Z"])  # no verified yet: no draw
    assert rng.calls == []
    s = fast.select(["T"], ["H", "C"])
    assert s.verify and s.trusted == ("T",) and s.untrusted == ("H", "C")
    v.choose(TRUSTED, [HONEST])
    # 7 % 4 != 0: reuse the verified orchestrator, no verification
    s = fast.select(["T"], ["C", "H"])
    assert s.untrusted == ("H",) and s.trusted == () and not s.verify
    # 9 % 4 != 0 again
    assert not fast.select(["T"], ["H"]).verify
    # 8 % 4 == 0: verify this segment; the verified orchestrator is listed (and so checked) first
    rng.bits = [8]
    s = fast.select(["T"], ["C", "H"])
    assert s.verify and s.untrusted == ("H", "C")
    d = v.choose(TRUSTED, [HONEST, result("C2", "nv1", "nv2")])
    assert d.passed == ["H"] and "C2" not in d.failures and d.checked == ["H"]


def test_verified_orchestrator_not_selected_loses_status():
    fast = FastVerification(4)
    Verifier(rng=ScriptedRng(ranges=[0]), report=fast).choose(TRUSTED, [HONEST])
    assert fast.verified == "H"
    s = fast.select(["T"], ["C", "Z"])
    assert s.verify and fast.verified is None and fast.swaps == 1


def test_suspended_orchestrators_are_not_selected_and_policy_off():
    fast = FastVerification(3)
    Verifier(rng=ScriptedRng(ranges=[0]), report=fast).choose(TRUSTED, [CHEAT, HONEST])
    assert fast.select(["T"], ["C", "H", "Z"]).untrusted in {("H", "Z"), ("H",)}
    off = FastVerification(0)
    s = off.select(["T"], ["U1", "U2"])
    assert not s.verify and s.untrusted == ("U1",) and s.trusted == ()
    assert off.select(["T"], []).trusted == ("T",)


def test_reporters_callable_and_sequence():
    seen = []
    fast = FastVerification(3)
    v = Verifier(rng=ScriptedRng(ranges=[0]), report=[seen.append, fast])
    d = v.choose(TRUSTED, [HONEST])
    assert seen == [d] and fast.verified == "H"


# --- detectors ---------------------------------------------------------------------------------------------

def test_callable_detector():
    calls = []

    def judge(reference, candidate):
        calls.append((reference.media, candidate.media))
        return None if candidate.media == "good" else TamperDetected("logo burned in")

    t = TranscodeResult("T", [Rendition(media="ref")])
    v = Verifier(detector=judge, rng=ScriptedRng(ranges=[0]))
    d = v.choose(t, [TranscodeResult("C", [Rendition(media="bad")]), TranscodeResult("H", [Rendition(media="good")])])
    assert d.accepted.orchestrator == "H" and isinstance(d.failures["C"], TamperDetected)
    assert d.failures["C"].orchestrator == "C" and calls == [("ref", "bad"), ("ref", "good")]
    with pytest.raises(ValueError, match="detector"):
        Verifier(detector="nope")


def test_profile_detector_is_loaded_lazily(monkeypatch):
    import sys
    import types

    seen = []

    class Report:
        def __init__(self, tampered):
            self.tampered, self.score, self.reasons = tampered, 0.9 if tampered else 0.1, ["region blur"]

    def detect_tampering(reference, candidate, **kw):
        seen.append((reference, candidate, kw))
        return Report(candidate == "cheat.ts")

    def load_profile(x, name, device="auto"):
        seen.append(("load", x, name))
        return f"profile of {x}"

    fake = types.ModuleType("lpcore.verify.detect")
    fake.detect_tampering = detect_tampering
    fake.load_profile = load_profile
    monkeypatch.setitem(sys.modules, "lpcore.verify.detect", fake)
    t = TranscodeResult("T", [Rendition(media="ref.ts")])
    v = Verifier(detector="profile", detector_options={"threshold": 0.5}, rng=ScriptedRng(ranges=[0]))
    d = v.choose(t, [TranscodeResult("C", [Rendition(media="cheat.ts")]),
                     TranscodeResult("N", [Rendition()]),
                     TranscodeResult("H", [Rendition(media="h.ts")])])
    assert d.accepted.orchestrator == "H" and d.rejected == ["C", "N"]
    assert isinstance(d.failures["C"], TamperDetected) and "region blur" in str(d.failures["C"])
    assert isinstance(d.failures["N"], BadRendition)
    # the trusted rendition is profiled once, then compared with each untrusted one's media
    assert seen == [("load", "ref.ts", "reference"), ("profile of ref.ts", "cheat.ts", {"threshold": 0.5}),
                    ("profile of ref.ts", "h.ts", {"threshold": 0.5})]
    assert set(d.reports) == {"C", "H"} and d.reports["C"].tampered and not d.reports["H"].tampered


# --- the real profile detector on generated clips ------------------------------------------------------------

@pytest.fixture(scope="module")
def renditions(tmp_path_factory):
    """A trusted 320x180 x264 CRF 18 rendition of 1 s of testsrc2, an honest one (CRF 30, bilinear scaler), a
    tampered one (a filled box over ~9 % of the frame, CRF 23) and one with a foreign run of frames."""
    d = tmp_path_factory.mktemp("renditions")
    src = _ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=1", "-c:v", "ffv1"], d / "src.mkv")
    other = _ffmpeg(["-f", "lavfi", "-i", "mandelbrot=s=640x360:r=30", "-frames:v", "30", "-c:v", "ffv1"],
                    d / "other.mkv")
    enc = ["-pix_fmt", "yuv420p", "-c:v", "libx264"]
    out = {
        "trusted": _ffmpeg(["-i", src, "-vf", "scale=320:180", *enc, "-crf", "18"], d / "trusted.mp4"),
        "honest": _ffmpeg(["-i", src, "-vf", "scale=320:180:flags=bilinear", *enc, "-crf", "30"], d / "honest.mp4"),
        "box": _ffmpeg(["-i", src, "-vf", "drawbox=x=380:y=40:w=190:h=110:color=red@1:t=fill,scale=320:180", *enc,
                        "-crf", "23"], d / "box.mp4"),
        "splice": _ffmpeg(["-i", src, "-i", other, "-filter_complex",
                           "[0:v]trim=end_frame=10,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=8,setpts=PTS-STARTPTS[b];"
                           "[0:v]trim=start_frame=18,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1,scale=320:180[v]",
                           "-map", "[v]", *enc, "-crf", "23"], d / "splice.mp4"),
    }
    return out


def test_real_profile_detector_rejects_tampering_and_accepts_an_honest_re_encode(renditions):
    """No fake: Verifier(detector="profile") on real renditions. The box and the spliced run fail with
    TamperDetected and the report's reasons; the honest re-encode is used; the selector suspends the cheaters.
    The box passes the MPEG-7 check (why the detector exists)."""
    from lpcore.market.reputation import Reputation

    fast = FastVerification(3)
    rep = []
    reputation = Reputation()
    v = Verifier(detector="profile", rng=ScriptedRng(ranges=[0]), report=[fast, rep.append, reputation])
    t = TranscodeResult("T", [Rendition(media=str(renditions["trusted"]))])
    box = TranscodeResult("BOX", [Rendition(media=str(renditions["box"]))])
    splice = TranscodeResult("SPLICE", [Rendition(media=renditions["splice"].read_bytes())])
    honest = TranscodeResult("H", [Rendition(media=str(renditions["honest"]))])
    d = v.choose(t, [box, splice, honest])
    assert d.accepted is honest and d.verified and d.passed == ["H"] and d.rejected == ["BOX", "SPLICE"]
    for o, word in (("BOX", "local"), ("SPLICE", "frame")):
        err = d.failures[o]
        assert isinstance(err, TamperDetected) and err.orchestrator == o
        assert d.reports[o].tampered and d.reports[o].score >= 1.0
        assert any(word in r for r in d.reports[o].reasons), d.reports[o].reasons
        assert all(r in str(err) for r in d.reports[o].reasons)
        assert fast.is_suspended(o)
    assert not d.reports["H"].tampered and rep == [d] and d.detector == "profile"
    # the reputation files each verdict under the detector that gave it
    assert reputation.get("BOX").by_detector == {("profile", False): 1}
    assert reputation.get("H").by_detector == {("profile", True): 1}
    assert verify_segment(renditions["trusted"], renditions["box"])        # MPEG-7 alone accepts the box


def test_real_profile_detector_when_nobody_passes_and_a_forged_profile(renditions):
    from lpcore.vsig.profile import compute_profile_file

    v = Verifier(detector="profile", rng=ScriptedRng(ranges=[0, 0]))
    t = TranscodeResult("T", [Rendition(media=str(renditions["trusted"]))])
    d = v.choose(t, [TranscodeResult("BOX", [Rendition(media=str(renditions["box"]))])])
    assert d.accepted is t and not d.verified and d.rejected == [] and isinstance(d.failures["BOX"], TamperDetected)
    # a cheater cannot hand in a profile of the trusted video instead of its rendition
    forged = compute_profile_file(renditions["trusted"]).to_bytes()
    d = v.choose(t, [TranscodeResult("F", [Rendition(media=forged)])])
    assert isinstance(d.failures["F"], BadRendition) and "profile" in str(d.failures["F"])


# --- issue 15 item 3: one bad untrusted rendition never aborts the segment ---------------------------------

def _ffmpeg(args, out):
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-nostdin", "-y", *args, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    tiny = _ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=16x16:r=10:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
                   d / "tiny.mp4")
    ts = _ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
                 d / "ok.ts")
    mp4 = _ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
                  d / "ok.mp4")
    (d / "corrupt.ts").write_bytes(ts.read_bytes()[:1500] + bytes(range(256)) * 8)
    data = mp4.read_bytes()
    (d / "corrupt.mp4").write_bytes(data[: len(data) // 2])
    (d / "notes.txt").write_bytes(b"hello \xff\xfe not a video\n")
    return {"16x16 video": tiny, "corrupt .ts": d / "corrupt.ts", "corrupt .mp4": d / "corrupt.mp4",
            "text file": d / "notes.txt", "missing path": d / "missing.ts",
            "8x8 frames": np.zeros((4, 8, 8), np.uint8), "garbage bytes": b"\x00garbage" * 7}


@pytest.mark.parametrize("kind", ["16x16 video", "corrupt .ts", "corrupt .mp4", "text file", "missing path",
                                  "8x8 frames", "garbage bytes"])
def test_bad_untrusted_rendition_fails_only_its_orchestrator(bad_inputs, kind):
    fast = FastVerification(3)
    v = Verifier(rng=ScriptedRng(ranges=[0]), report=fast)
    bad = TranscodeResult("BAD", [Rendition(bad_inputs[kind]), Rendition(sig("nv2"))])
    d = v.choose(TRUSTED, [bad, HONEST])
    assert d.accepted is HONEST and d.verified and d.passed == ["H"]
    err = d.failures["BAD"]
    assert isinstance(err, (BadRendition, SignatureMismatch)) and err.orchestrator == "BAD"
    assert d.rejected == ["BAD"] and fast.is_suspended("BAD")


def test_bad_rendition_in_pixel_check_and_profile_detector(bad_inputs, monkeypatch):
    v = Verifier(check_pixels=True, rng=ScriptedRng(ranges=[0]))
    bad = result("P", "nv1", "nv2", pixels=10, media=bad_inputs["text file"])
    good = result("H", "nv1", "nv2", pixels=123, media=np.zeros((1, 3, 41), np.uint8))
    d = v.choose(TRUSTED, [bad, good])
    assert isinstance(d.failures["P"], BadRendition) and d.accepted is good


@pytest.mark.parametrize("kind", ["16x16 video", "corrupt .ts", "corrupt .mp4", "text file", "missing path",
                                  "8x8 frames", "garbage bytes"])
def test_bad_untrusted_rendition_with_the_profile_detector(bad_inputs, renditions, kind):
    v = Verifier(detector="profile", rng=ScriptedRng(ranges=[0]))
    t = TranscodeResult("T", [Rendition(media=str(renditions["trusted"]))])
    honest = TranscodeResult("H", [Rendition(media=str(renditions["honest"]))])
    d = v.choose(t, [TranscodeResult("BAD", [Rendition(media=bad_inputs[kind])]), honest])
    # a partly decodable one (the corrupt .ts keeps a frame) is judged, and fails as tampered
    assert d.accepted is honest and isinstance(d.failures["BAD"], (BadRendition, TamperDetected))
    assert d.rejected == ["BAD"] and d.failures["BAD"].orchestrator == "BAD"
    # the trusted side unreadable: its own failure, nobody else blamed (the one-frame .ts is readable: the honest
    # candidate is then judged against it, and nobody passing means nobody is rejected)
    d = v.choose(TranscodeResult("T", [Rendition(media=bad_inputs[kind])]), [honest])
    assert d.accepted.orchestrator == "T" and not d.verified and not d.rejected
    assert set(d.failures) == ({"H"} if kind == "corrupt .ts" else {"T"})


def test_bad_arguments():
    with pytest.raises(ValueError, match="verification_freq"):
        FastVerification(-1)
    with pytest.raises(ValueError, match="preset"):
        Verifier(preset="nope")
    with pytest.raises(TypeError, match="unknown threshold"):
        Verifier(thresholds={"th_zz": 1})
    with pytest.raises(ValueError):
        Verifier().choose(None, [])


def test_verify_segment_inputs():
    assert verify_segment(sig("sw1"), sig("nv1")).code == 2
    assert not verify_segment(VEC / "sign_sw1.bin", VEC / "sign_sw2.bin")
    with pytest.raises(MissingHash):
        verify_segment(b"", sig("nv1"))


def test_bad_trusted_reference_is_not_blamed_on_untrusted(bad_inputs):
    rep = []
    fast = FastVerification(3)
    v = Verifier(rng=ScriptedRng(ranges=[0]), report=[fast, rep.append])
    for kind in ("16x16 video", "missing path", "8x8 frames", "text file"):
        t = TranscodeResult("T", [Rendition(bad_inputs[kind])])
        d = v.choose(t, [HONEST, CHEAT])
        assert d.accepted is t and isinstance(d.failures["T"], BadRendition), kind
        assert d.checked == [] and d.rejected == [] and not fast.suspender.list


def test_reference_frames_are_read_once(monkeypatch):
    import lpcore.vsig as vsig_pkg

    calls = []
    real = vsig_pkg.compute

    def counting(frames, *a, **kw):
        calls.append(frames.shape)
        return real(frames, *a, **kw)

    monkeypatch.setattr(vsig_pkg, "compute", counting)
    g = np.random.default_rng(0)
    ref = g.integers(0, 255, (40, 64, 64), dtype=np.uint8)
    t = TranscodeResult("T", [Rendition(ref)])
    d = Verifier(rng=ScriptedRng(ranges=[0])).choose(t, [result("A", "sw1"), result("B", "sw2")])
    assert calls == [(40, 64, 64)] and set(d.failures) == {"A", "B"}
