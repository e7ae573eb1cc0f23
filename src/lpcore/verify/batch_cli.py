"""``lpcore verify batch MANIFEST.csv --out results.jsonl [--ray local|ADDRESS] [--workers N] [--device ...]
[--resume]``: verifies every (reference, candidate) pair of a CSV manifest into a JSON-lines or SQLite file.

Exit status: 0 every pair verified clean, 1 some pair is tampered, mismatched or could not be verified (its row
says why), 2 the run itself failed (bad manifest or output, Ray missing or unreachable, bad arguments), 130
interrupted (the rows written so far stay; ``--resume`` goes on from them).

``lpcore verify`` dispatches ``batch ...`` here (``main(argv_rest)``); ``python -m lpcore.verify.batch_cli``
runs it directly.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from .._args import int_at_least
from ..errors import BatchError, LpcoreError

__all__ = ["add_arguments", "build_parser", "main", "read_manifest"]

_URL_SCHEMES = ("://",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The batch command's arguments (also usable on a sub-parser of ``lpcore verify``)."""
    from ..vsig.match import PRESETS
    from .batch import DEFAULT_PRESET

    parser.add_argument("manifest", metavar="MANIFEST.csv",
                        help="CSV with a header naming 'reference' and 'candidate' columns: paths (relative ones "
                             "are taken from the manifest's folder) or URLs the workers can read")
    parser.add_argument("--out", required=True, metavar="RESULTS",
                        help="where rows go as they arrive: .jsonl/.ndjson (JSON lines) or .sqlite/.sqlite3/.db")
    parser.add_argument("--ray", metavar="local|ADDRESS", default=None,
                        help="run on Ray: 'local' starts a local instance, 'auto', 'ray://host:10001' or "
                             "'host:6379' joins a cluster (needs: pip install 'lpcore[ray]')")
    parser.add_argument("--workers", type=int_at_least(1), default=None, metavar="N",
                        help="pairs at once (default: every core, or every CPU of the Ray cluster)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="signature device (default auto: GPUs where there are some)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                        help=f"matching preset of match_code (default {DEFAULT_PRESET!r}, the Verifier's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted batch: pairs already in RESULTS are not computed again")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr")


def build_parser(prog: str = "lpcore verify batch") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Verify many (reference, candidate) renditions: MPEG-7 signature match and, "
                               "where installed, tamper detection; in-process or on a Ray cluster. Exit 0 all "
                               "clean, 1 any tampered, mismatched or unverifiable, 2 run error.")
    add_arguments(parser)
    return parser


def _resolve(value: str, base: Path) -> str:
    if any(s in value for s in _URL_SCHEMES) or os.path.isabs(value):
        return value
    return str(base / value)


def read_manifest(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The (reference, candidate) pairs of a CSV manifest (header with 'reference' and 'candidate' columns, in
    any order, other columns ignored, blank lines skipped). Raises BatchError naming the line at fault."""
    name = os.fspath(path)
    base = Path(name).resolve().parent
    try:
        f = open(name, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise BatchError(f"cannot read manifest {name!r}: {e.strerror or e}") from None
    pairs: list[tuple[str, str]] = []
    try:
        with f:
            reader = csv.reader(f)
            header = next(reader, None)
            columns = [h.strip().lower() for h in header or ()]
            if "reference" not in columns or "candidate" not in columns:
                raise BatchError(f"manifest {name!r}: the first line must be a header naming the 'reference' and "
                                 f"'candidate' columns, got {header!r}")
            ri, ci = columns.index("reference"), columns.index("candidate")
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                where = f"manifest {name!r} line {reader.line_num}"
                if len(row) <= max(ri, ci):
                    raise BatchError(f"{where}: {len(row)} column(s), the header has {len(columns)}")
                ref, cand = row[ri].strip(), row[ci].strip()
                if not ref or not cand:
                    raise BatchError(f"{where}: empty {'reference' if not ref else 'candidate'}")
                pairs.append((_resolve(ref, base), _resolve(cand, base)))
    except csv.Error as e:
        raise BatchError(f"manifest {name!r} is not valid CSV: {e}") from None
    except UnicodeDecodeError:
        raise BatchError(f"manifest {name!r} is not UTF-8 text") from None
    return pairs


def main(argv: list[str] | None = None) -> int:
    from . import batch

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:                      # usage error (2) or --help (0): argparse has printed it
        return int(e.code or 0)
    executor = "local" if args.ray is None else "ray"
    address = None if args.ray in (None, "local") else args.ray
    try:
        if executor == "ray":
            batch._import_ray()                  # the missing extra is said before anything else is read
        pairs = read_manifest(args.manifest)
        rows = batch.run_batch(pairs, executor=executor, address=address, workers=args.workers,
                               device=args.device, preset=args.preset, out=args.out, resume=args.resume,
                               progress=False if args.quiet else None)
    except KeyboardInterrupt:
        print(f"lpcore verify batch: interrupted; the rows so far are in {args.out!r} (rerun with --resume)",
              file=sys.stderr)
        return 130
    except (LpcoreError, ValueError, TypeError) as e:
        print(f"lpcore verify batch: {e}", file=sys.stderr)
        return 2
    ok = sum(batch.clean(r) for r in rows)
    errors = sum(r.get("error") is not None for r in rows)
    tampered = sum(r.get("tampered") is True for r in rows)
    mismatched = sum(r.get("error") is None and not r.get("match_code") for r in rows)
    if not args.quiet:
        print(f"{len(rows)} pairs: {ok} clean, {mismatched} mismatched, {tampered} tampered, {errors} errors "
              f"-> {args.out}", file=sys.stderr)
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
