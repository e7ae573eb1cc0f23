"""``lpcore vsig ...`` sub-commands: ``compute`` (here) and ``compare`` (matching, added beside it)."""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..cli import EXIT_USAGE, add_subcommands
from ..errors import LpcoreError


def register(subparsers) -> None:
    """Adds ``lpcore vsig`` and its sub-commands to the top-level parser."""
    parser = subparsers.add_parser("vsig", help="MPEG-7 video signatures (FFmpeg-compatible)",
                                   description="MPEG-7 video signatures, byte-identical to FFmpeg's `signature` "
                                               "filter, and their matching.")
    sub = add_subcommands(parser, "vsig_command")
    _add_compute(sub)
    _add_compare(sub)


def _add_compute(sub) -> None:
    p = sub.add_parser("compute", help="compute a video's signature file (FFmpeg `signature` filter output)",
                       description="Writes the MPEG-7 signature of FILE's first video stream, byte-identical to "
                                   "`ffmpeg -i FILE -map 0:v:0 -vf format=yuv420p,signature=filename=OUT -f null -`.")
    p.add_argument("file", metavar="FILE", help="video file")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output signature file: FFmpeg's XML format if it ends in .xml, binary otherwise")
    p.add_argument("--xml", action="store_true", help="write the XML format whatever OUT's suffix")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="compute device (default auto)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_compute)


class _Progress:
    """Frame counter on stderr, shown only once a run has lasted a second (long inputs)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, frames: int) -> None:
        now = time.monotonic() - self.start
        if self.enabled and now >= 1.0 and now - self.last >= 0.5:
            self.last = now
            self.shown = True
            print(f"\rvsig: {frames} frames, {frames / now:.0f} fps", end="", file=sys.stderr, flush=True)

    def done(self, frames: int) -> None:
        if self.shown:
            now = time.monotonic() - self.start
            print(f"\rvsig: {frames} frames in {now:.1f} s", file=sys.stderr, flush=True)


def output_is_xml(path: str, xml_flag: bool = False) -> bool:
    """The format ``vsig compute -o PATH`` writes: XML with ``--xml`` or a ``.xml`` suffix (any case), FFmpeg's
    binary format otherwise, so a file's name never contradicts its content."""
    return xml_flag or os.path.splitext(path)[1].lower() == ".xml"


def _compute(args: argparse.Namespace) -> int:
    from . import compute_file

    # Checked before decoding, which can take minutes: a typo in the output folder must not cost the work.
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        print(f"lpcore vsig compute: output folder {folder} does not exist", file=sys.stderr)
        return EXIT_USAGE
    progress = _Progress(not args.quiet)
    try:
        sig = compute_file(args.file, device=args.device, threads=args.threads, progress=progress)
    except (LpcoreError, ValueError, TypeError) as exc:
        print(f"lpcore vsig compute: {exc}", file=sys.stderr)
        return 1
    progress.done(len(sig))
    data = sig.to_xml().encode("ascii") if output_is_xml(args.output, args.xml) else sig.to_binary()
    try:
        with open(args.output, "wb") as f:
            f.write(data)
    except OSError as exc:
        print(f"lpcore vsig compute: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        print(f"{args.output}: {len(sig)} frames, {sig.width}x{sig.height}, {len(data)} bytes", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------- compare

def _add_compare(sub) -> None:
    """``lpcore vsig compare A B [--preset ...]``: defined in lpcore.vsig.match (exit 0 match, 1 none, 2 error)."""
    from .match import add_compare_command

    add_compare_command(sub)
