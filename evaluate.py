"""``python evaluate.py [overrides]``: the same as ``fvl eval [overrides]`` (see fvl/commands/evaluate.py)."""

from fvl.commands.evaluate import main

if __name__ == "__main__":
    main()
