"""``python -m gateway`` is ``wardlink``."""

import sys

from gateway.cli import main

sys.exit(main())
