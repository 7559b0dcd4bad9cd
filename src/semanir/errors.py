"""The two kinds of failure the command line tells apart.

``UsageError`` (and its subclasses: ImageError, WeightsError, ConfigError, TrainingError, ...) is a
failure the user's input caused: a file, folder, weights file, argument or config value. The CLI
reports its message as one line with exit status 2. Anything else that reaches the CLI is a bug in
semanir: exit status 1 and a traceback kept for the report. So library code raises UsageError where,
and only where, the cause is something the user gave.
"""


class UsageError(ValueError):
    """A failure caused by the user's input: reported as one line, never as a traceback.

    A ValueError, so that code catching the ValueErrors these failures used to be still works."""

