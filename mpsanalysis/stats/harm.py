"""Harm-weighted counts: offences weighted by the ONS Crime Severity Score."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mpsanalysis.errors import ParameterError, check_columns
from mpsanalysis.ingest import store

__all__ = [
    "compute_harm_weighted",
]


def compute_harm_weighted(
    counts_by_offence_code: pd.Series | pd.DataFrame,
    weights: pd.DataFrame | Mapping[str, float] | None = None,
    directory: Path | None = None,
) -> pd.DataFrame:
    """Weight offence counts by the ONS Crime Severity Score weight of their code.

    Parameters
    ----------
    counts_by_offence_code : pandas.Series or pandas.DataFrame
        A Series of counts indexed by Home Office offence code, or a table with
        ``offence_code`` and ``count`` columns (other columns, e.g. ``force_name``, are
        kept).
    weights : pandas.DataFrame or mapping, optional
        ``offence_code`` and ``severity_weight`` columns, or {code: weight}; default the
        store's ``severity_weights`` table.
    directory : pathlib.Path, optional
        The store folder.

    Returns
    -------
    pandas.DataFrame
        The input rows with ``severity_weight``, ``harm`` (count × weight) and
        ``has_weight``. Codes without a weight keep a missing harm (never zero), so a
        total of ``harm`` must be read with ``has_weight``.

    Notes
    -----
    harm = count × weight; the ONS Crime Severity Score of an area is the sum of harm
    divided by its population (ONS, "Research outputs: developing a Crime Severity
    Score for England and Wales", 2016).

    Examples
    --------
    3 homicides (weight 7,973.39) and 100 shoplifting offences (11.86):

    >>> w = {"1": 7973.39, "46": 11.86}
    >>> compute_harm_weighted(pd.Series({"1": 3, "46": 100, "AF": 5}), w)
      offence_code  count  severity_weight      harm  has_weight
    0            1      3          7973.39  23920.17        True
    1           46    100            11.86   1186.00        True
    2           AF      5              NaN       NaN       False
    """
    if isinstance(counts_by_offence_code, pd.Series):
        table = counts_by_offence_code.rename("count").rename_axis("offence_code").reset_index()
    elif isinstance(counts_by_offence_code, pd.DataFrame):
        check_columns(counts_by_offence_code, ["offence_code", "count"], "counts")
        table = counts_by_offence_code.copy()
    else:
        raise ParameterError("counts must be a Series indexed by offence code or a DataFrame")
    if weights is None:
        weights = store.read_table("severity_weights", directory=directory)
    if isinstance(weights, pd.DataFrame):
        check_columns(weights, ["offence_code", "severity_weight"], "weights")
        lookup = dict(zip(weights["offence_code"], weights["severity_weight"], strict=True))
    else:
        lookup = dict(weights)
    table["offence_code"] = table["offence_code"].astype(str)
    table["severity_weight"] = table["offence_code"].map(lookup).astype(float)
    table["harm"] = table["count"] * table["severity_weight"]
    table["has_weight"] = table["severity_weight"].notna()
    return table
