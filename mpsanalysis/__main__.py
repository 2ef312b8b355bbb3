"""``python -m mpsanalysis`` runs the command line."""

import sys

from mpsanalysis.cli import main

sys.exit(main())
