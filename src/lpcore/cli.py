"""The ``lpcore`` command line.

Each area registers its own sub-commands (``register(subparsers)``) in its own module, so this file only
lists them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, attribute): each module defines register(subparsers) adding one or more sub-commands.
_COMMANDS = [
    "lpcore.demo",
    "lpcore.vsig.cli",
    "lpcore.signer.cli",
    "lpcore.bench",
    "lpcore.verify.cli",
]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="lpcore", description="Livepeer PM tickets and video signatures, natively.")
    parser.add_argument("--version", action="version", version=f"lpcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
