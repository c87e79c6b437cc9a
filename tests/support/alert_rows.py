"""Alerts stored as the spike detector stores them, for tests of what shows and acts on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.engine import session_scope
from db.models import Alert


def add_alert(topic: str, value: float, evidence: list[dict[str, str]] | None = None) -> int:
    now = datetime.now(UTC)
    with session_scope() as session:
        alert = Alert(
            topic=topic,
            window_start=now - timedelta(hours=1),
            window_end=now,
            metric="negative_share",
            baseline=0.2,
            value=value,
            evidence=evidence or [],
        )
        session.add(alert)
        session.flush()
        return alert.id
