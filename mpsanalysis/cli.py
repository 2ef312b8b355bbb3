"""The ``mpsanalysis`` command: fetch, build, run and audit.

Every error an analyst can cause (a bad parameter, a bad file) is printed as one line
naming the file, row or parameter, with exit status 2; a failed notebook gives exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mpsanalysis.errors import MpsAnalysisError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mpsanalysis",
        description="Quarterly policing-plan performance reports from published data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    fetch = sub.add_parser("fetch", help="copy or download the raw files into data/raw/")
    fetch.add_argument(
        "--from",
        dest="mirror",
        type=Path,
        default=None,
        help="local mirror folder (default: $MPSANALYSIS_DATA_MIRROR, else ../shared/data)",
    )
    fetch.add_argument(
        "--download",
        action="store_true",
        help="download from the London Datastore instead of copying a mirror",
    )

    build = sub.add_parser("build", help="validate the raw files and write data/processed/")
    build.add_argument(
        "--borough-only", action="store_true", help="build the borough crime tables only (fast)"
    )

    run = sub.add_parser("run", help="run the objective notebooks and write HTML reports")
    when = run.add_mutually_exclusive_group(required=True)
    when.add_argument("--period-end", help="last month of the period, YYYY-MM (e.g. 2010-10)")
    when.add_argument("--quarter", help="financial-year quarter, e.g. 2010/11-Q2, or 'latest'")
    run.add_argument(
        "--objective",
        action="append",
        default=None,
        help="objective id (repeatable; default: every objective)",
    )
    run.add_argument(
        "--geography",
        action="append",
        default=None,
        help="'London' (default), a borough name, or 'all' (repeatable)",
    )
    run.add_argument(
        "--extracts",
        default="",
        help="internal extracts: a file or folder, or 'sample' for the "
        "SYNTHETIC sample (default: data/raw/extracts/)",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel worker processes (default: the number of cores)",
    )
    run.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address tcp://HOST:PORT to run on a cluster",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="execute every report, even one whose cached result is still valid "
        "(reports/.cache; see docs/performance.md)",
    )
    run.add_argument(
        "--allow-provisional",
        action="store_true",
        help="run a period whose data is incomplete, flagging reports PROVISIONAL",
    )
    run.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of objective notebooks (default: notebooks/ in the "
        "checkout), e.g. a copy holding a notebook being changed",
    )
    audit = sub.add_parser(
        "audit",
        help="run a sample of the report matrix and check every page; exit 1 on any finding",
    )
    audit.add_argument(
        "--quarter",
        action="append",
        default=None,
        help="quarter to audit (repeatable; default: one in every financial year of the data)",
    )
    audit.add_argument(
        "--geography",
        action="append",
        default=None,
        help="geography to audit (repeatable; default: London, Westminster, Lambeth, Sutton)",
    )
    audit.add_argument(
        "--objective", action="append", default=None, help="objective id (repeatable)"
    )
    audit.add_argument("--workers", type=int, default=None, help="parallel worker processes")
    audit.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the audited reports in DIR (default: a temporary folder)",
    )
    return parser


def _audit(args) -> int:
    from mpsanalysis.run import audit

    findings = audit.run_audit(
        quarters=args.quarter,
        geographies=args.geography,
        objectives=args.objective,
        workers=args.workers,
        output=args.output,
    )
    print(audit.format_findings(findings))
    return 1 if findings else 0


def _fetch(args) -> int:
    from mpsanalysis.ingest import fetch

    if args.download:
        records = fetch.download_published()
    else:
        records = fetch.fetch_from_mirror(args.mirror)
    print(f"fetched {len(records)} raw files into data/raw/ (checksums in checksums.json)")
    return 0


def _build(args) -> int:
    from mpsanalysis.ingest import build

    log = build.build_store(include_sources=not args.borough_only)
    for entry in log["sources"]:
        print(f"{entry['source']}: {entry.get('rows', 0):,} rows")
        for warning in entry.get("warnings", []):
            print(f"  note: {warning}")
    print("processed store written to data/processed/")
    return 0


def _run(args) -> int:
    from mpsanalysis.run import runner

    plan = runner.plan_run(
        period_end=args.period_end,
        quarter=args.quarter,
        objectives=args.objective,
        geographies=args.geography,
        extracts=args.extracts,
        allow_provisional=args.allow_provisional,
        notebooks=args.notebooks,
    )
    outcome = runner.execute_plan(
        plan, workers=args.workers, scheduler=args.scheduler, force=args.force
    )
    return 0 if outcome.ok else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mpsanalysis`` command."""
    args = build_parser().parse_args(argv)
    handlers = {"fetch": _fetch, "build": _build, "run": _run, "audit": _audit}
    try:
        return handlers[args.command](args)
    except MpsAnalysisError as exc:
        print(f"mpsanalysis {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permission denied, a folder that vanished
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"mpsanalysis {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mpsanalysis {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
