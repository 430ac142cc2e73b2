"""``python -m openedx_retirement_kafka.reader``: the same as ``openedx-retirement-reader``."""

import sys

from .cli import main

sys.exit(main())
