"""Where everything lives: the one place that resolves project locations.

Machine-specific locations come from environment variables, never from literals in
notebooks:

``MPSANALYSIS_DATA_DIR``
    Root of ``raw/`` and ``processed/`` (default ``<project>/data``).
``MPSANALYSIS_REPORTS_DIR``
    Where reports are written (default ``<project>/reports``).
``MPSANALYSIS_DATA_MIRROR``
    A local mirror of the publishers' files for ``mpsanalysis fetch``
    (default ``<project>/../shared/data`` when it exists).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "project_root",
    "data_dir",
    "raw_dir",
    "processed_dir",
    "reports_dir",
    "default_mirror",
    "notebooks_dir",
]

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout's root: the folder that holds ``pyproject.toml`` above the package.

    Falls back to the current directory when the package is installed elsewhere.
    """
    candidate = _PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd()


def _from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Root of the data folders (``MPSANALYSIS_DATA_DIR`` or ``<project>/data``)."""
    return _from_env("MPSANALYSIS_DATA_DIR", project_root() / "data")


def raw_dir() -> Path:
    """Read-only copies of the publishers' files."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """The processed Parquet store that notebooks read."""
    return data_dir() / "processed"


def reports_dir() -> Path:
    """Where HTML reports, executed notebooks and manifests go."""
    return _from_env("MPSANALYSIS_REPORTS_DIR", project_root() / "reports")


def notebooks_dir() -> Path:
    """The parameterised objective notebooks."""
    return project_root() / "notebooks"


def default_mirror() -> Path | None:
    """The local mirror of published files, or None when there is none.

    ``MPSANALYSIS_DATA_MIRROR`` wins; otherwise ``../shared/data`` beside the checkout.
    """
    value = os.environ.get("MPSANALYSIS_DATA_MIRROR")
    if value:
        return Path(value).expanduser().resolve()
    shared = project_root().parent / "shared" / "data"
    return shared if shared.is_dir() else None
