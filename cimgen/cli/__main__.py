"""``python -m cimgen.cli``."""

from cimgen.cli.main import main

main()
