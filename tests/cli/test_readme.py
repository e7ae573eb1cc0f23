"""Every ```python block of the README (and of the user docs lpcore owns) runs as written.

Each block runs in a fresh namespace, in a scratch working directory holding the files the README names
(`segment.ts`, `reference.ts`, `candidate.ts`, `trusted.bin`, `untrusted.bin`: small generated clips and their
signatures), with the user inputs it leaves to the reader (`gateway_key`, `luma`, `frame_pts`, ...) filled with
small generated values. Nothing else is provided: a block that forgets an import or uses an undefined name fails.
Where a block makes a checkable claim (FFmpeg-identical files, a credited payment), the claim is checked too.

A block that imports an optional extra's package is skipped, with the reason, only when that extra is not
installed (CuPy blocks also need a CUDA device).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
# User docs whose examples use only the inputs below (other docs pages test their own examples).
DOCS = [ROOT / "docs" / name for name in ("protocol.md", "formats.md", "matching.md", "architecture.md")]

# top-level module imported by a block -> (extra that provides it, pip spec)
EXTRA_MODULES = {
    "cupy": "gpu", "ray": "ray", "web3": "chain", "eth_tester": "chain",
    "google": "signer", "starlette": "signer", "uvicorn": "signer", "lpcore.signer": "signer",
}

W, H, FRAMES = 128, 96, 48


def _blocks() -> list:
    out = []
    for path in [README, *DOCS]:
        if not path.is_file():
            continue
        text = path.read_text()
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 2
            rel = path.relative_to(ROOT)
            out.append(pytest.param(m.group(1), f"{rel}:{line}", id=f"{rel}:{line}"))
    return out


BLOCKS = _blocks()


def test_readme_has_python_blocks():
    assert sum(1 for b in BLOCKS if b.values[1].startswith("README.md")) >= 5


# ------------------------------------------------------------------------------------------------ inputs

def _luma_frames(seed: int, shift: int = 0) -> np.ndarray:
    """A moving, textured test clip (the signature needs content: flat frames have confidence 0)."""
    rng = np.random.default_rng(seed)
    tiles = rng.integers(16, 240, size=(H // 8 + 2, W // 8 + 2), dtype=np.uint8)
    base = np.kron(tiles, np.ones((8, 8), dtype=np.uint8))
    yy, xx = np.mgrid[0:H, 0:W]
    frames = np.empty((FRAMES, H, W), np.uint8)
    for i in range(FRAMES):
        moved = np.roll(base, (i * 2, i * 3), axis=(0, 1))[:H, :W].astype(np.int32)
        wave = (40 * np.sin((xx + 4 * i) / 9.0) * np.cos((yy - 3 * i) / 7.0)).astype(np.int32)
        frames[i] = np.clip(moved + wave + shift, 0, 255)
    return frames


def _write_ts(path: Path, luma: np.ndarray, qscale: int) -> None:
    import av

    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("mpeg2video", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"qscale": str(qscale)}
        stream.codec_context.qmin = stream.codec_context.qmax = qscale
        chroma = np.full((H // 2, W), 128, np.uint8)
        for y in luma:
            frame = av.VideoFrame.from_ndarray(np.concatenate([y, chroma]), format="yuv420p")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _decoded_luma(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="yuv420p")[:H] for f in c.decode(video=0)])


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The generated clips and signatures, made once and copied into each block's directory."""
    from lpcore import vsig

    d = tmp_path_factory.mktemp("readme-media")
    ref = _luma_frames(1)
    _write_ts(d / "segment.ts", ref, 2)
    shutil.copy(d / "segment.ts", d / "reference.ts")
    _write_ts(d / "candidate.ts", _luma_frames(1, shift=3), 6)   # a re-encode of a slightly brighter copy
    (d / "trusted.bin").write_bytes(vsig.compute_file(d / "reference.ts").to_binary())
    (d / "untrusted.bin").write_bytes(vsig.compute_file(d / "candidate.ts").to_binary())
    seg = vsig.compute_file(d / "segment.ts")
    return {"dir": d, "luma": _decoded_luma(d / "segment.ts"), "pts": [int(p) for p in seg.pts],
            "time_base": seg.time_base}


def _inputs(media) -> dict:
    """What the examples leave to the reader, as small generated values."""
    from lpcore import pm

    recipient_rand = 0x1234_5678_9ABC_DEF0
    luma = media["luma"]
    return dict(
        gateway_key=bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"),
        orch_address=bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8"),
        private_key=bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
        recipient=bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8"),
        face_value=10**15,
        win_prob=pm.MAX_WIN_PROB // 1000,
        sender_nonce=1,
        recipient_rand=recipient_rand,
        recipient_rand_hash=pm.recipient_rand_hash(recipient_rand),
        creation_round=10,
        creation_round_block_hash=bytes(range(32)),
        luma=luma,
        frame_pts=list(media["pts"]),
        pairs=[("trusted.bin", "untrusted.bin"), ("reference.ts", "candidate.ts")],
    )


def _needed_extra(code: str) -> tuple[str, str] | None:
    for m in re.finditer(r"^\s*(?:import|from)\s+([\w.]+)", code, re.M):
        name = m.group(1)
        for mod, extra in EXTRA_MODULES.items():
            if name == mod or name.startswith(mod + "."):
                top = mod.split(".")[0] if mod != "lpcore.signer" else "google.protobuf"
                if _missing(top):
                    return extra, top
    return None


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


# ------------------------------------------------------------------------------------------------ the test

@pytest.mark.parametrize("code, where", BLOCKS)
def test_block_runs(code, where, media, tmp_path):
    need = _needed_extra(code)
    if need:
        pytest.skip(f"{where} needs the '{need[0]}' extra (pip install 'lpcore[{need[0]}]'): {need[1]} is not installed")
    if re.search(r"^\s*import cupy", code, re.M):
        import cupy

        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no device")
        except Exception:
            pytest.skip(f"{where} needs a CUDA device (CuPy is installed, no GPU is visible)")
    for f in media["dir"].iterdir():
        shutil.copy(f, tmp_path / f.name)
    ns = _inputs(media)
    ns["__name__"] = "__readme__"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, where, "exec"), ns)
    finally:
        os.chdir(cwd)
    _check_claims(code, ns, media, tmp_path)


def _check_claims(code: str, ns: dict, media, tmp_path: Path) -> None:
    """What the blocks say their results are."""
    if "pm.Recipient(" in code:  # the roles example: a fully credited payment, winners redeemed on chain
        res = ns["result"]
        assert res.tickets == res.credited_tickets == 100 and res.error is None
        assert ns["queue"].counts().get("queued", 0) == 0
        assert ns["broker"].totals()["used_tickets"] == len(res.winners)
    if "pm.ticket_hashes_columns(" in code and "same" in ns:
        assert np.array_equal(ns["same"], ns["hashes"])
        assert ns["pm"].verify_batch(ns["hashes"], ns["sigs"], ns["signer"].address).all()
    if "pts=frame_pts" in code and (tmp_path / "sig.bin").exists():
        # compute(luma, pts=..., time_base=...) gives the same file as compute_file, and compute(luma) alone does
        # not (its time fields differ), as the README says.
        from lpcore import vsig

        file_bytes = (tmp_path / "sig.bin").read_bytes()
        luma_only = vsig.compute(media["luma"])
        timed = vsig.compute(media["luma"], pts=media["pts"], time_base=media["time_base"])
        assert timed.to_binary() == file_bytes
        assert luma_only.to_binary() != file_bytes
        assert np.array_equal(luma_only.framesig, timed.framesig)
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:  # "byte-identical to that command's signature=filename=sig.bin"
            ref = tmp_path / "ffmpeg.bin"
            subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", "segment.ts", "-map", "0:v:0", "-vf",
                            f"format=yuv420p,signature=filename={ref}", "-f", "null", "-"],
                           cwd=tmp_path, check=True, timeout=60)
            assert ref.read_bytes() == file_bytes
    if "v.choose(" in code:
        verdict = ns["verdict"]
        assert verdict.accepted is not None and verdict.orchestrator in {"T", "O1", "O2"}


# ------------------------------------------------------------------------------------------------ links

# Pages written under other issues; a link to one is checked once the page exists.
PAGES_FROM_OTHER_ISSUES = {"docs/signer.md", "docs/chain.md", "docs/market.md", "docs/verification.md",
                           "docs/batch.md"}


def _links() -> list:
    out = []
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            rel = path.relative_to(ROOT)
            out.append(pytest.param(path, target, id=f"{rel}->{target}"))
    return out


@pytest.mark.parametrize("page, target", _links())
def test_links_resolve(page: Path, target: str):
    resolved = (page.parent / target).resolve()
    rel = os.path.relpath(resolved, ROOT)
    if rel in PAGES_FROM_OTHER_ISSUES and not resolved.exists():
        pytest.skip(f"{rel} is written under another issue")
    assert resolved.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


@pytest.mark.parametrize("page", [README, *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_user_docs_do_not_point_into_shared(page: Path):
    """Users do not have the project's shared/ directory (specs, vectors): the docs must stand alone."""
    text = page.read_text()
    assert not re.search(r"shared/|spec/\w+\.md|\bspec(?:/|\.md| §)", text), \
        f"{page.relative_to(ROOT)} refers to the project's shared specs"


# ------------------------------------------------------------------------------------------------ command lines

def _command_lines() -> list:
    """`lpcore ...` lines of the README's (and lpcore's docs') sh blocks: (sub-command path, --flags named)."""
    out = []
    text = "\n".join(p.read_text() for p in [README, *DOCS] if p.is_file())
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            code = line.split("#", 1)[0]
            m = re.search(r"(?:^|\s)(?:python3 -m )?lpcore((?:\s+[a-z][a-z-]*(?=\s|$))*)(.*)$", code)
            if not m:
                continue
            path = m.group(1).split()
            flags = sorted(set(re.findall(r"(--[a-z][a-z0-9_-]*)", m.group(2))))
            out.append(pytest.param(path, flags, id="lpcore " + " ".join(path)))
    return out


@pytest.mark.parametrize("path, flags", _command_lines())
def test_readme_command_lines_exist(path, flags, capsys):
    """Each `lpcore` command the README shows exists, with every option it names."""
    from lpcore.cli import main

    if path[:1] == ["signer"] and _missing("google.protobuf"):
        pytest.skip("the signer commands need the 'signer' extra (pip install 'lpcore[signer]')")
    try:  # argparse exits after --help; a command with its own parser (verify batch) may return the code instead
        code = main([*path, "--help"])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr().out
    assert code == 0, f"`lpcore {' '.join(path)} --help` failed"
    for flag in flags:
        assert flag in out, f"`lpcore {' '.join(path)}` has no option {flag}"
