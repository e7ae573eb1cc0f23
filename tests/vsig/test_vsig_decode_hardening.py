"""Decoding hardening (issue 15 items 4 and 11): every decode failure is a VideoDecodeError (and `lpcore vsig
compare` exits 2 on it), and compute_file keeps its chunk buffer within CHUNK_BYTES."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lpcore.cli
from lpcore import VideoDecodeError, vsig

av = pytest.importorskip("av")

FORMATS = [("clip.mp4", "libx264", None), ("clip.ts", "mpeg2video", "mpegts"), ("clip.mkv", "libx264", None)]


def _make_clip(path, codec: str, fmt: str | None, frames: int = 12, width: int = 64, height: int = 48) -> None:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=25, options={"threads": "1"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[:, :, 0] = (np.arange(width) * 4 + i * 8) % 256
            img[:, :, 1] = rng.integers(0, 256, (height, width))
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decode")
    out = {}
    for name, codec, fmt in FORMATS:
        _make_clip(folder / name, codec, fmt)
        out[name] = (folder / name).read_bytes()
        vsig.compute_file(folder / name)  # the clean clips decode
    return folder, out


def test_random_corruptions_raise_only_video_decode_error(clips):
    # 5 of 180 such corruptions used to leak PyAV's IndexError / UnicodeDecodeError
    folder, bases = clips
    rng = random.Random(0)
    outcomes = {"ok": 0, "VideoDecodeError": 0}
    failing = []
    for i in range(300):
        name = rng.choice(sorted(bases))
        data = bytearray(bases[name])
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)):]
        path = folder / f"corrupt{i}{name[4:]}"
        path.write_bytes(bytes(data))
        try:
            sig = vsig.compute_file(path)
        except VideoDecodeError as exc:
            outcomes["VideoDecodeError"] += 1
            assert str(exc)
            failing.append(path)
            continue
        outcomes["ok"] += 1
        assert len(sig) >= 1
        path.unlink()
    assert outcomes["ok"] and outcomes["VideoDecodeError"]
    # the CLI turns each of them into "error" (exit 2, one line on stderr), never "no match" or a traceback
    good = str(folder / "clip.mp4")
    for path in failing[:40]:
        assert lpcore.cli.main(["vsig", "compare", str(path), good]) == 2


def test_cli_compare_exit_code_on_decode_error(clips, capsys, monkeypatch):
    folder, _ = clips
    junk = folder / "junk.ts"
    junk.write_bytes(b"G" + bytes(range(256)) * 40)
    assert lpcore.cli.main(["vsig", "compare", str(junk), str(folder / "clip.mkv")]) == 2
    err = capsys.readouterr().err
    assert "lpcore vsig compare:" in err and "Traceback" not in err


def test_pyav_exceptions_of_any_type_become_video_decode_errors(clips, monkeypatch):
    folder, _ = clips
    from lpcore.vsig import engine

    for exc in (IndexError("list index out of range"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"),
                KeyError("x"), RuntimeError("y")):
        def broken(self, frame, exc=exc):
            raise exc
        monkeypatch.setattr(engine.LumaReader, "__call__", broken)
        with pytest.raises(VideoDecodeError, match=type(exc).__name__):
            vsig.compute_file(folder / "clip.mp4")
    monkeypatch.undo()

    def oom(self, frame):
        raise MemoryError
    monkeypatch.setattr(engine.LumaReader, "__call__", oom)
    with pytest.raises(MemoryError):  # not a decoding problem: stays what it is
        vsig.compute_file(folder / "clip.mp4")


# Peak RSS from /proc (VmHWM, reset by exec; getrusage's ru_maxrss would report the forking parent's peak).
_RSS_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from lpcore import vsig
    from lpcore.vsig import engine

    def peak():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))

    engine.CHUNK_BYTES = int(sys.argv[2])
    vsig.compute(np.zeros((1, 32, 32), np.uint8))  # load everything first
    before = peak()
    sig = vsig.compute_file(sys.argv[1], device="cpu", threads=1)
    print(len(sig), peak() - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads peak RSS from /proc")
def test_compute_file_memory_follows_chunk_bytes(clips):
    # Frames of 2048x2048 (4 MiB of luma each). The chunk buffer used to be at least 8 frames whatever CHUNK_BYTES
    # said, so a 1-frame and an 8-frame CHUNK_BYTES peaked alike; now the peak grows with CHUNK_BYTES, by the
    # buffer's 7 frames. (The decoder's own working set, several frames with frame threading, is the same in both
    # runs and cancels out.)
    folder, _ = clips
    path = folder / "big.mkv"
    _make_clip(path, "rawvideo", None, frames=10, width=2048, height=2048)  # no frame threads: a steady peak
    frame = 2048 * 2048

    def peak_growth(chunk_frames: int) -> int:
        r = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(path), str(chunk_frames * frame)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        n, grown = map(int, r.stdout.split())
        assert n == 10
        return grown

    one, eight = peak_growth(1), peak_growth(8)
    assert eight - one > 5 * frame, (one / frame, eight / frame)
    # a frame larger than CHUNK_BYTES is processed alone: the buffer is one frame, never more
    assert peak_growth(0) < eight - 5 * frame
