"""The one exception type that means "the user gave us something wrong".

Front doors (CLI, HTTP API) show its message as is, without a traceback; anything else is a bug.
"""


class UserError(Exception):
    """Bad input: the message names the problem and, where there is one, the fix."""
