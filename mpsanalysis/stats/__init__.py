"""Layer 3, statistics: functions on tidy frames and series, no HTML.

SPC (``spc``), significance tests and intervals (``significance``, ``rates``), year-end
forecasts (``forecast``), funnel plots (``funnel``), concentration (``concentration``),
interrupted time series (``evaluation``), disclosure control (``disclosure``) and the
analyses of the other public sources (``homicide``, ``stop_search``, ``outcomes``,
``forces``, ``harm``). A statistic's standard chart (``plot_xmr``, ``plot_funnel``,
``plot_forecast``, ``plot_intervention``, ``plot_lorenz``) sits beside it and draws on a
matplotlib Axes it is given; the report layer decides where charts go and renders them.
"""
