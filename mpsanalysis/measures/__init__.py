"""Layer 2, measures: what each objective counts and how it is assessed.

``catalogue`` (with ``objectives.yaml``) defines the objectives and measures;
``compute`` turns the store into a measure's monthly series and financial-year-to-date
comparison; ``metrics`` holds the FYTD arithmetic and simple forecasts; ``assessment``
gives each measure its status against its target.
"""
