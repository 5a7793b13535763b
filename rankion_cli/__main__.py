"""``python -m rankion_cli``: the ``rankion`` script."""

import sys

from . import main

sys.exit(main())
