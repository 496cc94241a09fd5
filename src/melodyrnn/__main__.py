"""Run the command line with ``python -m melodyrnn``."""

from melodyrnn.cli import main

main()
