"""Shared pieces of the benchmarks: figures, targets, timing, the machine, the table."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent


@dataclass
class Figure:
    """One measured figure and its target (``passed`` is None when there is none)."""

    benchmark: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None
    detail: str = ""

    def cell(self) -> str:
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "s":
            return f"{self.value:.2f} s"
        if self.unit == "ms":
            return f"{self.value:.1f} ms"
        if self.unit == "MB":
            return f"{self.value:,.0f} MB"
        if self.unit == "rows":
            return f"{self.value:,.0f}"
        return f"{self.value:g} {self.unit}".strip()


@dataclass
class Section:
    """The figures of one benchmark, plus notes for the record."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    notes: dict = field(default_factory=dict)


def at_least(
    benchmark: str, value: float, minimum: float, unit: str = "x", detail: str = ""
) -> Figure:
    return Figure(
        benchmark,
        value,
        unit,
        f">= {minimum:g}{unit if unit == 'x' else ' ' + unit}",
        value >= minimum,
        detail,
    )


def at_most(
    benchmark: str, value: float, maximum: float, unit: str = "x", detail: str = ""
) -> Figure:
    return Figure(
        benchmark,
        value,
        unit,
        f"<= {maximum:g}{unit if unit == 'x' else ' ' + unit}",
        value <= maximum,
        detail,
    )


def info(benchmark: str, value: float, unit: str, detail: str = "") -> Figure:
    return Figure(benchmark, value, unit, "", None, detail)


def check(benchmark: str, ok: bool, detail: str = "") -> Figure:
    return Figure(benchmark, 1.0 if ok else 0.0, "", "true", ok, detail)


def timed(function: Callable, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def run(command: list[str], cwd: Path | None = None, env: dict | None = None) -> float:
    """Run a command; return its wall time; raise with its output if it fails."""
    started = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if out.returncode:
        raise RuntimeError(
            f"{' '.join(command)} failed ({out.returncode}):\n"
            f"{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
        )
    return seconds


class TreeMemory:
    """Samples the summed resident memory of a process and all its descendants
    (workers and kernels) and keeps the peak."""

    def __init__(self, pid: int | None = None, interval: float = 0.1) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while not self._stop.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


_BUSY = "n = 0\nwhile n < {n}:\n    n += 1\n"


def parallel_capacity(iterations: int = 40_000_000) -> float:
    """How many cores this run can use now: the same busy loop (about 2 s) in one
    process, then in two at once, then in one again (2.0 = two idle cores; about 1.0 =
    the other core is busy elsewhere). The two single runs are averaged, so a drift in
    the machine's speed during the probe cancels; a probe of under a second per phase
    varied from 1.5 to 2.3 on the shared benchmark machine."""
    command = [sys.executable, "-c", _BUSY.format(n=iterations)]

    def timed(copies: int) -> float:
        started = time.perf_counter()
        procs = [subprocess.Popen(command) for _ in range(copies)]
        for p in procs:
            p.wait()
        return time.perf_counter() - started

    first = timed(1)
    two = timed(2)
    last = timed(1)
    return (first + last) / two


def wait_for_free_cores(minimum: float = 1.85, timeout: float = 180) -> float:
    """Wait (up to ``timeout`` seconds) until :func:`parallel_capacity` is at least
    ``minimum``: on a shared machine, other people's jobs would otherwise decide the
    parallel speed-up. Returns the last capacity measured."""
    deadline = time.monotonic() + timeout
    while True:
        capacity = parallel_capacity()
        if capacity >= minimum or time.monotonic() > deadline:
            return capacity
        print(f"  waiting for free cores ({capacity:.2f} of 2 free)", file=sys.stderr, flush=True)
        time.sleep(10)


def machine() -> dict:
    """nproc, CPU model, memory, Python, OS and the load average now."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def table_rows(sections: list[Section]) -> list[tuple[str, str, str, str, str]]:
    """(benchmark, measured, target, result, detail) for every figure."""
    rows = []
    for section in sections:
        for f in section.figures:
            result = "" if f.passed is None else ("PASS" if f.passed else "FAIL")
            rows.append(
                (
                    f.benchmark,
                    f.cell() if f.unit or f.passed is None else ("yes" if f.value else "no"),
                    f.target,
                    result,
                    f.detail,
                )
            )
    return rows


def markdown_table(sections: list[Section]) -> str:
    """The figures as the Markdown table of ``docs/performance.md``.

    Examples
    --------
    >>> print(markdown_table([Section("x", [at_least("speed-up", 2.5, 1.8)])]))
    | benchmark | measured | target | result | detail |
    |---|---|---|---|---|
    | speed-up | 2.50x | >= 1.8x | PASS |  |
    """
    lines = ["| benchmark | measured | target | result | detail |", "|---|---|---|---|---|"]
    for row in table_rows(sections):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def sections_from_json(path: Path) -> tuple[dict, list[Section]]:
    """A results file written by ``python -m benchmarks``: its header and its sections."""
    import json

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    sections = [
        Section(s["name"], [Figure(**f) for f in s["figures"]], s.get("notes", {}))
        for s in data["sections"]
    ]
    return data, sections


def print_table(sections: list[Section]) -> bool:
    """Print every figure; return True when every target is met."""
    rows = [("benchmark", "measured", "target", "result")]
    ok = all(f.passed is not False for s in sections for f in s.figures)
    rows += [row[:4] for row in table_rows(sections)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return ok


def as_dict(sections: list[Section]) -> list[dict]:
    return [
        {"name": s.name, "figures": [asdict(f) for f in s.figures], "notes": s.notes}
        for s in sections
    ]
