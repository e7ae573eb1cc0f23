"""Small clips and manifests for the verification-batch tests (lpcore.verify.batch), made with ffmpeg."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from tests._shared import ffmpeg, needs_ffmpeg  # noqa: F401  (needs_ffmpeg: re-exported)

_ffmpeg = ffmpeg


def _clip(path: Path, source: str, crf: int) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"{source}=size=160x90:rate=25", "-t", "1", "-pix_fmt", "yuv420p",
            "-c:v", "libx264", "-crf", str(crf), str(path))
    return path


@dataclass
class Clips:
    """ref: 1 s testsrc2; same, same2: ref re-encoded (honest renditions: x264 CRF 32, MPEG-4); boxed: ref with a
    filled box over 12 % of the frame, re-encoded (tampered); other: different content; corrupt: random bytes
    with a video suffix; truncated: ref's first 600 bytes; missing: a path that does not exist."""

    dir: Path
    ref: str
    same: str
    same2: str
    other: str
    corrupt: str
    truncated: str
    missing: str
    boxed: str = ""

    def pairs(self) -> list[tuple[str, str]]:
        """Every kind of outcome: two matches, a mismatch, two undecodable and one missing candidate."""
        return [(self.ref, self.same), (self.ref, self.other), (self.ref, self.corrupt), (self.ref, self.same2),
                (self.ref, self.missing), (self.same, self.ref), (self.ref, self.truncated)]

    def clean_pairs(self) -> list[tuple[str, str]]:
        return [(self.ref, self.same), (self.ref, self.same2), (self.same, self.ref), (self.same2, self.same)]


def make_clips(directory: Path) -> Clips:
    directory.mkdir(parents=True, exist_ok=True)
    ref = _clip(directory / "ref.mp4", "testsrc2", 18)
    same = directory / "same.mp4"
    _ffmpeg("-i", str(ref), "-c:v", "libx264", "-crf", "32", str(same))
    same2 = directory / "same2.mkv"
    _ffmpeg("-i", str(ref), "-c:v", "mpeg4", "-q:v", "5", str(same2))
    other = _clip(directory / "other.mp4", "mandelbrot", 18)
    corrupt = directory / "corrupt.mp4"
    corrupt.write_bytes(random.Random(14).randbytes(4000))
    truncated = directory / "truncated.mp4"
    truncated.write_bytes(ref.read_bytes()[:600])
    boxed = directory / "boxed.mp4"
    _ffmpeg("-i", str(ref), "-vf", "drawbox=x=96:y=12:w=48:h=27:color=red@1:t=fill", "-c:v", "libx264",
            "-crf", "23", str(boxed))
    return Clips(directory, str(ref), str(same), str(same2), str(other), str(corrupt), str(truncated),
                 str(directory / "missing.mp4"), str(boxed))


def write_manifest(path: Path, pairs, header=("reference", "candidate")) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(pairs)
    return path


def without_seconds(rows: list[dict]) -> list[dict]:
    """Rows minus the one field that depends on the machine (time spent)."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
