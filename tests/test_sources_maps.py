"""Tests for mpsanalysis.ingest.sources.maps: hand-made boxes, then the real boundaries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from shapely.geometry import box

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.sources import maps
from mpsanalysis.report import maps as report_maps

SQUARES = gpd.GeoDataFrame(
    {
        "borough_code": ["E09000002", "E09000003", "E09000004"],
        "borough_name": ["Barking and Dagenham", "Barnet", "Bexley"],
    },
    geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    crs=27700,
)


def _luminance(rgba) -> float:
    r, g, b = rgba[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_missing_boroughs_are_hatched_and_named():
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": 1.0, "E09000003": 3.0}),
        "Rates",
        boundaries=SQUARES,
        label="per 1,000",
    )
    ax = fig.axes[0]
    assert ax.get_title() == "Rates"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["no data (1 borough)"]  # Bexley has no value
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_hatch() == "////"
    assert fig.axes[1].get_ylabel() == "per 1,000"  # the colour bar's label


def test_default_colours_get_lighter_as_values_rise():
    # Greyscale legibility: with the default sequential map, a higher value must be
    # printed lighter (cividis' lightness rises monotonically).
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": 1.0, "E09000003": 2.0, "E09000004": 3.0}),
        "t",
        boundaries=SQUARES,
    )
    colours = fig.axes[0].collections[0].get_facecolors()
    grey = [_luminance(c) for c in colours]
    assert grey == sorted(grey) and grey[0] < grey[-1]


def test_diverging_centres_on_zero_with_signed_ticks_and_no_labels():
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": -4.0, "E09000003": 0.0, "E09000004": 2.0}),
        "Change",
        diverging=True,
        boundaries=SQUARES,
        label="% change",
    )
    ax = fig.axes[0]
    middle = ax.collections[0].get_facecolors()[1]
    # 0 sits at the centre of PuOr_r (colour-blind safe): the light neutral colour
    from matplotlib import colormaps

    assert np.allclose(middle, to_rgba(colormaps["PuOr_r"](0.5)), atol=0.02)
    assert len(ax.texts) == 0  # no value labels on the map (they overlapped, unrounded)
    fig.canvas.draw()
    bar = fig.axes[1]
    assert bar.get_ylim() == (-4.0, 4.0)  # symmetric about zero
    # largest |value| 4: steps of 2 (half of 4), each side of zero, with their sign
    assert [t.get_text() for t in bar.get_yticklabels()] == ["−4", "−2", "0", "+2", "+4"]


def test_labels_when_asked_are_rounded():
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": -0.37123, "E09000003": 12.3456, "E09000004": 1234.5}),
        "Change",
        diverging=True,
        annotate=True,
        boundaries=SQUARES,
    )
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["-0.371", "1,234", "12.3"]


def test_sequential_colour_bar_has_labelled_ticks():
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": 1.0, "E09000003": 2.0, "E09000004": 3.0}),
        "Rates",
        boundaries=SQUARES,
        label="per 1,000",
    )
    fig.canvas.draw()
    bar = fig.axes[1]
    labels = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
    assert bar.get_ylabel() == "per 1,000" and len(labels) >= 3
    assert {"1.00", "2.00", "3.00"} <= set(labels)  # ticks 1.00, 1.25, ... 3.00


def test_the_whole_map_is_in_frame_even_when_edge_boroughs_have_no_value():
    # only the middle square has a value: the outer ones (no data) stay in frame
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000003": 2.0}), "t", boundaries=SQUARES
    )
    fig.canvas.draw()
    (x0, x1), (y0, y1) = fig.axes[0].get_xlim(), fig.axes[0].get_ylim()
    assert x0 < 0 and x1 > 3 and y0 < 0 and y1 > 1


def test_airports_are_footnoted_not_mapped():
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": 1.0, boroughs.AIRPORTS_CODE: 12.0, boroughs.UNKNOWN_CODE: 3.0}),
        "t",
        boundaries=SQUARES,
    )
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Not mapped: Heathrow and London City airports (12)" in texts
    assert "crimes with no borough ('Unknown') (3)" in texts


@pytest.mark.parametrize(
    "values, message",
    [
        (pd.Series({"E09000099": 1.0}), "'E09000099', which is not a borough code on the map"),
        (pd.Series([1.0, 2.0], index=["E09000002", "E09000002"]), "appears twice"),
        (pd.Series({"E09000002": "lots"}), "is not a number"),
        ({"E09000002": 1.0}, "must be a pandas Series"),
    ],
)
def test_bad_values(values, message):
    with pytest.raises(ParameterError, match=message):
        report_maps.plot_borough_choropleth(values, "t", boundaries=SQUARES)


def test_render_png_is_small():
    fig = report_maps.plot_borough_choropleth(
        pd.Series({"E09000002": 1.0}), "t", boundaries=SQUARES
    )
    png = report_maps.render_png(fig)
    assert png.startswith(b"\x89PNG") and len(png) < 150_000
    assert report_maps.render_png_data_uri(fig).startswith("data:image/png;base64,iVBOR")
    with pytest.raises(ParameterError, match="even at 50 dpi"):
        report_maps.render_png(fig, dpi=50, max_bytes=100)


def test_boundaries_folder_must_hold_a_boundary_file(tmp_path):
    with pytest.raises(DataValidationError, match="no borough boundary file"):
        maps.read_borough_boundaries(tmp_path)


def test_boundaries_with_a_wrong_code_are_rejected(tmp_path):
    wrong = SQUARES.rename(columns={"borough_code": "LAD22CD", "borough_name": "LAD22NM"})
    wrong.loc[0, "LAD22CD"] = "E09000099"
    wrong.to_file(tmp_path / maps.BOUNDARY_FILE)
    with pytest.raises(DataValidationError, match="is not a London borough"):
        maps.read_borough_boundaries(tmp_path)


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()
FOLDER = MIRROR / "geography" / "borough" if MIRROR else None


@pytest.fixture(scope="module")
def real_boundaries():
    if FOLDER is None or not FOLDER.is_dir():
        pytest.skip("no ../shared/data mirror")
    return maps.read_borough_boundaries(FOLDER)


@pytest.mark.realdata
def test_real_boundaries_are_cached(real_boundaries, monkeypatch):
    # PROVENANCE: 33 polygons, British National Grid, LAD22CD E09000001..33.
    assert len(real_boundaries) == 33 and real_boundaries.crs.to_epsg() == 27700
    assert real_boundaries["borough_code"].tolist() == [f"E09{n:06d}" for n in range(1, 34)]
    # A second read comes from the cache: reading the file again would fail.
    monkeypatch.setattr(gpd, "read_file", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    again = maps.read_borough_boundaries(FOLDER)
    assert again.equals(real_boundaries) and again is not real_boundaries  # a copy


@pytest.mark.realdata
def test_real_choropleth_png_is_small(real_boundaries):
    values = pd.Series(
        np.linspace(1, 10, 32),
        index=[c for c in real_boundaries["borough_code"] if c != "E09000001"],
    )
    fig = report_maps.plot_borough_choropleth(
        values,
        "Recorded crime per 1,000 residents",
        label="crimes per 1,000",
        boundaries=real_boundaries,
        source="Source: MPS",
    )
    png = report_maps.render_png(fig)
    assert len(png) < 150_000
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["no data (1 borough)"]  # the City of London has its own force


@pytest.mark.realdata
def test_real_map_frames_every_borough(real_boundaries):
    values = pd.Series(1.0, index=real_boundaries["borough_code"])
    fig = report_maps.plot_borough_choropleth(values, "t", boundaries=real_boundaries)
    fig.canvas.draw()
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    bx0, by0, bx1, by1 = real_boundaries.total_bounds  # Hillingdon is the westernmost
    assert x0 <= bx0 and x1 >= bx1 and y0 <= by0 and y1 >= by1
    # and the axes sit inside the figure: nothing drawn is cut off at its edge
    box = ax.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1
