"""Layer 4, report: the tables, figures and HTML of an objective report.

``objective.ObjectiveReport`` returns every section's numbers as DataFrames
(:meth:`~mpsanalysis.report.objective.ObjectiveReport.table`) and its charts as
matplotlib Figures (:meth:`~mpsanalysis.report.objective.ObjectiveReport.figure`);
``sections`` computes the sections built on the other public sources; ``charts``
draws every figure; ``html`` formats numbers and renders tables and figures; ``index``
writes the index pages; ``export`` turns an executed notebook into the published page.
"""
