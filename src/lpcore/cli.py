"""The ``lpcore`` command line.

Each area defines its sub-command in its own module (``register(subparsers)`` adding one parser named as in
:data:`_COMMANDS`). This file only lists them, and loads just the one being run: ``lpcore --help``,
``--version`` and every sub-command that needs no extra work on a plain install, whatever the other
sub-commands import. A sub-command whose extra is missing says which one in one line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from .errors import LpcoreError, MissingExtra

#: (command name, module defining ``register(subparsers)``, one-line help shown by ``lpcore --help``).
#: Add a command with one line here; its module is imported only when that command runs.
_COMMANDS: list[tuple[str, str, str]] = [
    ("demo", "lpcore.demo", "end-to-end gateway/orchestrator run on the embedded TicketBroker"),
    ("vsig", "lpcore.vsig.cli", "MPEG-7 video signatures (FFmpeg-compatible)"),
    ("signer", "lpcore.signer.cli", "remote signer service (wire-compatible with go-livepeer)"),
    ("broker", "lpcore.broker.cli", "TicketBroker backends: inspect and operate a broker"),
    ("market", "lpcore.market.cli", "orchestrator selection and the marketplace"),
    ("verify", "lpcore.verify.cli", "verify transcoded renditions against a trusted one"),
    ("bench", "lpcore.bench", "throughput of lpcore's hot paths vs the usual Python peers"),
]

#: Exit status for a usage error, a missing extra or a failure lpcore reports (argparse's own code).
EXIT_USAGE = 2


def add_subcommands(parser: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction:
    """A sub-command group for ``parser``: run without a sub-command, it prints ``parser``'s help on stderr and
    exits 2 (argparse's ``required=True`` would instead report the internal ``dest`` name)."""
    sub = parser.add_subparsers(dest=dest, metavar="COMMAND", title="commands")

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    parser.set_defaults(func=usage)
    return sub


def _chosen(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line: the first argument that is not an option (the top level
    has only flag options: ``--help``, ``--version``)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


class _LoadFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _load(name: str, module: str, sub: argparse._SubParsersAction) -> None:
    """Import ``module`` and let it register ``name``; a missing extra or module becomes one message."""
    try:
        mod = importlib.import_module(module)
    except MissingExtra as exc:
        raise _LoadFailed(_extra_message(name, exc)) from None
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise _LoadFailed(f"lpcore {name}: not available in this version of lpcore ({module} is missing)") \
                from None
        raise _LoadFailed(f"lpcore {name}: cannot load, a dependency is missing: No module named {exc.name!r}") \
            from None
    mod.register(sub)


def _extra_message(command: str, exc: MissingExtra) -> str:
    return f"lpcore {command} needs the '{exc.extra}' extra: pip install 'lpcore[{exc.extra}]'"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``lpcore`` parser with the sub-command named in ``argv`` loaded; the others appear in ``--help`` by
    their one-line help and are not imported. Raises :class:`_LoadFailed` (with the message to print) when the
    named sub-command cannot load. With ``argv=None`` every sub-command that can load is loaded (for tools that
    walk the whole parser)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="lpcore", description="Livepeer PM tickets and video signatures, natively.")
    parser.add_argument("--version", action="version", version=f"lpcore {__version__}")
    sub = add_subcommands(parser, "command")
    chosen = _chosen(argv) if argv is not None else None
    for name, module, help_text in _COMMANDS:
        if name == chosen:
            _load(name, module, sub)
            continue
        if argv is None:
            try:
                _load(name, module, sub)
                continue
            except _LoadFailed:
                pass
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)
    except _LoadFailed as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] = args.func
    command = getattr(args, "command", None) or "lpcore"
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except MissingExtra as exc:
        print(_extra_message(command, exc), file=sys.stderr)
        return EXIT_USAGE
    except LpcoreError as exc:
        # Commands report their own expected failures; this is the backstop that keeps any lpcore error a
        # one-line message rather than a traceback.
        print(f"lpcore {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
