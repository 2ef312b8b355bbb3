"""Print a results file of ``python -m benchmarks`` as the table of ``docs/performance.md``.

``python -m benchmarks.markdown [benchmarks/results/latest.json]``: the machine line and
the Markdown table, so that the figures in the docs are copied, never typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.common import RESULTS, markdown_table, sections_from_json


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else RESULTS / "latest.json"
    data, sections = sections_from_json(path)
    m = data["machine"]
    print(f"`python -m benchmarks`, finished {data['when']} ({data['seconds']:.0f} s):\n")
    print(
        f"{m['nproc']} cores ({m['cpu']}), {m['memory']}, Python {m['python']}, "
        f"{m['platform']}; load average before {m['load_average']}.\n"
    )
    print(markdown_table(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
