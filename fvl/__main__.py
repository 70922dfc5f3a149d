"""``python -m fvl``: lists the commands; ``python -m fvl <command> ...`` runs one (see fvl/commands)."""

import sys

from fvl.commands import main

if __name__ == "__main__":
    sys.exit(main())
