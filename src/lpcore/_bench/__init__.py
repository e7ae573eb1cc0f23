"""Workloads of ``lpcore bench`` and ``benchmarks/``: one module per area, each with ``rows(n) -> list[Case]``.

- :mod:`.case`: :class:`~lpcore._bench.case.Case` and the timing (a leaf: imports nothing of lpcore);
- :mod:`.pm`: ticket crypto; :mod:`.roles`: ``Recipient.receive_payment``; :mod:`.signer`: the remote signer's
  handler (needs the ``signer`` extra); :mod:`.vsig`: video signatures vs FFmpeg.

:data:`lpcore.bench.ROWS` lists them by module path, as :data:`lpcore.cli._COMMANDS` lists commands.
"""
