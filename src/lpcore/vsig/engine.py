"""Signature computation: frames (numpy, or an iterable of planes) and video files (PyAV) -> VideoSignature.

The CPU/GPU dispatch point is `_backend()`: it maps a device name to a function that signs one chunk of frames
(the CUDA one lives in `cuda.py` and imports CuPy only when used).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

import numpy as np

from .. import _native_vsig as _native
from .._args import threads as _threads_arg
from . import cuda as _cuda
from ..errors import LpcoreError, VideoDecodeError
from .signature import VideoSignature, check_time_base

__all__ = ["compute", "compute_file", "VideoSizeError"]

# Frames per batch for streamed input: bounded memory, CHUNK_BYTES of luma at most (one frame when a single frame
# is larger), which is 8+ frames per batch for every size up to 2896x2896, enough to keep the cores busy.
CHUNK_BYTES = 64 << 20

Progress = Callable[[int], None]
# A backend maps a (K,H,W) uint8 chunk to (framesig (K,76), words (K,5), confidence (K,)) numpy arrays. The CUDA
# backend (device == "cuda") also takes CuPy chunks.
Backend = Callable[[Any], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _cpu_backend(threads: int | None) -> Backend:
    def run(chunk: np.ndarray):
        if chunk.strides[2] != 1:
            chunk = np.ascontiguousarray(chunk)
        # a forked child runs on one thread: csrc/common/lp_threads.c guards every module against libgomp's fork hang
        return _native.compute_frames(chunk, threads)
    return run


def _backend(device: str, threads: int | None = None, on_gpu: bool = False) -> Backend:
    """The one dispatch point between CPU and GPU: returns the per-chunk signature function for ``device``.

    "cuda" needs CuPy and a device (else DeviceUnavailable); "auto" is CUDA when both are present or when the
    frames already live on the GPU (``on_gpu``), else the CPU.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" or (device == "auto" and (on_gpu or _cuda.available())):
        return _cuda.CudaBackend()
    return _cpu_backend(threads)


def _on_cuda(backend: Backend) -> bool:
    return getattr(backend, "device", "cpu") == "cuda"


def check_size(height: int, width: int) -> None:
    if height < _native.MIN_DIM or width < _native.MIN_DIM:
        raise ValueError(f"frames must be at least {_native.MIN_DIM}x{_native.MIN_DIM} pixels "
                         f"(FFmpeg's filter divides by zero below that), got {width}x{height}")
    if height > _native.MAX_DIM or width > _native.MAX_DIM:
        raise ValueError(f"frames larger than {_native.MAX_DIM} pixels per side are not supported, "
                         f"got {width}x{height}")


def check_plane_array(frames: np.ndarray, ndim: int, what: str) -> None:
    if frames.dtype != np.uint8:
        raise TypeError(f"{what} must be 8-bit luma (dtype uint8), got dtype {frames.dtype}")
    if frames.ndim != ndim:
        shape = "(N, H, W)" if ndim == 3 else "(H, W)"
        raise ValueError(f"{what} must have shape {shape}, got {frames.ndim} dimension(s) {frames.shape}")


def check_threads(threads) -> None:
    _threads_arg(threads)  # lpcore's one rule; the value itself goes to the native call unchanged


def pts_array(pts, n: int) -> np.ndarray:
    if pts is None:
        return np.arange(n, dtype=np.uint64)
    if isinstance(pts, Iterable) and not hasattr(pts, "__len__"):
        pts = list(pts)
    arr = np.asarray(pts)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"pts must be a 1-D sequence of {n} timestamps, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"pts must be integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "i":
        return np.ascontiguousarray(arr.astype(np.int64).view(np.uint64))  # FFmpeg stores int64 pts as uint64
    return np.ascontiguousarray(arr.astype(np.uint64))


class _Accumulator:
    """Collects per-frame results chunk by chunk; memory is O(signature) plus one chunk of frames."""

    def __init__(self, backend: Backend, progress: Progress | None):
        self.backend = backend
        self.progress = progress
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.done = 0

    def add(self, chunk) -> None:
        self.parts.append(self.backend(chunk))
        self.done += len(chunk)
        if self.progress is not None:
            self.progress(self.done)

    def result(self, width: int, height: int, pts, time_base) -> VideoSignature:
        if self.done == 0:
            raise ValueError("frames is empty: a signature needs at least one frame")
        framesig = np.concatenate([p[0] for p in self.parts])
        words = np.concatenate([p[1] for p in self.parts])
        conf = np.concatenate([p[2] for p in self.parts])
        pts = pts_array(pts, self.done)
        return VideoSignature.from_frames(width, height, time_base, pts, conf, words, framesig)


def _chunk_len(height: int, width: int) -> int:
    return max(1, CHUNK_BYTES // (height * width))


def compute(frames: np.ndarray | Iterable[np.ndarray], pts: np.ndarray | Iterable[int] | None = None,
            time_base: tuple[int, int] = (1, 1), device: str = "auto", *, threads: int | None = None,
            progress: Progress | None = None) -> VideoSignature:
    """Signature of a stream of 8-bit luma frames, bit-identical to FFmpeg's `signature` filter.

    ``frames`` is a ``(N, H, W)`` uint8 array (any strides) or an iterable of ``(H, W)`` uint8 planes, which is
    processed in bounded chunks. GPU arrays (CuPy, ``__cuda_array_interface__``, CUDA DLPack) are read in place
    by the CUDA backend. ``device``: "cpu", "cuda" (raises :class:`lpcore.DeviceUnavailable` without CuPy or a
    GPU) or "auto" (CUDA when available or when the frames are on the GPU). Both give identical output.
    ``pts`` (default ``0..N-1``) and ``time_base`` (num, den) only go into the files. ``threads``: CPU threads
    (default all cores). ``progress(frames_done)`` is called after each chunk.
    Raises ValueError/TypeError for frames smaller than 32x32, a wrong dtype/shape or no frames.
    """
    time_base = check_time_base(time_base)
    check_threads(threads)
    on_gpu = _cuda.is_device_array(frames)
    backend = _backend(device, threads, on_gpu)
    acc = _Accumulator(backend, progress)
    if on_gpu:
        frames = _cuda.as_cupy(frames)
        if not _on_cuda(backend):
            frames = frames.get()  # device="cpu" asked for the CPU: one device-to-host copy
    if isinstance(frames, np.ndarray) or on_gpu:
        check_plane_array(frames, 3, "frames")
        n, height, width = frames.shape
        check_size(height, width)
        if n:
            pts = pts_array(pts, n)  # fail before the work
        step = _chunk_len(height, width) if progress is not None else max(n, 1)
        for start in range(0, n, step):
            acc.add(frames[start:start + step])
        return acc.result(width, height, pts, time_base)
    if isinstance(frames, (str, bytes, bytearray)) or not isinstance(frames, Iterable):
        raise TypeError(f"frames must be a (N, H, W) uint8 array or an iterable of (H, W) planes, "
                        f"got {type(frames).__name__}")
    return _compute_stream(iter(frames), acc, pts, time_base)


def _plane_reader(first, backend: Backend):
    """(convert one plane, allocate a chunk buffer) for a stream whose first plane is ``first``: GPU planes are
    gathered into a GPU buffer for the CUDA backend (no host copy), everything else into a host buffer."""
    if not _cuda.is_device_array(first):
        return np.asarray, np.empty
    if _on_cuda(backend):
        return _cuda.as_cupy, _cuda.cupy_module().empty
    return (lambda plane: plane if isinstance(plane, np.ndarray) else _cuda.as_cupy(plane).get()), np.empty


def _compute_stream(planes, acc: _Accumulator, pts, time_base) -> VideoSignature:
    first = next(planes, None)
    if first is None:
        raise ValueError("frames is empty: a signature needs at least one frame")
    as_plane, empty = _plane_reader(first, acc.backend)
    first = as_plane(first)
    check_plane_array(first, 2, "each frame")
    height, width = first.shape
    check_size(height, width)
    buf = empty((_chunk_len(height, width), height, width), np.uint8)
    k = 0
    for plane in itertools.chain([first], planes):
        plane = as_plane(plane)
        check_plane_array(plane, 2, "each frame")
        if plane.shape != (height, width):
            raise ValueError(f"all frames must have the same size: {width}x{height} then "
                             f"{plane.shape[1]}x{plane.shape[0]}")
        buf[k] = plane
        k += 1
        if k == len(buf):
            acc.add(buf)
            k = 0
    if k:
        acc.add(buf[:k])
    return acc.result(width, height, pts, time_base)


# FFmpeg 5.1's `format=yuv420p` passes yuv420p through untouched and leaves the luma of limited-range yuv422p /
# yuv444p unchanged, so those planes are read straight from the decoded frame. Everything else (gray and yuvj*,
# which 5.1 treats as full range and compresses to limited range; full-range-tagged frames; RGB; >8-bit) goes
# through swscale like the ffmpeg command's auto-inserted scaler. Newer libavfilter (PyAV's) negotiates colour
# ranges instead of converting, so the graph asks for limited range explicitly ("out_range=limited"), which
# reproduces 5.1 (checked against Debian FFmpeg 5.1 for gray, yuvj420p from MJPEG and H.264, RGB, 10-bit).
_DIRECT_LUMA = {"yuv420p", "yuv422p", "yuv444p"}
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


def _is_direct(frame) -> bool:
    name = frame.format.name
    return name == "yuv420p" or (name in _DIRECT_LUMA and getattr(frame, "color_range", 0) != _FULL_RANGE)


def display_matrix(frame) -> np.ndarray | None:
    for sd in getattr(frame, "side_data", ()):
        if "DISPLAYMATRIX" in str(getattr(sd, "type", "")).upper():
            m = np.frombuffer(bytes(sd), dtype="=i4")
            if m.shape == (9,):
                return m
    return None


def orientation(matrix: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """The pixel transform ffmpeg 5.1's autorotate inserts for a display matrix (exact transposes/flips only).

    theta = -round(av_display_rotation_get(m)) normalised to [0, 360), then transpose/hflip/vflip as the ffmpeg
    command does. Other angles would go through the `rotate` filter (interpolating) and are refused.
    """
    if matrix is None:
        return lambda plane: plane
    fp = matrix.astype(np.float64) / 65536.0
    s0, s1 = math.hypot(fp[0], fp[3]), math.hypot(fp[1], fp[4])
    if s0 == 0.0 or s1 == 0.0:
        return lambda plane: plane
    rotation = -math.degrees(math.atan2(fp[1] / s1, fp[0] / s0))
    theta = -float(round(rotation)) + 0.0
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1.0:
        if matrix[3] > 0:
            return lambda plane: plane.T                                  # transpose=cclock_flip
        return lambda plane: np.rot90(plane, -1)                          # transpose=clock
    if abs(theta - 180) < 1.0:
        return lambda plane: plane[::-1 if matrix[4] < 0 else 1, ::-1 if matrix[0] < 0 else 1]
    if abs(theta - 270) < 1.0:
        if matrix[3] < 0:
            return lambda plane: plane[::-1, ::-1].T                      # transpose=clock_flip
        return lambda plane: np.rot90(plane, 1)                           # transpose=cclock
    if abs(theta) > 1.0:
        raise VideoDecodeError(f"display rotation of {theta:.0f} degrees: ffmpeg would interpolate with its "
                               "`rotate` filter, which lpcore does not reproduce")
    if matrix[4] < 0:
        return lambda plane: plane[::-1]                                  # vflip
    return lambda plane: plane


class LumaReader:
    """The 8-bit luma FFmpeg's `format=yuv420p,signature` sees for each decoded frame of one stream, including
    the ffmpeg command's autorotation (taken from the first frame's display matrix, like 5.1's stream-level one)."""

    def __init__(self, stream):
        self.stream = stream
        self.graph = None
        self.orient = None

    def _convert(self, frame):
        import av

        if self.graph is None:
            graph = av.filter.Graph()
            src = graph.add_buffer(template=self.stream)
            scale = graph.add("scale", "out_range=limited")
            fmt = graph.add("format", "yuv420p")
            sink = graph.add("buffersink")
            src.link_to(scale)
            scale.link_to(fmt)
            fmt.link_to(sink)
            graph.configure()
            self.graph = graph
        self.graph.push(frame)
        return self.graph.pull()

    def __call__(self, frame) -> np.ndarray:
        if self.orient is None:
            self.orient = orientation(display_matrix(frame))
        if not _is_direct(frame):
            frame = self._convert(frame)
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return self.orient(rows[:, :plane.width])


def _rescale(a: int, b: Fraction, c: Fraction) -> int:
    """av_rescale_q(a, b, c): a*b/c rounded to nearest, halves away from zero."""
    q = Fraction(a) * b / c
    r = math.floor(abs(q) + Fraction(1, 2))
    return r if q >= 0 else -r


class FrameClock:
    """The pts the ffmpeg command (5.1) hands to the filter for each decoded frame.

    ffmpeg shifts every input timestamp by -start_time of the file (so MPEG-TS starts near 0), and when a frame
    has no pts (raw elementary streams) it continues from the previous one plus its duration.
    """

    def __init__(self, container, stream):
        tb = stream.time_base or Fraction(1, 1)
        start = container.start_time
        self.offset = _rescale(-start, Fraction(1, 1_000_000), tb) if start is not None else 0
        rate = stream.average_rate or stream.guessed_rate
        self.default_duration = _rescale(1, 1 / Fraction(rate), tb) if rate else 1
        self.next = None

    def __call__(self, frame) -> int:
        if frame.pts is not None:
            pts = frame.pts + self.offset
        else:
            pts = self.next if self.next is not None else 0
        duration = getattr(frame, "duration", None) or self.default_duration
        self.next = pts + duration
        return pts


class VideoSizeError(VideoDecodeError, ValueError):
    """A decoded video whose frames the signature filter cannot sign (smaller than 32x32, or too large)."""


@contextlib.contextmanager
def _decode_errors(name: str, what: str = "decode"):
    """The one place where PyAV's failures become :class:`VideoDecodeError`. On corrupt input PyAV raises not only
    ``av.error.FFmpegError`` but also ``IndexError``, ``UnicodeDecodeError`` (metadata, side data) and others;
    every one of them means "this file cannot be decoded". lpcore's own errors pass through unchanged, and running
    out of memory stays a MemoryError."""
    try:
        yield
    except (LpcoreError, MemoryError):
        raise
    except Exception as exc:
        raise VideoDecodeError(f"cannot {what} {name!r}: {type(exc).__name__}: {exc}") from None


def _decoded_luma(name: str):
    """Yields ``(time_base, None)`` once, then ``(luma plane, pts)`` per decoded frame of the first video stream.
    Everything that touches PyAV runs under :func:`_decode_errors`; the consumer's own work between frames does not."""
    import av  # deferred: only file input needs PyAV

    with _decode_errors(name, "open"):
        container = av.open(name)
    try:
        with _decode_errors(name):
            if not container.streams.video:
                raise VideoDecodeError(f"{name!r} has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            tb = stream.time_base
            luma_of = LumaReader(stream)
            clock = FrameClock(container, stream)
            frames = container.decode(stream)
        yield ((tb.numerator, tb.denominator) if tb is not None else (1, 1)), None
        while True:
            with _decode_errors(name):
                frame = next(frames, None)
                if frame is None:
                    return
                luma, pts = luma_of(frame), clock(frame)
            yield luma, pts
    finally:
        with _decode_errors(name, "close"):
            container.close()


def compute_file(path: str | os.PathLike, device: str = "auto", *, threads: int | None = None,
                 progress: Progress | None = None) -> VideoSignature:
    """Signature of the first video stream of a file, byte-identical to
    ``ffmpeg -i PATH -map 0:v:0 -vf format=yuv420p,signature=filename=X.bin -f null -`` (same pts and time base).

    Decodes with PyAV in chunks of at most ``CHUNK_BYTES`` of luma (one frame when a frame is larger). Raises
    :class:`lpcore.VideoDecodeError` for any file that cannot be opened or decoded or has no video stream
    (:class:`VideoSizeError`, also a ValueError, for frames the filter cannot sign).
    """
    check_threads(threads)
    backend = _backend(device, threads)
    acc = _Accumulator(backend, progress)
    name = os.fspath(path)
    pts: list[int] = []
    buf = None
    k = 0
    with contextlib.closing(_decoded_luma(name)) as decoded:  # closes the file even if signing fails
        time_base, _ = next(decoded)
        for luma, frame_pts in decoded:
            if buf is None:
                height, width = luma.shape
                try:
                    check_size(height, width)
                except ValueError as exc:
                    raise VideoSizeError(f"{name!r}: {exc}") from None
                buf = np.empty((_chunk_len(height, width), height, width), np.uint8)
            elif luma.shape != buf.shape[1:]:
                raise VideoDecodeError(f"frame size changed mid-stream in {name!r}")
            buf[k] = luma
            k += 1
            pts.append(frame_pts)
            if k == len(buf):
                acc.add(buf)
                k = 0
    if buf is None:
        raise VideoDecodeError(f"{name!r} has no decodable video frame")
    if k:
        acc.add(buf[:k])
    return acc.result(buf.shape[2], buf.shape[1], np.array(pts, dtype=np.int64), time_base)
