"""``lpcore verify REFERENCE CANDIDATE [--png MAP] [--json]``: tamper detection from verification profiles.

Exit status: 0 clean, 1 tampered, 2 error. ``lpcore verify batch ...`` is handed to
``lpcore.verify.batch_cli.main`` (the batch runner) when that module is installed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import LpcoreError


def register(subparsers) -> None:
    """Adds ``lpcore verify`` to the top-level parser."""
    p = subparsers.add_parser(
        "verify", help="detect tampering in a rendition against a trusted one (exit 0 clean, 1 tampered, 2 error)",
        description="Compares CANDIDATE with the trusted REFERENCE (videos, or .lpvp profiles) from their "
                    "verification profiles: local edits (logos, text, boxes, blur), colour changes, inserted, "
                    "frozen, reordered or missing frames, flips and zooms. Exit status 0 clean, 1 tampered, "
                    "2 error. `lpcore verify batch MANIFEST ...` runs the batch verifier.")
    _options(p)
    p.add_argument("reference", help="trusted rendition: video file or .lpvp profile (or `batch`)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="CANDIDATE [options]")
    p.set_defaults(func=_run)


def _options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--png", metavar="MAP", default=default, help="write the evidence map (PNG) here")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="print the report as JSON")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=default or "auto",
                   help="profile device for video inputs (default auto)")


def _batch(argv: list[str]) -> int:
    try:
        module = importlib.import_module("lpcore.verify.batch_cli")
    except ModuleNotFoundError as exc:
        if exc.name != "lpcore.verify.batch_cli":
            raise
        print("lpcore verify batch: the batch verifier (lpcore.verify.batch_cli) is not installed", file=sys.stderr)
        return 2
    return int(module.main(argv) or 0)


def _run(args: argparse.Namespace) -> int:
    if args.reference == "batch":
        return _batch(list(args.rest))
    inner = argparse.ArgumentParser(prog="lpcore verify REFERENCE", add_help=False)
    inner.add_argument("candidate")
    _options(inner, suppress=True)
    try:
        extra = inner.parse_args(args.rest)
    except SystemExit:
        return 2
    for k, v in vars(extra).items():
        setattr(args, k, v)
    from .detect import detect_tampering

    try:
        report = detect_tampering(args.reference, args.candidate, device=args.device or "auto")
    except (LpcoreError, ValueError, TypeError, OSError) as exc:
        print(f"lpcore verify: {exc}", file=sys.stderr)
        return 2
    if args.png:
        try:
            report.to_png(args.png)
        except OSError as exc:   # no verdict printed: the exit status must not say "clean" without the map
            print(f"lpcore verify: cannot write the map {args.png!r}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    if args.json:
        print(report.to_json(indent=1))
    else:
        verdict = "TAMPERED" if report.tampered else "clean"
        print(f"{verdict} (score {report.score:.2f}, threshold {report.threshold:g}, offset {report.offset})")
        for reason in report.reasons:
            print(f"  - {reason}")
    return 1 if report.tampered else 0
