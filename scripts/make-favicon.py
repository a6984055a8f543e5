"""Draw web/static/favicon.ico from the shapes of web/static/favicon.svg (its source).

Run `.venv/bin/python scripts/make-favicon.py` after changing the SVG; the ICO holds 16, 32
and 48 px images, drawn at 8x and reduced (Pillow), for browsers that ask for /favicon.ico.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
SCALE = 8
ACCENT, FOLD, WHITE = "#0b4f71", "#9cc3d5", "#ffffff"


def draw() -> Image.Image:
    """The SVG's four shapes, on its 32-unit grid, at SCALE times."""
    size = 32 * SCALE
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)

    def at(*points: float) -> list[tuple[float, float]]:
        return [(points[i] * SCALE, points[i + 1] * SCALE) for i in range(0, len(points), 2)]

    pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=6 * SCALE, fill=ACCENT)
    pen.polygon(at(9, 5, 19, 5, 24, 10, 24, 27, 9, 27), fill=WHITE)
    pen.polygon(at(19, 5, 19, 10, 24, 10), fill=FOLD)
    pen.line(at(12, 17, 15, 21, 21, 13), fill=ACCENT, width=int(2.5 * SCALE), joint="curve")
    return image


if __name__ == "__main__":
    draw().save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    print(STATIC / "favicon.ico")
