"""What PostgreSQL cannot store of a JSON document."""

from __future__ import annotations

from typing import Any

NUL_REASON = "text may not contain the NUL character (\\u0000)"


def holds_nul(document: Any) -> bool:
    """Whether any string of the document, key or value, holds U+0000 (text and jsonb cannot)."""
    # A stack, not recursion: orjson accepts nesting deeper than Python's recursion limit.
    pending: list[Any] = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
