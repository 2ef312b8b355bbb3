"""The back-test tables quoted in docs/statistics.md are the command's output."""

from pathlib import Path

import pytest

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats import backtests

DOCS = Path(__file__).resolve().parents[1] / "docs" / "statistics.md"


@pytest.mark.realdata
@pytest.mark.slow
def test_docs_tables_equal_the_commands_output(real_store):
    # python -m mpsanalysis.stats.backtests prints these; none is typed by hand.
    docs = DOCS.read_text(encoding="utf-8")
    # Two processes, one table each (the tables in the docs were made one after the
    # other in one process, so this also shows the split changes nothing).
    tables = backtests.backtest_markdown(workers=2)
    assert set(tables) == {"false_alarm", "spc_baseline", "forecast"}
    for name, text in tables.items():
        assert text in docs, f"docs/statistics.md does not hold the current {name} table"
    assert "placeholder" not in docs.lower()


def test_every_public_measure_is_back_tested_once():
    ids = [m.id for m in backtests.public_measures()]
    assert len(ids) == len(set(ids))
    assert {"personal-robbery", "violence-with-injury", "homicide"} <= set(ids)


def test_a_worker_count_below_one_is_refused():
    with pytest.raises(ParameterError, match="workers must be at least 1, not 0"):
        backtests.backtest_markdown(workers=0)
