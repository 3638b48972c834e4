"""The image mosaic that draws the CNN figures: where each panel lands, at what size, in what colour."""

from __future__ import annotations

import numpy as np

from trainlab.reports.figures import grey_to_rgb, image_mosaic, tile_panels


def test_panels_are_laid_out_row_by_row_enlarged_to_the_largest_with_white_gaps_and_title_rows():
    red = np.zeros((2, 2, 3))
    red[..., 0] = 1
    small = np.zeros((1, 1, 3))  # black, enlarged to 2x2
    checker = np.array([[[0.0] * 3, [0.5] * 3], [[0.5] * 3, [0.0] * 3]])
    sheet = tile_panels([red, small, checker], columns=2, title_rows=1, gap=1)
    # two rows of (1 title row + 2 panel rows + 1 gap), the last gap dropped; two columns of 2 + 1 gap
    assert sheet.shape == (7, 5, 3)
    np.testing.assert_array_equal(sheet[0], np.ones((5, 3)))  # the first row's title band
    np.testing.assert_array_equal(sheet[1:3, 0:2], red)
    np.testing.assert_array_equal(sheet[1:3, 3:5], np.zeros((2, 2, 3)))
    np.testing.assert_array_equal(sheet[1:3, 2], np.ones((2, 3)))  # the gap between columns
    np.testing.assert_array_equal(sheet[5:7, 0:2], checker)
    np.testing.assert_array_equal(sheet[5:7, 3:5], np.ones((2, 2, 3)))  # no fourth panel: white


def test_nearest_neighbour_enlargement_repeats_each_pixel():
    panel = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3) / 20
    big = np.zeros((4, 6, 3))
    sheet = tile_panels([panel, big], columns=2, gap=0)
    np.testing.assert_array_equal(sheet[:4, :6], panel.repeat(2, axis=0).repeat(2, axis=1))


def test_grey_panels_are_scaled_to_their_own_range_and_a_flat_one_is_not_divided_by_zero():
    np.testing.assert_allclose(grey_to_rgb(np.array([[-1.0, 0.0, 3.0]]))[0, :, 0], [0, 0.25, 1], atol=1 / 255)
    assert np.isfinite(grey_to_rgb(np.full((2, 2), 7.0))).all()


def test_the_mosaic_is_one_axes_sized_by_its_panels(tmp_path):
    panels = [np.full((8, 8, 3), value) for value in (0.0, 0.5, 1.0)]
    figure = image_mosaic(panels, columns=3, titles=["a", "b", "c"], suptitle="three", panel_inches=1.0)
    assert len(figure.axes) == 1
    width, height = figure.get_size_inches()
    assert 3.0 < width < 3.6 and 1.2 < height < 2.0  # three 1-inch panels side by side, titles above
    figure.savefig(tmp_path / "mosaic.png", dpi=50)
