"""Smoke test of an installed lpcore (a wheel, or `pip install .` with no extras), run by scripts/smoke-wheel.sh
and scripts/smoke-noextras.sh in a fresh virtual environment, from a scratch directory.

It checks what a new user does first, against independent oracles where the venv has one:
  1. `import lpcore` gives the installed copy (not a checkout's src/);
  2. a ticket is hashed and signed, and the signature recovers to the signer with coincurve (a base dependency)
     over pycryptodome's keccak-256, not with lpcore's own code;
  3. the MPEG-7 signature of a generated clip equals FFmpeg's own `signature` file byte for byte (when an
     `ffmpeg` binary is on PATH; otherwise lpcore's binary file must round-trip);
  4. the command line: `lpcore --help`, `lpcore --version`, `python -m lpcore --help`, `lpcore demo`.

    python smoke.py [--no-extras]

`--no-extras` additionally checks that no optional dependency leaked into the venv (so the CLI really ran
without them). Exits non-zero with a one-line reason on the first failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def step(msg: str) -> None:
    print(f"[smoke] {msg}", flush=True)


def fail(msg: str) -> None:
    print(f"[smoke] FAILED: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(*cmd: str, timeout: float = 120) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        fail(f"`{' '.join(cmd)}` exited {p.returncode}:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    if "Traceback (most recent call last)" in p.stderr:
        fail(f"`{' '.join(cmd)}` printed a traceback:\n{p.stderr[-4000:]}")
    return p.stdout


def check_import() -> None:
    import lpcore

    where = Path(lpcore.__file__).resolve()
    if "site-packages" not in where.parts:
        fail(f"lpcore was imported from {where}, not from the installed package")
    step(f"import lpcore {lpcore.__version__} from {where.parent}")


def check_sign() -> None:
    import coincurve
    from Crypto.Hash import keccak

    from lpcore import pm

    key = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")  # a public test key
    signer = pm.Signer(key)
    ticket = pm.Ticket(bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8"), signer.address, 10**15,
                       pm.MAX_WIN_PROB // 100, 1, b"\x11" * 32, 10, b"\x22" * 32)
    h = ticket.hash()
    sig = signer.sign(h)

    def k256(data: bytes) -> bytes:
        return keccak.new(digest_bits=256, data=data).digest()

    digest = k256(b"\x19Ethereum Signed Message:\n32" + h)
    pub = coincurve.PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] - 27]), digest, hasher=None)
    address = k256(pub.format(compressed=False)[1:])[12:]
    if address != signer.address:
        fail("the ticket signature does not recover to the signer with coincurve")
    if not pm.verify_batch([h], [sig], signer.address).all():
        fail("pm.verify_batch rejects a valid signature")
    step(f"signed ticket {h.hex()[:16]}... recovers to {pm.to_checksum_address(signer.address)} (coincurve)")


def check_vsig(tmp: Path) -> None:
    import numpy as np

    from lpcore import vsig

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        rng = np.random.default_rng(1)
        frames = rng.integers(0, 256, size=(60, 72, 96), dtype=np.uint8)
        sig = vsig.compute(frames, device="cpu")
        if vsig.VideoSignature.from_binary(sig.to_binary()).to_binary() != sig.to_binary():
            fail("binary signature does not round-trip")
        step("vsig on 60 generated frames (no ffmpeg on PATH: round-trip check only)")
        return
    clip, ref = tmp / "clip.mkv", tmp / "ffmpeg.bin"
    run(ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=2.4",
        "-c:v", "ffv1", str(clip))
    run(ffmpeg, "-nostdin", "-v", "error", "-i", str(clip), "-map", "0:v:0",
        "-vf", f"format=yuv420p,signature=filename={ref}", "-f", "null", "-")
    sig = vsig.compute_file(clip, device="cpu")
    if sig.to_binary() != ref.read_bytes():
        fail("vsig.compute_file differs from FFmpeg's signature file")
    m = vsig.compare(sig, ref.read_bytes(), preset="exact")
    if m.code != 2:
        fail(f"a clip does not match its own FFmpeg signature (code {m.code})")
    step(f"vsig of a {len(sig)}-frame testsrc2 clip == FFmpeg's signature file ({len(ref.read_bytes())} bytes)")


def check_cli(tmp: Path) -> None:
    exe = shutil.which("lpcore", path=os.path.dirname(sys.executable))
    if exe is None:
        fail("the `lpcore` console script is not installed next to this interpreter")
    out = run(exe, "--help")
    if "demo" not in out:
        fail("`lpcore --help` does not list the demo")
    import lpcore

    if run(exe, "--version").strip() != f"lpcore {lpcore.__version__}":
        fail("`lpcore --version` does not print the package version")
    run(sys.executable, "-m", "lpcore", "--help")
    out = run(exe, "demo", "--segments", "2", "--dir", str(tmp / "demo"), timeout=300)
    if "tickets" not in out or "conserved: no" in out.lower():
        fail(f"`lpcore demo` did not report a run that conserves money:\n{out}")
    step("lpcore --help, --version, python -m lpcore --help, lpcore demo --segments 2: ok")


def check_no_extras() -> None:
    import importlib.util

    leaked = [m for m in ("google.protobuf", "starlette", "uvicorn", "web3", "ray", "cupy")
              if _spec(importlib.util, m)]
    if leaked:
        fail(f"the no-extras venv has optional packages installed: {leaked}")
    step("no optional dependency is installed (protobuf, starlette, uvicorn, web3, ray, cupy)")


def _spec(util, name: str) -> bool:
    try:
        return util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def main() -> None:
    no_extras = "--no-extras" in sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="lpcore-smoke-") as d:
        tmp = Path(d)
        os.chdir(tmp)
        if no_extras:
            check_no_extras()
        check_import()
        check_sign()
        check_vsig(tmp)
        check_cli(tmp)
    step("all checks passed")


if __name__ == "__main__":
    main()
