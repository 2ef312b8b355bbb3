"""Safe HTML for reports: every piece of text from data is escaped.

Borough names, category names and extract labels come from files an analyst does not
control, so they are escaped here and nowhere assembled into markup by hand elsewhere.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence

__all__ = [
    "escape",
    "format_count",
    "format_number",
    "format_percent",
    "format_change",
    "format_money",
    "table_html",
    "figure_html",
    "callout_html",
]


def escape(value: object) -> str:
    """Escape any value for HTML text or attributes.

    Examples
    --------
    >>> escape("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_count(value: float | None) -> str:
    """A count in full with thousands separators, or 'n/a'.

    Examples
    --------
    >>> format_count(5296), format_count(float("nan"))
    ('5,296', 'n/a')
    """
    return "n/a" if _missing(value) else f"{round(value):,}"


def format_number(value: float | None, decimals: int = 1) -> str:
    """A number with thousands separators and fixed decimals, or 'n/a'."""
    return "n/a" if _missing(value) else f"{value:,.{decimals}f}"


def format_percent(value: float | None, decimals: int = 1) -> str:
    """A percentage, e.g. '26.0%', or 'n/a'."""
    return "n/a" if _missing(value) else f"{value:.{decimals}f}%"


def format_change(value: float | None, decimals: int = 1, unit: str = "%") -> str:
    """A signed change, e.g. '+2.1%' or '−4.6%' (true minus sign), or 'n/a'.

    Examples
    --------
    >>> format_change(2.1), format_change(-4.63), format_change(3, 0, "")
    ('+2.1%', '−4.6%', '+3')
    """
    if _missing(value):
        return "n/a"
    text = f"{abs(value):,.{decimals}f}{unit}"
    if round(value, decimals) == 0:
        return f"0{'.' + '0' * decimals if decimals else ''}{unit}"
    return ("+" if value > 0 else "−") + text


def format_money(value: float | None) -> str:
    """Pounds: '£18.5m' for millions, '£250,000' below.

    Examples
    --------
    >>> format_money(18_500_000), format_money(250_000)
    ('£18.5m', '£250,000')
    """
    if _missing(value):
        return "n/a"
    if abs(value) >= 1_000_000:
        return f"£{value / 1_000_000:,.1f}m"
    return f"£{value:,.0f}"


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
    escaped parts (e.g. a status icon with its word).

    Examples
    --------
    >>> print(table_html(["Borough", "Count"], [["<b>", "1"]], "Test"))  # doctest: +NORMALIZE_WHITESPACE
    <table class="data-table"><caption>Test</caption><thead><tr><th scope="col">Borough</th><th scope="col">Count</th></tr></thead><tbody><tr><th scope="row">&lt;b&gt;</th><td>1</td></tr></tbody></table>
    """
    parts = [f'<table class="{escape(classes)}"><caption>{escape(caption)}</caption><thead><tr>']
    parts += [f'<th scope="col">{escape(h)}</th>' for h in header]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>")
        for i, cell in enumerate(row):
            text = str(cell) if i in raw_columns else escape(cell)
            if i == 0 and row_header:
                parts.append(f'<th scope="row">{text}</th>')
            else:
                parts.append(f"<td>{text}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def figure_html(fig, alt: str, caption: str, dpi: int = 96) -> str:
    """A matplotlib figure as an embedded, compressed PNG with alt text and a caption.

    The image is a data URI, so the report needs no other file and makes no request.
    The figure is closed afterwards.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight",
                pil_kwargs={"optimize": True}, metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure class="chart"><img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def callout_html(text: str, kind: str = "note") -> str:
    """A boxed note (kinds: note, warning, synthetic), text escaped.

    Examples
    --------
    >>> callout_html("Data not supplied", "warning")
    '<div class="callout callout-warning" role="note"><strong>Warning:</strong> Data not supplied</div>'
    """
    label = {"note": "Note", "warning": "Warning", "synthetic": "SYNTHETIC DATA"}[kind]
    return (
        f'<div class="callout callout-{escape(kind)}" role="note"><strong>{label}:</strong> '
        f"{escape(text)}</div>"
    )
