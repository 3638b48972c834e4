"""Figures without pyplot: every trainlab figure is a `matplotlib.figure.Figure` of its own.

pyplot keeps a process-wide list of open figures and a backend, and the report modules used to
switch that backend to Agg when imported, which silently turned off inline figures in a notebook.
A Figure made directly belongs to no window: it draws with Agg when saved, is freed like any object
(no `plt.close`), and leaves the backend the user chose alone. A notebook shows one by evaluating
it (`figure`), or with `trainlab.notebook.show_figure`.
"""

from __future__ import annotations

from typing import Any

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
