"""Layer 5, run: plan the jobs, execute notebooks in warm kernels, publish atomically.

``jobs`` defines a job and its result; ``engine`` runs notebooks in warm kernels (or
papermill); ``runner`` validates parameters, fans jobs out and publishes the reports.
"""
