"""`python -m scheduling` runs the scheduler; `python -m scheduling --check` says whether it is healthy (exit 0)
or whether a job is late or never ran (exit 1; 2 when the database cannot tell), for a liveness probe."""

import argparse
import sys

parser = argparse.ArgumentParser(prog="python -m scheduling")
parser.add_argument(
    "--check", action="store_true", help="print each job's state; exit non-zero if any is late or never ran"
)
if parser.parse_args().check:
    from scheduling.health import main_check

    sys.exit(main_check())

from scheduling.runner import main  # noqa: E402

main()
