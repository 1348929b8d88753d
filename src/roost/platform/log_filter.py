"""CloudWatch Logs' term filter patterns (FilterLogEvents' filterPattern, the console's filter box)."""

from __future__ import annotations

import re
from collections.abc import Callable

from roost.platform.errors import InvalidLogParameter

_TERM = re.compile(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def compile_filter_pattern(pattern: str | None) -> Callable[[str], bool]:
    """A CloudWatch term pattern as a predicate: terms and "quoted phrases" all present (AND),
    `?term` any of them (OR), `-term` absent. Matching is case-sensitive, as CloudWatch's."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text[0] in "{[%":
        raise InvalidLogParameter(
            'Invalid filter pattern: roost supports term patterns (terms, "quoted phrases", ?any, '
            "-excluded), not JSON, space-delimited or regular-expression patterns"
        )
    required, excluded, any_of = [], [], []
    for prefix, quoted, bare in _TERM.findall(text):
        term = quoted.replace('\\"', '"') if quoted or not bare else bare
        {"": required, "-": excluded, "?": any_of}[prefix].append(term)

    def matches(message: str) -> bool:
        return (
            all(term in message for term in required)
            and not any(term in message for term in excluded)
            and (not any_of or any(term in message for term in any_of))
        )

    return matches
