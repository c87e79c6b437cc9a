"""Events nobody asked for (edits, joins, other bots, new event types) are acknowledged quietly.

Without these, bolt answers 404 to events no listener takes and logs a warning for each.
"""

from __future__ import annotations

import re
from typing import Any

ANY_EVENT = re.compile(r".*")


def register(app: Any) -> None:
    app.event("message")(ignore)
    app.event(ANY_EVENT)(ignore)


def ignore() -> None:
    return None
