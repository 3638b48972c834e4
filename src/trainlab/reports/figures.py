"""Figures without pyplot: every trainlab figure is a `matplotlib.figure.Figure` of its own.

pyplot keeps a process-wide list of open figures and a backend, and the report modules used to
switch that backend to Agg when imported, which silently turned off inline figures in a notebook.
A Figure made directly belongs to no window: it draws with Agg when saved, is freed like any object
(no `plt.close`), and leaves the backend the user chose alone. A notebook shows one by evaluating
it (`figure`), or with `trainlab.notebook.show_figure`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

# The arguments of `plt.subplots` that lay out the axes; the others are the Figure's.
_LAYOUT_OPTIONS = {"sharex", "sharey", "squeeze", "width_ratios", "height_ratios", "subplot_kw", "gridspec_kw"}


def new_figure(nrows: int = 1, ncols: int = 1, **options: Any) -> tuple[Figure, Any]:
    """`plt.subplots` without pyplot: (figure, axes), with the same arguments (figsize, layout,
    sharex, ...)."""
    layout = {key: options.pop(key) for key in list(options) if key in _LAYOUT_OPTIONS}
    figure = Figure(**options)
    return figure, figure.subplots(nrows, ncols, **layout)


def palette(name: str = "tab10") -> tuple:
    """The colours of a qualitative colormap ("tab10", "Dark2", ...), in order."""
    return colormaps[name].colors


# Image grids (filters, feature maps, mistakes) are drawn as one picture on one axes: a grid of 64
# small axes took matplotlib about 1.5 s to lay out and draw, the mosaic a few milliseconds.
_MOSAIC_CELL_PIXELS = 64  # each panel is enlarged (nearest neighbour) to at least this many pixels
_TITLE_LINE_INCHES = 0.14  # one line of 7-point text


def grey_to_rgb(image: np.ndarray, colour_map: str = "gray") -> np.ndarray:
    """A 2-D array scaled to its own range and coloured -> (H, W, 3) in [0, 1], as `imshow` shows it."""
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return colormaps[colour_map](scaled)[..., :3]


def tile_panels(panels: list[np.ndarray], columns: int, title_rows: int = 0, gap: int = 2) -> np.ndarray:
    """Panels (H, W, 3) in [0, 1], laid out row by row on a white sheet: each enlarged by nearest
    neighbour to the largest panel's size, below `title_rows` blank rows kept for its title, with
    `gap` white pixels between neighbours."""
    height = max(panel.shape[0] for panel in panels)
    width = max(panel.shape[1] for panel in panels)
    rows = math.ceil(len(panels) / columns)
    pitch_y, pitch_x = title_rows + height + gap, width + gap
    sheet = np.ones((rows * pitch_y - gap, columns * pitch_x - gap, 3))
    for index, panel in enumerate(panels):
        row, column = divmod(index, columns)
        y, x = row * pitch_y + title_rows, column * pitch_x
        rows_from = np.arange(height) * panel.shape[0] // height
        columns_from = np.arange(width) * panel.shape[1] // width
        sheet[y:y + height, x:x + width] = panel[rows_from][:, columns_from]
    return sheet


def image_mosaic(
    panels: list[np.ndarray],
    columns: int,
    titles: list[str],
    suptitle: str,
    title_colour: str = "black",
    panel_inches: float = 1.1,
) -> Figure:
    """A figure showing `panels` ((H, W, 3) in [0, 1]) in a grid of `columns`, each under its title
    ("" for none), `panel_inches` wide per panel."""
    scale = max(1, math.ceil(_MOSAIC_CELL_PIXELS / max(max(panel.shape[:2]) for panel in panels)))
    panels = [panel.repeat(scale, axis=0).repeat(scale, axis=1) for panel in panels]
    height = max(panel.shape[0] for panel in panels)
    width = max(panel.shape[1] for panel in panels)
    pixels_per_inch = max(height, width) / panel_inches
    lines = max((title.count("\n") + 1 for title in titles if title), default=0)
    title_rows = math.ceil(lines * _TITLE_LINE_INCHES * pixels_per_inch) + 2 if lines else 0
    gap = max(2, max(height, width) // 16)
    sheet = tile_panels(panels, columns, title_rows, gap)

    margin, suptitle_inches = 0.1, 0.35
    sheet_width, sheet_height = sheet.shape[1] / pixels_per_inch, sheet.shape[0] / pixels_per_inch
    figure_width, figure_height = sheet_width + 2 * margin, sheet_height + suptitle_inches + margin
    figure = Figure(figsize=(figure_width, figure_height))
    axis = figure.add_axes((margin / figure_width, margin / figure_height,
                            sheet_width / figure_width, sheet_height / figure_height))
    axis.imshow(sheet, interpolation="nearest")
    axis.set_axis_off()
    for index, title in enumerate(titles):
        row, column = divmod(index, columns)
        centre = column * (width + gap) + width / 2
        bottom = row * (title_rows + height + gap) + title_rows - 1
        axis.text(centre, bottom, title, ha="center", va="bottom", fontsize=7, color=title_colour,
                  linespacing=1.1)
    figure.suptitle(suptitle, fontsize=9)
    return figure
