"""The README's `lpcore.pm` example runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def test_readme_pm_example(tmp_path):
    text = README.read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "pm.Recipient(" in b)
    ns = dict(gateway_key=bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"),
              orch_address=bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8"))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(block, str(README), "exec"), ns)
    finally:
        os.chdir(cwd)
    res = ns["result"]
    assert res.tickets == res.credited_tickets == 100 and res.error is None
    assert ns["queue"].counts().get("queued", 0) == 0  # any winner was redeemed after the 41 blocks
    assert ns["broker"].totals()["used_tickets"] == len(res.winners)
