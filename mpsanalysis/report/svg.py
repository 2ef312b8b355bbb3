"""A chart as SVG drawn once, cropped to its ink.

``savefig(bbox_inches="tight")`` lays a figure out twice: once to measure the tight box
(every tick, label and text placed and measured) and once to draw it. The layout is
most of a chart's cost, so :func:`tight_svg` draws the figure a single time with a
renderer that notes the extent of everything it draws (paths, markers, collections and
text, each within its clip rectangle), then sets the SVG's ``viewBox`` to that extent
plus the usual padding. An SVG's ``viewBox`` is its crop: no second drawing is needed.

The extent is the ink's, so it can differ from matplotlib's tight box by a point or
two: matplotlib measures a text by its line box (the font's full ascent and descent),
this by the glyph box of the string; both are padded by ``savefig.pad_inches``.
A figure that draws anything this renderer does not measure (an image, a mesh, a
Gouraud triangle) is refused with :class:`Unmeasured`, and the caller falls back to the
two-pass path.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import threading
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.transforms import Affine2D, Bbox

__all__ = ["Unmeasured", "tight_svg"]


class Unmeasured(Exception):
    """The figure draws something whose extent this renderer does not measure."""


#: Sizes (width, height, descent in points) of strings already measured in this process,
#: by string and font (FontProperties compare by family, style, variant, weight,
#: stretch, size and file) and the font choice (:func:`_font_choice`); emptied when it
#: reaches :data:`_TEXT_SIZES_MAX` entries.
_TEXT_SIZES: dict[tuple, tuple[float, float, float]] = {}
_TEXT_SIZES_MAX = 4096


#: Strings already laid out as glyphs in this process: (font, string, features, language)
#: -> (the font, the glyphs placed, every glyph's outline); emptied at
#: :data:`_GLYPHS_MAX` entries.
_GLYPHS: dict[tuple, tuple[Any, list, dict]] = {}
_GLYPHS_MAX = 4096


class _KeptGlyphs(TextToPath):
    """Text to glyph outlines, each string laid out once a process.

    An SVG chart draws its text as glyph outlines; laying a string out (its glyphs and
    their positions) is about an eighth of a chart's drawing, and tick labels, titles
    and legends repeat across the charts of a run. The font the SVG renderer lays text
    out with is always set to :attr:`FONT_SCALE` at its own dpi (``_get_font``), so a
    string's glyphs depend only on the font file, the string and the font features;
    the result is what :meth:`TextToPath.get_glyphs_with_font` returns for it.
    """

    def _get_font(self, prop):
        # TextToPath._get_font (matplotlib 3.11) looks the font file up again for every
        # text drawn; the same properties under the same choice are the same file.
        from matplotlib.font_manager import fontManager, get_font

        key = (prop, *_font_choice(), threading.get_ident())
        font = _FONTS.get(key)
        if font is None:
            font = get_font(fontManager._find_fonts_by_props(prop))
            if len(_FONTS) >= _FONTS_MAX:
                _FONTS.clear()
            _FONTS[(prop.copy(), *key[1:])] = font  # a copy: fonts are mutable
        font.set_size(self.FONT_SCALE, self.DPI)
        return font

    def get_glyphs_with_font(
        self,
        font,
        s,
        glyph_map=None,
        return_new_glyphs_only=False,
        *,
        features=None,
        language=None,
    ):
        key = (id(font), s, tuple(features) if features else None, language)
        kept = _GLYPHS.get(key)
        if kept is None or kept[0] is not font:  # an id is reused only once freed
            placed, outlines, _ = super().get_glyphs_with_font(
                font, s, None, True, features=features, language=language
            )
            if len(_GLYPHS) >= _GLYPHS_MAX:
                _GLYPHS.clear()
            kept = _GLYPHS[key] = (font, placed, outlines)
        _, placed, outlines = kept
        seen = {} if glyph_map is None else glyph_map
        new = {} if return_new_glyphs_only or glyph_map is None else glyph_map
        for glyph, outline in outlines.items():  # in order of first use, as matplotlib's
            if glyph not in seen:
                new[glyph] = outline
        return list(placed), new, []


_GLYPH_LAYOUT = _KeptGlyphs()


#: A font's line metrics (ascent, descent and line gap in pixels) by font, size, dpi and
#: the rcParams that choose a font file, as :meth:`matplotlib.text.Text._get_layout`
#: reads them from the font's tables; emptied at :data:`_LINE_METRICS_MAX` entries.
_LINE_METRICS: dict[tuple, tuple[float | None, float | None, float | None]] = {}
_LINE_METRICS_MAX = 1024
_FONT_FAMILY_RC: tuple[Any, ...] = (
    "font.serif",
    "font.sans-serif",
    "font.cursive",
    "font.fantasy",
    "font.monospace",
)


def _font_choice() -> tuple:
    """What decides, besides a text's font properties, which font file matplotlib
    draws it with: the font manager and the rcParams of the generic families."""
    from matplotlib.font_manager import fontManager

    rc = matplotlib.rcParams
    return (id(fontManager), tuple(tuple(rc[name]) for name in _FONT_FAMILY_RC))


#: The font (an ``FT2Font``) for font properties, by :func:`_font_choice` and thread
#: (matplotlib's fonts are per thread), as ``TextToPath`` finds it for every text drawn.
_FONTS: dict[tuple, Any] = {}
_FONTS_MAX = 256


def _line_metrics(prop, dpi: float) -> tuple[float | None, float | None, float | None]:
    """``(min_ascent, min_descent, line_gap)`` of a font at ``dpi``, worked out exactly
    as :meth:`matplotlib.text.Text._get_layout` works them out for a renderer without
    metrics of its own (matplotlib 3.11): from the font file's ``OS/2`` table, else its
    ``hhea`` table; ``(None, None, None)`` when it has neither (matplotlib then measures
    the string "lp").

    Every text of a chart is laid out several times while it draws (measured for the
    title's place, the axis label's place, the legend's box and then drawn), and each
    layout looked the font file up and read two of its tables again: about a tenth of
    a chart's drawing. The tables of a font file do not change, so each font, size
    and dpi is read once a process.

    Examples
    --------
    >>> from matplotlib.font_manager import FontProperties
    >>> ascent, descent, gap = _line_metrics(FontProperties(family="DejaVu Sans", size=10), 72)
    >>> round(ascent, 3), round(descent, 3), round(gap, 3)
    (7.598, 2.402, 2.002)
    """
    from matplotlib.font_manager import fontManager, get_font

    key = (prop, dpi, *_font_choice())
    metrics = _LINE_METRICS.get(key)
    if metrics is not None:
        return metrics
    metrics = (None, None, None)
    font: Any = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap_key, ascent_key, descent_key in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        size = prop.get_size_in_points()
        units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
        scale = 1 / units_per_em * size * dpi / 72
        metrics = (table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale)
        break
    if len(_LINE_METRICS) >= _LINE_METRICS_MAX:
        _LINE_METRICS.clear()
    _LINE_METRICS[(prop.copy(), *key[1:])] = metrics  # a copy: fonts are mutable
    return metrics


#: Text layouts (:meth:`matplotlib.text.Text._get_layout`) already worked out in this
#: process for an :class:`_InkRenderer`, by everything a layout depends on; emptied at
#: :data:`_LAYOUTS_MAX` entries.
_LAYOUTS: dict[tuple, tuple] = {}
_LAYOUTS_MAX = 8192


def _layout_key(text, renderer) -> tuple | None:
    """What :meth:`matplotlib.text.Text._get_layout` (matplotlib 3.11) computes a text's
    layout from, when it is drawn by an :class:`_InkRenderer`; ``None`` otherwise (then
    matplotlib lays it out itself). The layout is relative to the text's anchor, so its
    position is not part of it; a wrapped text's lines depend on its position and the
    figure, and TeX on other settings, so neither is kept."""
    ink = getattr(renderer, "_renderer", renderer)
    if type(ink) is not _InkRenderer or text.get_wrap() or text.get_usetex():
        return None
    return (
        text.get_text(),
        text._fontproperties,  # compared by value
        text.get_figure(root=True).dpi,
        text.get_parse_math(),
        text._linespacing,
        text._get_multialignment(),
        text.get_rotation(),
        text.get_rotation_mode(),
        text._horizontalalignment,
        text._verticalalignment,
        *_font_choice(),
        matplotlib.rcParams["text.parse_math"],
    )


def _kept_layout(get_layout):
    """``Text._get_layout`` with each layout for an :class:`_InkRenderer` worked out once
    a process: the same text is laid out four to six times while a chart draws (the
    title's place, the axis label's place, the tick labels' boxes, the legend's box,
    then drawing), and tick labels, titles and legend entries repeat across charts.
    What is given back is a copy, so a caller changing it changes nothing kept."""

    def layout(self, renderer):
        key = _layout_key(self, renderer)
        if key is None:
            return get_layout(self, renderer)
        kept = _LAYOUTS.get(key)
        if kept is None:
            kept = get_layout(self, renderer)
            if len(_LAYOUTS) >= _LAYOUTS_MAX:
                _LAYOUTS.clear()
            key = (key[0], key[1].copy(), *key[2:])  # a copy: fonts are mutable
            _LAYOUTS[key] = (kept[0].frozen(), tuple(kept[1]), kept[2])
        bbox, lines, corner = kept
        return bbox.frozen(), list(lines), corner

    layout.__wrapped__ = get_layout
    return layout


class _InkRenderer(RendererSVG):
    """An SVG renderer that also records the extent of what it draws, in points from
    the lower left corner (the figure's display coordinates at 72 dpi)."""

    def __init__(
        self, width: float, height: float, out, image_dpi: float, metadata, figure=None
    ) -> None:
        super().__init__(width, height, out, image_dpi=image_dpi, metadata=metadata)
        self._text2path = _GLYPH_LAYOUT  # the same glyphs, each string laid out once
        self._figure = figure
        self.ink = [math.inf, math.inf, -math.inf, -math.inf]
        self._background_seen = False

    # ------------------------------------------------------------------ recording
    def _note(self, gc, x0: float, y0: float, x1: float, y1: float, stroke: bool) -> None:
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            return
        if stroke:
            half = gc.get_linewidth() / 2  # points, which are display units here
            x0, y0, x1, y1 = x0 - half, y0 - half, x1 + half, y1 + half
        clip = gc.get_clip_rectangle()
        if clip is not None:
            x0, y0 = max(x0, clip.x0), max(y0, clip.y0)
            x1, y1 = min(x1, clip.x1), min(y1, clip.y1)
            if x0 > x1 or y0 > y1:
                return
        ink = self.ink
        ink[0], ink[1] = min(ink[0], x0), min(ink[1], y0)
        ink[2], ink[3] = max(ink[2], x1), max(ink[3], y1)

    @staticmethod
    def _stroked(gc) -> bool:
        return gc.get_linewidth() > 0 and gc.get_rgb()[3] > 0

    # ------------------------------------------------------------------ drawing
    def draw_path(self, gc, path, transform, rgbFace=None):
        box = path.get_extents(transform)
        if not self._background_seen:
            # The first shape a figure draws is its own background patch, which the
            # tight box leaves out as well.
            self._background_seen = True
            if np.allclose(box.extents, (0, 0, self.width, self.height), atol=0.01):
                return super().draw_path(gc, path, transform, rgbFace)
        self._note(gc, box.x0, box.y0, box.x1, box.y1, self._stroked(gc))
        return super().draw_path(gc, path, transform, rgbFace)

    def draw_markers(self, gc, marker_path, marker_trans, path, trans, rgbFace=None):
        points = trans.transform(path.vertices) if len(path.vertices) else np.empty((0, 2))
        points = points[np.isfinite(points).all(axis=1)]
        if len(points):
            marker = marker_path.get_extents(marker_trans)
            self._note(
                gc,
                points[:, 0].min() + marker.x0,
                points[:, 1].min() + marker.y0,
                points[:, 0].max() + marker.x1,
                points[:, 1].max() + marker.y1,
                self._stroked(gc),
            )
        return super().draw_markers(gc, marker_path, marker_trans, path, trans, rgbFace)

    def draw_path_collection(
        self, gc, master_transform, paths, all_transforms, offsets, offset_trans, *rest, **kw
    ):
        # rest: facecolors, edgecolors, linewidths, linestyles, antialiaseds, urls,
        # offset_position (RendererBase.draw_path_collection)
        boxes = [
            p.get_extents(t)
            for p, t in self._iter_collection_raw_paths(master_transform, paths, all_transforms)
        ]
        if boxes:
            shape = Bbox.union(boxes)
            shifts = np.asarray(offsets, dtype=float).reshape(-1, 2)
            if len(shifts):
                shifts = offset_trans.transform(shifts)
                shifts = shifts[np.isfinite(shifts).all(axis=1)]
            low = shifts.min(axis=0) if len(shifts) else np.zeros(2)
            high = shifts.max(axis=0) if len(shifts) else np.zeros(2)
            widest = max((float(w) for w in np.atleast_1d(rest[2])), default=0.0)
            x0, y0 = shape.x0 + low[0] - widest / 2, shape.y0 + low[1] - widest / 2
            x1, y1 = shape.x1 + high[0] + widest / 2, shape.y1 + high[1] + widest / 2
            self._note(gc, x0, y0, x1, y1, stroke=False)
        return super().draw_path_collection(
            gc, master_transform, paths, all_transforms, offsets, offset_trans, *rest, **kw
        )

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if s.strip():
            # Text arrives in the SVG's own coordinates (y down from the top edge).
            y_up = self.height - y
            width, height, descent = self.get_text_width_height_descent(s, prop, ismath)
            corners = np.array(
                [[0, -descent], [width, -descent], [width, height - descent], [0, height - descent]]
            )
            corners = Affine2D().rotate_deg(angle).translate(x, y_up).transform(corners)
            self._note(gc, *corners.min(axis=0), *corners.max(axis=0), stroke=False)
        return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)

    def get_text_width_height_descent(self, s, prop, ismath):
        # Labels repeat within a chart and across charts, and an SVG's text size depends
        # only on the string, the font and the math mode (never on the renderer, which
        # measures at 72 dpi): measure each once a process, for the layout (matplotlib
        # caches sizes per renderer only) and for the ink. The rc settings that choose
        # the font file are part of the key, as for the line metrics and layouts.
        key = (s, prop, str(ismath), *_font_choice())  # fonts compare by value
        size = _TEXT_SIZES.get(key)
        if size is None:
            size = super().get_text_width_height_descent(s, prop, ismath)
            if len(_TEXT_SIZES) >= _TEXT_SIZES_MAX:
                _TEXT_SIZES.clear()
            _TEXT_SIZES[(s, prop.copy(), *key[2:])] = size  # a copy: fonts are mutable
        return size

    def _get_font_height_metrics(self, prop):
        # Asked by Text._get_layout (matplotlib 3.11) before it reads the font's tables
        # itself, at the dpi of the text's root figure: the figure drawn (a renderer of
        # no figure answers nothing, and matplotlib reads the tables as before).
        if self._figure is None:
            return None, None, None
        return _line_metrics(prop, self._figure.dpi)

    def draw_image(self, *args: Any, **kwargs: Any):
        raise Unmeasured("an image")

    def draw_gouraud_triangles(self, *args: Any, **kwargs: Any):
        raise Unmeasured("Gouraud triangles")

    def draw_quad_mesh(self, *args: Any, **kwargs: Any):
        raise Unmeasured("a mesh")


_NUMBER = re.compile(r"0+$")


def _number(value: float) -> str:
    """A coordinate as the SVG writer prints it: up to six decimals, no trailing zeros."""
    text = f"{value:f}"
    return _NUMBER.sub("", text).rstrip(".") if "." in text else text


@contextlib.contextmanager
def ticks_laid_out_once(fig) -> Iterator[None]:
    """While one drawing of ``fig`` runs, lay each axis's ticks out once.

    Drawing an Axes with a title lays its y axis's ticks out six times and its x
    axis's three times (matplotlib 3.11): placing the title measures the y axis (its
    ticks, then its label, which measures its ticks again), and drawing each axis
    places its ticks and then its label the same way. Nothing between these calls changes the view limits, locators or formatters
    (the Axes applies its aspect and limits before placing the title), so each call
    returns what the first did. Here the first result of ``_update_ticks`` and of
    ``_get_ticklabel_bboxes`` (per list of ticks and renderer) is kept on each axis
    for the drawing and removed after it, so the figure is left as matplotlib would
    leave it. A tick the drawing adds (an axis makes one per tick location, and a
    fresh figure has one) is copied from one made by matplotlib earlier in the same
    drawing (:func:`_copied_tick`): making a tick (five artists) was an eighth of a
    report's CPU. The bytes drawn are the same (``tests/test_svg.py``).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> ax = fig.subplots()
    >>> with ticks_laid_out_once(fig):
    ...     first, again = ax.yaxis._update_ticks(), ax.yaxis._update_ticks()
    >>> len(first) > 0 and all(a is b for a, b in zip(first, again, strict=True))
    True
    >>> "_update_ticks" in vars(ax.yaxis)  # the axis is its own again
    False
    """
    axes, patched = list(fig.get_axes()), []
    while axes:
        ax = axes.pop()
        axes.extend(ax.child_axes)
        for axis in (ax.xaxis, ax.yaxis):
            patched.append(axis)
            _keep_tick_layout(axis)
    try:
        yield
    finally:
        for axis in patched:
            vars(axis).pop("_update_ticks", None)
            vars(axis).pop("_get_ticklabel_bboxes", None)
            vars(axis).pop("_get_tick", None)


def _keep_tick_layout(axis) -> None:
    # Private methods of matplotlib's Axis (3.11, pinned by the lock): under a version
    # without them the axis is left alone and lays its ticks out as often as it asks.
    update = getattr(type(axis), "_update_ticks", None)
    measure = getattr(type(axis), "_get_ticklabel_bboxes", None)
    if update is None or measure is None:
        return
    kept: dict[Any, Any] = {}

    def update_ticks():
        if "ticks" not in kept:
            kept["ticks"] = update(axis)
        return list(kept["ticks"])

    def get_ticklabel_bboxes(ticks, renderer):
        key = (tuple(map(id, ticks)), id(renderer))
        if key not in kept:
            kept[key] = (ticks, measure(axis, ticks, renderer))  # ticks: keep the ids valid
        first, second = kept[key][1]
        return list(first), list(second)

    axis._update_ticks = update_ticks
    axis._get_ticklabel_bboxes = get_ticklabel_bboxes
    get_tick = getattr(type(axis), "_get_tick", None)
    if get_tick is None:
        return
    pristine: dict[bool, Any] = {}

    def quick_get_tick(major):
        # A new tick as matplotlib makes it (Tick.__init__ with the axis's tick
        # settings), copied from one made so in this drawing (the settings and
        # rcParams do not change while a figure draws): a tenth of the cost.
        if major not in pristine:
            pristine[major] = get_tick(axis, major)
        return _copied_tick(pristine[major])

    axis._get_tick = quick_get_tick


#: The artists of a tick (:class:`matplotlib.axis.Tick`).
_TICK_PARTS = ("tick1line", "tick2line", "gridline", "label1", "label2")


def _copied_tick(tick):
    """A new tick in the state of ``tick``, sharing nothing that either can change.

    A shallow copy of the tick and of each of its five artists, with what an artist
    changes in place made its own: the callback registry (:class:`matplotlib.cbook.
    CallbackRegistry`), a text's font properties and the sticky edges' lists. Every
    other attribute of a tick's artists is replaced, never changed in place, when the
    tick is moved, relabelled or restyled (data, paths, markers, transforms, colours).
    """
    from matplotlib import cbook

    new = copy.copy(tick)
    new._callbacks = cbook.CallbackRegistry(signals=["pchanged"])
    for name in _TICK_PARTS:
        part = copy.copy(getattr(tick, name))
        part._callbacks = cbook.CallbackRegistry(signals=["pchanged"])
        if part._sticky_edges is not None:
            part._sticky_edges = type(part._sticky_edges)(
                list(part._sticky_edges.x), list(part._sticky_edges.y)
            )
        if hasattr(part, "_fontproperties"):
            part._fontproperties = part._fontproperties.copy()
        setattr(new, name, part)
    return new


def tight_svg(fig, metadata: dict | None = None, pad_inches: float | None = None):
    """The figure as SVG cropped to its ink plus ``pad_inches``, drawn once.

    Returns
    -------
    (bytes, matplotlib.transforms.Bbox)
        The SVG document and the crop in inches (its width and height give the size at
        which a page shows the chart).

    Raises
    ------
    Unmeasured
        When the figure draws an image, a mesh or Gouraud triangles.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(6, 3))
    >>> _ = fig.subplots().plot([1, 2, 3], [3, 1, 2])
    >>> svg, crop = tight_svg(fig, metadata={"Date": None})
    >>> svg.startswith(b"<?xml")
    True
    >>> [round(float(v), 2) for v in crop.extents]  # inches: x0, y0, x1, y1
    [0.33, 0.03, 5.51, 2.75]
    """
    pad = matplotlib.rcParams["savefig.pad_inches"] if pad_inches is None else pad_inches
    width, height = fig.get_size_inches()
    out = io.StringIO()
    dpi = fig.dpi
    fig.dpi = 72  # as FigureCanvasSVG.print_svg: SVG units are points
    try:
        ink = _InkRenderer(
            width * 72, height * 72, out, image_dpi=dpi, metadata=metadata, figure=fig
        )
        renderer = MixedModeRenderer(fig, width, height, dpi, ink)
        with ticks_laid_out_once(fig):
            fig.draw(renderer)
        renderer.finalize()
    finally:
        fig.dpi = dpi
    x0, y0, x1, y1 = ink.ink
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        x0, y0, x1, y1 = 0.0, 0.0, width * 72, height * 72  # nothing drawn: the whole figure
    crop = Bbox.from_extents(x0 / 72, y0 / 72, x1 / 72, y1 / 72).padded(pad)
    left, bottom = crop.x0 * 72, crop.y0 * 72
    box_w, box_h = crop.width * 72, crop.height * 72
    top = height * 72 - (bottom + box_h)  # SVG's y runs down from the top edge
    text = out.getvalue()
    start = text.index("<svg ")
    end = text.index(">", start)
    tag = text[start:end]
    tag = re.sub(r' width="[^"]*"', f' width="{_number(box_w)}pt"', tag, count=1)
    tag = re.sub(r' height="[^"]*"', f' height="{_number(box_h)}pt"', tag, count=1)
    tag = re.sub(
        r' viewBox="[^"]*"',
        f' viewBox="{_number(left)} {_number(top)} {_number(box_w)} {_number(box_h)}"',
        tag,
        count=1,
    )
    background = ""
    if left < 0 or top < 0 or left + box_w > width * 72 or top + box_h > height * 72:
        # Ink beyond the figure's edge: its background patch does not reach there.
        red, green, blue, alpha = fig.get_facecolor()
        if alpha > 0:
            colour = "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (red, green, blue)))
            background = (
                f'\n <rect x="{_number(left)}" y="{_number(top)}" width="{_number(box_w)}" '
                f'height="{_number(box_h)}" style="fill: {colour}; opacity: {_number(alpha)}"/>'
            )
    return (text[:start] + tag + ">" + background + text[end + 1 :]).encode("utf-8"), crop


# Installed once, for every Text: it lays out as matplotlib does for any other renderer.
if not hasattr(Text._get_layout, "__wrapped__"):  # type: ignore[attr-defined]
    Text._get_layout = _kept_layout(Text._get_layout)  # type: ignore[attr-defined]
