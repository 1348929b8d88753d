"""Errors about RecordIO files: each names the file and, for a record, the byte offset."""

from roost.errors import UserError


class RecordIOError(UserError):
    """A RecordIO file (or its .idx) is malformed, truncated or inconsistent."""
