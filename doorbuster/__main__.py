"""`python3 -m doorbuster`: the same entry point as the `doorbuster` console script.

It serves where the script is not on PATH (a virtual environment not activated, a container
that only has `python3`), and picks the interpreter explicitly.
"""

import sys

from doorbuster.cli import main

sys.exit(main())
