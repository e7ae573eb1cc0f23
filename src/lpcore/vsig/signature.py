"""`VideoSignature`: an FFmpeg `signature` filter result as numpy arrays, with its binary and XML files."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import _native_vsig as _native
from ..errors import SignatureFormatError

__all__ = ["VideoSignature", "MAX_TIME_BASE_TERM", "check_time_base"]

_TRIT_DIVISORS = np.array([81, 27, 9, 3, 1], dtype=np.uint8)


def _as_array(name: str, value, dtype, shape: tuple) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype != dtype:
        if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
            raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
        if dtype == np.uint64 and arr.dtype.kind == "i":
            arr = arr.astype(np.int64).view(np.uint64)      # negative pts wrap like FFmpeg's int64 -> uint64 store
        else:
            info = np.iinfo(dtype)
            if arr.size and (int(arr.min()) < info.min or int(arr.max()) > info.max):
                raise ValueError(f"{name} values do not fit {np.dtype(dtype).name}")
            arr = arr.astype(dtype)
    arr = np.ascontiguousarray(arr)
    if arr.ndim != len(shape) or any(want is not None and got != want for got, want in zip(arr.shape, shape)):
        want_shape = tuple("N" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want_shape}, got {arr.shape}")
    return arr


def time_base_of(media_time_unit: int) -> tuple[int, int]:
    """The time base a binary file's 16-bit MediaTimeUnit stands for ((1, unit); 0 means 65536 truncated)."""
    return (1, media_time_unit or 65536)


class VideoSignature:
    """MPEG-7 video signature of one stream, exactly as FFmpeg's `signature` filter computes and stores it.

    Per frame (N): ``pts`` (uint64), ``confidence`` (uint8), ``words`` (N,5) and ``framesig`` (N,76, five trits
    per byte, 0..242). Per coarse segment (S): ``seg_first``/``seg_last`` frame indices (int64; -1 is the
    Livepeer importer's "no frame"), ``seg_start_pts``/``seg_end_pts`` and ``bags`` (S,5,31), five 243-bit
    bag-of-words bitmaps, MSB first. ``time_base`` is (num, den); the files store MediaTimeUnit = den // num.
    """

    __slots__ = ("width", "height", "time_base", "pts", "confidence", "words", "framesig", "seg_first", "seg_last",
                 "seg_start_pts", "seg_end_pts", "bags")

    def __init__(self, width: int, height: int, time_base: tuple[int, int], pts, confidence, words, framesig,
                 seg_first, seg_last, seg_start_pts, seg_end_pts, bags):
        if not (isinstance(width, (int, np.integer)) and isinstance(height, (int, np.integer))):
            raise TypeError("width and height must be integers")
        if not (1 <= width <= 65536 and 1 <= height <= 65536):
            raise ValueError(f"width/height out of range: {width}x{height}")
        self.width = int(width)
        self.height = int(height)
        self.time_base = check_time_base(time_base)
        self.pts = _as_array("pts", pts, np.uint64, (None,))
        n = len(self.pts)
        self.confidence = _as_array("confidence", confidence, np.uint8, (n,))
        self.words = _as_array("words", words, np.uint8, (n, _native.NWORDS))
        self.framesig = _as_array("framesig", framesig, np.uint8, (n, _native.FRAMESIG_BYTES))
        self.seg_first = _as_array("seg_first", seg_first, np.int64, (None,))
        s = len(self.seg_first)
        self.seg_last = _as_array("seg_last", seg_last, np.int64, (s,))
        self.seg_start_pts = _as_array("seg_start_pts", seg_start_pts, np.uint64, (s,))
        self.seg_end_pts = _as_array("seg_end_pts", seg_end_pts, np.uint64, (s,))
        self.bags = _as_array("bags", bags, np.uint8, (s, _native.NWORDS, _native.BAG_BYTES))
        if n and (self.words.max() > 242 or self.framesig.max() > 242):
            raise ValueError("words and framesig bytes must be 0..242 (five trits)")

    # -- construction -----------------------------------------------------------------------------------------
    @classmethod
    def from_frames(cls, width: int, height: int, time_base: tuple[int, int], pts, confidence, words,
                    framesig) -> "VideoSignature":
        """Builds the signature of a stream from its per-frame fields, deriving the coarse segments (spec §3)."""
        words = np.ascontiguousarray(words, dtype=np.uint8)
        pts = np.ascontiguousarray(pts, dtype=np.uint64)
        first, last, bags = _native.coarse(words)
        return cls(width, height, time_base, pts, confidence, words, framesig, first, last, pts[first], pts[last],
                   bags)

    @classmethod
    def from_binary(cls, data: bytes | bytearray | memoryview, *, livepeer: bool = False) -> "VideoSignature":
        """Parses FFmpeg's binary signature file.

        Strict (default): accepts exactly what FFmpeg writes, so ``to_binary()`` gives the same bytes back.
        ``livepeer=True``: the livepeer/FFmpeg fork's import rules (frame count from the data length, segment
        starts re-derived from pts). Raises :class:`lpcore.SignatureFormatError` on truncated or corrupt data.
        """
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        try:
            f = _native.from_binary(data, bool(livepeer))
        except _native.NativeFormatError as exc:
            raise SignatureFormatError(str(exc)) from None
        mtu = f.pop("media_time_unit")
        return cls(time_base=time_base_of(mtu), **f)

    # -- views ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.pts)

    @property
    def media_time_unit(self) -> int:
        """den // num of the time base (the binary file keeps its low 16 bits)."""
        return self.time_base[1] // self.time_base[0]

    def trits(self) -> np.ndarray:
        """The 380 trits (0..2) of every frame, (N,380) uint8."""
        t = (self.framesig[:, :, None] // _TRIT_DIVISORS) % 3
        return np.ascontiguousarray(t.reshape(len(self), 380))

    def _fields(self) -> tuple:
        return (self.width, self.height, self.media_time_unit, self.pts, self.confidence, self.words, self.framesig,
                self.seg_first, self.seg_last, self.seg_start_pts, self.seg_end_pts, self.bags)

    def to_binary(self) -> bytes:
        """FFmpeg's binary export (`signature=filename=X.bin`), byte for byte."""
        return _native.to_binary(*self._fields())

    def to_xml(self) -> str:
        """FFmpeg's XML export (`signature=format=xml`), character for character."""
        return _native.to_xml(*self._fields())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VideoSignature):
            return NotImplemented
        return (self.width, self.height, self.time_base) == (other.width, other.height, other.time_base) and all(
            np.array_equal(getattr(self, k), getattr(other, k)) for k in self.__slots__[3:])

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"VideoSignature({self.width}x{self.height}, {len(self)} frames, {len(self.seg_first)} segments, "
                f"time_base={self.time_base[0]}/{self.time_base[1]})")


# FFmpeg's time bases are AVRationals (two C ints), so no FFmpeg stream has a larger numerator or denominator;
# checking here makes compute()/VideoSignature() fail at once rather than to_binary() later.
MAX_TIME_BASE_TERM = 2**31 - 1


def check_time_base(time_base) -> tuple[int, int]:
    """The one ``time_base`` check of lpcore.vsig (VideoSignature, compute, compute_profile): a positive
    ``(num, den)`` pair or Fraction of C-int terms, returned as a tuple of ints."""
    if isinstance(time_base, Fraction):
        time_base = (time_base.numerator, time_base.denominator)
    try:
        num, den = time_base
    except (TypeError, ValueError):
        raise TypeError("time_base must be a (num, den) pair or a Fraction") from None
    if not all(isinstance(x, (int, np.integer)) for x in (num, den)):
        raise TypeError("time_base must hold integers")
    if num <= 0 or den <= 0:
        raise ValueError(f"time_base must be positive, got {num}/{den}")
    if num > MAX_TIME_BASE_TERM or den > MAX_TIME_BASE_TERM:
        raise ValueError(f"time_base terms must be at most {MAX_TIME_BASE_TERM} (FFmpeg's AVRational is two C ints), "
                         f"got {num}/{den}")
    return (int(num), int(den))


