"""Verification profiles: compact per-frame block statistics computed in the signature's pass.

A :class:`VideoProfile` holds, for each frame, the 32x32 luma block means, the luma block spreads (2 x standard
deviation over the sampled rows) and the 16x16 chroma (U, V) cell means, as bytes, together with the stream's
MPEG-7 :class:`~lpcore.vsig.VideoSignature` (computed from the same luma in the same pass, so it is byte-identical
to :func:`lpcore.vsig.compute`). The arithmetic is ``kernels/vsig_common.h``, run by ``csrc/vsig`` on the CPU and
by ``kernels/vsig.cu`` on the GPU, identical on both. :mod:`lpcore.verify.detect` compares two profiles.

File format ("LPVP", version 1; all integers little-endian; documented in docs/verification.md)::

    0   4  magic b"LPVP"
    4   1  version (1)
    5   1  flags: bit 0 = payload is zlib-deflated; other bits must be 0
    6   1  luma grid (32)          7   1  chroma grid (16)
    8   4  width                   12  4  height          (32..65536)
    16  4  chroma width            20  4  chroma height   (16..width, 16..height)
    24  4  frames N (>= 1)         28  4  signature length L
    32  4  payload length P        36  4  CRC-32 (zlib) of bytes 40..end
    40  L  FFmpeg's binary signature of the stream (strict), N frames, width x height
    40+L P  N x 2560 profile bytes (ymean[1024], yspread[1024], umean[256], vmean[256] per frame), raw or deflated

The parser is strict: every field is checked, the length must be exactly 40 + L + P, the CRC must match, and
a deflated payload must inflate to exactly N x 2560 bytes (never more is inflated).
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import numpy as np

from .. import _native_vsig as _native
from ..errors import SignatureFormatError, VideoDecodeError
from .signature import VideoSignature, check_time_base

__all__ = ["VideoProfile", "compute_profile", "compute_profile_file", "PROFILE_VERSION", "PROFILE_BYTES"]

PROFILE_VERSION = 1
PROFILE_BYTES = _native.PROFILE_BYTES          # 2560 per frame
_MAGIC = b"LPVP"
_HEADER = struct.Struct("<4sBBBBIIIIIIII")       # 40 bytes
_FLAG_DEFLATE = 1
_LUMA_GRID, _CHROMA_GRID = 32, 16


class VideoProfile:
    """Per-frame verification profile of one stream plus its MPEG-7 signature.

    ``data``: (N, 2560) uint8, per frame ``ymean`` (32x32), ``yspread`` (32x32), ``umean`` and ``vmean`` (16x16);
    the named properties are views of it. ``signature``: the stream's :class:`VideoSignature`.
    ``chroma_size``: (width, height) of the chroma planes the profile was computed from.
    """

    __slots__ = ("signature", "data", "chroma_size", "_cache")

    def __init__(self, signature: VideoSignature, data, chroma_size: tuple[int, int]):
        if not isinstance(signature, VideoSignature):
            raise TypeError("signature must be a VideoSignature")
        data = np.ascontiguousarray(data, dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != PROFILE_BYTES or data.shape[0] != len(signature):
            raise ValueError(f"profile data must have shape ({len(signature)}, {PROFILE_BYTES}), got {data.shape}")
        cw, ch = (int(x) for x in chroma_size)
        if not (16 <= cw <= signature.width and 16 <= ch <= signature.height):
            raise ValueError(f"chroma size {cw}x{ch} does not fit a {signature.width}x{signature.height} stream")
        self.signature = signature
        self.data = data
        self.chroma_size = (cw, ch)
        self._cache: dict = {}

    # -- views ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data)

    @property
    def width(self) -> int:
        return self.signature.width

    @property
    def height(self) -> int:
        return self.signature.height

    @property
    def ymean(self) -> np.ndarray:
        return self.data[:, :1024].reshape(-1, 32, 32)

    @property
    def yspread(self) -> np.ndarray:
        return self.data[:, 1024:2048].reshape(-1, 32, 32)

    @property
    def umean(self) -> np.ndarray:
        return self.data[:, 2048:2304].reshape(-1, 16, 16)

    @property
    def vmean(self) -> np.ndarray:
        return self.data[:, 2304:2560].reshape(-1, 16, 16)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VideoProfile):
            return NotImplemented
        return (self.chroma_size == other.chroma_size and self.signature == other.signature
                and np.array_equal(self.data, other.data))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"VideoProfile({self.width}x{self.height}, {len(self)} frames, chroma {self.chroma_size[0]}x" \
               f"{self.chroma_size[1]})"

    # -- file format ------------------------------------------------------------------------------------------
    def to_bytes(self, *, compress: bool = True) -> bytes:
        """The LPVP v1 file (module docstring); ``compress`` deflates the profile payload (about 2-3x smaller)."""
        sig = self.signature.to_binary()
        payload = self.data.tobytes()
        flags = 0
        if compress:
            payload = zlib.compress(payload, 6)
            flags |= _FLAG_DEFLATE
        body = sig + payload
        head = _HEADER.pack(_MAGIC, PROFILE_VERSION, flags, _LUMA_GRID, _CHROMA_GRID, self.width, self.height,
                            self.chroma_size[0], self.chroma_size[1], len(self), len(sig), len(payload),
                            zlib.crc32(body))
        return head + body

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "VideoProfile":
        """Parses an LPVP file strictly. Raises :class:`lpcore.SignatureFormatError` (a ValueError) on any
        truncation, extra byte, unknown version/flag, inconsistent field or checksum mismatch."""
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise SignatureFormatError(f"profile: {len(data)} bytes is shorter than the {_HEADER.size}-byte header")
        (magic, version, flags, lgrid, cgrid, w, h, cw, ch, n, sig_len, pay_len,
         crc) = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise SignatureFormatError("profile: not an lpcore profile (bad magic)")
        if version != PROFILE_VERSION:
            raise SignatureFormatError(f"profile: unsupported version {version} (this lpcore reads {PROFILE_VERSION})")
        if flags & ~_FLAG_DEFLATE:
            raise SignatureFormatError(f"profile: unknown flags 0x{flags:02x}")
        if (lgrid, cgrid) != (_LUMA_GRID, _CHROMA_GRID):
            raise SignatureFormatError(f"profile: grid {lgrid}/{cgrid}, expected {_LUMA_GRID}/{_CHROMA_GRID}")
        if not (32 <= w <= 65536 and 32 <= h <= 65536 and 16 <= cw <= w and 16 <= ch <= h):
            raise SignatureFormatError(f"profile: bad sizes {w}x{h}, chroma {cw}x{ch}")
        if n < 1:
            raise SignatureFormatError("profile: zero frames")
        if _HEADER.size + sig_len + pay_len != len(data):
            raise SignatureFormatError(f"profile: length {len(data)} != header {_HEADER.size} + signature {sig_len}"
                                       f" + payload {pay_len} (truncated or trailing bytes)")
        if zlib.crc32(memoryview(data)[_HEADER.size:]) != crc:
            raise SignatureFormatError("profile: checksum mismatch (corrupt data)")
        sig = VideoSignature.from_binary(data[_HEADER.size:_HEADER.size + sig_len])  # strict FFmpeg parser
        if (sig.width, sig.height, len(sig)) != (w, h, n):
            raise SignatureFormatError(f"profile: embedded signature is {sig.width}x{sig.height}, {len(sig)} frames;"
                                       f" header says {w}x{h}, {n} frames")
        # n is bounded by the signature's own length (>= 86 bytes per frame), so this allocation is too.
        want = n * PROFILE_BYTES
        payload = data[_HEADER.size + sig_len:]
        if flags & _FLAG_DEFLATE:
            d = zlib.decompressobj()
            try:
                raw = d.decompress(payload, want)
            except zlib.error as exc:
                raise SignatureFormatError(f"profile: bad deflate payload ({exc})") from None
            if len(raw) != want or d.unconsumed_tail or not d.eof or d.unused_data:
                raise SignatureFormatError(f"profile: payload does not inflate to exactly {want} bytes")
        else:
            raw = payload
            if len(raw) != want:
                raise SignatureFormatError(f"profile: payload is {len(raw)} bytes, expected {want}")
        prof = np.frombuffer(raw, np.uint8).reshape(n, PROFILE_BYTES)
        return cls(sig, prof.copy(), (cw, ch))


# ------------------------------------------------------------------------------------------------ computing

def _check_planes(y, u, v):
    from .engine import check_plane_array, check_size

    for name, a in (("y", y), ("u", u), ("v", v)):
        check_plane_array(a, 3, name)
    n, h, w = y.shape
    check_size(h, w)
    if u.shape != v.shape or u.shape[0] != n:
        raise ValueError(f"u and v must be (N, Hc, Wc) with N = {n} frames and equal shapes, got {u.shape}, {v.shape}")
    if not (16 <= u.shape[2] <= w and 16 <= u.shape[1] <= h):
        raise ValueError(f"chroma planes must be between 16x16 and the luma size, got {u.shape[2]}x{u.shape[1]}")


def _profile_backend(device: str, threads: int | None, on_gpu: bool = False):
    """The per-chunk profile function for ``device`` (same dispatch as the signature's ``_backend``): maps
    (y, u, v) chunks to (framesig, words, confidence, profile)."""
    from . import engine

    backend = engine._backend(device, threads, on_gpu)
    if engine._on_cuda(backend):
        return backend.profile

    def run(y, u, v):
        y, u, v = (a if a.strides[2] == 1 else np.ascontiguousarray(a) for a in (y, u, v))
        return _native.compute_profile_frames(y, u, v, threads or 0)
    return run


def compute_profile(y, u, v, pts=None, time_base=(1, 1), device: str = "auto", *,
                    threads: int | None = None) -> VideoProfile:
    """Profile (and signature) of planar YUV frames: ``y`` (N, H, W), ``u`` and ``v`` (N, Hc, Wc) uint8 arrays,
    any strides (numpy; CuPy/GPU arrays go to the CUDA backend). The signature equals
    ``lpcore.vsig.compute(y, pts, time_base)``. ``device``: "cpu", "cuda" or "auto", identical output."""
    from . import cuda as _cuda
    from .engine import check_threads, pts_array

    time_base = check_time_base(time_base)
    check_threads(threads)
    on_gpu = _cuda.is_device_array(y)
    if on_gpu:
        y, u, v = (_cuda.as_cupy(a) for a in (y, u, v))
    else:
        y, u, v = (np.asarray(a) for a in (y, u, v))
    _check_planes(y, u, v)
    n = y.shape[0]
    if n == 0:
        raise ValueError("frames is empty: a profile needs at least one frame")
    pts = pts_array(pts, n)
    run = _profile_backend(device, threads, on_gpu)
    if on_gpu and not hasattr(run, "__self__"):
        y, u, v = (a.get() for a in (y, u, v))
    framesig, words, conf, prof = run(y, u, v)
    sig = VideoSignature.from_frames(y.shape[2], y.shape[1], time_base, pts, conf, words, framesig)
    return VideoProfile(sig, prof, (u.shape[2], u.shape[1]))


def _decode_planes(source: Any, max_frames: int):
    """(y, u, v, pts, time_base) of the first video stream of a path or encoded bytes, as FFmpeg's
    ``format=yuv420p`` delivers it (the luma the signature reads, see engine.LumaReader)."""
    import io

    import av

    from .engine import FrameClock, LumaReader, check_size, display_matrix, orientation

    name = "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else repr(os.fspath(source))
    src = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    try:
        container = av.open(src)
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoDecodeError(f"cannot open {name}: {exc}") from None
    ys, us, vs, pts = [], [], [], []
    with container:
        if not container.streams.video:
            raise VideoDecodeError(f"{name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        reader = LumaReader(stream)
        clock = FrameClock(container, stream)
        try:
            for frame in container.decode(stream):
                if len(ys) >= max_frames:
                    raise VideoDecodeError(f"{name} has more than {max_frames} frames (max_frames)")
                if reader.orient is None:  # from the first frame's display matrix, like the signature's reader
                    reader.orient = orientation(display_matrix(frame))
                f420 = frame if frame.format.name == "yuv420p" else reader._convert(frame)
                planes = []
                for i in range(3):
                    p = f420.planes[i]
                    rows = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width]
                    planes.append(reader.orient(rows).copy())
                if ys and planes[0].shape != ys[0].shape:
                    raise VideoDecodeError(f"frame size changed mid-stream in {name}")
                if not ys:
                    check_size(*planes[0].shape)
                ys.append(planes[0])
                us.append(planes[1])
                vs.append(planes[2])
                pts.append(clock(frame))
        except av.error.FFmpegError as exc:
            raise VideoDecodeError(f"cannot decode {name}: {exc}") from None
        tb = stream.time_base
    if not ys:
        raise VideoDecodeError(f"{name} has no decodable video frame")
    time_base = (tb.numerator, tb.denominator) if tb is not None else (1, 1)
    return np.stack(ys), np.stack(us), np.stack(vs), np.array(pts, dtype=np.int64), time_base


def compute_profile_file(source: str | os.PathLike | bytes, device: str = "auto", *, threads: int | None = None,
                         max_frames: int = 100_000) -> VideoProfile:
    """Profile of the first video stream of a file (path) or of encoded bytes; its signature is byte-identical to
    :func:`lpcore.vsig.compute_file`'s. Raises :class:`lpcore.VideoDecodeError` if it cannot be decoded, and if
    it has more than ``max_frames`` frames (decoded frames are held in memory: a segment, not a film)."""
    y, u, v, pts, tb = _decode_planes(source, max_frames)
    return compute_profile(y, u, v, pts, tb, device, threads=threads)
