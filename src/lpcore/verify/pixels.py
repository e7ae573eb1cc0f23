"""Decoded pixel counts of a rendition: go-livepeer's local pixel check (the orchestrator reports how many
pixels it transcoded; the gateway counts them itself and compares)."""

from __future__ import annotations

from typing import Any

__all__ = ["count_pixels"]


def count_pixels(media: Any) -> int:
    """Decoded pixel count of a rendition (sum of width * height over its video frames), as go-livepeer's
    local verification counts them. ``media``: a path, encoded bytes, or frames ``(N, H, W[, C])``."""
    import io

    import numpy as np

    if isinstance(media, np.ndarray):
        if media.ndim < 3:
            raise ValueError(f"media frames must have shape (N, H, W[, C]), got {media.shape}")
        return int(media.shape[0] * media.shape[1] * media.shape[2])
    import av

    from ..errors import VideoDecodeError

    src = io.BytesIO(bytes(media)) if isinstance(media, (bytes, bytearray, memoryview)) else str(media)
    total = 0
    try:
        with av.open(src) as container:
            for frame in container.decode(video=0):
                total += frame.width * frame.height
    except (av.error.FFmpegError, OSError) as e:  # type: ignore[attr-defined]
        raise VideoDecodeError(f"cannot decode rendition: {e}") from e
    return total
