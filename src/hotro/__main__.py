"""``python -m hotro`` is the ``hotro`` command."""

import sys

from hotro.cli import main

sys.exit(main())
