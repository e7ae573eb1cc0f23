"""A slow, independent model of spec/vsig.md §1.2-§2.4 in plain Python integers (test oracle for sizes and
contents the FFmpeg clips do not cover). ``wrap=False`` computes the mathematically exact values instead of
FFmpeg's mod-2^64 ones, to show where the wrap changes the result."""

from __future__ import annotations

import re

import numpy as np

M64 = (1 << 64) - 1
L = 476985600
WORDS = [[210, 217, 219, 274, 334], [44, 175, 233, 270, 273], [57, 70, 103, 237, 269],
         [100, 285, 295, 337, 354], [101, 102, 111, 275, 296]]


def _spec() -> str:
    from tests._shared import spec_path

    return spec_path("vsig.md").read_text()


def categories() -> list[dict]:
    """The Appendix A tables, parsed from the spec text itself (not from the C header)."""
    body = _spec().split("## Appendix A")[1].split("```")[1]
    cats, cur = [], None
    for line in body.splitlines():
        m = re.match(r"(A\d|D\d)\s+av_elem=(\d) left_count=(\d+) block_count=(\d+) elem_count=(\d+)", line)
        if m:
            cur = dict(av=int(m[2]), left=int(m[3]), bc=int(m[4]), n=int(m[5]), elems=[])
            cats.append(cur)
        elif line.strip():
            for tok in line.split():
                blocks = [tuple(int(c, 32) for c in tok[4 * b:4 * b + 4]) for b in range(cur["bc"])]
                cur["elems"].append(blocks)
    return cats


CATS = categories()


def block_sums(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    # pixel (x, y) -> block (32x // W, 32y // H); the runs of equal block index are summed
    starts_y = np.flatnonzero(np.diff((np.arange(h) * 32) // h, prepend=-1))
    starts_x = np.flatnonzero(np.diff((np.arange(w) * 32) // w, prepend=-1))
    assert len(starts_y) == len(starts_x) == 32
    rows = np.add.reduceat(plane.astype(np.int64), starts_y, axis=0)
    return np.add.reduceat(rows, starts_x, axis=1)


def signature(plane: np.ndarray, wrap: bool = True):
    """(framesig list of 76, words list of 5, confidence) of one frame."""
    h, w = plane.shape
    mod = (lambda v: v & M64) if wrap else (lambda v: v)
    signed = (lambda v: v - (1 << 64) if v >> 63 else v) if wrap else (lambda v: v)
    B = block_sums(plane)
    dh1, dw1 = h // 32, w // 32
    dh2 = dh1 + 1 if h % 32 else 1
    dw2 = dw1 + 1 if w % 32 else 1
    D = dh1 * dh2 * dw1 * dw2
    divide = (dw1 * (dw1 + 1) * ((h // 32) * h // 32 + 1)) & M64 > (2 ** 63 - 1) // (255 * L)
    P, q1, q2 = (65536, D, 1) if divide else (L, 1, D)

    def weight(n, d1, d2, i):
        cnt = -(-n * (i + 1) // 32) - (-(-n * i // 32))
        return 1 if d2 == 1 else (d2 if cnt == d1 else d1)
    a = [weight(h, dh1, dh2, r) for r in range(32)]
    b = [weight(w, dw1, dw2, c) for c in range(32)]
    S = [[0] * 32 for _ in range(32)]
    for r in range(32):
        acc = 0
        for c in range(32):
            acc = mod(acc + mod(int(B[r, c]) * a[r] * b[c] * P) // q1)
            S[r][c] = mod(acc + (S[r - 1][c] if r else 0))

    def rs(x0, y0, x1, y1):
        v = S[y1][x1] - (S[y0 - 1][x1] if y0 else 0) - (S[y1][x0 - 1] if x0 else 0) + \
            (S[y0 - 1][x0 - 1] if x0 and y0 else 0)
        return mod(v)
    trits, confs = [], []
    for cat in CATS:
        vals = []
        for blocks in cat["elems"]:
            left, right = blocks[:cat["left"]], blocks[cat["left"]:]
            area = lambda bl: sum((x1 - x0 + 1) * (y1 - y0 + 1) for x0, y0, x1, y1 in bl)  # noqa: E731
            mean_l = mod(sum(rs(*q) for q in left)) // area(left)
            if cat["av"]:
                v = signed(mod(mean_l - 128 * P * q2))
            else:
                mean_r = mod(sum(rs(*q) for q in right)) // area(right)
                v = signed(mod(mean_l - mean_r))
                v8 = signed(mod(8 * v))
                confs.append(abs(_tdiv(v8, P * q2)))
            vals.append(v)
        th = sorted(abs(v) for v in vals)[int(cat["n"] * 0.333)]
        trits += [0 if v < -th else (1 if v <= th else 2) for v in vals]
    framesig = [sum(trits[5 * k + m] * 3 ** (4 - m) for m in range(5)) for k in range(76)]
    words = [sum(trits[e] * 3 ** (4 - m) for m, e in enumerate(ws)) for ws in WORDS]
    return framesig, words, min(sorted(confs)[174], 255)


def _tdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q
