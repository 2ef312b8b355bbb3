"""mpsanalysis: quarterly performance reporting against the policing plan objectives.

The package does the work; the notebooks in ``notebooks/`` tell the story. Heavy
modules (statsmodels, matplotlib, geopandas) are imported only by the modules that
need them, so ``import mpsanalysis`` stays fast.
"""

__version__ = "0.1.0"
