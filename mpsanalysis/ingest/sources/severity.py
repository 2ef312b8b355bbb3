"""Crime severity: ONS Crime Severity Score weights and the Cambridge Crime Harm Index.

* ``ons/crime-severity-weights``: the ONS Crime Severity Score (experimental
  statistics) weight of each Home Office offence code (roughly the average sentence
  days an offence attracts), joined by a third party to police.uk categories.
* ``other/cambridge-crime-harm-index``: median Cambridge Crime Harm Index days per Home
  Office offence subgroup (derived by a third party), an alternative weighting.

:func:`compute_harm_weighted` weights counts by offence code.
:data:`MINOR_CATEGORY_CODES` maps each MPS (London Datastore) minor category to the
Home Office offence codes it covers, so :func:`map_minor_category_weights` can give
each category a weight: the mean of its codes' weights weighted by the Met's recorded
offences of each code (FY2019/20) when those counts are supplied, else the unweighted
mean. Categories with no defensible mapping (fraud) get none, never a guess.

KNOWN DEFECT of the joined file: some police.uk classification codes were turned into
spreadsheet dates (``4/6`` saved as 43986, the serial of 4 June 2020; ``8/60`` as 22129,
August 1960). They are decoded back and flagged ``policeuk_code_repaired``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError, ParameterError, check_columns
from mpsanalysis.ingest.sources import _common

__all__ = [
    "SEVERITY_COLUMNS",
    "MINOR_CATEGORY_CODES",
    "read_css_weights",
    "read_cchi_weights",
    "map_minor_category_weights",
    "build_severity",
]

#: Columns of the ``severity_weights`` table (one row per Home Office offence code).
SEVERITY_COLUMNS = [
    "offence_code",
    "offence_description",
    "ons_category",
    "severity_weight",
    "policeuk_category",
    "policeuk_code",
    "policeuk_code_published",
    "policeuk_code_repaired",
    "source_file",
]

_MISC = (
    "80", "76", "83", "26", "15", "802", "95", "24", "60", "814", "33", "54", "33A", "86",
    "69", "61", "99", "67", "79", "61A", "38", "27", "59", "96",
)  # fmt: skip
_WEAPONS = ("10A", "10B", "10C", "10D", "81", "90")
_RESIDENTIAL = ("28A", "28B", "28C", "28D", "28E", "28F", "28G", "28H", "29", "29A")
_NON_RESIDENTIAL = ("30A", "30B", "30C", "30D", "31", "31A")
_RAPE = ("19C", "19D", "19E", "19F", "19G", "19H", "19J", "19K")
_OTHER_SEXUAL = (
    "17A", "17B", "20A", "20B", "21", "22A", "22B", "23", "70", "71", "72", "73", "88A",
    "88C", "88D", "88E",
)  # fmt: skip
_VWI = ("2", "4.3", "4.7", "5D", "5E", "8N", "8P", "8S")
_VWOI = ("3A", "3B", "11A", "13", "14", "36", "104", "105A", "105B", "106")
_STALKING = ("8L", "8M", "8Q", "8R")
_DRIVING = ("4.4", "4.6", "4.8", "4.9", "37.1")
_OTHER_THEFT = ("35", "40", "41", "42", "43", "47", "49", "49A")
_NO_MAPPING = "fraud is not in the Crime Severity Score weights file: no defensible weight"

#: MPS minor category (any published spelling; matched without regard to case, spaces
#: and punctuation) -> (Home Office offence codes, CCHI subgroup, note). An empty code
#: tuple means no defensible mapping. Codes follow the Home Office offence subgroups of
#: the FY2019/20 PRC tables; the MPS categories follow the same Home Office groups.
MINOR_CATEGORY_CODES: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "Arson": (("56A", "56B"), "Arson", ""),
    "Criminal Damage": (("58A", "58B", "58C", "58D", "58J"), "Criminal damage", ""),
    "Burglary Business and Community": (_NON_RESIDENTIAL, "Non-residential burglary", ""),
    "Burglary - Business and Community": (_NON_RESIDENTIAL, "Non-residential burglary", ""),
    "Burglary Non-Dwelling": (_NON_RESIDENTIAL, "Non-residential burglary", ""),
    "Domestic Burglary": (_RESIDENTIAL, "Residential burglary", ""),
    "Burglary - Residential": (_RESIDENTIAL, "Residential burglary", ""),
    "Burglary In A Dwelling": (_RESIDENTIAL, "Residential burglary", ""),
    "Res Burglary Of A Home": (_RESIDENTIAL, "Residential burglary", ""),
    "Res Burglary Of Unconnected Building": (
        _RESIDENTIAL,
        "Residential burglary",
        "sheds and garages: the Home Office codes do not separate them from homes",
    ),
    "Drug Trafficking": (("92A",), "Trafficking of drugs", ""),
    "Trafficking Of Drugs": (("92A",), "Trafficking of drugs", ""),
    "Possession of Drugs": (("92C", "92D", "92E"), "Possession of drugs", ""),
    "Historical Fraud and Forgery": ((), None, _NO_MAPPING),
    "Fraud And Forgery": ((), None, _NO_MAPPING),
    "Nfib": ((), None, _NO_MAPPING),
    "Absconding from Lawful Custody": (("80",), "Miscellaneous crimes against society", ""),
    "Aiding Suicide": (("76",), "Miscellaneous crimes against society", ""),
    "Bail Offences": (("83",), "Miscellaneous crimes against society", ""),
    "Bigamy": (("26",), "Miscellaneous crimes against society", ""),
    "Concealing an Infant Death Close to Birth": (
        ("15",),
        "Miscellaneous crimes against society",
        "",
    ),
    "Dangerous Driving": (("802",), "Miscellaneous crimes against society", ""),
    "Disclosure, Obstruction, False or Misleading State": (
        ("95",),
        "Miscellaneous crimes against society",
        "",
    ),
    "Exploitation of Prostitution": (("24",), "Miscellaneous crimes against society", ""),
    "Forgery or Use of Drug Prescription": (("60",), "Miscellaneous crimes against society", ""),
    "Fraud or Forgery Associated with Driver Records": (
        ("814",),
        "Miscellaneous crimes against society",
        "",
    ),
    "Going Equipped for Stealing": (("33",), "Miscellaneous crimes against society", ""),
    "Handling Stolen Goods": (("54",), "Miscellaneous crimes against society", ""),
    "Making, Supplying or Possessing Articles for use i": (
        ("33A",),
        "Miscellaneous crimes against society",
        "",
    ),
    "Obscene Publications": (("86",), "Miscellaneous crimes against society", ""),
    "Offender Management Act": (("69",), "Miscellaneous crimes against society", ""),
    "Other Forgery": (("61",), "Miscellaneous crimes against society", ""),
    "Other Notifiable Offences": (("99",), "Miscellaneous crimes against society", ""),
    "Perjury": (("67",), "Miscellaneous crimes against society", ""),
    "Perverting Course of Justice": (("79",), "Miscellaneous crimes against society", ""),
    "Possession of False Documents": (("61A",), "Miscellaneous crimes against society", ""),
    "Profitting From or Concealing Proceeds of Crime": (
        ("38",),
        "Miscellaneous crimes against society",
        "",
    ),
    "Soliciting for Prostitution": (("27",), "Miscellaneous crimes against society", ""),
    "Threat or Possession With Intent to Commit Crimina": (
        ("59",),
        "Miscellaneous crimes against society",
        "",
    ),
    "Wildlife Crime": (("96",), "Miscellaneous crimes against society", ""),
    "Misc Crimes Against Society": (_MISC, "Miscellaneous crimes against society", ""),
    "Other Firearm Offences": (("81",), "Possession of weapons offences", ""),
    "Possession of Firearm with Intent": (("10A",), "Possession of weapons offences", ""),
    "Possession of Firearms Offences": (("10B",), "Possession of weapons offences", ""),
    "Possession of Other Weapon": (("10C",), "Possession of weapons offences", ""),
    "Possession of Article with Blade or Point": (("10D",), "Possession of weapons offences", ""),
    "Other Knife Offences": (("90",), "Possession of weapons offences", ""),
    "Possession Of Weapons": (_WEAPONS, "Possession of weapons offences", ""),
    "Other Offences Against the State, or Public Order": (("66",), "Public order offences", ""),
    "Other Offences Public Order": (("66",), "Public order offences", ""),
    "Public Fear Alarm or Distress": (("9A",), "Public order offences", ""),
    "Racially or Religiously Aggravated Public Fear, Al": (("9B",), "Public order offences", ""),
    "Race Or Religious Agg Public Fear": (("9B",), "Public order offences", ""),
    "Violent Disorder": (("62A",), "Public order offences", ""),
    "Robbery of Business Property": (("34A",), "Robbery of business property", ""),
    "Robbery of Personal Property": (("34B",), "Robbery of personal property", ""),
    "Rape": (_RAPE, "Rape offences", ""),
    "Other Sexual Offences": (_OTHER_SEXUAL, "Other sexual offences", ""),
    "Bicycle Theft": (("44",), "Bicycle theft", ""),
    "Other Theft": (_OTHER_THEFT, "Other theft offences", ""),
    "Shoplifting": (("46",), "Shoplifting", ""),
    "Theft from Person": (("39",), "Theft from the person", ""),
    "Theft From The Person": (("39",), "Theft from the person", ""),
    "Aggravated Vehicle Taking": (("37.2",), "Vehicle offences", ""),
    "Interfering with a Motor Vehicle": (("126",), "Vehicle offences", ""),
    "Theft from a Motor Vehicle": (("45",), "Vehicle offences", ""),
    "Theft From A Vehicle": (("45",), "Vehicle offences", ""),
    "Theft or Taking of a Motor Vehicle": (("48",), "Vehicle offences", ""),
    "Theft Or Unauth Taking Of A Motor Veh": (("48",), "Vehicle offences", ""),
    "Homicide": (("1", "4.1", "4.2", "4.10"), "Homicide", ""),
    "Violence with Injury": (_VWI, "Violence with injury", ""),
    "Violence without Injury": (
        _VWOI,
        "Violence without injury",
        "until the MPS published 'Stalking and Harassment' separately (2024 files) this "
        "category also held harassment and stalking (8L, 8M, 8Q, 8R), whose weights are "
        "similar (15 to 56)",
    ),
    "Stalking And Harassment": (_STALKING, "Stalking and harassment", ""),
    "Death Serious Injury Illegal Driving": (
        _DRIVING,
        "Death or serious injury - unlawful driving",
        "",
    ),
}

_JOIN_FIELDS = {
    "ONS_COUNTS_code": "offence_code",
    "ONS_COUNTS_description": "offence_description",
    "ONS_COUNTS_category": "ons_category",
    "ONS_SEVERITY_weight": "severity_weight",
}
_OLD_FIELDS = {
    "code_original": "offence_code",
    "description": "offence_description",
    "category_counts": "ons_category",
    "weight": "severity_weight",
}
_SERIAL = re.compile(r"^\d{5}$")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(name).casefold()).strip()


_MAPPING_BY_KEY = {_key(k): (k, *v) for k, v in MINOR_CATEGORY_CODES.items()}


def _repair_code(code: str) -> tuple[str, bool]:
    """Decode a police.uk code that a spreadsheet turned into a date serial number.

    Excel read ``4/6`` as 4 June (of the year the file was made, 2020: serial 43986) and
    ``8/60`` as August 1960 (serial 22129): day/month when the year is the file's, else
    month/two-digit year.
    """
    if not _SERIAL.match(code):
        return code, False
    date = pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(code))
    if date.year == 2020:
        return f"{date.day}/{date.month}", True
    if date.day == 1:
        return f"{date.month}/{date.year % 100:02d}", True
    return code, False


def read_css_weights(path: str | Path) -> pd.DataFrame:
    """Read and validate the ONS Crime Severity Score weights by Home Office offence code.

    Parameters
    ----------
    path : str or pathlib.Path
        ``ons_css_weights_policeuk_join.csv`` (or the older ``..._severity_codes.csv``,
        which has no police.uk columns).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SEVERITY_COLUMNS`, one row per offence code. Rows whose code
        lists several codes (the "Homicide" summary row ``1/4.1/4.10/4.2``) are left out:
        each of those codes has its own row with the same weight.

    Raises
    ------
    DataValidationError
        Missing column, blank code, a weight that is not a positive number, a code given
        twice with different weights.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "css.csv"
    >>> _ = f.write_text("ONS_COUNTS_category,ONS_COUNTS_description,ONS_COUNTS_code,"
    ...     "ONS_SEVERITY_weight,POLICE_UK_CAT_MAP_code,POLICE_UK_CAT_MAP_category\\n"
    ...     "theft offences,Shoplifting,46,11.86,46,Shoplifting\\n"
    ...     "violence,Causing death by careless driving,4.6,1512.0,43986,Violence\\n")
    >>> read_css_weights(f)[["offence_code", "severity_weight", "policeuk_code",
    ...                      "policeuk_code_repaired"]]
      offence_code  severity_weight policeuk_code  policeuk_code_repaired
    0           46            11.86            46                   False
    1          4.6          1512.00           4/6                    True
    """
    path = Path(path)
    name = path.name
    header = pd.read_csv(path, nrows=0).columns.str.strip()
    fields = _JOIN_FIELDS if "ONS_COUNTS_code" in header else _OLD_FIELDS
    frame = _common.read_csv_checked(path, list(fields), what="crime severity weights file")
    _common.check_not_blank(frame, list(fields), name)
    weights = _common.parse_counts(
        frame,
        [k for k, v in fields.items() if v == "severity_weight"],
        name,
        allow_fraction=True,
        what="weight",
    )[:, 0]
    weight_column = next(k for k, v in fields.items() if v == "severity_weight")
    _common.raise_at_first(
        pd.Series(weights <= 0, index=frame.index),
        frame,
        weight_column,
        "weight {value!r} is not positive",
        name,
    )
    out = frame[list(fields)].rename(columns=fields)
    out["severity_weight"] = weights
    published = (
        frame["POLICE_UK_CAT_MAP_code"]
        if "POLICE_UK_CAT_MAP_code" in frame
        else pd.Series("", index=frame.index)
    )
    repaired = published.map(_repair_code)
    out["policeuk_category"] = (
        frame["POLICE_UK_CAT_MAP_category"].replace("", np.nan)
        if "POLICE_UK_CAT_MAP_category" in frame
        else np.nan
    )
    out["policeuk_code"] = repaired.map(lambda r: r[0]).replace("", np.nan)
    out["policeuk_code_published"] = published.replace("", np.nan)
    out["policeuk_code_repaired"] = repaired.map(lambda r: r[1]).astype(bool)
    out["source_file"] = name
    out = out[~out["offence_code"].str.contains("/")]
    conflicting = out.groupby("offence_code")["severity_weight"].nunique()
    if (conflicting > 1).any():
        code = conflicting[conflicting > 1].index[0]
        line = int(out.index[out["offence_code"].eq(code)][1])
        raise DataValidationError(
            f"offence code {code!r} has two different weights",
            file=name,
            row=line,
            column=weight_column,
        )
    out = out.drop_duplicates("offence_code")
    return out[SEVERITY_COLUMNS].reset_index(drop=True)


def read_cchi_weights(path: str | Path) -> pd.DataFrame:
    """Read the Cambridge Crime Harm Index median days per offence subgroup.

    Returns
    -------
    pandas.DataFrame
        category, prc_subgroup, cchi_days (float), national_count_2024_25 (int).

    Raises
    ------
    DataValidationError
        Missing column, blank subgroup, a negative or non-numeric number of days, a
        subgroup given twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "cchi.csv"
    >>> _ = f.write_text("category,prc_subgroup,cchi_days,national_count_2024_25\\n"
    ...                  "Shoplifting,Shoplifting,1.0,525833\\n")
    >>> read_cchi_weights(f)["cchi_days"].tolist()
    [1.0]
    """
    path = Path(path)
    name = path.name
    required = ["category", "prc_subgroup", "cchi_days", "national_count_2024_25"]
    frame = _common.read_csv_checked(path, required, what="Cambridge Crime Harm Index file")
    _common.check_not_blank(frame, ["category", "prc_subgroup", "cchi_days"], name)
    days = _common.parse_counts(frame, ["cchi_days"], name, allow_fraction=True, what="days")
    counts = _common.parse_counts(frame, ["national_count_2024_25"], name)
    duplicated = frame["prc_subgroup"].duplicated(keep=False)
    if duplicated.any():
        line = int(frame.index[duplicated][1])
        raise DataValidationError(
            f"subgroup {frame.loc[line, 'prc_subgroup']!r} appears twice", file=name, row=line
        )
    return pd.DataFrame(
        {
            "category": frame["category"],
            "prc_subgroup": frame["prc_subgroup"],
            "cchi_days": days[:, 0],
            "national_count_2024_25": counts[:, 0],
        }
    ).reset_index(drop=True)


def map_minor_category_weights(
    weights: pd.DataFrame,
    code_counts: pd.Series | None = None,
    cchi: pd.DataFrame | None = None,
    categories: list[str] | None = None,
) -> pd.DataFrame:
    """A severity weight for each MPS minor category, derived from its offence codes.

    Parameters
    ----------
    weights : pandas.DataFrame
        ``offence_code`` and ``severity_weight`` (the ``severity_weights`` table).
    code_counts : pandas.Series, optional
        Offences per Home Office code (e.g. the Met's FY2019/20 recorded crime) used to
        weight the mean; without it, or when a category's codes have no offences, the
        unweighted mean of the codes' weights is used.
    cchi : pandas.DataFrame, optional
        ``prc_subgroup`` and ``cchi_days`` (:func:`read_cchi_weights`).
    categories : list of str, optional
        The categories wanted, in any published spelling (default: every category of
        :data:`MINOR_CATEGORY_CODES`).

    Returns
    -------
    pandas.DataFrame
        minor_category (as asked), offence_codes (comma-separated), codes_weighted (codes
        with a weight), severity_weight, weighting ("offence-count weighted mean",
        "unweighted mean" or "no mapping"), cchi_subgroup, cchi_days, is_mapped, note.

    Raises
    ------
    ParameterError
        For a category that is not in :data:`MINOR_CATEGORY_CODES` (add it there, with
        its codes, rather than guess).

    Notes
    -----
    weight(category) = sum over its codes c of n_c × w_c / sum of n_c, with w_c the ONS
    CSS weight and n_c the offences recorded under code c: the average severity of an
    offence in that category (the ONS computes its severity score the same way). With no
    counts every code counts equally.

    Examples
    --------
    Arson: 56A weighs 826.19 and 56B 186.67. With 100 offences of 56A and 900 of 56B
    the weight is (100 × 826.19 + 900 × 186.67) / 1000 = 250.62.

    >>> w = pd.DataFrame({"offence_code": ["56A", "56B"], "severity_weight": [826.19, 186.67]})
    >>> counts = pd.Series({"56A": 100, "56B": 900})
    >>> got = map_minor_category_weights(w, counts, categories=["ARSON"])
    >>> got[["minor_category", "offence_codes", "severity_weight", "weighting"]]
      minor_category offence_codes  severity_weight                    weighting
    0          ARSON      56A, 56B          250.622  offence-count weighted mean
    """
    check_columns(weights, ["offence_code", "severity_weight"], "weights")
    by_code = weights.set_index("offence_code")["severity_weight"]
    counts = None if code_counts is None else code_counts.astype(float)
    days = None if cchi is None else cchi.set_index("prc_subgroup")["cchi_days"]
    wanted = list(MINOR_CATEGORY_CODES) if categories is None else list(categories)
    rows = []
    for asked in wanted:
        entry = _MAPPING_BY_KEY.get(_key(asked))
        if entry is None:
            raise ParameterError(
                f"minor category {asked!r} has no entry in MINOR_CATEGORY_CODES: add its Home "
                "Office offence codes (or an empty tuple if none fits) rather than guess"
            )
        _, codes, subgroup, note = entry
        present = [c for c in codes if c in by_code.index]
        weight, weighting = np.nan, "no mapping"
        if present:
            values = by_code[present].to_numpy(dtype=float)
            n = (
                counts.reindex(present).fillna(0).clip(lower=0).to_numpy()
                if counts is not None
                else None
            )
            if n is not None and n.sum() > 0:
                weight, weighting = (
                    float((n * values).sum() / n.sum()),
                    "offence-count weighted mean",
                )
            else:
                weight, weighting = float(values.mean()), "unweighted mean"
        missing = [c for c in codes if c not in by_code.index]
        if missing:
            note = "; ".join(filter(None, [note, f"no weight for {', '.join(missing)}"]))
        rows.append(
            {
                "minor_category": asked,
                "offence_codes": ", ".join(codes),
                "codes_weighted": ", ".join(present),
                "severity_weight": weight,
                "weighting": weighting,
                "cchi_subgroup": subgroup,
                "cchi_days": float(days.get(subgroup, np.nan))
                if days is not None and subgroup
                else np.nan,
                "is_mapped": bool(present),
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def build_severity(
    folder: str | Path,
    cchi_folder: str | Path | None = None,
    prc_folder: str | Path | None = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The severity tables: weights by code, CCHI, and the MPS minor category mapping.

    Parameters
    ----------
    folder : str or pathlib.Path
        ``raw_root / "ons" / "crime-severity-weights"``.
    cchi_folder : str or pathlib.Path, optional
        ``raw_root / "other" / "cambridge-crime-harm-index"``.
    prc_folder : str or pathlib.Path, optional
        ``raw_root / "home-office" / "prc-pfa-2019-20"``: the Met's FY2019/20 offences by
        code weight the category means.

    Returns
    -------
    (dict, dict)
        ``severity_weights`` (:data:`SEVERITY_COLUMNS`), ``severity_minor_categories``
        (:func:`map_minor_category_weights`), ``cchi_weights`` when supplied, and the log.
    """
    folder = Path(folder)
    path = folder / "ons_css_weights_policeuk_join.csv"
    if not path.exists():
        fallback = folder / "ons_css_weights_severity_codes.csv"
        if not fallback.exists():
            raise DataValidationError(f"no crime severity weights file in {folder.name}/")
        path = fallback
    weights = read_css_weights(path)
    files = [path]
    warnings: list[str] = []
    repaired = weights[weights["policeuk_code_repaired"]]
    if len(repaired):
        examples = ", ".join(
            f"{r.policeuk_code_published} -> {r.policeuk_code}"
            for r in repaired.head(4).itertuples()
        )
        warnings.append(
            f"{path.name}: {len(repaired)} police.uk codes had been turned into spreadsheet "
            f"date serials ({examples}, ...); decoded back and flagged policeuk_code_repaired."
        )
    raw = pd.read_csv(path, dtype=str)
    code_column = "ONS_COUNTS_code" if "ONS_COUNTS_code" in raw else "code_original"
    aggregate = raw[raw[code_column].str.contains("/", na=False)]
    if len(aggregate):
        warnings.append(
            f"{path.name}: {len(aggregate)} summary row(s) list several codes "
            f"({', '.join(aggregate[code_column])}); left out, each code has its own row."
        )
    warnings.append(
        f"{path.name}: the weights' vintage is not stated (about 2020); fraud offences have no "
        "weight, so harm-weighted totals exclude fraud."
    )
    code_counts = None
    if prc_folder is not None:
        from mpsanalysis.ingest.sources import home_office

        crime, _ = home_office.build_force_crime(prc_folder)
        met = crime["force_crime"][crime["force_crime"]["force_name"] == "Metropolitan Police"]
        code_counts = met.groupby("offence_code")["count"].sum()
        files += sorted(Path(prc_folder).glob("*.csv"))
    cchi = None
    tables: dict[str, pd.DataFrame] = {"severity_weights": weights}
    if cchi_folder is not None:
        cchi_files = sorted(Path(cchi_folder).glob("*.csv"))
        if cchi_files:
            cchi = read_cchi_weights(cchi_files[0])
            tables["cchi_weights"] = cchi
            files.append(cchi_files[0])
    mapping = map_minor_category_weights(weights, code_counts, cchi)
    tables["severity_minor_categories"] = mapping
    unmapped = mapping.loc[~mapping["is_mapped"], "minor_category"]
    warnings.append(
        f"{int(mapping['is_mapped'].sum())} of {len(mapping)} MPS minor category spellings have a "
        f"severity weight ({'Met FY2019/20 offence-count weighted' if code_counts is not None else 'unweighted'} "
        f"means over their Home Office codes); no defensible mapping for: "
        f"{', '.join(unmapped)}."
    )
    return tables, _common.make_log("severity_weights", tables, files, warnings)
