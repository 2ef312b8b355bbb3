"""Layer 3, statistics: pure functions on tidy frames and series.

SPC (``spc``), significance tests and intervals (``significance``), year-end forecasts
(``forecast``), funnel plots (``funnel``), concentration (``concentration``),
interrupted time series (``evaluation``), disclosure control (``disclosure``) and the
analyses of the other public sources (``sources``). No plotting and no HTML here.
"""
