"""python -m scalehp_ros.evaluation: the scalehp-eval console script."""

import sys

from scalehp_ros.evaluation.cli import main

sys.exit(main())
