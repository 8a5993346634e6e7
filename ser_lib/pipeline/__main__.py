"""``python -m ser_lib.pipeline``: see :func:`ser_lib.pipeline.run.main`."""

import sys

from ser_lib.pipeline.run import main

sys.exit(main())
