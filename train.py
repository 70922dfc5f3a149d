"""``python train.py [overrides]``: the same as ``fvl train [overrides]`` (see fvl/commands/train.py)."""

from fvl.commands.train import main

if __name__ == "__main__":
    main()
