"""The BBC news corpus (``corpora/bbc_news.jsonl``), read in one place for every model trained on it:
the topic classifier (its topics) and the GPT-2 models (its text).

Each article is its title and body, with the corpus's "Â£" mojibake repaired
(``training/corpus_text.py``). The corpus repeats about 35 articles, word for word or under the same
title with a few words changed: each title and each body is kept once (its first article), so that no
article is both trained on and held out, whichever split a reader makes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from training.corpus_text import repair_mojibake

BBC_CORPUS = "corpora/bbc_news.jsonl"  # under the data folder


@dataclass(frozen=True)
class BbcArticle:
    title: str
    body: str
    topic: str
    where: str  # file and line, for messages about it

    @property
    def text(self) -> str:
        """Title, blank line, body: the form both the classifier and the GPT-2 models read."""
        return f"{self.title}\n\n{self.body}"


def read_bbc_articles(path: Path) -> list[BbcArticle]:
    """The corpus's articles in file order, repeats dropped; a line without a title or text is an error."""
    path = Path(path)
    articles: list[BbcArticle] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        title = repair_mojibake(str(record.get("title") or "").strip())
        body = repair_mojibake(str(record.get("text") or "").strip())
        if not title or not body:
            raise ValueError(f"{path}:{number}: an article needs a title and a text")
        if title in seen or body in seen:
            continue
        seen.update((title, body))
        articles.append(BbcArticle(title, body, str(record.get("topic")), f"{path}:{number}"))
    return articles
