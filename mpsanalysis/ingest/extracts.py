"""Internal extracts: the measures that are not published (detections, disruptions, ...).

An extract is a CSV in this template (one row per month, geography and measure)::

    month,geography,measure,value,numerator,denominator
    2010-04,London,criminal_network_disruptions,36,,
    2010-04,London,sanction_detections,20.4,10302,50500

``month``
    ``YYYY-MM``.
``geography``
    ``London`` or a borough name.
``measure``
    The ``extract_measure`` name in the objective catalogue (lower case, ``_``).
``value``
    The figure: a count, an amount in pounds, or a percentage for proportions.
``numerator``, ``denominator``
    For proportions (e.g. detections and offences): required, and ``value`` must equal
    numerator / denominator × 100 (to 0.1) when both are given.

Extracts go in ``data/raw/extracts/``. The package ships a small SYNTHETIC sample
(:func:`sample_extract_path`) for trying the reports; every report built on it says
SYNTHETIC. A file is treated as synthetic when its name contains "synthetic".
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.loaders import check_csv_shape, read_text_file

__all__ = [
    "EXTRACT_COLUMNS",
    "sample_extract_path",
    "extracts_dir",
    "read_extract",
    "load_extracts",
    "extract_series",
    "make_sample_extract",
]

EXTRACT_COLUMNS = ["month", "geography", "measure", "value", "numerator", "denominator"]
_REQUIRED = ["month", "geography", "measure", "value"]
_MEASURE = re.compile(r"^[a-z][a-z0-9_]*$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def sample_extract_path() -> Path:
    """The shipped SYNTHETIC sample extract."""
    return Path(__file__).with_name("sample_extracts") / "sample_extract_SYNTHETIC.csv"


def extracts_dir() -> Path:
    """Where analysts put real extracts: ``data/raw/extracts/``."""
    return paths.raw_dir() / "extracts"


def _error(message: str, name: str, line: int | None = None, column: str | None = None):
    return DataValidationError(message, file=name, row=line, column=column)


def read_extract(path: str | Path) -> pd.DataFrame:
    """Read and validate one extract CSV.

    Returns
    -------
    pandas.DataFrame
        Columns month (Period), geography (canonical), measure, value, numerator,
        denominator (float, NaN when absent), source_file, synthetic (bool).

    Raises
    ------
    DataValidationError
        Naming the file, line and column: missing column, bad month, unknown geography,
        bad measure name, non-numeric or negative value, proportion without numerator
        and denominator or inconsistent with them, duplicate rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "extract.csv"
    >>> _ = f.write_text("month,geography,measure,value\\n2010-04,London,cash_seized,12.5\\n"
    ...                  "2010-04,Narnia,cash_seized,1\\n")
    >>> read_extract(f)
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: extract.csv, line 3, column 'geography': unknown geography 'Narnia': expected London or a London borough
    """
    path = Path(path)
    name = path.name
    text = read_text_file(path)
    check_csv_shape(text, name)  # rectangular: no cut-short, shifted or blank lines
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserError as exc:
        raise _error(f"is not a well-formed CSV ({exc})", name) from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    for column in _REQUIRED:
        if column not in frame.columns:
            raise _error(
                f"missing required column {column!r} (template: {', '.join(EXTRACT_COLUMNS)})",
                name,
                1,
            )
    extra = [c for c in frame.columns if c not in EXTRACT_COLUMNS]
    if extra:
        raise _error(
            f"unexpected column {extra[0]!r} (template: {', '.join(EXTRACT_COLUMNS)})",
            name,
            1,
            extra[0],
        )
    for optional in ("numerator", "denominator"):
        if optional not in frame.columns:
            frame[optional] = ""
    rows = []
    seen: dict[tuple, int] = {}
    for offset, record in enumerate(frame.itertuples(index=False)):
        line = offset + 2
        month_text = record.month.strip()
        if not _MONTH.match(month_text) or not 1 <= int(month_text[5:]) <= 12:
            raise _error(f"month {record.month!r} is not YYYY-MM", name, line, "month")
        geography = record.geography.strip()
        canonical: str | None
        if geography.lower() == "london":
            canonical = boroughs.LONDON
        else:
            canonical = boroughs.normalise_borough_name(geography)
        if canonical is None:
            raise _error(
                f"unknown geography {geography!r}: expected London or a London borough",
                name,
                line,
                "geography",
            )
        measure = record.measure.strip()
        if not _MEASURE.match(measure):
            raise _error(
                f"measure {measure!r} must be lower case letters, digits and '_'",
                name,
                line,
                "measure",
            )
        numbers = {}
        for column in ("value", "numerator", "denominator"):
            raw = getattr(record, column).strip().replace(",", "").lstrip("£")
            if raw == "":
                numbers[column] = math.nan
                continue
            try:
                number = float(raw)
            except ValueError:
                raise _error(f"{column} {raw!r} is not a number", name, line, column) from None
            if not math.isfinite(number) or number < 0:
                raise _error(f"{column} {raw!r} must be a non-negative number", name, line, column)
            numbers[column] = number
        has_num = not math.isnan(numbers["numerator"])
        has_den = not math.isnan(numbers["denominator"])
        if has_num != has_den:
            raise _error(
                "numerator and denominator must be given together",
                name,
                line,
                "numerator" if not has_num else "denominator",
            )
        if has_den:
            if numbers["denominator"] == 0 or numbers["numerator"] > numbers["denominator"]:
                raise _error(
                    "numerator must be between 0 and a non-zero denominator",
                    name,
                    line,
                    "numerator",
                )
            implied = numbers["numerator"] / numbers["denominator"] * 100
            if math.isnan(numbers["value"]):
                numbers["value"] = implied
            elif abs(implied - numbers["value"]) > 0.1:
                raise _error(
                    f"value {numbers['value']:g} disagrees with numerator/denominator "
                    f"({implied:.1f}%)",
                    name,
                    line,
                    "value",
                )
        if math.isnan(numbers["value"]):
            raise _error("value is blank", name, line, "value")
        key = (month_text, canonical, measure)
        if key in seen:
            raise _error(
                f"duplicate row for {measure} / {canonical} / {month_text} (also line {seen[key]})",
                name,
                line,
            )
        seen[key] = line
        rows.append(
            (
                month_text,
                canonical,
                measure,
                numbers["value"],
                numbers["numerator"],
                numbers["denominator"],
            )
        )
    if not rows:
        raise _error("has a header but no data rows", name)
    out = pd.DataFrame(rows, columns=EXTRACT_COLUMNS)
    out["month"] = pd.PeriodIndex(out["month"], freq="M")
    out["source_file"] = name
    out["synthetic"] = "synthetic" in name.lower()
    return out


def load_extracts(source: str | Path | None = None) -> pd.DataFrame:
    """Load the extracts to report on.

    Parameters
    ----------
    source : str or pathlib.Path, optional
        ``"sample"`` for the shipped SYNTHETIC sample; a file or folder of CSVs; or
        None/"" for ``data/raw/extracts/`` (an empty table when it does not exist, so
        extract measures show "data not supplied").
    """
    if source in (None, ""):
        folder = extracts_dir()
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    elif str(source) == "sample":
        files = [sample_extract_path()]
    else:
        path = Path(source)
        if path.is_dir():
            files = sorted(path.glob("*.csv"))
        elif path.is_file():
            files = [path]
        else:
            raise ParameterError(f"extracts {path.name!r} is neither a file nor a folder")
    if not files:
        empty = pd.DataFrame(columns=EXTRACT_COLUMNS + ["source_file", "synthetic"])
        empty["month"] = pd.PeriodIndex([], freq="M")
        return empty
    frames = [read_extract(f) for f in files]
    combined = pd.concat(frames, ignore_index=True)
    dupes = combined.duplicated(["month", "geography", "measure"], keep=False)
    if dupes.any():
        row = combined[dupes].iloc[0]
        files_hit = sorted(combined[dupes]["source_file"].unique())
        raise DataValidationError(
            f"{row['measure']} / {row['geography']} / {row['month']} is supplied by more than "
            f"one extract ({', '.join(files_hit)})"
        )
    return combined


def extract_series(extracts: pd.DataFrame, measure: str, geography: str) -> pd.DataFrame:
    """Monthly value, numerator and denominator of one extract measure and geography.

    Returns an empty frame when the extract does not supply it.
    """
    rows = extracts[(extracts["measure"] == measure) & (extracts["geography"] == geography)]
    return rows.set_index("month")[["value", "numerator", "denominator", "synthetic"]].sort_index()


def make_sample_extract(
    start: str = "2009-04", end: str = "2025-12", seed: int = 2010
) -> pd.DataFrame:
    """Generate the SYNTHETIC sample extract (how the shipped file was made).

    Monthly London figures of the order of those in the reference reports (e.g. about
    760 child abuse offences and 36 criminal network disruptions a month), drawn from
    Poisson and binomial distributions with a mild seasonal cycle. Not real data.
    """
    rng = np.random.default_rng(seed)
    months = pd.period_range(start, end, freq="M")
    season = 1 + 0.08 * np.sin(2 * np.pi * (months.month.to_numpy() - 4) / 12)
    counts = {
        "child_abuse_offences": 757,
        "criminal_network_disruptions": 36,
        "confiscation_orders": 131,
        "gun_enabled_crime": 260,
        "class_a_supply_charges": 310,
    }
    money = {"assets_recovered": 2_640_000, "cash_seized": 1_600_000}
    rates = {
        "child_abuse_sanction_detections": (757, 0.26),
        "sanction_detections": (50_000, 0.20),
        "domestic_violence_sanction_detections": (4_500, 0.34),
        "rape_sanction_detections": (190, 0.28),
        "public_confidence": (1_200, 0.80),
    }
    rows: list[tuple[str, str, str, float, int | str, int | str]] = []
    for i, month in enumerate(months):
        for measure, mean in counts.items():
            rows.append((str(month), "London", measure, int(rng.poisson(mean * season[i])), "", ""))
        for measure, mean in money.items():
            value = round(float(rng.gamma(4.0, mean * season[i] / 4.0)), -3)
            rows.append((str(month), "London", measure, value, "", ""))
        for measure, (size, rate) in rates.items():
            denominator = int(rng.poisson(size * season[i]))
            numerator = int(rng.binomial(denominator, rate))
            value = round(numerator / denominator * 100, 2)
            rows.append((str(month), "London", measure, value, numerator, denominator))
    return pd.DataFrame(rows, columns=EXTRACT_COLUMNS)
