"""Bit-exactness against FFmpeg's own `signature` filter (the Debian `ffmpeg` binary is the oracle).

Clips are generated with lavfi sources at awkward sizes, including the uint64-wrap sizes (1000x562, 1919x1081,
3840x2160, 4097x2161) and divide mode (5120x2880), and encoded losslessly or lossily in several containers. For
each clip FFmpeg writes the .bin and .xml with `-vf format=yuv420p,signature` and dumps the same luma with
`-f rawvideo`; lpcore must produce the same bytes from the file (PyAV) and from the raw luma.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from lpcore import vsig
from lpcore import _native_vsig as native
from tests._shared import ffmpeg

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (oracle)")

# name: (lavfi source, width, height, frames, pixel format, encoder args, extension)
LOSSLESS = ["-c:v", "ffv1"]
RAW = ["-c:v", "rawvideo"]  # noise does not compress: raw is faster to write and read
CLIPS = {
    "testsrc_32x32": ("testsrc=size=32x32:rate=25", 32, 32, 100, "yuv420p", LOSSLESS, "mkv"),
    "testsrc2_33x35": ("testsrc2=size=33x35:rate=30", 33, 35, 47, "yuv444p", LOSSLESS, "nut"),
    "mandelbrot_63x95": ("mandelbrot=size=63x95:rate=25", 63, 95, 46, "yuv444p", LOSSLESS, "nut"),
    "cellauto_427x241": ("cellauto=size=427x241:rate=25:rule=110", 427, 241, 30, "gray", LOSSLESS, "mkv"),
    "testsrc2_200x150_10bit": ("testsrc2=size=200x150:rate=25", 200, 150, 5, "yuv420p10le", LOSSLESS, "nut"),
    "mandelbrot_96x64_mjpeg": ("mandelbrot=size=96x64:rate=25", 96, 64, 5, "yuvj420p", ["-c:v", "mjpeg"], "avi"),
    "testsrc2_96x64_h264_fullrange": ("testsrc2=size=96x64:rate=25", 96, 64, 5, "yuvj420p",
                                      ["-c:v", "libx264", "-preset", "ultrafast"], "mp4"),
    # full-range tagged planar YUV: 5.1 passes yuv420p through but range-converts yuv444p to limited yuv420p
    "testsrc2_96x64_444_fullrange": ("testsrc2=size=96x64:rate=25", 96, 64, 3, "yuv444p",
                                     ["-color_range", "pc", "-c:v", "ffv1"], "mkv"),
    "testsrc2_96x64_420_fullrange": ("testsrc2=size=96x64:rate=25", 96, 64, 3, "yuv420p",
                                     ["-color_range", "pc", "-c:v", "ffv1"], "mkv"),
    "testsrc_160x90_rgb": ("testsrc=size=160x90:rate=25", 160, 90, 5, "bgr0", LOSSLESS, "nut"),
    "life_1000x562": ("life=size=1000x562:rate=25:mold=10:ratio=0.3:death_color=#102030:life_color=#e0c040",
                      1000, 562, 12, "yuv420p", ["-c:v", "mpeg4", "-q:v", "4"], "mp4"),
    "noise_1919x1081": ("color=c=0x8a8a8a:size=1919x1081:rate=25,noise=alls=100:allf=t+u", 1919, 1081, 3,
                        "yuv444p", RAW, "nut"),
    "smptehdbars_1919x1081": ("smptehdbars=size=1919x1081:rate=25", 1919, 1081, 2, "yuv422p", LOSSLESS, "nut"),
    "flat_640x360": ("color=c=0x5a7d3c:size=640x360:rate=30", 640, 360, 50, "yuv420p",
                     ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2"], "mp4"),
    "testsrc2_1280x720_x264": ("testsrc2=size=1280x720:rate=60", 1280, 720, 95, "yuv420p",
                               ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-bf", "3"], "mp4"),
    # containers whose timestamps ffmpeg rewrites: MPEG-TS starts at 1.4 s (shifted to 0), a raw H.264
    # elementary stream has no pts at all, AVI has only dts (mpeg4 with B-frames)
    "testsrc2_320x240_ts": ("testsrc2=size=320x240:rate=30", 320, 240, 50, "yuv420p",
                            ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "3"], "ts"),
    "mandelbrot_176x144_h264": ("mandelbrot=size=176x144:rate=25", 176, 144, 20, "yuv420p",
                                ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2"], "h264"),
    "testsrc_200x120_avi": ("testsrc=size=200x120:rate=24", 200, 120, 30, "yuv420p",
                            ["-c:v", "mpeg4", "-bf", "2"], "avi"),
    "testsrc2_3840x2160": ("testsrc2=size=3840x2160:rate=25", 3840, 2160, 3, "yuv420p", LOSSLESS, "mkv"),
    "noise_3840x2160_bright": ("color=c=0xb5b5b5:size=3840x2160:rate=25,noise=alls=60:allf=t+u", 3840, 2160, 1,
                               "yuv420p", RAW, "nut"),
    "noise_4097x2161": ("color=c=0x909090:size=4097x2161:rate=25,noise=alls=100:allf=t+u", 4097, 2161, 2,
                        "yuv420p", RAW, "avi"),
    "testsrc2_5120x2880": ("testsrc2=size=5120x2880:rate=25", 5120, 2880, 2, "yuv420p", RAW, "nut"),
}


_run = ffmpeg


class _Clip:
    def __init__(self, name: str, root):
        src, w, h, n, pix_fmt, enc, ext = CLIPS[name]
        self.name, self.width, self.height, self.frames = name, w, h, n
        d = root / name
        d.mkdir()
        self.path = d / f"clip.{ext}"
        # some sources round odd sizes down to even ones: a final scale gives the exact size
        _run("-f", "lavfi", "-i", f"{src},format=yuv444p,scale={w}:{h}", "-frames:v", str(n), "-pix_fmt", pix_fmt, *enc, str(self.path))
        self.bin = d / "ffmpeg.bin"
        self.xml = d / "ffmpeg.xml"
        raw = d / "luma.yuv"
        # The commands of spec/vsig.md §8, verbatim.
        _run("-i", str(self.path), "-map", "0:v:0", "-vf", f"format=yuv420p,signature=filename={self.bin}",
             "-f", "null", "-")
        _run("-i", str(self.path), "-map", "0:v:0", "-vf",
             f"format=yuv420p,signature=format=xml:filename={self.xml}", "-f", "null", "-")
        _run("-i", str(self.path), "-map", "0:v:0", "-vf", "format=yuv420p", "-f", "rawvideo", str(raw))
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=time_base", "-of", "json",
             str(self.path)], check=True, capture_output=True, text=True).stdout)
        num, den = probe["streams"][0]["time_base"].split("/")
        self.time_base = (int(num), int(den))
        # Raw luma has no timestamps: the raw-luma test feeds the pts the filter saw (from FFmpeg's own file;
        # all below 2^32 here). compute_file's test checks lpcore's own pts derivation.
        self.pts = vsig.VideoSignature.from_binary(self.bin.read_bytes()).pts
        self.raw = np.fromfile(raw, np.uint8)

    def luma(self) -> np.ndarray:
        """The Y planes of the yuv420p dump as a strided (N, H, W) view (frame stride includes the chroma)."""
        w, h = self.width, self.height
        frame = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
        n = len(self.raw) // frame
        assert n * frame == len(self.raw)
        return np.lib.stride_tricks.as_strided(self.raw, shape=(n, h, w), strides=(frame, w, 1), writeable=False)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("vsig_clips")
    cache: dict[str, _Clip] = {}

    def get(name: str) -> _Clip:
        if name not in cache:
            cache[name] = _Clip(name, root)
        return cache[name]
    return get


@pytest.mark.parametrize("name", list(CLIPS))
def test_compute_file_matches_ffmpeg(clips, name):
    clip = clips(name)
    sig = vsig.compute_file(clip.path)
    assert (sig.width, sig.height) == (clip.width, clip.height)
    assert len(sig) == clip.frames
    assert sig.to_binary() == clip.bin.read_bytes()
    assert sig.to_xml() == clip.xml.read_text()


@pytest.mark.parametrize("name", list(CLIPS))
def test_compute_raw_luma_matches_ffmpeg(clips, name):
    clip = clips(name)
    luma = clip.luma()
    sig = vsig.compute(luma, pts=clip.pts, time_base=clip.time_base)
    ref = clip.bin.read_bytes()
    assert sig.to_binary() == ref
    assert sig.to_xml() == clip.xml.read_text()
    parsed = vsig.VideoSignature.from_binary(ref)
    assert parsed.to_binary() == ref
    assert np.array_equal(parsed.framesig, sig.framesig) and np.array_equal(parsed.words, sig.words)
    assert np.array_equal(parsed.confidence, sig.confidence)


def test_streamed_planes_and_threads_match(clips):
    clip = clips("testsrc2_1280x720_x264")
    luma = clip.luma()
    ref = clip.bin.read_bytes()
    seen = []
    streamed = vsig.compute((plane for plane in luma), pts=clip.pts, time_base=clip.time_base,
                            progress=seen.append)
    assert streamed.to_binary() == ref
    assert seen[-1] == len(luma)
    single = vsig.compute(np.ascontiguousarray(luma), pts=clip.pts, time_base=clip.time_base, threads=1)
    assert single.to_binary() == ref


def test_modes_cover_wrap_and_divide():
    # the clip list exercises both of FFmpeg's overflow regimes (spec §1.3-§1.4)
    assert native.stream_params(5120, 2880)[0] and not native.stream_params(3840, 2160)[0]
    assert not native.stream_params(4096, 2160)[0] and native.stream_params(7680, 4320)[0]
    for w, h in [(1000, 562), (1919, 1081), (3840, 2160), (4097, 2161)]:
        assert native.stream_params(w, h)[1] > 224_350


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_display_rotation_matches_ffmpeg_autorotate(tmp_path, rotate):
    # ffmpeg's command autorotates by the display matrix (transpose/flip filters) before `format,signature`.
    base, rotated, out = tmp_path / "base.mp4", tmp_path / "rot.mp4", tmp_path / "ffmpeg.bin"
    _run("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "12", "-c:v", "libx264", "-preset",
         "ultrafast", str(base))
    _run("-i", str(base), "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", str(rotated))
    _run("-i", str(rotated), "-map", "0:v:0", "-vf", f"format=yuv420p,signature=filename={out}", "-f", "null", "-")
    sig = vsig.compute_file(rotated)
    assert (sig.width, sig.height) == ((96, 160) if rotate in (90, 270) else (160, 96))
    assert sig.to_binary() == out.read_bytes()
