"""The processed store's shared frames: read once per version of a file, never changed
by a reader (``mpsanalysis.ingest.store.read_table`` and ``derived_table``).

A warm report kernel runs many reports one after another; they share the frames the
store has read, so these tests check the two promises that makes safe: a report that
changes what it read cannot change what the next report reads, and a table rewritten
on disk is read afresh.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest import store


@pytest.fixture
def folder(tmp_path):
    store.forget_shared_tables()
    store.write_table(
        pd.DataFrame({"n": [1, 2, 3], "name": ["a", "b", "c"], "month": ["2024-04"] * 3}).assign(
            month=lambda d: pd.PeriodIndex(d["month"], freq="M")
        ),
        "numbers",
        tmp_path,
    )
    yield tmp_path
    store.forget_shared_tables()


def test_a_table_is_read_once_and_every_reader_gets_its_own_frame(folder, monkeypatch):
    reads = []
    real = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: reads.append(a) or real(*a, **k))
    first = store.read_table("numbers", directory=folder)
    second = store.read_table("numbers", directory=folder)
    assert len(reads) == 1
    assert first is not second
    pd.testing.assert_frame_equal(first, second)
    assert isinstance(first["month"].dtype, pd.PeriodDtype)
    assert store.shared_tables() == ["numbers.parquet"]


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # in-place changes are the point
def test_what_one_reader_changes_in_place_the_next_reader_never_sees(folder):
    original = store.read_table("numbers", directory=folder)
    expected = original.copy(deep=True)
    mine = store.read_table("numbers", directory=folder)
    mine.loc[0, "n"] = 99
    mine.iloc[1, 1] = "changed"
    mine["extra"] = 1
    mine.drop(index=2, inplace=True)
    mine.set_index("name", inplace=True)
    column = store.read_table("numbers", directory=folder)["n"]
    column[0] = -1  # through a Series taken from the frame
    with pytest.raises(ValueError, match="read-only"):
        store.read_table("numbers", directory=folder)["n"].to_numpy()[0] = -2
    pd.testing.assert_frame_equal(store.read_table("numbers", directory=folder), expected)
    pd.testing.assert_frame_equal(original, expected)


def test_a_rewritten_table_is_read_afresh(folder):
    assert store.read_table("numbers", directory=folder)["n"].tolist() == [1, 2, 3]
    stat = (folder / "numbers.parquet").stat()
    store.write_table(pd.DataFrame({"n": [7, 8, 9]}), "numbers", folder)
    # Even with the old modification time put back, the file is a new one (renamed over).
    os.utime(folder / "numbers.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert store.read_table("numbers", directory=folder)["n"].tolist() == [7, 8, 9]


def test_a_deleted_table_is_missing_not_served_from_memory(folder):
    store.read_table("numbers", directory=folder)
    (folder / "numbers.parquet").unlink()
    with pytest.raises(DataValidationError, match="numbers.parquet.*no table 'numbers'"):
        store.read_table("numbers", directory=folder)


def test_a_damaged_table_is_never_served_from_memory(folder):
    store.read_table("numbers", directory=folder)
    path = folder / "numbers.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataValidationError, match="unreadable"):
        store.read_table("numbers", directory=folder)


def test_columns_and_filters_are_kept_apart(folder):
    assert list(store.read_table("numbers", ["n"], directory=folder).columns) == ["n"]
    assert store.read_table("numbers", filters=[("n", ">", 1)], directory=folder)["n"].tolist() == [
        2,
        3,
    ]
    assert len(store.read_table("numbers", directory=folder)) == 3


def _doubled(frame: pd.DataFrame) -> pd.DataFrame:
    CALLS.append(1)
    frame["twice"] = frame["n"] * 2
    return frame


CALLS: list = []


def test_a_derived_table_is_computed_once_per_version_of_its_file(folder):
    CALLS.clear()
    first = store.derived_table("numbers", _doubled, folder)
    first.loc[0, "twice"] = 1000
    second = store.derived_table("numbers", _doubled, folder)
    assert len(CALLS) == 1
    assert second["twice"].tolist() == [2, 4, 6]
    store.write_table(pd.DataFrame({"n": [5]}), "numbers", folder)
    assert store.derived_table("numbers", _doubled, folder)["twice"].tolist() == [10]
    assert len(CALLS) == 2
    assert str(folder / "numbers.parquet") in store.tables_read()


def test_at_most_the_bounded_number_of_frames_is_kept(folder, monkeypatch):
    monkeypatch.setattr(store, "SHARED_MAX_FRAMES", 2)
    for low in range(4):
        store.read_table("numbers", filters=[("n", ">", low)], directory=folder)
    assert len(store._SHARED) == 2


def test_the_kept_frames_stay_within_the_memory_budget(folder, monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_TABLE_CACHE_MB", "0.0001")  # 100 bytes: nothing fits
    store.read_table("numbers", directory=folder)
    assert store.shared_tables() == []
    monkeypatch.setenv("MPSANALYSIS_TABLE_CACHE_MB", "1")
    store.read_table("numbers", directory=folder)
    assert store.shared_tables() == ["numbers.parquet"]


@pytest.mark.parametrize("value", ["lots", "-5"])
def test_a_bad_memory_budget_is_refused_naming_the_variable(folder, monkeypatch, value):
    monkeypatch.setenv("MPSANALYSIS_TABLE_CACHE_MB", value)
    with pytest.raises(ParameterError, match=f"MPSANALYSIS_TABLE_CACHE_MB='{value}'"):
        store.read_table("numbers", directory=folder)


def test_a_run_refuses_a_bad_memory_budget_before_any_report(monkeypatch, tmp_path):
    from mpsanalysis.run import runner

    monkeypatch.setenv("MPSANALYSIS_TABLE_CACHE_MB", "plenty")
    with pytest.raises(ParameterError, match="MPSANALYSIS_TABLE_CACHE_MB"):
        runner.execute_plan(runner.plan_run(period_end="2016-12", geographies=["London"]))


def test_between_reports_only_the_frames_the_last_report_read_are_kept(folder):
    store.write_table(pd.DataFrame({"m": [1]}), "other", folder)
    store.read_table("numbers", directory=folder)
    store.read_table("other", directory=folder)
    store.keep_only_used()  # end of a report that read both
    assert store.shared_tables() == ["numbers.parquet", "other.parquet"]
    store.read_table("numbers", directory=folder)  # the next report reads one of them
    store.keep_only_used()
    assert store.shared_tables() == ["numbers.parquet"]


def _tripled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(thrice=frame["n"] * 3)


def test_two_derivations_of_one_table_never_share_a_result(folder):
    doubled = store.derived_table("numbers", _doubled, folder)
    tripled = store.derived_table("numbers", _tripled, folder)
    assert "twice" in doubled and "thrice" not in doubled
    assert tripled["thrice"].tolist() == [3, 6, 9] and "twice" not in tripled
    # Two lambdas with the same name are two functions: each gets its own result.
    plus_one = store.derived_table("numbers", lambda f: f.assign(m=f["n"] + 1), folder)
    plus_two = store.derived_table("numbers", lambda f: f.assign(m=f["n"] + 2), folder)
    assert plus_one["m"].tolist() == [2, 3, 4] and plus_two["m"].tolist() == [3, 4, 5]


def test_a_derivation_reads_only_the_columns_it_asks_for(folder):
    seen = store.derived_table("numbers", lambda f: f, folder, columns=["n"])
    assert list(seen.columns) == ["n"]


# --------------------------------------------------------------------- remembered
def _total(folder, add):
    _total.calls += 1
    return int(store.read_table("numbers", directory=folder)["n"].sum()) + add


def test_a_remembered_result_is_worked_out_once_per_version_of_what_it_read(folder):
    _total.calls = 0
    assert store.remembered(_total, folder, 10) == 16  # 1 + 2 + 3 + 10
    assert store.remembered(_total, folder, 10) == 16
    assert _total.calls == 1
    assert store.remembered(_total, folder, 20) == 26  # other arguments: worked out
    assert _total.calls == 2
    os.utime(store.table_path("numbers", folder), ns=(1, 1))  # same bytes, new version
    assert store.remembered(_total, folder, 10) == 16
    assert _total.calls == 3
    store.write_table(pd.DataFrame({"n": [100]}), "numbers", folder)
    assert store.remembered(_total, folder, 10) == 110
    assert _total.calls == 4


def test_a_remembered_result_notes_what_it_read_for_every_report(folder):
    _total.calls = 0
    store.forget_tables_read()
    store.remembered(_total, folder, 0)
    first = store.tables_read()
    store.forget_tables_read()  # the next report
    store.remembered(_total, folder, 0)
    assert _total.calls == 1
    assert store.tables_read() == first == [str(store.table_path("numbers", folder).absolute())]


def test_a_remembered_result_notes_its_reads_for_an_outer_one(folder):
    """A remembered computation inside another: the outer one depends on what the inner
    one read, even when the inner one was not worked out again."""

    def outer(where):
        outer.calls += 1
        return store.remembered(_total, where, 1) * 2

    outer.calls = _total.calls = 0
    store.remembered(_total, folder, 1)  # the inner one is kept first
    assert store.remembered(outer, folder) == 14
    store.write_table(pd.DataFrame({"n": [5]}), "numbers", folder)
    assert store.remembered(outer, folder) == 12
    assert (outer.calls, _total.calls) == (2, 2)


def test_what_one_caller_changes_in_a_remembered_result_the_next_never_sees(folder):
    def table(where):
        return store.read_table("numbers", directory=where).assign(double=lambda d: d["n"] * 2)

    first = store.remembered(table, folder)
    expected = first.copy(deep=True)
    first.loc[0, "double"] = -5
    first.attrs["note"] = "changed"
    second = store.remembered(table, folder)
    pd.testing.assert_frame_equal(second, expected)
    assert second.attrs == {}
    second["n"] = 0
    pd.testing.assert_frame_equal(store.remembered(table, folder), expected)


def test_a_result_whose_working_warned_is_not_kept_and_warns_every_time(folder):
    import warnings

    def noisy(where):
        noisy.calls += 1
        warnings.warn("the series is short", UserWarning, stacklevel=1)
        return store.read_table("numbers", directory=where)["n"].sum()

    noisy.calls = 0
    for _ in range(2):
        with pytest.warns(UserWarning, match="the series is short"):
            assert store.remembered(noisy, folder) == 6
    assert noisy.calls == 2


def test_a_failed_working_is_not_kept(folder):
    def failing(where):
        failing.calls += 1
        store.read_table("numbers", directory=where)
        raise ParameterError("bad")

    failing.calls = 0
    for _ in range(2):
        with pytest.raises(ParameterError):
            store.remembered(failing, folder)
    assert failing.calls == 2


def test_a_missing_table_that_appears_is_read(folder, tmp_path_factory):
    empty = tmp_path_factory.mktemp("store")

    def count(where):
        try:
            return len(store.read_table("numbers", directory=where))
        except DataValidationError:
            return -1

    assert store.remembered(count, empty) == -1
    store.write_table(pd.DataFrame({"n": [1, 2]}), "numbers", empty)
    assert store.remembered(count, empty) == 2


def test_remembered_results_follow_the_store_folder(folder, tmp_path_factory, monkeypatch):
    """The same function and arguments under another MPSANALYSIS_DATA_DIR are another
    result (a notebook may point the package at another store)."""
    other = tmp_path_factory.mktemp("data")
    store.write_table(pd.DataFrame({"n": [7]}), "numbers", other / "processed")

    def default_store():
        return int(store.read_table("numbers")["n"].sum())

    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(folder.parent))
    monkeypatch.setattr(store.paths, "processed_dir", lambda: folder)
    assert store.remembered(default_store) == 6
    monkeypatch.setattr(store.paths, "processed_dir", lambda: other / "processed")
    assert store.remembered(default_store) == 7


def test_between_reports_only_the_results_the_last_report_used_are_kept(folder):
    _total.calls = 0
    store.remembered(_total, folder, 1)
    store.remembered(_total, folder, 2)
    store.keep_only_used()  # end of a report that used both
    store.remembered(_total, folder, 1)
    store.keep_only_used()  # end of a report that used only the first
    store.remembered(_total, folder, 1)
    store.remembered(_total, folder, 2)
    assert _total.calls == 3  # the second was dropped, and worked out again


def test_the_build_log_a_remembered_result_read_is_checked_but_is_not_an_input(folder):
    """A section's "not supplied" sentence comes from the build log: a rewritten log
    works the result out again, but the log is not listed as a report input (a report
    that reads it directly does not list it either)."""

    def note(where):
        note.calls += 1
        return store.not_supplied("stop_search", where), len(
            store.read_table("numbers", directory=where)
        )

    note.calls = 0
    store.write_json({"sources": []}, "build_log", folder)
    store.forget_tables_read()
    assert store.remembered(note, folder) == (None, 3)
    assert store.tables_read() == [str(store.table_path("numbers", folder).absolute())]
    store.forget_tables_read()
    assert store.remembered(note, folder) == (None, 3)
    assert store.tables_read() == [str(store.table_path("numbers", folder).absolute())]
    assert note.calls == 1
    log = {"sources": [{"source": "stop_search", "warnings": ["not supplied: no files"]}]}
    store.write_json(log, "build_log", folder)
    assert store.remembered(note, folder) == ("not supplied: no files", 3)
    assert note.calls == 2
