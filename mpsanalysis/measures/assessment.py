"""Assessment of a measure against its target: met, on track, at risk or not met.

The rule (documented in ``docs/methodology.md``):

* Every target is expressed as an *achieved* figure where larger is better: the %
  reduction on last year for a reduction target, the rate for a minimum rate, minus the
  rate for a maximum rate, and the year-end figure (forecast in-year, actual at year
  end) for an absolute target.
* At the year end (12 months elapsed): **met** when achieved >= target, else **not met**.
* In-year: **on track** when the position so far meets the target and the year-end
  forecast (where there is one) does too; **at risk** when it misses by no more than
  the tolerance (2 percentage points, or 5% of an absolute target), or when the
  shortfall is not statistically significant, or when the position meets the target
  but the forecast does not; **not met** when the position so far misses by more than
  the tolerance and the shortfall is significant (or untested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mpsanalysis.errors import ParameterError
from mpsanalysis.measures.catalogue import Target

__all__ = ["STATUSES", "STATUS_ICONS", "Assessment", "assess_against_target", "achieved_figure"]

STATUSES = ("met", "on track", "at risk", "not met", "no target", "not assessed")

#: Icons readable without colour: shape and word carry the status, colour only helps.
STATUS_ICONS = {
    "met": "✔",
    "on track": "✔",
    "at risk": "▲",
    "not met": "✖",
    "no target": "–",
    "not assessed": "?",
}

PERCENT_TOLERANCE = 2.0
ABSOLUTE_TOLERANCE_SHARE = 0.05


@dataclass(frozen=True)
class Assessment:
    """The status of a measure and why."""

    status: str
    achieved: float
    target: float
    reason: str

    @property
    def icon(self) -> str:
        return STATUS_ICONS[self.status]


def _in_target_terms(target: Target, value: float | None) -> str:
    """A position or forecast as the target states it, for the status's reason.

    Examples
    --------
    >>> _in_target_terms(Target("reduction", percent=7), -8.7)
    '8.7% down on last year'
    >>> _in_target_terms(Target("reduction", percent=7), 0.6)
    '0.6% up on last year'
    >>> _in_target_terms(Target("minimum-rate", percent=20), 18.25)
    '18.2%'
    >>> _in_target_terms(Target("absolute", value=225), 231.4)
    '231'
    """
    if value is None:
        return "n/a"
    if target.type == "reduction":
        if round(value, 1) == 0:
            return "no change on last year"
        return f"{abs(value):.1f}% {'down' if value < 0 else 'up'} on last year"
    if target.type == "absolute":
        return f"{value:,.0f}"
    return f"{value:.1f}%"


def achieved_figure(target: Target, value: float, direction: str) -> tuple[float, float]:
    """Express a figure and its target on the "larger is better" scale.

    Parameters
    ----------
    target : Target
        The catalogue target.
    value : float
        The % change on last year (reduction target), the rate in % (rate targets) or
        the year-end figure (absolute target).
    direction : str
        The measure's direction (``up`` or ``down``), used by absolute targets.

    Examples
    --------
    >>> achieved_figure(Target("reduction", percent=7.0), -0.3, "down")
    (0.3, 7.0)
    >>> achieved_figure(Target("maximum-rate", percent=10.0), 12.0, "down")
    (-12.0, -10.0)
    """
    figure = target.value if target.type == "absolute" else target.percent
    if figure is None:  # the catalogue's validation makes this unreachable for its targets
        raise ParameterError(f"a {target.type} target needs a figure: {target!r}")
    if target.type == "reduction":
        return -value, figure
    if target.type == "minimum-rate":
        return value, figure
    if target.type == "maximum-rate":
        return -value, -figure
    if direction == "down":
        return -value, -figure
    return value, figure


def assess_against_target(
    target: Target | None,
    position: float,
    *,
    direction: str,
    year_complete: bool,
    forecast: float | None = None,
    shortfall_significant: bool | None = None,
    untested_reason: str | None = None,
) -> Assessment:
    """Assess a measure's position (and forecast) against its target.

    Parameters
    ----------
    target : Target or None
        The catalogue target; None gives "no target".
    position : float
        The figure so far, in the target's terms: % change on last year (reduction),
        rate in % (rate targets), or the year-end figure (absolute targets: the actual
        at year end, else the forecast).
    direction : str
        ``up`` or ``down``.
    year_complete : bool
        True when all 12 months of the financial year are in.
    forecast : float, optional
        The year-end forecast in the same terms as ``position``.
    shortfall_significant : bool, optional
        Whether a statistical test finds the shortfall from the target significant;
        a non-significant shortfall is "at risk", never "not met", in-year.
    untested_reason : str, optional
        Why the shortfall could not be tested (e.g. too little history); added to the
        reason of a "not met" in-year, so the report says the shortfall is untested.

    Examples
    --------
    The Violent Crime Directorate targets, position at October 2006 (MPA report of
    26 October 2006):

    >>> assess_against_target(Target("reduction", percent=5), -19.6, direction="down",
    ...                       year_complete=False).status
    'on track'
    >>> assess_against_target(Target("reduction", percent=7), -0.3, direction="down",
    ...                       year_complete=False).status
    'not met'
    """
    if target is None:
        return Assessment("no target", math.nan, math.nan, "no target is set")
    if direction not in ("up", "down"):
        raise ParameterError(f"direction {direction!r} must be 'up' or 'down' for a target")
    if position is None or (isinstance(position, float) and math.isnan(position)):
        return Assessment("not assessed", math.nan, math.nan, "no figure for this period")
    achieved, goal = achieved_figure(target, position, direction)
    tolerance = (
        abs(goal) * ABSOLUTE_TOLERANCE_SHARE if target.type == "absolute" else PERCENT_TOLERANCE
    )
    described = target.describe(direction)
    if year_complete:
        if achieved >= goal:
            return Assessment("met", achieved, goal, f"year end meets the target ({described})")
        return Assessment("not met", achieved, goal, f"year end misses the target ({described})")
    forecast_ok = True
    if forecast is not None and not (isinstance(forecast, float) and math.isnan(forecast)):
        forecast_ok = achieved_figure(target, forecast, direction)[0] >= goal
    if achieved >= goal and forecast_ok:
        return Assessment("on track", achieved, goal, f"the position so far meets {described}")
    if achieved >= goal:
        return Assessment(
            "at risk",
            achieved,
            goal,
            f"the year so far meets {described} ({_in_target_terms(target, position)}) "
            "but the year-end forecast at the present rate does not "
            f"({_in_target_terms(target, forecast)})",
        )
    if goal - achieved <= tolerance:
        return Assessment("at risk", achieved, goal, f"just short of {described}")
    # A count that went the wrong way is said to have done so, not to be "short of" a
    # reduction (a 10.6% rise against a 7% reduction target).
    short = (
        f"a {'rise' if direction == 'down' else 'fall'} of {-achieved:.1f}% "
        f"against a target of {described}"
        if target.type == "reduction" and achieved < 0
        else f"short of {described}"
    )
    if shortfall_significant is False:
        return Assessment("at risk", achieved, goal, f"{short}, but within normal variation")
    reason = short
    if shortfall_significant is None and untested_reason:
        reason += f" ({untested_reason})"
    return Assessment("not met", achieved, goal, reason)
