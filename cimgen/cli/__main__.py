"""``python -m cimgen.cli``."""

from cimgen.cli.main import main

if __name__ == "__main__":  # not on import (pytest's --doctest-modules imports every module)
    main()
