"""``python -m dynvision.cli ...``: the same as the ``dynvision`` command."""

import sys

from dynvision.cli.app import main

sys.exit(main())
