"""lpcore.verify.detect_tampering on small generated clips: every tamper kind is flagged, honest re-encodes are
not, alignment survives dropped/shifted frames, the report points at the edit, and the PNG/JSON/CLI outputs."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from lpcore import cli
from lpcore.verify import TamperReport, detect_tampering
from lpcore.verify.detect import THRESHOLD, DetectionError
from lpcore.vsig.profile import VideoProfile, compute_profile_file
from tests._shared import ffmpeg

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary to make clips")

W, H, FPS, N = 320, 180, 30, 60
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
BOX = (0.6, 0.55, 0.3, 0.3)   # x, y, w, h fractions of the edited region in the localised kinds


_ff = ffmpeg


@contextmanager
def _constants(**values):
    """lpcore.verify.detect's calibrated constants set to `values` inside the block (a rule switched off or changed,
    as the control of a test), restored after it."""
    from lpcore.verify import detect as det

    old = {name: getattr(det, name) for name in values}
    try:
        for name, value in values.items():
            setattr(det, name, value)
        yield
    finally:
        for name, value in old.items():
            setattr(det, name, value)


def _region(inner: str) -> str:
    x, y, w, h = BOX
    return (f"[0:v]split[m][r];[r]crop=iw*{w}:ih*{h}:iw*{x}:ih*{y},{inner}[e];[m][e]overlay=W*{x}:H*{y}[v]")


def _simple(chain: str) -> str:
    return f"[0:v]{chain}[v]"


def _splice(at: int, cnt: int, foreign: bool, reverse: bool = False) -> str:
    mid = (f"[1:v]trim=start_frame={at}:end_frame={at + cnt},setpts=PTS-STARTPTS[b]" if foreign else
           f"[0:v]trim=start_frame={at}:end_frame={at + cnt},setpts=PTS-STARTPTS{',reverse' if reverse else ''}[b]")
    return (f"[0:v]trim=end_frame={at},setpts=PTS-STARTPTS[a];{mid};[0:v]trim=start_frame={at + cnt},"
            f"setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1[v]")


x, y, w, h = BOX
TAMPERS = {
    "box": _simple(f"drawbox=x=iw*{x}:y=ih*{y}:w=iw*{w}:h=ih*{h}:color=red@1:t=fill"),
    "logo_2pct": _simple("drawbox=x=iw*0.8:y=ih*0.05:w=iw*0.15:h=ih*0.14:color=white@1:t=fill"),
    "semi_transparent": _simple(f"drawbox=x=iw*{x}:y=ih*{y}:w=iw*{w}:h=ih*{h}:color=white@0.35:t=fill"),
    "text": _simple(f"drawtext=fontfile={FONT}:text='FAKE':fontsize=56:fontcolor=yellow:x=w*0.55:y=h*0.6"),
    "blur": _region("boxblur=20"),
    "pixelise": _region("pixelize=w=16:h=16"),
    "delogo": _simple(f"delogo=x={int(960 * x)}:y={int(540 * y)}:w={int(960 * w)}:h={int(540 * h)}"),
    "chroma_region": _region("hue=h=180:s=1.5"),
    "chroma_global": _simple("hue=h=120"),
    "insert": _splice(20, 8, True).replace("[1:v]trim=start_frame=20:end_frame=28", "[1:v]trim=end_frame=8"),
    "replace": _splice(20, 8, True),
    "frozen": _simple("freezeframes=first=20:last=31:replace=20"),
    "reordered": _splice(20, 10, False, reverse=True),
    "missing": _simple("select='not(between(n\\,20\\,27))',setpts=N/30/TB"),
    "hflip": _simple("hflip"),
    "vflip": _simple("vflip"),
    "negate": _simple("negate"),
    "zoom": _simple("crop=iw*0.8:ih*0.8,scale=960:540"),
}
HONEST = {  # name -> (scaler, encoder args, pre-filter)
    "crf23": ("bicubic", ["-c:v", "libx264", "-crf", "23"], None),
    "crf40": ("bicubic", ["-c:v", "libx264", "-crf", "40"], None),
    "bilinear_300k": ("bilinear", ["-c:v", "libx264", "-b:v", "300k"], None),
    "mpeg4": ("area", ["-c:v", "mpeg4", "-q:v", "8"], None),
    "neighbor_crf30": ("neighbor", ["-c:v", "libx264", "-crf", "30"], None),   # aliasing adds texture locally
    "drop_first": ("bicubic", ["-c:v", "libx264", "-crf", "28"], "trim=start_frame=1,setpts=PTS-STARTPTS"),
    "dup_first": ("bicubic", ["-c:v", "libx264", "-crf", "28"], "tpad=start=1:start_mode=clone"),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("detect")
    src, other = d / "src.mkv", d / "other.mkv"
    _ff("-f", "lavfi", "-i", "testsrc2=s=960x540:r=30:d=2", "-c:v", "ffv1", str(src))
    _ff("-f", "lavfi", "-i", "mandelbrot=s=960x540:r=30:start_scale=1.2,trim=duration=2", "-frames:v", "60",
        "-c:v", "ffv1", str(other))

    def render(name: str, graph: str, flags: str = "bicubic", enc=("-c:v", "libx264", "-crf", "23")) -> Path:
        out = d / f"{name}.mp4"
        graph = graph.replace("[v]", "[t]") + f";[t]scale={W}:{H}:flags={flags}[v]"
        _ff("-i", str(src), "-i", str(other), "-filter_complex", graph, "-map", "[v]", "-pix_fmt", "yuv420p",
            *enc, "-frames:v", "70", str(out))
        return out

    files = {"trusted": render("trusted", "[0:v]null[v]", enc=("-c:v", "libx264", "-crf", "18"))}
    for name, (flags, enc, pre) in HONEST.items():
        files["honest:" + name] = render(name, f"[0:v]{pre + ',' if pre else ''}null[v]", flags, enc)
    for name, graph in TAMPERS.items():
        files["tamper:" + name] = render(name, graph)
    files["shift8"] = render("shift8", "[0:v]trim=start_frame=8,setpts=PTS-STARTPTS[v]",
                             enc=("-c:v", "libx264", "-crf", "28"))
    profiles = {k: compute_profile_file(v, "cpu") for k, v in files.items()}
    return files, profiles


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_renditions_are_clean(clips, name):
    _, prof = clips
    rep = detect_tampering(prof["trusted"], prof["honest:" + name])
    assert not rep.tampered, (name, rep.score, rep.reasons)
    assert rep.score < THRESHOLD and rep.frames == [] and rep.reasons == ["no evidence of tampering"]


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_every_tamper_kind_is_detected(clips, name):
    _, prof = clips
    rep = detect_tampering(prof["trusted"], prof["tamper:" + name])
    assert rep.tampered, (name, rep.score, rep.scores, rep.details)
    assert rep.score >= THRESHOLD and rep.reasons and rep.frames


def test_alignment_with_dropped_and_shifted_frames(clips):
    _, prof = clips
    assert detect_tampering(prof["trusted"], prof["honest:drop_first"]).offset == -1
    assert detect_tampering(prof["trusted"], prof["honest:dup_first"]).offset == 1
    # 8 frames cut at the start: beyond the direct search, the MPEG-7 match gives the offset
    rep = detect_tampering(prof["trusted"], prof["shift8"])
    assert rep.offset == -8
    assert rep.scores["local"] < THRESHOLD and rep.scores["temporal"] < THRESHOLD
    assert any("mpeg7" in r for r in rep.reasons)
    # and a forced wrong offset is seen as tampering
    assert detect_tampering(prof["trusted"], prof["honest:crf23"], offset=5).tampered


def test_regions_point_at_the_edit(clips):
    _, prof = clips
    x, y, w, h = BOX
    for name in ("box", "semi_transparent", "blur", "chroma_region"):
        rep = detect_tampering(prof["trusted"], prof["tamper:" + name])
        r, c = np.unravel_index(np.argmax(rep.regions), rep.regions.shape)
        assert 32 * y - 1 <= r <= 32 * (y + h) + 1 and 32 * x - 1 <= c <= 32 * (x + w) + 1, (name, r, c)
        inside = rep.regions[int(32 * y) + 1:int(32 * (y + h)) - 1, int(32 * x) + 1:int(32 * (x + w)) - 1]
        outside = np.concatenate([rep.regions[:int(32 * y) - 2].ravel(), rep.regions[:, :int(32 * x) - 2].ravel()])
        assert inside.mean() > 3 * outside.mean(), name


def test_frames_point_at_the_temporal_edit(clips):
    _, prof = clips
    for name, lo, hi in (("replace", 20, 27), ("frozen", 21, 31), ("reordered", 20, 29)):
        rep = detect_tampering(prof["trusted"], prof["tamper:" + name])
        flagged = {f for a, b in rep.frames for f in range(a, b + 1)}
        assert flagged and flagged <= set(range(lo - 2, hi + 3)), (name, rep.frames)
        assert rep.frame_scores[lo:hi + 1].max() >= THRESHOLD
        assert rep.frame_scores[:lo - 3].max() < THRESHOLD


def test_inputs_paths_bytes_and_profiles_agree(clips, tmp_path):
    files, prof = clips
    a = detect_tampering(files["trusted"], files["tamper:box"], device="cpu")
    lpvp = tmp_path / "ref.lpvp"
    lpvp.write_bytes(prof["trusted"].to_bytes())
    b = detect_tampering(lpvp, prof["tamper:box"].to_bytes())
    c = detect_tampering(files["trusted"].read_bytes(), prof["tamper:box"])
    assert a.to_dict() == b.to_dict() == c.to_dict()
    assert isinstance(a, TamperReport) and bool(a)


def test_a_reference_reused_gives_the_reports_of_fresh_ones(clips):
    """What the detector keeps with a reference profile (descriptors, maps, its edge map for a run of aligned
    frames) changes no report: one reference object compared with every rendition in turn, shifted and temporal
    edits among them (other aligned runs, frames left out), reports as a fresh copy for each comparison does."""
    _, prof = clips
    reused = prof["trusted"]
    for name in sorted(prof):
        if name == "trusted":
            continue
        fresh = VideoProfile(reused.signature, reused.data, reused.chroma_size)
        assert detect_tampering(reused, prof[name]).to_dict() == detect_tampering(fresh, prof[name]).to_dict(), name


def test_bad_inputs_raise_clear_errors(clips, tmp_path):
    from lpcore import LpcoreError, SignatureFormatError

    _, prof = clips
    with pytest.raises(DetectionError, match="reference: no such file"):
        detect_tampering(tmp_path / "missing.mp4", prof["trusted"])
    with pytest.raises(DetectionError, match="candidate: .* is not a file"):
        detect_tampering(prof["trusted"], tmp_path)
    with pytest.raises(SignatureFormatError):
        detect_tampering(b"LPVP" + b"\x00" * 50, prof["trusted"])
    with pytest.raises(TypeError):
        detect_tampering(12, prof["trusted"])
    with pytest.raises(TypeError):
        detect_tampering(prof["trusted"], prof["trusted"], offset="1")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"junk" * 100)
    with pytest.raises(LpcoreError):
        detect_tampering(bad, prof["trusted"])


def test_inputs_longer_than_a_segment_are_refused_before_any_work(clips):
    """The frame distances are n x m: a profile of more than MAX_FRAMES frames (here the trusted one repeated) is
    refused with a clear error instead of allocating for it."""
    from lpcore.verify.detect import MAX_FRAMES
    from lpcore.vsig.signature import VideoSignature

    _, prof = clips
    p = prof["trusted"]
    g = p.signature
    reps = MAX_FRAMES // len(p) + 1
    n = len(p) * reps
    sig = VideoSignature.from_frames(g.width, g.height, g.time_base, np.arange(n, dtype=np.uint64) * int(g.pts[1]),
                                     np.tile(g.confidence, reps), np.tile(g.words, (reps, 1)),
                                     np.tile(g.framesig, (reps, 1)))
    long = VideoProfile(sig, np.tile(p.data, (reps, 1)), p.chroma_size)
    for a, b in ((long, p), (p, long)):
        with pytest.raises(DetectionError, match="at most"):
            detect_tampering(a, b)


def test_report_json_and_png(clips, tmp_path):
    from PIL import Image

    _, prof = clips
    rep = detect_tampering(prof["trusted"], prof["tamper:box"])
    d = json.loads(rep.to_json())
    assert d["tampered"] is True and d["score"] >= 1 and len(d["regions"]) == 32 and len(d["frame_scores"]) == N
    path = tmp_path / "map.png"
    rep.to_png(path)
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        thumb_h = round(img.size[0] * H / W)           # the thumbnail keeps the frame's aspect, the plot is below
        assert img.format == "PNG" and img.size[0] >= 32 and img.size[1] > thumb_h + 50
        px = np.asarray(img.convert("RGB"))
    # the edit is drawn red where the box is
    x, y, w, h = BOX
    cy, cx = int((y + h / 2) * thumb_h), int((x + w / 2) * px.shape[1])
    r, g, b = (int(v) for v in px[cy, cx])
    assert r > g + 40 and r > b + 40


def test_cli_exit_codes(clips, tmp_path, capsys):
    files, prof = clips
    lpvp = tmp_path / "cand.lpvp"
    lpvp.write_bytes(prof["tamper:box"].to_bytes())
    png = tmp_path / "m.png"
    assert cli.main(["verify", str(files["trusted"]), str(lpvp), "--png", str(png)]) == 1
    assert png.stat().st_size > 0 and "TAMPERED" in capsys.readouterr().out
    assert cli.main(["verify", str(files["trusted"]), str(files["honest:crf23"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tampered"] is False
    assert cli.main(["verify", "--json", str(files["trusted"]), str(files["honest:crf23"])]) == 0
    capsys.readouterr()
    assert cli.main(["verify", str(tmp_path / "nope.mp4"), str(lpvp)]) == 2
    assert "lpcore verify:" in capsys.readouterr().err
    assert cli.main(["verify", str(files["trusted"])]) == 2          # no candidate
    capsys.readouterr()
    assert cli.main(["verify", str(files["trusted"]), str(lpvp), "--png", str(tmp_path / "no" / "m.png")]) == 2
    assert "cannot write the map" in capsys.readouterr().err


def test_cli_batch_dispatch(monkeypatch, capsys):
    import sys
    import types

    assert cli.main(["verify", "batch", "manifest.json"]) in (0, 1, 2)   # real module or the clear error
    capsys.readouterr()
    seen = {}
    fake = types.ModuleType("lpcore.verify.batch_cli")
    fake.main = lambda argv: seen.setdefault("argv", argv) and 0
    monkeypatch.setitem(sys.modules, "lpcore.verify.batch_cli", fake)
    assert cli.main(["verify", "batch", "m.json", "--workers", "3"]) == 0
    assert seen["argv"] == ["m.json", "--workers", "3"]


def test_profile_file_round_trip_keeps_verdict(clips):
    _, prof = clips
    cand = VideoProfile.from_bytes(prof["tamper:text"].to_bytes(compress=False))
    assert detect_tampering(prof["trusted"], cand).to_dict() == \
        detect_tampering(prof["trusted"], prof["tamper:text"]).to_dict()


def test_luma_frames_input_and_lengths():
    # (N, H, W) luma as verify_segment takes frames: neutral chroma, luma evidence only; any lengths
    y = ((np.add.outer(np.arange(90), np.arange(160))[None] + 3 * np.arange(30)[:, None, None]) % 256).astype(np.uint8)
    assert not detect_tampering(y, y.copy()).tampered
    edited = y.copy()
    edited[:, 40:70, 90:140] = 255
    rep = detect_tampering(y, edited)
    assert rep.tampered and "luma" in rep.reasons[0]
    assert not detect_tampering(y[:1], y[:1]).tampered
    short = detect_tampering(y, y[:3])
    assert short.tampered and short.scores["coverage"] >= THRESHOLD
    with pytest.raises(ValueError):
        detect_tampering(np.zeros((3, 20, 20), np.uint8), y)


def test_geometry_evidence_on_noise_like_content(tmp_path):
    """Mirrors and zooms of Game-of-Life content (block means alike everywhere, so the block-difference medians
    barely move) are caught by the global-geometry check, while a coarse honest encode of the same clip is not."""
    src = tmp_path / "life.mkv"
    _ff("-f", "lavfi", "-i", "life=s=640x360:r=30:seed=7:mold=10:ratio=0.3:death_color=#202020:"
        "life_color=#e0e0a0,trim=duration=1", "-c:v", "ffv1", str(src))

    def prof(name: str, chain: str, crf: str):
        out = tmp_path / f"{name}.mp4"
        _ff("-i", str(src), "-vf", f"{chain}scale={W}:{H}", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", crf,
            str(out))
        return compute_profile_file(out, "cpu")

    ref = prof("trusted", "", "18")
    honest = detect_tampering(ref, prof("honest", "", "40"))
    assert not honest.tampered, (honest.scores, honest.details)
    for name, chain in (("hflip", "hflip,"), ("vflip", "vflip,"), ("zoom", "crop=iw*0.75:ih*0.75,")):
        rep = detect_tampering(ref, prof(name, chain, "23"))
        assert rep.tampered and rep.scores["global"] >= THRESHOLD, (name, rep.scores, rep.details)
        assert any("mirrored" in r or "zoomed" in r for r in rep.reasons), rep.reasons


def test_reordered_frames_of_scrolling_noise(tmp_path):
    """A reversed run of a scrolling cellular automaton: every frame's coarse descriptor looks alike, so only the
    fine 32x32 maps show that the frames fit other reference frames; honest coarse encodes of it stay clean, and
    without the fine check (threshold out of reach) the run is missed, so the check is what catches it."""
    src = tmp_path / "ca.mkv"
    _ff("-f", "lavfi", "-i", "cellauto=s=960x540:r=30:rule=110:random_seed=5:scroll=1,trim=duration=2",
        "-frames:v", "60", "-c:v", "ffv1", str(src))

    def prof(name: str, graph: str, crf: str):
        out = tmp_path / f"{name}.mp4"
        _ff("-i", str(src), "-filter_complex", graph.replace("[v]", "[t]") + f";[t]scale={W}:{H}[v]", "-map", "[v]",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", crf, str(out))
        return compute_profile_file(out, "cpu")

    ref = prof("trusted", "[0:v]null[v]", "18")
    for crf in ("28", "40"):
        honest = detect_tampering(ref, prof(f"honest{crf}", "[0:v]null[v]", crf))
        assert not honest.tampered, (crf, honest.scores, honest.details)
    rev = prof("reversed", _splice(20, 8, False, reverse=True), "23")
    rep = detect_tampering(ref, rev)
    assert rep.tampered and rep.scores["temporal"] >= THRESHOLD, (rep.scores, rep.reasons)
    assert any("in detail" in r for r in rep.reasons), rep.reasons
    # the flagged frames are the reversed run (candidate frames 20..27), not the rest
    flagged = {i for a, b in rep.frames for i in range(a, b + 1)}
    assert flagged and flagged <= set(range(18, 30)), rep.frames
    with _constants(FINE_REORDER=float("inf")):
        assert not detect_tampering(ref, rev).tampered


def test_contrast_rule_catches_a_faint_edit_in_a_clean_rendition(clips, tmp_path):
    """A light blur of a 4 % region, encoded cleanly (CRF 20): below the absolute texture threshold (which has
    to tolerate a CRF 45 encode), but far above this rendition's own noise floor, so the contrast rule flags it
    and the region map points at it. Without the rule (thresholds out of reach) it would pass."""
    files, prof = clips
    out = tmp_path / "faint_blur.mp4"
    bx, by, bw, bh = 0.7, 0.1, 0.2, 0.2   # (textured, away from testsrc2's sharp edges: see _evidence.edge_blocks)
    graph = (f"[0:v]split[m][r];[r]crop=iw*{bw}:ih*{bh}:iw*{bx}:ih*{by},boxblur=6[e];[m][e]overlay=W*{bx}:H*{by},"
             f"scale={W}:{H}[v]")
    _ff("-i", str(files["trusted"].with_name("src.mkv")), "-filter_complex", graph, "-map", "[v]",
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "20", str(out))
    cand = compute_profile_file(out, "cpu")
    rep = detect_tampering(prof["trusted"], cand)
    assert rep.tampered and rep.scores["local"] >= THRESHOLD, (rep.scores, rep.details)
    r, c = np.unravel_index(np.argmax(rep.regions), rep.regions.shape)
    assert by * 32 - 2 <= r <= (by + bh) * 32 + 1 and bx * 32 - 2 <= c <= (bx + bw) * 32 + 1, (r, c)
    with _constants(_T_REL=np.full(3, np.inf, np.float32)):
        assert not detect_tampering(prof["trusted"], cand).tampered


def test_static_sharp_edges_after_another_scaler_are_clean(tmp_path):
    """SMPTE bars (static, sharp edges): a nearest-neighbour or CRF 35 rendition moves an edge by a pixel, which
    empties or fills the texture of the blocks on it in every frame alike (so it looks persistent). The texture
    contrast rule ignores blocks at sharp edges; a blurred region of the same clip is still caught."""
    src = tmp_path / "bars.mkv"
    _ff("-f", "lavfi", "-i", "smptebars=s=1280x720:r=30:d=2", "-frames:v", "60", "-c:v", "ffv1", str(src))

    def prof(name: str, pre: str, crf: str, flags: str = "bicubic"):
        out = tmp_path / f"{name}.mp4"
        _ff("-i", str(src), "-vf", f"{pre}scale=640:360:flags={flags}", "-pix_fmt", "yuv420p", "-c:v", "libx264",
            "-crf", crf, str(out))
        return compute_profile_file(out, "cpu")

    ref = prof("trusted", "", "18")
    for name, crf, flags in (("crf35", "35", "bicubic"), ("neighbor", "30", "neighbor")):
        rep = detect_tampering(ref, prof(name, "", crf, flags))
        assert not rep.tampered, (name, rep.scores, rep.details)
    blur = prof("blur", "split[m][r];[r]crop=iw/4:ih/4:iw/2:ih/2,boxblur=6[b];[m][b]overlay=W/2:H/2,", "23")
    assert detect_tampering(ref, blur).tampered


@pytest.fixture(scope="module")
def noise_and_life(tmp_path_factory):
    """Scrolling cellular-automaton noise and Game of Life (faint yellow cells on dark grey), 2 s at 960x540, and
    a profiler of their renditions at W x H."""
    d = tmp_path_factory.mktemp("residual")
    srcs = {"ca": "cellauto=s=960x540:r=30:rule=30:random_seed=3:scroll=1,trim=duration=2",
            "life": "life=s=960x540:r=30:seed=11:mold=10:ratio=0.3:death_color=#202020:life_color=#e0e0a0,"
                    "trim=duration=2"}
    for name, g in srcs.items():
        _ff("-f", "lavfi", "-i", g, "-frames:v", "60", "-c:v", "ffv1", str(d / f"{name}.mkv"))

    def prof(src: str, name: str, graph: str, crf: str, flags: str = "bicubic") -> VideoProfile:
        out = d / f"{src}_{name}.mp4"
        _ff("-i", str(d / f"{src}.mkv"), "-filter_complex", graph.replace("[v]", "[t]") +
            f";[t]scale={W}:{H}:flags={flags}[v]", "-map", "[v]", "-pix_fmt", "yuv420p", "-c:v", "libx264",
            "-crf", crf, str(out))
        return compute_profile_file(out, "cpu")

    return prof, {s: prof(s, "trusted", "[0:v]null[v]", "18") for s in srcs}


def _without_residual_rules(ref, cand):
    """The report with the motion, tint and colour-cast rules switched off (thresholds out of reach)."""
    inf = float("inf")
    with _constants(MOTION_T=inf, TINT_T=inf, GLOBAL_CB=inf):
        return detect_tampering(ref, cand)


def test_residual_rules_stay_quiet_on_honest_noise_and_life(noise_and_life):
    """Coarse and nearest-neighbour encodes of noise-like content: the motion, tint and colour-cast evidence
    stays below its threshold (the other rules' verdicts on these are covered elsewhere)."""
    prof, ref = noise_and_life
    for src in ("ca", "life"):
        for crf, flags in (("40", "bicubic"), ("45", "bicubic"), ("30", "neighbor")):
            rep = detect_tampering(ref[src], prof(src, f"h{crf}{flags}", "[0:v]null[v]", crf, flags))
            assert rep.details["motion_persist"] < THRESHOLD and rep.details["tint_persist"] < THRESHOLD, \
                (src, crf, flags, rep.details)
            assert not any("shifted" in r for r in rep.reasons), (src, crf, flags, rep.reasons)


def test_delogo_of_moving_noise_is_caught_by_motion(noise_and_life):
    """delogo over scrolling noise: the interpolated patch has about the same mean and little less texture than
    noise a coarse encoder smooths, but it moves on its own, so the region's block means stop following the
    reference's. Only the motion rule catches it, and the region map points at the patch."""
    prof, ref = noise_and_life
    x, y, w, h = 100, 60, 240, 150
    cand = prof("ca", "delogo", f"[0:v]delogo=x={x}:y={y}:w={w}:h={h}[v]", "28")
    rep = detect_tampering(ref["ca"], cand)
    assert rep.tampered and rep.details["motion_persist"] >= THRESHOLD, (rep.scores, rep.details)
    assert any("does not follow" in r for r in rep.reasons), rep.reasons
    r, c = np.unravel_index(np.argmax(rep.regions), rep.regions.shape)
    assert y / 540 * 32 - 1 <= r <= (y + h) / 540 * 32 + 1 and x / 960 * 32 - 1 <= c <= (x + w) / 960 * 32 + 1
    assert not _without_residual_rules(ref["ca"], cand).tampered


@pytest.mark.parametrize("turn", ["hue=h=90:s=1.2", "hue=h=270"])
def test_hue_turn_of_faint_colour_is_caught_by_tint(noise_and_life, turn):
    """A hue turn of a region of Game of Life, whose cells are faintly coloured: the chroma block means move by
    less than the absolute colour rule allows next to such luma contrast, but by their own size, which the
    relative (tint) rule measures."""
    prof, ref = noise_and_life
    cand = prof("life", turn.replace("=", "").replace(":", ""),
                f"[0:v]split[m][r];[r]crop=320:180:560:300,{turn}[e];[m][e]overlay=560:300[v]", "23")
    rep = detect_tampering(ref["life"], cand)
    assert rep.tampered and rep.details["tint_persist"] >= THRESHOLD, (rep.scores, rep.details)
    r, c = np.unravel_index(np.argmax(rep.regions), rep.regions.shape)
    assert 300 / 540 * 32 - 2 <= r <= 32 and 560 / 960 * 32 - 2 <= c <= 880 / 960 * 32 + 2, (r, c)
    assert not _without_residual_rules(ref["life"], cand).tampered


def test_desaturation_of_sparse_colour_is_caught_as_a_cast(noise_and_life):
    """Game of Life desaturated: most blocks are grey background, so the median chroma difference stays low,
    but the mean chroma shift of the whole picture is far beyond an honest encoder's."""
    prof, ref = noise_and_life
    cand = prof("life", "desat", "[0:v]hue=s=0[v]", "23")
    rep = detect_tampering(ref["life"], cand)
    assert rep.tampered and rep.scores["global"] >= THRESHOLD, rep.scores
    assert any("shifted" in r for r in rep.reasons), rep.reasons
    assert not _without_residual_rules(ref["life"], cand).tampered


def test_small_renditions_get_thresholds_for_their_noise(tmp_path):
    """At 256x144 a block mean averages about a third of the pixels it does at the calibration size (426x240), so
    an honest CRF 45 encode's block noise is larger: the absolute local thresholds grow with sqrt(426 x 240 /
    pixels). Without that (CAL_PIXELS out of the way) these honest encodes were flagged (a rotating YUV test
    pattern and a slow zoom into testsrc, luma evidence 1.2-1.5 x the unscaled thresholds)."""
    srcs = {"yuvtest": "yuvtestsrc=s=960x540:r=30:d=2,rotate=a=t*0.3",
            "zoompan": "testsrc=s=960x540:r=30:d=2,zoompan=z='1+0.002*on':d=1:s=960x540:fps=30"}
    pairs = [_honest_pair(tmp_path, name, g, "45", size="256:144") for name, g in srcs.items()]
    for ref, cand in pairs:
        rep = detect_tampering(ref, cand)
        assert not rep.tampered, (rep.scores, rep.details)
    with _constants(CAL_PIXELS=1):
        assert all(detect_tampering(ref, cand).tampered for ref, cand in pairs)


def _honest_pair(tmp_path, name: str, graph: str, crf: str, size: str | None = None, extra=()):
    """Profiles of a trusted (CRF 18) and an honest CRF `crf` encode of the lavfi `graph` (scaled to `size`)."""
    vf = ["-vf", f"scale={size}:flags=bicubic"] if size else []
    src = tmp_path / f"{name}.mkv"
    _ff("-f", "lavfi", "-i", graph, "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(src))
    out = []
    for c, more in (("18", ()), (crf, extra)):
        f = tmp_path / f"{name}_{c}.mp4"
        _ff("-i", str(src), *vf, "-pix_fmt", "yuv420p", "-c:v", "libx264", *more, "-crf", c, str(f))
        out.append(compute_profile_file(f, "cpu"))
    return out


def test_colour_bleeding_beside_colour_edges_is_honest(tmp_path, noise_and_life):
    """SMPTE HD bars with temporal noise at CRF 45: the encoder bleeds the saturated bars' colour into the grey
    bars beside them, a colour error large against grey's own colour. The tint rule tolerates the reference's
    colour steps around a block (TINT_EDGE); without that the honest encode was flagged (tint 5 x its
    threshold). A hue turn of a region of faint colour is still caught by the tint rule alone."""
    ref, cand = _honest_pair(tmp_path, "bars", "smptehdbars=s=640x360:r=30:d=1,noise=alls=8:allf=t:all_seed=99",
                             "45")
    rep = detect_tampering(ref, cand)
    assert not rep.tampered and rep.details["tint_persist"] < THRESHOLD, (rep.scores, rep.details)
    with _constants(TINT_EDGE=0.0):
        assert detect_tampering(ref, cand).details["tint_persist"] >= THRESHOLD
    prof, refs = noise_and_life
    turned = prof("life", "hue90edge", "[0:v]split[m][r];[r]crop=320:180:560:300,hue=h=90:s=1.2[e];"
                  "[m][e]overlay=560:300[v]", "23")
    assert detect_tampering(refs["life"], turned).details["tint_persist"] >= THRESHOLD


def test_ringing_beside_sharp_edges_is_honest(tmp_path):
    """Static SMPTE HD bars at CRF 40: the encoder rings beside every bar edge in every frame alike, texture
    gained where the reference has a sharp step. That share counts 1 / EDGE_GAIN near sharp edges; counted in
    full, the honest encode was flagged. (Texture lost at such edges still counts in full:
    test_static_sharp_edges_after_another_scaler_are_clean's blur.)"""
    ref, cand = _honest_pair(tmp_path, "hdbars", "smptehdbars=s=640x360:r=30:d=1", "40", extra=("-preset", "veryfast"))
    rep = detect_tampering(ref, cand)
    assert not rep.tampered, (rep.scores, rep.details)
    with _constants(EDGE_GAIN=1.0):
        assert detect_tampering(ref, cand).tampered


def test_an_edge_inside_a_block_is_an_edge(tmp_path):
    """Static SMPTE bars generated at 448x252, CRF 40: a boundary of 25 levels between two flat bars falls inside a
    block row, so neither of the block's steps to its neighbours reaches EDGE_STEP, while its three sampled rows
    read the edge's exact profile, which the encoder smears: texture lost, and the clean rendition's contrast
    rule read it as an edit. A block whose spread is one step between flat blocks across it counts as an edge
    block (STEP_FLAT, STEP_K, STEP_EPS); without that the honest encode was flagged."""
    ref, cand = _honest_pair(tmp_path, "bars448", "smptebars=s=448x252:r=30:d=1", "40", extra=("-preset", "veryfast"))
    rep = detect_tampering(ref, cand)
    assert not rep.tampered, (rep.scores, rep.details)
    with _constants(STEP_FLAT=0.0):
        off = detect_tampering(ref, cand)
    assert off.tampered and "texture" in off.reasons[0], off.reasons


def test_motion_threshold_grows_for_small_renditions(tmp_path):
    """testsrc2 with temporal noise at 160x120, an honest CRF 45 encode with its first frame dropped: block means
    of 5x4 pixels are noisy, and the motion rule read one block as not following the reference's motion. Its
    threshold grows below the calibration size like the local ones; without that the honest encode was
    flagged."""
    ref, cand = _honest_pair(tmp_path, "noisy", "testsrc2=s=160x120:r=30:d=2,noise=alls=10:allf=t:all_seed=5", "45",
                             extra=("-vf", "select=gte(n\\,1),setpts=N/30/TB"))
    rep = detect_tampering(ref, cand)
    assert not rep.tampered, (rep.scores, rep.details)
    assert rep.offset == -1     # (the dropped first frame)
    with _constants(MOTION_SIZE_SCALING=False):
        assert detect_tampering(ref, cand).tampered


def test_texture_lost_overall_raises_the_texture_tolerance(tmp_path, clips):
    """Scrolling cellular-automaton noise at CRF 40: the encoder loses texture everywhere, and more in the band of
    rows entering the picture, which the absolute texture rule alone had flagged (TEXTURE_LOST_K = 0). The
    rendition's overall texture loss (the median log spread ratio) raises the texture tolerance; a clean
    rendition keeps its own, so the test suite's blur and pixelisation are still caught."""
    ref, cand = _honest_pair(tmp_path, "ca", "cellauto=s=960x540:r=30:rule=30:random_seed=51:scroll=1,"
                             "trim=duration=2", "40", size="426:240", extra=("-preset", "veryfast"))
    rep = detect_tampering(ref, cand)
    assert not rep.tampered, (rep.scores, rep.details)
    with _constants(TEXTURE_LOST_K=0.0):
        assert detect_tampering(ref, cand).tampered
    _, prof = clips
    for kind in ("blur", "pixelise"):
        assert detect_tampering(prof["trusted"], prof[f"tamper:{kind}"]).tampered, kind


def test_static_content_at_a_starved_bitrate_stays_aligned(tmp_path):
    """A still YUV test pattern at 150 kbit/s: the encoder refines the picture over the first frames, so later
    offsets fit a little better (0.09 against 0.14 levels), which without ALIGN_EPS read as a shift of 3 frames,
    that is 3 missing and 3 extra frames. Fits that close are no evidence of a shift."""
    src = tmp_path / "still.mkv"
    _ff("-f", "lavfi", "-i", "yuvtestsrc=s=352x288:r=30:d=1", "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(src))
    ref_f, cand_f = tmp_path / "ref.mp4", tmp_path / "b150k.mp4"
    _ff("-i", str(src), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", str(ref_f))
    _ff("-i", str(src), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-b:v", "150k", str(cand_f))
    ref, cand = compute_profile_file(ref_f, "cpu"), compute_profile_file(cand_f, "cpu")
    rep = detect_tampering(ref, cand)
    assert not rep.tampered and rep.offset == 0, (rep.offset, rep.scores, rep.reasons)
    with _constants(ALIGN_EPS=0.0):
        assert detect_tampering(ref, cand).offset != 0

