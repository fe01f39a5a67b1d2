"""The one exception type for user-facing errors.

Raise `PoseNetError` with a message that names the thing (file, folder, argument) and says
what to do. The command-line drivers print it as a single line and exit with status 2, so a
user never sees a traceback for bad input.
"""


class PoseNetError(Exception):
    """Bad input or environment; the message is shown to the user as is."""


class PoseNetWarning(UserWarning):
    """Something a user should know that does not stop the run (e.g. a box running past the
    image edge); the command-line drivers print it as one `warning: ...` line."""
