"""``python -m tapegrad``: the ``tapegrad`` command (``python -m tapegrad run SCRIPT``)."""

import sys

from .cli import main

sys.exit(main())
