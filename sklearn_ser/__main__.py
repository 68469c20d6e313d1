"""``python -m sklearn_ser``: the ``sklearn-ser`` command line."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
