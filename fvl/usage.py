"""The one error type for a user's mistake in a command (a missing file, not a model, a bad option or input).

Commands raise it before anything heavy loads where they can; their ``main`` prints its message, which names the
thing and the fix, and returns exit status 2. :class:`ConfigError` is the kind a composed Hydra config makes
(``train.py`` prints it without a traceback).
"""


class UsageError(ValueError):
    """A mistake in the command: its message is shown to the user, the exit status is 2."""


class ConfigError(UsageError):
    """A mistake in the composed config; ``train.py`` prints it without a traceback and exits with status 2."""
