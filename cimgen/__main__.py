"""``python -m cimgen``: the same as the ``cimgen`` console script."""

from cimgen.cli.main import main

if __name__ == "__main__":  # not on import (a spawned worker imports the main module again)
    main()
