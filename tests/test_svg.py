"""Charts drawn once as SVG and cropped to their ink (``mpsanalysis/report/svg.py``).

The crop is checked against matplotlib's own tight bounding box (the two-pass way the
charts were cropped before), on charts with the shapes the reports use: lines with
markers, bars, filled bands, scatter points, rotated labels, legends and titles.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mpsanalysis.report import svg  # noqa: E402

POINT = 1 / 72  # inches


def _line_chart() -> Figure:
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    months = ["Apr", "May", "Jun", "Jul", "Aug", "Sep"]
    ax.plot(months, [120, 135, 128, 150, 160, 149], marker="o", label="2025/26")
    ax.plot(months, [110, 125, 140, 145, 150, 155], linestyle="--", label="2024/25")
    ax.set_title("Robbery of personal property, Lambeth", loc="left")
    ax.set_ylabel("offences")
    ax.legend(frameon=False, loc="lower right")
    return fig


def _bar_chart() -> Figure:
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    names = [f"Borough number {i}" for i in range(12)]
    ax.barh(names, np.arange(12) * 1.5 + 1)
    ax.set_xlabel("per 1,000 residents")
    ax.set_title("Rates by borough")
    return fig


def _band_and_points() -> Figure:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    x = np.linspace(0, 10, 50)
    ax.fill_between(x, x - 2, x + 2, alpha=0.3)
    ax.scatter([1, 5, 9], [1, 5, 12], s=80)
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("population")
    return fig


def _matplotlib_crop(fig: Figure):
    box = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())
    return box.padded(matplotlib.rcParams["savefig.pad_inches"])


@pytest.mark.parametrize("make", [_line_chart, _bar_chart, _band_and_points])
def test_the_crop_is_matplotlibs_tight_box_within_a_few_points(make):
    expected = _matplotlib_crop(make())
    data, crop = svg.tight_svg(make(), metadata={"Date": None})
    assert np.allclose(crop.extents, expected.extents, atol=4 * POINT), (
        crop.extents / POINT,
        expected.extents / POINT,
    )
    # The SVG shows exactly the crop: its size in points and its viewBox.
    text = data.decode("utf-8")
    tag = text[text.index("<svg ") : text.index(">", text.index("<svg "))]
    width = float(re.search(r' width="([\d.]+)pt"', tag).group(1))
    height = float(re.search(r' height="([\d.]+)pt"', tag).group(1))
    box = [float(v) for v in re.search(r' viewBox="([^"]+)"', tag).group(1).split()]
    assert width == pytest.approx(crop.width * 72, abs=1e-5)
    assert height == pytest.approx(crop.height * 72, abs=1e-5)
    figure_height = make().get_size_inches()[1] * 72
    assert box == pytest.approx(
        [crop.x0 * 72, figure_height - crop.y1 * 72, crop.width * 72, crop.height * 72], abs=1e-5
    )


def test_the_same_figure_gives_the_same_bytes():
    with matplotlib.rc_context({"svg.hashsalt": "test"}):
        first, _ = svg.tight_svg(_line_chart(), metadata={"Date": None})
        second, _ = svg.tight_svg(_line_chart(), metadata={"Date": None})
    assert first == second


def test_ink_beyond_the_figure_is_kept_on_the_figures_background():
    fig = _line_chart()
    fig.axes[0].text(1.15, 0.5, "a note outside the figure", transform=fig.axes[0].transAxes)
    data, crop = svg.tight_svg(fig, metadata={"Date": None})
    assert crop.x1 > fig.get_size_inches()[0]
    assert re.search(r'<rect x="[-\d.]+" y="[-\d.]+" [^>]*style="fill: #ffffff', data.decode())
    inside, _ = svg.tight_svg(_line_chart(), metadata={"Date": None})
    assert b"fill: #ffffff; opacity" not in inside


def test_a_figure_with_an_image_is_refused_for_the_two_pass_path():
    fig = Figure(figsize=(3, 3))
    fig.subplots().imshow(np.arange(16).reshape(4, 4))
    with pytest.raises(svg.Unmeasured, match="image"):
        svg.tight_svg(fig)


def test_an_empty_figure_is_the_whole_figure():
    fig = Figure(figsize=(4, 2))
    _, crop = svg.tight_svg(fig, pad_inches=0)
    assert crop.extents == pytest.approx([0, 0, 4, 2])


@pytest.mark.parametrize("make", [_line_chart, _bar_chart, _band_and_points])
def test_kept_text_sizes_and_glyphs_draw_the_same_bytes_as_matplotlib(make, monkeypatch):
    """Text sizes and glyph layouts kept from earlier charts give exactly the SVG that
    matplotlib's own measuring and laying out give."""
    from matplotlib.textpath import TextToPath

    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "test")  # stable ids
    svg._TEXT_SIZES.clear()
    svg._GLYPHS.clear()
    _line_chart(), _bar_chart()  # other charts first: some strings are already kept
    for other in (_line_chart, _bar_chart, _band_and_points):
        svg.tight_svg(other(), metadata={"Date": None})
    assert svg._GLYPHS and svg._TEXT_SIZES
    kept, kept_crop = svg.tight_svg(make(), metadata={"Date": None})

    monkeypatch.setattr(svg, "_GLYPH_LAYOUT", TextToPath())  # matplotlib's, nothing kept
    monkeypatch.setattr(
        svg._InkRenderer,
        "get_text_width_height_descent",
        svg.RendererSVG.get_text_width_height_descent,
    )
    plain, plain_crop = svg.tight_svg(make(), metadata={"Date": None})
    assert kept == plain
    assert kept_crop.extents.tolist() == plain_crop.extents.tolist()


def test_a_string_in_another_font_is_laid_out_in_that_font(monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "test")

    def chart(weight):
        fig = Figure(figsize=(4, 2))
        fig.subplots().set_title("Robbery", fontweight=weight)
        return svg.tight_svg(fig, metadata={"Date": None})[0]

    svg._GLYPHS.clear()
    bold_first = chart("bold")
    svg._GLYPHS.clear()
    chart("normal")  # "Robbery" kept in the regular font
    assert chart("bold") == bold_first


def _twin_axes_with_offset() -> Figure:
    """A title over twin axes, a y axis with an offset ("1e6") and a colour bar's child."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(range(12), [1_000_000 + 10 * i for i in range(12)], label="count")
    other = ax.twinx()
    other.bar(range(12), range(12), alpha=0.3)
    inset = ax.inset_axes([0.6, 0.6, 0.3, 0.3])
    inset.plot([0, 1], [1, 0])
    ax.set_title("Twin axes", loc="left")
    ax.set_xticks(range(12), [f"month {i}" for i in range(12)], rotation=45)
    ax.legend()
    return fig


@pytest.mark.parametrize(
    "make", [_line_chart, _bar_chart, _band_and_points, _twin_axes_with_offset]
)
def test_ticks_laid_out_once_draw_the_same_bytes(make, monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "test")
    """The tick layout kept during a drawing changes nothing drawn: the same SVG bytes
    as matplotlib laying the ticks out every time it is asked, and making every tick."""
    copies = []
    copy_tick = svg._copied_tick
    monkeypatch.setattr(svg, "_copied_tick", lambda tick: copies.append(1) or copy_tick(tick))
    kept, _ = svg.tight_svg(make(), metadata={"Date": None})
    assert copies  # the drawing added ticks, copied
    calls = []
    update = matplotlib.axis.Axis._update_ticks

    def counted(axis):
        calls.append(axis)
        return update(axis)

    monkeypatch.setattr(matplotlib.axis.Axis, "_update_ticks", counted)
    svg.tight_svg(make(), metadata={"Date": None})
    kept_calls = len(calls)
    monkeypatch.setattr(
        svg, "ticks_laid_out_once", lambda fig: __import__("contextlib").nullcontext()
    )
    calls.clear()
    fresh, _ = svg.tight_svg(make(), metadata={"Date": None})
    assert kept == fresh
    # each axis laid out once when kept; several times otherwise
    assert kept_calls == len(set(map(id, calls)))
    assert len(calls) > kept_calls


def test_ticks_laid_out_once_leaves_the_axes_their_own_after_an_error():
    fig = _line_chart()
    ax = fig.axes[0]
    with pytest.raises(RuntimeError), svg.ticks_laid_out_once(fig):
        assert "_update_ticks" in vars(ax.xaxis)
        raise RuntimeError("drawing failed")
    assert "_update_ticks" not in vars(ax.xaxis)
    assert "_get_ticklabel_bboxes" not in vars(ax.yaxis)
    assert "_get_tick" not in vars(ax.yaxis)


def test_a_copied_tick_shares_nothing_either_tick_changes():
    fig = _line_chart()
    ax = fig.axes[0]
    original = ax.yaxis._get_tick(major=True)
    copied = svg._copied_tick(original)
    assert type(copied) is type(original)
    copied.label1.set_fontsize(21)
    copied.label1.set_color("red")
    copied.label1.set_text("copied")
    copied.tick1line.set_markersize(9)
    copied.gridline.set_linestyle(":")
    copied.update_position(3.0)
    copied.label1.sticky_edges.x.append(1.0)
    seen = []
    copied.label1.add_callback(lambda artist: seen.append(artist))
    original.label1.set_text("original")  # a change to the original reaches no copy
    assert seen == []
    assert original.label1.get_fontsize() != 21
    assert original.label1.get_color() != "red"
    assert original.tick1line.get_markersize() != 9
    assert original.gridline.get_linestyle() != ":"
    assert original.get_loc() != 3.0 and original.label1.sticky_edges.x == []
    assert copied.label1.get_text() == "copied"


def test_ticks_laid_out_once_leaves_an_axis_without_those_methods_alone():
    class OtherAxis:  # a matplotlib whose Axis has no _update_ticks
        pass

    axis = OtherAxis()
    svg._keep_tick_layout(axis)
    assert vars(axis) == {}


@pytest.mark.parametrize(
    "make", [_line_chart, _bar_chart, _band_and_points, _twin_axes_with_offset]
)
def test_kept_line_metrics_draw_the_same_bytes_as_matplotlibs_own(make, monkeypatch):
    """The renderer's font line metrics (kept a process) are the ones matplotlib reads
    from the font's tables itself: the same SVG with and without them, and each font
    is read once."""
    from matplotlib.text import Text

    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "test")
    monkeypatch.setattr(Text, "_get_layout", Text._get_layout.__wrapped__)  # every layout
    svg._LINE_METRICS.clear()
    svg.tight_svg(make(), metadata={"Date": None})  # some fonts kept already
    kept, kept_crop = svg.tight_svg(make(), metadata={"Date": None})
    assert svg._LINE_METRICS
    monkeypatch.delattr(svg._InkRenderer, "_get_font_height_metrics")
    plain, plain_crop = svg.tight_svg(make(), metadata={"Date": None})
    assert kept == plain
    assert kept_crop.extents.tolist() == plain_crop.extents.tolist()


def test_line_metrics_follow_the_font_chosen_by_the_rc_settings(monkeypatch):
    """The same font properties name another file when ``font.sans-serif`` changes; the
    kept metrics are that file's (worked out independently from its tables)."""
    from matplotlib.font_manager import FontProperties, fontManager, get_font

    prop = FontProperties(family="sans-serif", size=12)
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["DejaVu Sans"])
    sans = svg._line_metrics(prop, 72)
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["STIXGeneral"])
    stix = svg._line_metrics(prop, 72)
    font = get_font(fontManager._find_fonts_by_props(prop))  # STIX, by the rc now
    os2 = font.get_sfnt_table("OS/2")
    scale = 12 / font.get_sfnt_table("head")["unitsPerEm"]
    assert stix == (
        os2["sTypoAscender"] * scale,
        -os2["sTypoDescender"] * scale,
        os2["sTypoLineGap"] * scale,
    )
    assert stix != sans
    assert svg._line_metrics(prop, 144)[0] == pytest.approx(2 * stix[0])


@pytest.mark.parametrize(
    "make", [_line_chart, _bar_chart, _band_and_points, _twin_axes_with_offset]
)
def test_kept_text_layouts_draw_the_same_bytes_as_matplotlibs_own(make, monkeypatch):
    """Text layouts kept from earlier charts (and from earlier in the same drawing) give
    exactly the SVG of matplotlib laying out every text every time."""
    from matplotlib.text import Text

    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "test")
    svg._LAYOUTS.clear()
    for other in (_line_chart, _bar_chart, _band_and_points, _twin_axes_with_offset):
        svg.tight_svg(other(), metadata={"Date": None})  # tick labels, titles kept
    assert svg._LAYOUTS
    kept, kept_crop = svg.tight_svg(make(), metadata={"Date": None})
    monkeypatch.setattr(Text, "_get_layout", Text._get_layout.__wrapped__)
    plain, plain_crop = svg.tight_svg(make(), metadata={"Date": None})
    assert kept == plain
    assert kept_crop.extents.tolist() == plain_crop.extents.tolist()


def test_a_kept_layout_is_only_for_the_ink_renderer_and_changes_nothing_kept():
    """Another renderer (Agg, for PNG charts and an analyst's own figures) lays out as
    matplotlib does; a layout handed out and changed leaves the kept one as it was; a
    text laid out again after a change of font size, rotation or alignment is laid
    out afresh."""
    fig = _line_chart()
    title = fig.axes[0].title
    svg._LAYOUTS.clear()
    FigureCanvasAgg(fig).draw()
    assert not svg._LAYOUTS  # nothing kept for Agg
    svg.tight_svg(fig)
    assert svg._LAYOUTS
    renderer = svg.MixedModeRenderer(
        fig, 8, 3.6, 72, svg._InkRenderer(576, 259.2, io.StringIO(), 72, None, fig)
    )
    fig.dpi = 72
    first = title._get_layout(renderer)
    first[0].set_points([[0, 0], [1, 1]])  # a caller changing what it got
    first[1].clear()
    again = title._get_layout(renderer)
    fresh = type(title)._get_layout.__wrapped__(title, renderer)
    assert again[0].bounds == fresh[0].bounds and again[1] == fresh[1] and again[2] == fresh[2]
    for change in (
        lambda: title.set_fontsize(20),
        lambda: title.set_rotation(30),
        lambda: title.set_horizontalalignment("right"),
        lambda: title.set_text("Another title"),
    ):
        change()
        kept = title._get_layout(renderer)
        fresh = type(title)._get_layout.__wrapped__(title, renderer)
        assert kept[0].bounds == fresh[0].bounds and kept[1] == fresh[1] and kept[2] == fresh[2]


def test_kept_fonts_draw_the_same_bytes_and_follow_the_rc_settings(monkeypatch):
    """The font a text is drawn with is looked up once per properties and rc choice:
    the same SVG as matplotlib's own look-up, and another file after the generic
    family's rc setting changes."""
    from matplotlib.font_manager import FontProperties, fontManager
    from matplotlib.textpath import TextToPath

    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "test")
    svg._FONTS.clear()
    svg.tight_svg(_line_chart(), metadata={"Date": None})
    assert svg._FONTS
    kept = svg.tight_svg(_line_chart(), metadata={"Date": None})[0]
    monkeypatch.setattr(svg._KeptGlyphs, "_get_font", TextToPath._get_font)
    assert svg.tight_svg(_line_chart(), metadata={"Date": None})[0] == kept
    monkeypatch.undo()

    prop = FontProperties(family="sans-serif", size=10)
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["DejaVu Sans"])
    sans = svg._GLYPH_LAYOUT._get_font(prop)
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["STIXGeneral"])
    stix = svg._GLYPH_LAYOUT._get_font(prop)
    assert sans.fname != stix.fname
    assert stix.fname == fontManager._find_fonts_by_props(prop)[0]


def test_kept_text_sizes_follow_the_rc_settings_that_choose_the_font(monkeypatch):
    """A string measured in one font file is measured again when ``font.sans-serif``
    names another: its size is that file's, as matplotlib's own renderer measures it."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family="sans-serif", size=10)
    ink = svg._InkRenderer(100, 100, io.StringIO(), 72, None)
    svg._TEXT_SIZES.clear()
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["DejaVu Sans"])
    sans = ink.get_text_width_height_descent("Robbery 2025/26", prop, False)
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["STIXGeneral"])
    stix = ink.get_text_width_height_descent("Robbery 2025/26", prop, False)
    own = svg.RendererSVG(100, 100, io.StringIO()).get_text_width_height_descent(
        "Robbery 2025/26", prop, False
    )
    assert stix == own
    assert stix != sans
