"""Reading ``queuebot export clicks`` files: one line per impression (what a reply suggested, in
order), with the conversation text it was ranked from, each article's questions, and its clicks.

Only impressions that got a click say which of the shown articles the person preferred; the others
are skipped and counted (nobody may have looked). An article whose entry was deleted since has no
questions to embed and is left out of its impression. A malformed line is an error naming its file
and line: a broken export must never shrink the training data unnoticed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOT_CLICKED = "not_clicked"
DELETED_ARTICLE = "deleted_article"  # counted per article, not per impression


class ClickLogError(ValueError):
    """A line of a click export that is not a well-formed impression."""


@dataclass(frozen=True)
class ShownArticle:
    entry_id: int
    position: int
    questions: list[str]
    clicked: bool


@dataclass(frozen=True)
class LoggedImpression:
    impression_id: str
    context: list[str]  # the customer's messages, oldest first
    shown: list[ShownArticle]  # in the order shown


@dataclass
class ClickLog:
    impressions: list[LoggedImpression]
    files: list[str]
    lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def to_data(self) -> dict[str, Any]:
        return {
            "files": [Path(name).name for name in self.files],
            "impressions_read": self.lines,
            "impressions_used": len(self.impressions),
            "clicks_used": sum(a.clicked for i in self.impressions for a in i.shown),
            "skipped": dict(self.skipped),
        }


def read_click_log(paths: Sequence[Path]) -> ClickLog:
    log = ClickLog([], [str(path) for path in paths])
    for path in paths:
        with Path(path).open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                log.lines += 1
                try:
                    impression = _impression(json.loads(line), log.skipped)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ClickLogError(f"{path}, line {number}: not a click-log impression ({exc})") from exc
                if impression is None:
                    log.skipped[NOT_CLICKED] += 1
                else:
                    log.impressions.append(impression)
    return log


def _impression(record: dict[str, Any], skipped: Counter[str]) -> LoggedImpression | None:
    context = [str(text) for text in record["context"]]
    if not context:
        raise ValueError("context is empty")
    clicked = {int(click["entry_id"]) for click in record["clicks"]}
    shown = []
    for item in record["shown"]:
        questions = [str(q) for q in item["questions"]]
        if not questions:
            skipped[DELETED_ARTICLE] += 1
            continue
        entry_id = int(item["entry_id"])
        shown.append(ShownArticle(entry_id, int(item["position"]), questions, entry_id in clicked))
    if not any(article.clicked for article in shown):
        return None
    return LoggedImpression(str(record["impression_id"]), context, shown)
