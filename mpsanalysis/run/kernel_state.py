"""The state of a report kernel: what is loaded before the first report, and how the
kernel is returned to that state after each one.

These functions run *inside* the process that executes a report's cells: a warm kernel
process (called by :class:`mpsanalysis.run.engine.WarmKernel` through silent executions
that bind no name) or a worker running the cells itself
(:class:`mpsanalysis.run.inprocess.InProcessKernel`, which calls them directly).
:func:`warm_up` imports the notebooks' modules and records the clean state
(:func:`snapshot`); :func:`reset` returns to it after every report (what it puts back is
listed in :mod:`mpsanalysis.run.engine`). :func:`kernel_environment` is the environment a
kernel starts with (one thread for the numerical libraries by default).
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = [
    "THREAD_VARIABLES",
    "KERNEL_GC_THRESHOLDS",
    "kernel_threads",
    "kernel_environment",
    "warm_up",
    "snapshot",
    "reset",
    "collect_and_freeze",
    "clear_package_caches",
    "dump_reads",
    "chdir",
    "forget_kept",
    "environment_key",
]

#: The variables that size the thread pools of the numerical libraries in a kernel:
#: OpenBLAS (NumPy's and SciPy's wheels), MKL (some conda builds), and OpenMP, whose
#: variable Apache Arrow also reads for its CPU pool.
THREAD_VARIABLES: tuple[str, ...] = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def kernel_threads() -> int | None:
    """Threads each report kernel's numerical libraries may use; ``None``: their default.

    ``MPSANALYSIS_KERNEL_THREADS`` sets it (default 1; ``0`` leaves the libraries to
    size their pools by the core count). One thread is the default because the reports
    fit models to series of tens or hundreds of points, where a second BLAS thread only
    adds hand-over and busy-waiting: measured on the benchmark machine, one worker ran
    54 reports in about 9% less time and two workers in 12-25% less
    (``docs/performance.md``, "Threads in a kernel").

    Raises
    ------
    ParameterError
        The variable is not a whole number of 0 or more.

    Examples
    --------
    >>> import os
    >>> saved = os.environ.pop("MPSANALYSIS_KERNEL_THREADS", None)
    >>> kernel_threads()
    1
    >>> os.environ["MPSANALYSIS_KERNEL_THREADS"] = "0"
    >>> kernel_threads() is None
    True
    >>> if saved is None:
    ...     del os.environ["MPSANALYSIS_KERNEL_THREADS"]
    ... else:
    ...     os.environ["MPSANALYSIS_KERNEL_THREADS"] = saved
    """
    from mpsanalysis.errors import ParameterError

    raw = os.environ.get("MPSANALYSIS_KERNEL_THREADS", "1").strip() or "1"
    try:
        threads = int(raw)
    except ValueError:
        threads = -1
    if threads < 0:
        raise ParameterError(
            f"MPSANALYSIS_KERNEL_THREADS={raw!r} must be a whole number: 1 (the default) "
            "or more threads per report kernel, or 0 for the libraries' own default"
        )
    return threads or None


def kernel_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a report kernel is started with: ``base`` (default this process's)
    with each of :data:`THREAD_VARIABLES` set to :func:`kernel_threads`, unless ``base``
    sets it already (an explicit setting wins).

    Examples
    --------
    >>> env = kernel_environment({"PATH": "/usr/bin", "OMP_NUM_THREADS": "4"})
    >>> env["OPENBLAS_NUM_THREADS"], env["OMP_NUM_THREADS"], env["PATH"]
    ('1', '4', '/usr/bin')
    """
    env = dict(os.environ if base is None else base)
    threads = kernel_threads()
    if threads is not None:
        for name in THREAD_VARIABLES:
            env.setdefault(name, str(threads))
    return env


# These functions run in the kernel process (called through silent executions that
# bind no name in the user namespace).
_BASELINE: dict[str, Any] = {}


def warm_up(modules: tuple[str, ...] | list[str]) -> None:
    """Import the notebooks' modules, draw one throw-away figure, then record the clean
    state that :func:`reset` returns to."""
    import importlib

    for name in modules:
        if name == "matplotlib.pyplot":
            import matplotlib

            matplotlib.use("Agg", force=False)
        importlib.import_module(name)
    if "matplotlib" in sys.modules:  # load fonts and the PNG writer without pyplot state
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(1, 1))
        FigureCanvasAgg(figure)
        figure.text(0.5, 0.5, "0,123")
        figure.savefig(io.BytesIO(), format="png")
    snapshot()


def _pandas_options() -> dict[str, Any]:
    if "pandas" not in sys.modules:
        return {}
    import pandas as pd
    from pandas._config import config

    options = {}
    for key in list(getattr(config, "_registered_options", {})):
        if key in getattr(config, "_deprecated_options", {}):
            continue
        try:
            options[key] = pd.get_option(key)
        except Exception:  # an option that cannot be read cannot be changed either
            continue
    return options


def snapshot() -> None:
    """Record the kernel's clean state (after the warm-up, with an empty namespace)."""
    import copy
    import warnings

    from IPython import get_ipython

    shell = get_ipython()
    shell.reset(new_session=True)
    _forget_reads()
    _BASELINE.clear()
    _BASELINE.update(
        user_ns=set(shell.user_ns),
        cwd=os.getcwd(),
        environ=dict(os.environ),
        path=list(sys.path),
        warnings=list(warnings.filters),
        pandas=_pandas_options(),
    )
    if "numpy" in sys.modules:
        import numpy as np

        _BASELINE["numpy"] = (np.get_printoptions(), np.geterr())
    if "matplotlib" in sys.modules:
        import matplotlib

        _BASELINE["rc"] = copy.deepcopy(dict(matplotlib.rcParams))
    collect_and_freeze()


#: The kernel's garbage collection thresholds (:func:`gc.set_threshold`) while a report
#: runs: a young collection every 50,000 net allocations instead of Python's 700, and
#: older generations scanned 20 and 100 times less often than that. Python's defaults
#: made 50 to 60 collections a report, walking the report's own objects again and
#: again (matplotlib makes and drops tens of thousands per chart): 5 to 8% of the CPU
#: of a report and its reset, against under 4% with these, most of it the reset's own
#: collection (``docs/performance.md``, session 13). Nothing waits longer for its memory than
#: the end of the report, when the reset collects everything
#: (:func:`collect_and_freeze`); garbage without cycles is freed at once, as always.
KERNEL_GC_THRESHOLDS = (50_000, 20, 100)


def collect_and_freeze() -> None:
    """Collect the garbage, then move every surviving object to the permanent generation.

    What survives a reset is imported code and its data, which a kernel keeps anyway;
    frozen, it is no longer scanned by later collections. Without this, each reset's two
    full collections (one inside IPython's ``reset``, one here) walked every object of
    pandas, matplotlib, scipy and statsmodels: about 250 ms of every report, against
    about 20 ms now (``docs/performance.md``). Reference counting still frees frozen
    objects; only a frozen object that later became part of a garbage cycle would stay
    until the kernel is replaced (after :attr:`ReportEngine.max_runs_per_kernel`
    reports).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*KERNEL_GC_THRESHOLDS)


def clear_package_caches() -> int:
    """Empty every functools cache defined in an ``mpsanalysis`` module."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "mpsanalysis" or name.startswith("mpsanalysis.")):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()
                cleared += 1
    return cleared


def reset() -> None:
    """Return the kernel to the state recorded by :func:`snapshot`.

    Raises
    ------
    RuntimeError
        When the namespace still holds a name after the reset (the engine then throws
        the kernel away and starts a new one).
    """
    import warnings

    from IPython import get_ipython

    if not _BASELINE:
        raise RuntimeError("the kernel was not warmed up: no clean state to return to")
    shell = get_ipython()
    shell.reset(new_session=True)
    clear_package_caches()
    _forget_reads()
    os.chdir(_BASELINE["cwd"])
    if dict(os.environ) != _BASELINE["environ"]:
        os.environ.clear()
        os.environ.update(_BASELINE["environ"])
    sys.path[:] = _BASELINE["path"]
    warnings.resetwarnings()  # also forgets which warnings were already shown
    warnings.filters[:] = _BASELINE["warnings"]  # type: ignore[index]
    if "pandas" in sys.modules and _BASELINE["pandas"]:
        import pandas as pd

        for key, value in _BASELINE["pandas"].items():
            try:
                changed = pd.get_option(key) != value
            except Exception:
                continue
            if changed:
                pd.set_option(key, value)
    if "numpy" in _BASELINE:
        import numpy as np

        printoptions, errors = _BASELINE["numpy"]
        np.set_printoptions(**printoptions)
        np.seterr(**errors)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if "rc" in _BASELINE:
        import matplotlib

        rc = matplotlib.rcParams
        for key, value in _BASELINE["rc"].items():
            try:
                same = bool(rc[key] == value)
            except Exception:  # values that cannot be compared are reset anyway
                same = False
            if not same:
                dict.__setitem__(rc, key, value)  # already validated when recorded
    collect_and_freeze()
    left = set(shell.user_ns) - _BASELINE["user_ns"]
    if left:
        raise RuntimeError(f"names left in the kernel after the reset: {sorted(left)[:5]}")


def dump_reads(path: str) -> None:
    """Write the store tables read since the last reset to ``path`` (a JSON list)."""
    import json

    from mpsanalysis.ingest import store

    with open(path, "w", encoding="utf-8") as handle:
        json.dump(store.tables_read(), handle)


def _forget_reads() -> None:
    store = sys.modules.get("mpsanalysis.ingest.store")
    if store is not None:
        store.forget_tables_read()
        store.keep_only_used()  # the next report keeps what this one read, nothing else


def chdir(path: str) -> None:
    os.chdir(path)


def forget_kept() -> None:
    """Drop what a kernel keeps from one report for the next (the store's frames, the
    charts drawn): benchmarks call it to time a report as if it were the first."""
    from mpsanalysis.ingest import store

    store.forget_shared_tables()
    drawn = sys.modules.get("mpsanalysis.report.html")
    if drawn is not None:
        drawn.forget_drawn_charts()


def environment_key() -> tuple:
    """The environment a kernel was started with, as far as reports depend on it."""
    return tuple(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.startswith("MPSANALYSIS_") or k in ("PYTHONPATH", "PYTHONHASHSEED")
        )
    )
