"""The Flex Template's entry file (FLEX_TEMPLATE_PYTHON_PY_FILE): the launcher runs ``python main.py
--option=value ...``; this runs the installed wheel's ``python -m pipelines.run`` with those options."""

import sys

from pipelines.run import main

if __name__ == "__main__":
    sys.exit(main())
