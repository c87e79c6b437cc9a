"""8x8 grey digits as PNGs people can see: each pixel a square (nearest neighbour, no blur)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image


def grey_png(image: np.ndarray, scale: int) -> bytes:
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L")
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    out = BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def grid_png(rows: list[list[np.ndarray]], scale: int, gap: int = 1) -> bytes:
    """Images in rows (one row per digit, say), ``gap`` white pixels between them, as one PNG."""
    side = rows[0][0].shape[0]
    columns = max(len(row) for row in rows)
    sheet = np.full((len(rows) * (side + gap) - gap, columns * (side + gap) - gap), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            sheet[r * (side + gap) : r * (side + gap) + side, c * (side + gap) : c * (side + gap) + side] = (
                image
            )
    return grey_png(sheet, scale)
