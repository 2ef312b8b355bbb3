"""The report audit (mpsanalysis audit): each check finds what it should, on hand-made
pages, and a small sample of real reports passes."""

import json

import pytest

from mpsanalysis import cli
from mpsanalysis.run import audit

CLEAN = (
    '<header class="report-header"><h1>Robbery</h1><dl><dt>Data available to</dt>'
    "<dd>December 2025</dd></dl></header>"
    "<h2>Headline figures</h2><table><caption>Headline</caption><tr><td>Robbery of "
    "personal property</td><td>16,422</td><td>+1,381 (+9.2%)</td></tr></table>"
    "<h2>Summary</h2><p>There have been 16,422 offences of robbery of personal property "
    "in London financial year to date (Apr 2016 to Dec 2016).</p>"
    '<h2>Trend</h2><img src="data:image/png;base64,AA" alt="Monthly robbery">'
    "<footer><p>Data files read: Jan 2008 to Dec 2025</p></footer>"
)
SUMMARY = {"measures": [{"measure": "Robbery of personal property", "figure": "16,422"}]}


def _checks(findings):
    return sorted((f.check, f.detail) for f in findings)


def test_a_clean_page_has_no_findings():
    # Header ("Data available to December 2025") and footer dates are not findings.
    assert audit.audit_page("r.html", CLEAN, "2016-12", SUMMARY, {"cells": []}, "16,422") == []


def test_data_after_the_period_end_is_found():
    page = CLEAN.replace("(Apr 2016 to Dec 2016)", "(Apr 2016 to Jan 2017)")
    assert _checks(audit.audit_page("r.html", page, "2016-12")) == [
        ("period", "section 'Summary' shows Apr 2016 to Jan 2017, after the period's end "
                   "(2016-12)")
    ]  # fmt: skip
    # the same range in a report for January 2017 is its own period
    assert audit.audit_page("r.html", page, "2017-01") == []


@pytest.mark.parametrize("token", ["nan", "None", "inf", "-0", "-0%", "-0.0%", "−0"])
def test_bad_tokens_are_found(token):
    page = CLEAN.replace("+9.2%", token)
    found = audit.audit_page("r.html", page, "2016-12")
    assert [f.check for f in found] == ["text"], found


@pytest.mark.parametrize("fine", ["-0.4%", "-10", "2010-04", "+0.3 pts", "Nonetheless"])
def test_ordinary_numbers_are_not_bad_tokens(fine):
    assert audit.audit_page("r.html", CLEAN.replace("+9.2%", fine), "2016-12") == []


def test_empty_sections_missing_alt_and_captions_are_found():
    page = CLEAN.replace(' alt="Monthly robbery"', "").replace("<caption>Headline</caption>", "")
    page += "<h2>Maps</h2>"
    assert _checks(audit.audit_page("r.html", page, "2016-12")) == [
        ("accessible", "1 table(s) without a caption"),
        ("accessible", "a chart has no alt text"),
        ("content", "section 'Maps' shows nothing: no table, chart or sentence"),
    ]


def test_figures_that_disagree_are_found():
    other = {"measures": [{"measure": "Robbery of personal property", "figure": "16,423"}]}
    details = [f.detail for f in audit.audit_page("r.html", CLEAN, "2016-12", other, None, "x")]
    assert details == [
        "Robbery of personal property: 16,423 is not in the headline table",
        "Robbery of personal property: 16,423 is not on the index page",
        "Robbery of personal property: the narrative does not give 16,423",
    ]


def test_a_sustained_spc_signal_is_found():
    # The summary says the chart's last 13 months were all special causes one way.
    message = (
        "every month since 2024-12 (13 months) is a special cause (low): the limits "
        "no longer describe the process"
    )
    flagged = {"measures": [dict(SUMMARY["measures"][0], spc_sustained=True, spc_message=message)]}
    assert _checks(audit.audit_page("r.html", CLEAN, "2016-12", flagged)) == [
        ("spc", f"Robbery of personal property: {message}")
    ]
    quiet = {"measures": [dict(SUMMARY["measures"][0], spc_sustained=False, spc_message="no run")]}
    assert audit.audit_page("r.html", CLEAN, "2016-12", quiet) == []


def test_kernel_errors_and_warnings_are_found():
    notebook = {"cells": [
        {"outputs": [{"output_type": "stream", "name": "stderr",
                      "text": "RuntimeWarning: invalid value\n"}]},
        {"outputs": [{"output_type": "error", "ename": "KeyError", "evalue": "'x'"}]},
    ]}  # fmt: skip
    assert _checks(audit.audit_page("r.html", CLEAN, "2016-12", None, notebook)) == [
        ("kernel", "cell 0 wrote to stderr: RuntimeWarning: invalid value"),
        ("kernel", "cell 1: KeyError: 'x'"),
    ]


def test_a_folder_without_a_manifest_is_refused(tmp_path):
    with pytest.raises(audit.ParameterError, match="no manifest.json"):
        audit.audit_folder(tmp_path)


def test_a_failed_report_is_a_finding(tmp_path):
    manifest = {"reports": [{"objective_id": "robbery", "geography": "Lambeth", "ok": False,
                             "error": "cell 3: KeyError", "period_end": "2016-12"}]}  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert _checks(audit.audit_folder(tmp_path)) == [("kernel", "failed: cell 3: KeyError")]


@pytest.mark.slow
@pytest.mark.realdata
def test_a_small_real_sample_passes(real_store, tmp_path, capsys):
    status = cli.main(["audit", "--quarter", "2019/20-Q4", "--objective", "robbery",
                       "--objective", "homicide", "--workers", "1", "--output", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "audit: no findings" in out
    assert (tmp_path / "2019-20" / "2019-20-Q4" / "robbery-westminster.html").exists()


def test_a_figure_for_a_measure_the_headline_does_not_publish_is_found():
    """The 2025/26 Q3 serious-violence pages before the harm fix: the headline says knife
    possession is "not published", the harm table gave it 0 offences and 0.0%. A measure
    with a figure, or an unpublished one shown as "n/a", gives no finding."""
    from mpsanalysis.run.audit import audit_page

    summary = {
        "measures": [
            {"measure": "Homicide", "figure": "74"},
            {"measure": "Possession of a knife or bladed article", "figure": "not published"},
        ]
    }
    head = (
        "<h1>Report</h1><h2>Headline figures</h2><table><caption>Headline</caption>"
        "<tr><th>Homicide</th><td>74</td></tr>"
        "<tr><th>Possession of a knife or bladed article</th><td>not published</td></tr>"
        "</table><h2>Summary</h2><p>There have been 74 offences of homicide.</p>"
    )
    harm = (
        "<h2>Harm</h2><table><caption>Harm</caption><tr><th>Homicide</th><td>74</td></tr>"
        "<tr><th>Possession of a knife or bladed article</th><td>{}</td><td>0.0%</td></tr>"
        "</table>"
    )
    before = audit_page("sv.html", head + harm.format("0"), "2025-12", summary=summary)
    assert [(f.check, f.detail) for f in before] == [
        (
            "unpublished",
            "Possession of a knife or bladed article: the headline has no figure for it, "
            "but a table gives 0",
        )
    ]
    after = audit_page("sv.html", head + harm.format("n/a"), "2025-12", summary=summary)
    assert after == []
