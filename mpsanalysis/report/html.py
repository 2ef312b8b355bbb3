"""Safe, self-contained, accessible HTML for reports.

Borough names, category names and extract labels come from files an analyst does not
control, so they are escaped here and nowhere assembled into markup by hand elsewhere.
Reports are read offline, so everything a page shows is inside the page: charts are
SVG or PNG data URIs, styles are inline and the Content-Security-Policy forbids scripts and
every network fetch (:data:`CONTENT_SECURITY_POLICY`); :func:`find_external_references`
checks a finished page for anything that would still reach outside it.
"""

from __future__ import annotations

import base64
import copyreg
import hashlib
import html
import io
import math
import pickle
import re
from collections import OrderedDict
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ward_table_html",
    "CONTENT_SECURITY_POLICY",
    "escape",
    "format_count",
    "format_percent",
    "format_change",
    "format_money",
    "format_money_change",
    "join_in_words",
    "lower_first",
    "table_html",
    "figure_cell_html",
    "highlighted_figure_html",
    "drawing_settings",
    "figure_html",
    "forget_drawn_charts",
    "callout_html",
    "status_html",
    "csp_meta",
    "find_external_references",
    "css_string",
]

#: The policy every report and index page carries in a ``<meta http-equiv>`` tag: no
#: scripts, no fetches of any kind; only inline styles and ``data:`` images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; connect-src 'none'; font-src 'none'; "
    "object-src 'none'; frame-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)


def join_in_words(items: list[str]) -> str:
    """Items as a sentence lists them: ``a``, ``a and b``, ``a, b and c``.

    Examples
    --------
    >>> join_in_words(["2012"]), join_in_words(["2014", "2015"])
    ('2012', '2014 and 2015')
    >>> join_in_words(["Rape", "other sexual offences", "drug possession offences"])
    'Rape, other sexual offences and drug possession offences'
    """
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def lower_first(title: str) -> str:
    """A title inside a sentence, its first letter in lower case.

    Examples
    --------
    >>> lower_first("Other sexual offences")
    'other sexual offences'
    """
    return title[:1].lower() + title[1:]


def escape(value: object) -> str:
    """Escape any value for HTML text or attributes.

    Examples
    --------
    >>> escape("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def csp_meta() -> str:
    """The Content-Security-Policy ``<meta>`` tag for a page's ``<head>``."""
    policy = escape(CONTENT_SECURITY_POLICY)
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def _number(value: float | None) -> float | None:
    """The value as a float, or None when it is missing (None or NaN)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _unsigned_zero(number: float, decimals: int) -> float:
    """0.0 for a value that rounds to zero at ``decimals`` places, so it never prints
    as '-0' or '-0.0'; the value itself otherwise."""
    return 0.0 if round(number, decimals) == 0 else number


def format_count(value: float | None) -> str:
    """A count in full with thousands separators, or 'n/a'.

    Examples
    --------
    >>> format_count(5296), format_count(float("nan")), format_count(-0.4)
    ('5,296', 'n/a', '0')
    """
    number = _number(value)
    return "n/a" if number is None else f"{round(number):,}"


def format_percent(value: float | None, decimals: int = 1) -> str:
    """A percentage, e.g. '26.0%', or 'n/a'; a value that rounds to zero has no sign.

    Examples
    --------
    >>> format_percent(26), format_percent(-0.04), format_percent(-0.4, 0), format_percent(None)
    ('26.0%', '0.0%', '0%', 'n/a')
    """
    number = _number(value)
    if number is None:
        return "n/a"
    return f"{_unsigned_zero(number, decimals):.{decimals}f}%"


def format_change(value: float | None, decimals: int = 1, unit: str = "%") -> str:
    """A signed change, e.g. '+2.1%' or '−4.6%' (true minus sign), or 'n/a'; a change
    that rounds to zero has no sign.

    Examples
    --------
    >>> format_change(2.1), format_change(-4.63), format_change(3, 0, "")
    ('+2.1%', '−4.6%', '+3')
    >>> format_change(-0.4, 0), format_change(-0.04)
    ('0%', '0.0%')
    """
    number = _number(value)
    if number is None:
        return "n/a"
    if round(number, decimals) == 0:
        return f"{0:.{decimals}f}{unit}"
    return ("+" if number > 0 else "−") + f"{abs(number):,.{decimals}f}{unit}"


def format_money(value: float | None) -> str:
    """Pounds: '£18.5m' for millions, '£250,000' below; negatives with a true minus.

    Examples
    --------
    >>> format_money(18_500_000), format_money(250_000), format_money(-11_600_000)
    ('£18.5m', '£250,000', '−£11.6m')
    >>> format_money(-0.4)
    '£0'
    """
    number = _number(value)
    if number is None:
        return "n/a"
    sign = "−" if number < 0 and round(abs(number)) > 0 else ""
    amount = abs(number)
    if amount >= 1_000_000:
        return f"{sign}£{amount / 1_000_000:,.1f}m"
    return f"{sign}£{amount:,.0f}"


def format_money_change(value: float | None) -> str:
    """A signed change in pounds, e.g. '+£1.2m' or '−£431,000', or 'n/a'.

    Examples
    --------
    >>> format_money_change(1_200_000), format_money_change(-431_000), format_money_change(0)
    ('+£1.2m', '−£431,000', '£0')
    """
    number = _number(value)
    text = format_money(number)
    if number is None or text.startswith("−") or round(number) == 0:
        return text
    return "+" + text


# A cell that reads as a figure: counts, money, percentages, changes, 'n/a' and the GSS
# symbols ([c] confidential, [x] not available, [z] not applicable, [low] rounds to 0).
_FIGURE = re.compile(
    r"^[+\-−]?£?\d[\d,]*(\.\d+)?(%|m| pts)?( \([+\-−]?£?\d[\d,]*(\.\d+)?(%|m| pts)?\))?"
    r"( \[[a-z]+\])?$"
)
_NEUTRAL = {"", "n/a", "[c]", "[x]", "[z]", "[low]", "[u]"}


def _figure_columns(rows: Sequence[Sequence[object]], skip: set[int]) -> set[int]:
    """Columns whose every cell is a figure (or blank, n/a, a GSS symbol)."""
    width = max((len(r) for r in rows), default=0)
    out = set()
    for i in range(width):
        if i in skip:
            continue
        cells = [str(r[i]).strip() for r in rows if i < len(r)]
        figures = [c for c in cells if c not in _NEUTRAL]
        if figures and all(_FIGURE.match(c) for c in figures):
            out.add(i)
    return out


def figure_cell_html(value: object) -> str:
    """A figure for a table cell, escaped: it may wrap between its parts (a change and
    its percentage) but never inside one (not after a minus sign).

    Examples
    --------
    >>> figure_cell_html("−£431,000 (−3.2%)")
    '<span class="nw">−£431,000</span> <span class="nw">(−3.2%)</span>'
    >>> figure_cell_html("1,204")
    '1,204'
    """
    text = escape(value)
    if " " not in text:
        return text
    return " ".join(f'<span class="nw">{part}</span>' for part in text.split(" "))


def table_html(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    caption: str,
    *,
    row_header: bool = True,
    classes: str = "data-table",
    raw_columns: Sequence[int] = (),
) -> str:
    """An accessible HTML table: a caption, column headers and (optionally) row headers.

    Cells are escaped, except in ``raw_columns`` whose cells the caller built from
    escaped parts (e.g. a status icon with its word). Columns that hold only figures get
    ``class="num"`` (right-aligned, tabular digits; a figure and its percentage may go
    on two lines, but neither is broken); text stays left-aligned.

    Examples
    --------
    >>> print(table_html(["Borough", "Count"], [["<b>", "1"]], "Test").replace("><", ">\\n<"))
    <table class="data-table">
    <caption>Test</caption>
    <thead>
    <tr>
    <th scope="col">Borough</th>
    <th scope="col" class="num">Count</th>
    </tr>
    </thead>
    <tbody>
    <tr>
    <th scope="row">&lt;b&gt;</th>
    <td class="num">1</td>
    </tr>
    </tbody>
    </table>
    """
    skip = set(raw_columns) | ({0} if row_header else set())
    numeric = _figure_columns(rows, skip)

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    parts = [f'<table class="{escape(classes)}"><caption>{escape(caption)}</caption><thead><tr>']
    parts += [f'<th scope="col"{cls(i)}>{escape(h)}</th>' for i, h in enumerate(header)]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>")
        for i, cell in enumerate(row):
            if i in raw_columns:
                text = str(cell)
            else:
                text = figure_cell_html(cell) if i in numeric else escape(cell)
            if i == 0 and row_header:
                parts.append(f'<th scope="row">{text}</th>')
            else:
                parts.append(f"<td{cls(i)}>{text}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _palette_png(image) -> bytes:
    """A chart image as a 256-colour palette PNG.

    Charts have few colours (300 to 600, counting the anti-aliased edges), so a
    256-colour palette without dithering is visually lossless. Pillow's
    maximum-coverage quantiser is used: on the project's charts no pixel differs from
    the original by more than 2 levels of 255 (median cut: up to 17, fast octree: up to
    14 and a tint over the whole background) and it is about twice as fast as median
    cut. The file is about 2.5 times smaller than a full-colour PNG.
    ``compress_level=6`` (zlib's default) costs 5 ms a chart where ``optimize=True``
    costs 30 ms, for files about 15% larger (``docs/performance.md``).
    """
    from PIL import Image

    palette = image.convert("RGB").quantize(
        colors=256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="PNG", compress_level=6)
    return out.getvalue()


#: Environment variable choosing how charts are encoded: ``svg`` (the default: vector
#: line and bar charts, PNG for figures with many shapes such as maps) or ``png``
#: (every chart a palette PNG, the path used before; kept for comparison and benchmarks).
CHART_FORMAT_VARIABLE = "MPSANALYSIS_CHART_FORMAT"
_CHART_FORMATS = ("svg", "png")
#: A figure whose collections hold more vertices than this (a borough map: about
#: 11,000) is drawn as PNG even in ``svg`` mode: as SVG it would be 6 to 7 times larger.
SVG_MAX_VERTICES = 2000
#: Fixed settings for SVG output: a fixed salt makes matplotlib's element ids (clip
#: paths, markers) the same on every run, and glyphs drawn as paths look the same in
#: every browser and printer, whatever fonts it has.
_SVG_RC: Any = {"svg.hashsalt": "mpsanalysis", "svg.fonttype": "path", "svg.image_inline": True}
_SVG_METADATA = {"Date": None, "Creator": None}


def chart_format() -> str:
    """The chart encoding chosen by ``MPSANALYSIS_CHART_FORMAT`` (default ``svg``).

    Examples
    --------
    >>> chart_format() in ("svg", "png")
    True
    """
    import os

    value = os.environ.get(CHART_FORMAT_VARIABLE, "svg").strip().lower() or "svg"
    if value not in _CHART_FORMATS:
        raise ValueError(f"{CHART_FORMAT_VARIABLE}={value!r} is not a chart format: use svg or png")
    return value


def _many_shapes(fig) -> bool:
    """True when the figure's collections hold more than :data:`SVG_MAX_VERTICES`
    vertices or it shows an image (such figures stay PNG)."""
    vertices = 0
    for ax in fig.axes:
        if ax.images:
            return True
        for collection in ax.collections:
            for path in collection.get_paths():
                vertices += len(path.vertices)
                if vertices > SVG_MAX_VERTICES:
                    return True
    return False


def _chart_svg(fig, bbox) -> bytes:
    """The figure cropped to ``bbox`` as deterministic SVG (no date, no creator)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_SVG_RC):
        fig.savefig(buffer, format="svg", bbox_inches=bbox, metadata=_SVG_METADATA)
    return buffer.getvalue()


def _chart_png(fig, bbox, dpi: int) -> tuple[bytes, int, int]:
    """The figure cropped to ``bbox`` as a palette PNG at ``dpi``, and its pixel size.

    Drawn once into an uncompressed TIFF (a plain copy of the pixels that keeps the
    size of the bounding box), then encoded once as a palette PNG: encoding a
    full-colour PNG first and decoding it again cost three times as much.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="tiff", dpi=dpi, bbox_inches=bbox, pil_kwargs={"compression": "raw"})
    buffer.seek(0)
    with Image.open(buffer) as image:
        width, height = image.size
        return _palette_png(image), width, height


def figure_html(fig, alt: str, caption: str, dpi: int = 144) -> str:
    """A matplotlib figure as an embedded image with alt text and a caption.

    The image is a data URI, so the report needs no other file and makes no request.
    Line and bar charts are SVG (vector: sharp at any zoom and in print, and cheaper to
    make than a raster); a figure with many shapes (a map) is a palette PNG drawn at
    ``dpi`` (sharp on high-density screens and in print). Either is displayed at its
    96 dpi size through ``width`` and ``height``, with ``alt`` on the ``<img>``.
    ``MPSANALYSIS_CHART_FORMAT=png`` makes every chart a PNG, as before
    (:func:`chart_format`). The figure is closed afterwards.

    A chart already drawn in this process (the same figure, settings, alt text and
    caption: :func:`_drawing_key`) is not drawn again: its HTML is reused. Working out
    the key costs a tenth of a drawing, and most charts are on one page only (their alt
    text names the page's borough and measure), so a chart is keyed only from the second
    time its alt text and caption are seen: the first time it cannot have been drawn.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    alt : str
        The chart's message in words (what a reader who cannot see it needs to know).
    caption : str
        The visible caption: what is shown and the source.
    dpi : int
        Resolution of a PNG.
    """
    import matplotlib.pyplot as plt

    if not alt or not alt.strip():
        plt.close(fig)
        raise ValueError("a chart needs alt text that states its message")
    try:
        as_svg = chart_format() == "svg" and not _many_shapes(fig)
        words = (alt, caption, dpi, as_svg)
        if words not in _WORDS_SEEN:
            _WORDS_SEEN[words] = None
            while len(_WORDS_SEEN) > WORDS_SEEN_MAX:
                _WORDS_SEEN.popitem(last=False)
            return _draw(fig, alt, caption, dpi, as_svg)
        _WORDS_SEEN.move_to_end(words)
        key = _drawing_key(fig, alt, caption, dpi, as_svg)
        if key is None:  # a figure that cannot be keyed is simply drawn
            return _draw(fig, alt, caption, dpi, as_svg)
        drawn = _DRAWN.get(key)
        if drawn is not None:
            _DRAWN.move_to_end(key)
            return drawn
        drawn = _DRAWN[key] = _draw(fig, alt, caption, dpi, as_svg)
        while len(_DRAWN) > DRAWN_MAX_CHARTS:
            _DRAWN.popitem(last=False)
        return drawn
    finally:
        plt.close(fig)


#: Charts drawn in this process, by :func:`_drawing_key`: a warm report kernel draws
#: the same chart for many reports (the force comparison of an objective is the same
#: for London and every borough, about a quarter of all charts in a full run). The
#: value is the finished HTML, an immutable string, so no report can change what
#: another one shows. At most :data:`DRAWN_MAX_CHARTS` (about 100 KB each) are kept.
_DRAWN: OrderedDict[str, str] = OrderedDict()
DRAWN_MAX_CHARTS = 64
#: The alt texts and captions (with the resolution and format) of the charts drawn in
#: this process, most recent last: a chart whose words are not here cannot be in
#: :data:`_DRAWN`, whose keys include them. At most :data:`WORDS_SEEN_MAX` are kept (a
#: full run draws about 1,000 charts); one forgotten only costs a drawing.
_WORDS_SEEN: OrderedDict[tuple, None] = OrderedDict()
WORDS_SEEN_MAX = 4096


def _drawing_key(fig, alt: str, caption: str, dpi: int, as_svg: bool) -> str | None:
    """The SHA-256 of everything that decides a chart's HTML, or None when the figure
    cannot be pickled (then it is simply drawn).

    The figure's pickle holds every artist with its data, transforms, styles and
    text; matplotlib's settings (``rcParams``, read at drawing time), its version, the
    format, resolution, alt text and caption are added. Two figures with the same key
    are the same drawing, so the first one's HTML is the second one's, byte for byte.
    Left out of the pickle: the pyplot figure number and each transform's record of the
    transforms that depend on it (keyed by ``id()``), which say nothing about the drawing
    and differ between two otherwise equal figures.
    """
    from matplotlib.figure import Figure
    from matplotlib.transforms import TransformNode

    # First the fast way: the bookkeeping is left out through a dispatch table, which
    # the C pickler consults by type, so no Python code runs for the other objects.
    # A figure holding an instance of a local class cannot be pickled so; it is then
    # pickled the slow way, which calls back for every object (:class:`_DrawingPickler`).
    buffer = io.BytesIO()
    fast = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = dict(copyreg.dispatch_table)
    for kind in (*_with_subclasses(TransformNode), *_with_subclasses(Figure)):
        table[kind] = _trimmed_reduce
    fast.dispatch_table = table
    try:
        fast.dump(fig)
    except Exception:
        buffer = io.BytesIO()
        pickler = _DrawingPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.trimmed_types = (TransformNode, Figure)
        try:
            pickler.dump(fig)
        except Exception:  # a figure holding a local function or an open resource
            return None
    digest = hashlib.sha256(buffer.getvalue())
    digest.update(repr(drawing_settings()).encode())
    digest.update(repr((as_svg, dpi, alt, caption)).encode())
    return digest.hexdigest()


def drawing_settings() -> tuple[str, list[tuple[str, str]]]:
    """What a chart's drawing depends on besides the figure: matplotlib's version and its
    settings (``rcParams``, read at drawing time), as comparable text.

    Examples
    --------
    >>> import matplotlib
    >>> version, settings = drawing_settings()
    >>> version == matplotlib.__version__
    True
    >>> dict(settings)["font.size"] == repr(matplotlib.rcParams["font.size"])
    True
    """
    import matplotlib

    return matplotlib.__version__, sorted(
        (name, repr(value)) for name, value in matplotlib.rcParams.items()
    )


def _with_subclasses(kind: type) -> list[type]:
    """``kind`` and every class derived from it that is defined so far."""
    found, todo = [], [kind]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


def _trimmed_reduce(obj: Any) -> Any:
    """How a transform or a figure is pickled for its key: as by ``__reduce_ex__``,
    without the bookkeeping that :class:`_DrawingPickler` leaves out."""
    reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    state = {k: v for k, v in reduced[2].items() if k not in _DrawingPickler._VOLATILE}
    return (reduced[0], reduced[1], state, *reduced[3:])


def _own_behaviour(member: Any) -> bool:
    """Whether a class member is behaviour of the class's own: a function, method or
    property, except the ``set`` method matplotlib generates for every Artist subclass
    from its properties (``Artist.__init_subclass__``)."""
    import matplotlib.artist

    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    code = getattr(member, "__code__", None)
    if code is not None and code.co_filename == matplotlib.artist.__file__:
        return False
    return callable(member) or isinstance(member, property)


class _DrawingPickler(pickle.Pickler):
    """A pickler of figures for hashing, never for loading: it leaves out the bookkeeping
    that is not drawn, and writes an instance of a class defined inside a function
    (GeoPandas draws a map with one) as that class's full name and the instance's state,
    which is what makes it draw as it does. Only a local class without methods of its
    own is written so (its behaviour is its bases'); one with methods could depend on
    the variables of the call that defined it, so its figure is not keyed at all."""

    _VOLATILE = ("_parents", "_number")
    trimmed_types: tuple[type, ...] = ()

    def reducer_override(self, obj):
        cls = type(obj)
        local = "<locals>" in cls.__qualname__ and not any(
            _own_behaviour(value)
            for name, value in vars(cls).items()
            if not (name.startswith("__") and name.endswith("__"))
        )
        if not (local or isinstance(obj, self.trimmed_types)):
            return NotImplemented
        reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        state = reduced[2]
        if isinstance(obj, self.trimmed_types):
            state = {k: v for k, v in state.items() if k not in self._VOLATILE}
        if local:
            data = sorted(  # class-level values, which the call could have set
                (name, repr(value))
                for name, value in vars(cls).items()
                if not (name.startswith("__") and name.endswith("__"))
                and not _own_behaviour(value)
                and not callable(value)
            )
            name = f"{cls.__module__}.{cls.__qualname__}{data}"
            return (str, (name,), state, *reduced[3:])
        return (reduced[0], reduced[1], state, *reduced[3:])


def forget_drawn_charts() -> None:
    """Drop the charts kept by :func:`figure_html` and :func:`highlighted_figure_html`
    (tests and benchmarks)."""
    _DRAWN.clear()
    _WORDS_SEEN.clear()
    _HIGHLIGHTS.clear()


def _svg_drawing(fig) -> tuple[bytes, float, float] | None:
    """The figure drawn once as SVG cropped to its ink, with its size in 96 dpi pixels;
    None when it draws something the one-pass crop cannot measure (``report/svg.py``)."""
    import matplotlib

    from mpsanalysis.report.svg import Unmeasured, tight_svg

    try:
        with matplotlib.rc_context(_SVG_RC):
            data, crop = tight_svg(fig, metadata=_SVG_METADATA)
    except Unmeasured:
        return None
    return data, crop.width * 96, crop.height * 96


def _draw(fig, alt: str, caption: str, dpi: int, as_svg: bool) -> str:
    """The figure drawn and encoded as the ``<figure>`` element :func:`figure_html` returns."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if as_svg:
        drawn = _svg_drawing(fig)  # one drawing, cropped to its ink
        if drawn is not None:
            return _figure_element(drawn[0], "image/svg+xml", drawn[1], drawn[2], alt, caption)
        # else measured and drawn as before
    # The tight bounding box is measured at the figure's own resolution and given to
    # savefig: with bbox_inches="tight" savefig lays the figure out a second time at
    # ``dpi`` just to measure it, which cost as much as drawing it. Text extents in
    # inches hardly depend on the resolution, and the padding absorbs the difference.
    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    bbox = fig.get_tightbbox(canvas.get_renderer())
    bbox = bbox.padded(matplotlib.rcParams["savefig.pad_inches"])
    if as_svg:
        data = _chart_svg(fig, bbox)
        return _figure_element(
            data, "image/svg+xml", bbox.width * 96, bbox.height * 96, alt, caption
        )
    data, width, height = _chart_png(fig, bbox, dpi)
    return _figure_element(data, "image/png", width * 96 / dpi, height * 96 / dpi, alt, caption)


class _Highlight:
    """How a bar chart's SVG changes when one of its bars is highlighted, learnt from
    two real drawings of the chart (none highlighted, one highlighted).

    Highlighting bar ``k`` changes that bar's fill (``fill: PLAIN`` becomes, say, a
    hatch pattern ``fill: url(#h…)``) and adds what the new fill needs (the pattern's
    ``<defs>``) at one place after every bar. :meth:`svg` makes the SVG of any bar
    highlighted from the plain drawing by the same two edits.
    """

    __slots__ = ("plain", "fills", "old", "new", "insert_at", "insert", "width", "height")

    def __init__(
        self,
        plain: bytes,
        fills: list[int],
        old: bytes,
        new: bytes,
        insert_at: int,
        insert: bytes,
        width: float,
        height: float,
    ) -> None:
        self.plain, self.fills, self.old, self.new = plain, fills, old, new
        self.insert_at, self.insert, self.width, self.height = insert_at, insert, width, height

    @classmethod
    def learn(
        cls,
        plain: tuple[bytes, float, float],
        highlighted: tuple[bytes, float, float],
        position: int,
        count: int,
        fill: str,
    ) -> _Highlight | None:
        """The edits that turn ``plain`` (no bar highlighted) into ``highlighted`` (bar
        ``position`` of ``count``, whose plain fill is ``fill``); None when the two
        drawings differ in any other way, so the chart must be drawn each time."""
        s0, s1 = plain[0], highlighted[0]
        old = f"fill: {fill}".encode()
        fills = [m.start() for m in re.finditer(re.escape(old), s0)]
        if len(fills) != count or plain[1:] != highlighted[1:]:
            return None
        at = fills[position]
        end = s1.find(b";", at)
        if s1[:at] != s0[:at] or end < 0 or s0[at + len(old) : at + len(old) + 1] != b";":
            return None
        new = s1[at:end]
        rest0, rest1 = s0[at + len(old) :], s1[end:]
        grown = len(rest1) - len(rest0)
        common = _common_prefix_length(rest0, rest1)
        if grown < 0 or rest1[common + grown :] != rest0[common:]:
            return None
        found = cls(
            s0,
            fills,
            old,
            new,
            at + len(old) + common,
            rest1[common : common + grown],
            plain[1],
            plain[2],
        )
        if found.insert_at < fills[-1] + len(old) or found.svg(position) != s1:
            return None
        return found

    def svg(self, position: int) -> bytes:
        """The SVG with bar ``position`` highlighted."""
        at, s0 = self.fills[position], self.plain
        return b"".join(
            (
                s0[:at],
                self.new,
                s0[at + len(self.old) : self.insert_at],
                self.insert,
                s0[self.insert_at :],
            )
        )


def _common_prefix_length(a: bytes, b: bytes) -> int:
    """The length of the longest common prefix of two byte strings (halving search).

    Examples
    --------
    >>> _common_prefix_length(b"abcdef", b"abcxef"), _common_prefix_length(b"ab", b"ab")
    (3, 2)
    """
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


#: Learnt highlights by chart (:func:`highlighted_figure_html`); ``None`` marks a chart
#: whose highlight is not two plain edits, which is then always drawn.
_HIGHLIGHTS: OrderedDict[str, _Highlight | None] = OrderedDict()
HIGHLIGHT_MAX_CHARTS = 16


def highlighted_figure_html(
    build, position: int | None, count: int, fill: str, key: object, alt: str, caption: str
) -> str:
    """:func:`figure_html` of ``build(position)``: a bar chart of ``count`` bars whose bar
    ``position`` is highlighted (``None``: no bar), drawn once for all positions.

    The borough ranking is the same chart on London's page and on every borough's page,
    except that a borough's page highlights its own bar. Drawing it is a tenth of a full
    run, so it is drawn twice per chart and kernel (no bar highlighted, and the first
    borough's), the two SVGs are compared, and every other borough's SVG is the plain one
    with the same two edits (the bar's fill, and the pattern the fill refers to). When
    the two drawings differ in any other way, or the charts are PNG, every page's chart
    is drawn as before. The result is byte for byte the drawing of ``build(position)``:
    ``tests/test_drawn_once.py`` checks it for every borough.

    Parameters
    ----------
    build : callable
        ``build(position)`` returns the figure with that bar highlighted (or none).
    position, count : int
        The highlighted bar (in drawing order) and the number of bars.
    fill : str
        The colour of a bar that is not highlighted, as the SVG writes it (``#9db0d3``).
    key : object
        Everything ``build`` depends on besides ``position`` (picklable): the data,
        titles and labels. Matplotlib's settings, the alt text and the caption are added.
    alt, caption : str
        As for :func:`figure_html`; the same for every position.
    """
    import matplotlib.pyplot as plt

    if position is None or chart_format() != "svg":
        return figure_html(build(position), alt, caption)
    try:
        digest = hashlib.sha256(
            pickle.dumps((key, drawing_settings(), alt, caption, count, fill))
        ).hexdigest()
    except Exception:  # a key that cannot be pickled: drawn as before
        return figure_html(build(position), alt, caption)
    if digest not in _HIGHLIGHTS:
        drawn = []
        for shown in (None, position):
            fig = build(shown)
            try:
                drawn.append(None if _many_shapes(fig) else _svg_drawing(fig))
            finally:
                plt.close(fig)
        plain, highlighted = drawn
        learnt = None
        if plain is not None and highlighted is not None:
            learnt = _Highlight.learn(plain, highlighted, position, count, fill)
        _HIGHLIGHTS[digest] = learnt
        while len(_HIGHLIGHTS) > HIGHLIGHT_MAX_CHARTS:
            _HIGHLIGHTS.popitem(last=False)
        if learnt is None and highlighted is not None:
            return _figure_element(highlighted[0], "image/svg+xml", *highlighted[1:], alt, caption)
    _HIGHLIGHTS.move_to_end(digest)
    learnt = _HIGHLIGHTS[digest]
    if learnt is None:
        return figure_html(build(position), alt, caption)
    return _figure_element(
        learnt.svg(position), "image/svg+xml", learnt.width, learnt.height, alt, caption
    )


def _figure_element(
    data: bytes, mime: str, width: float, height: float, alt: str, caption: str
) -> str:
    """An embedded chart: the image as a data URI shown at ``width`` x ``height`` px."""
    shown_w, shown_h = round(width), round(height)
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure class="chart"><img src="data:{mime};base64,{encoded}" '
        f'width="{shown_w}" height="{shown_h}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def callout_html(text: str, kind: str = "note") -> str:
    """A boxed note (kinds: note, warning, synthetic), text escaped.

    Examples
    --------
    >>> print(callout_html("Data not supplied", "warning"))  # doctest: +NORMALIZE_WHITESPACE
    <div class="callout callout-warning" role="note"><strong>Warning:</strong>
    Data not supplied</div>
    """
    label = {"note": "Note", "warning": "Warning", "synthetic": "SYNTHETIC DATA"}[kind]
    return (
        f'<div class="callout callout-{escape(kind)}" role="note"><strong>{label}:</strong> '
        f"{escape(text)}</div>"
    )


def status_html(status: str) -> str:
    """A status as icon and word (never colour alone); the colour only helps.

    Examples
    --------
    >>> status_html("at risk")
    '<span class="status status-at-risk"><span aria-hidden="true">▲</span> at risk</span>'
    """
    from mpsanalysis.measures.assessment import STATUS_ICONS

    icon = STATUS_ICONS.get(status, "?")
    return (
        f'<span class="status status-{escape(status.replace(" ", "-"))}">'
        f'<span aria-hidden="true">{escape(icon)}</span> {escape(status)}</span>'
    )


# ----------------------------------------------------------------- self-containment
_FETCHING_TAGS = {
    "script",
    "link",
    "iframe",
    "frame",
    "object",
    "embed",
    "base",
    "applet",
    "portal",
    "audio",
    "video",
    "source",
    "track",
}
_FETCHING_ATTRIBUTES = {"src", "srcset", "poster", "background", "data", "ping", "lowsrc"}
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_FETCH = re.compile(r"@import|url\(\s*(?!['\"]?(data:|#))", re.IGNORECASE)


class _ReferenceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in _FETCHING_TAGS:
            self.found.append(f"<{tag}> element")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.found.append("<meta http-equiv=refresh>")
        for name, value in attrs:
            value = (value or "").strip()
            if name in _FETCHING_ATTRIBUTES and value and not value.startswith("data:"):
                self.found.append(f"<{tag} {name}={value[:60]!r}>")
            if name in ("href", "xlink:href") and tag in ("use", "image", "feimage"):
                if not value.startswith(("#", "data:")):
                    self.found.append(f"<{tag} {name}={value[:60]!r}>")
            if name == "style" and _CSS_FETCH.search(value):
                self.found.append(f"<{tag} style> fetches: {value[:60]!r}")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            data = _CSS_COMMENT.sub(" ", data)
            for match in _CSS_FETCH.finditer(data):
                start = max(match.start() - 20, 0)
                self.found.append(f"stylesheet fetches: {data[start : match.end() + 40]!r}")


def find_external_references(page: str) -> list[str]:
    """Everything in a page that would make the browser fetch something outside it.

    Scripts, ``<link>`` (stylesheets, fonts, icons, preloads), frames and embedded
    objects, ``src``/``srcset`` that is not a ``data:`` URI, CSS ``@import`` and
    ``url(...)`` that is not ``data:``, and meta refresh. Ordinary ``<a href>`` links are
    allowed: nothing is fetched until a reader follows one.

    Examples
    --------
    >>> find_external_references('<img src="data:image/png;base64,AA"><a href="b.html">b</a>')
    []
    >>> find_external_references('<script src="https://cdn.example/x.js"></script>')
    ['<script> element', "<script src='https://cdn.example/x.js'>"]
    >>> find_external_references('<p style="background: url(http://x.example/a.png)">')
    ["<p style> fetches: 'background: url(http://x.example/a.png)'"]
    """
    finder = _ReferenceFinder()
    finder.feed(page)
    finder.close()
    return finder.found


def css_string(text: str) -> str:
    """Text as the inside of a double-quoted CSS string (e.g. for ``@page`` margin boxes):
    backslashes, quotes, line breaks and ``<`` are escaped, so nothing can end the string
    or the ``<style>`` element.

    Examples
    --------
    >>> css_string('Say "hi" </style>')
    'Say \\\\22 hi\\\\22  \\\\3c /style>'
    """
    out = []
    for char in str(text):
        if char in '\\"<' or ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return "".join(out)


def ward_table_html(
    counts: pd.DataFrame,
    caption: str,
    threshold: int | None = None,
    totals: bool = True,
) -> str:
    """An accessible ward table with small counts withheld as "[c]" (disclosure control
    by :func:`mpsanalysis.stats.disclosure.protect_ward_table`), and a note saying
    what "[c]" means and how many cells were withheld.

    Examples
    --------
    >>> import pandas as pd
    >>> wards = pd.DataFrame({"Ward": ["Abbey", "Brunswick"], "Robbery": [4, 30]})
    >>> "[c]" in ward_table_html(wards, "Robbery by ward", totals=False)
    True
    """
    from mpsanalysis.stats.disclosure import SUPPRESSED, protect_ward_table

    shown = protect_ward_table(counts, threshold, totals)
    labels, value_columns = shown.attrs["labels"], shown.attrs["value_columns"]
    limit = shown.attrs["threshold"]
    other_labels = labels[1:]
    header = [
        str(shown.attrs["row_label"]),
        *map(str, other_labels),
        *(str(c).strip() for c in value_columns),
    ]
    rows = []
    for label, record in shown.iterrows():
        first = record[labels[0]] if labels else label
        rows.append(
            [first, *(record[c] for c in other_labels), *(record[c] for c in value_columns)]
        )
    withheld = sum(str(v) == SUPPRESSED for r in rows for v in r[1 + len(other_labels) :])
    note = (
        f'<p class="table-note">{escape(SUPPRESSED)} = confidential: counts from 1 to '
        f"{limit - 1} are not shown, to protect the people involved, and further cells "
        "are withheld where they would let a withheld count be worked out from the "
        f"totals ({withheld} cell{'s' if withheld != 1 else ''} withheld in this table). "
        "Zeros are shown.</p>"
    )
    return table_html(header, rows, caption, classes="data-table ward-table") + note
