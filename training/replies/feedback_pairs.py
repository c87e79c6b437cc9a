"""Training pairs from people's votes: the up-voted replies in ``queuebot export feedback`` files.

An export line is one vote on one bot answer (see cli/export.py). Only a vote up on a reply job
says "answer this question like this"; every other line is a legitimate skip, counted by reason so
the model's metadata can say what was left out. A line that is not a well-formed vote is an error
naming its file and line: a broken export must never shrink the training data unnoticed.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.jobs import JobKind
from db.models import Rating
from training.gpt2.data import SupportPair

log = logging.getLogger(__name__)

FEEDBACK_INTENT = "feedback"  # the SupportPair.intent of every feedback pair
FEEDBACK_CATEGORY = "FEEDBACK"

# Skip reasons, as stored in the model's queuebot.json; a vote on another kind of job is "<kind>_job".
DOWN_VOTE = "down_vote"
REPEAT_VOTE = "repeat_vote"
# A handoff's "a colleague will answer you" is no answer to the question, however it was voted.
HANDOFF_REPLY = "handoff_reply"

_SKIP_WORDS = {
    DOWN_VOTE: "down votes",
    HANDOFF_REPLY: "votes on handoff messages",
    REPEAT_VOTE: "repeat votes on an answer already used",
}


class FeedbackFileError(ValueError):
    """A line of a feedback export that is not a well-formed vote."""


@dataclass(frozen=True)
class FeedbackPairs:
    """The pairs to train on and an account of every vote read."""

    pairs: list[SupportPair]
    files: list[str]
    votes: int  # lines read, skipped ones included
    skipped: dict[str, int]  # reason -> votes
    answered_by: dict[str, int]  # model that wrote the answer -> pairs

    def to_data(self) -> dict[str, Any]:
        """The summary kept in the model's queuebot.json."""
        return {
            "files": [Path(name).name for name in self.files],
            "votes": self.votes,
            "pairs": len(self.pairs),
            "skipped": dict(self.skipped),
            "answered_by": dict(self.answered_by),
        }


@dataclass(frozen=True)
class _Vote:
    job_id: str
    kind: str
    rating: str
    record: dict[str, Any]
    where: str  # "FILE line N", for messages


def read_feedback_pairs(paths: Sequence[Path]) -> FeedbackPairs:
    """One (question=input, reply=output) pair per reply job that someone voted up, over all ``paths``.

    Files are read in order and so are their lines; an answer voted up by several people, or exported
    twice, is learnt once. Raises ``FileNotFoundError`` for a missing file, ``FeedbackFileError`` for a
    malformed line, and ``ValueError`` when no up-voted reply is left to train on.
    """
    if not paths:
        raise ValueError("no feedback files given")
    pairs: list[SupportPair] = []
    skipped: Counter[str] = Counter()
    answered_by: Counter[str] = Counter()
    first_seen: dict[str, _Vote] = {}  # job id -> the vote its pair came from
    votes = 0
    for path in paths:
        for vote in _read_votes(Path(path)):
            votes += 1
            if vote.kind != JobKind.REPLY:
                skipped[f"{vote.kind}_job"] += 1
            elif vote.rating != Rating.UP:
                skipped[DOWN_VOTE] += 1
            elif vote.record.get("path") == "handoff":
                skipped[HANDOFF_REPLY] += 1
            elif vote.job_id in first_seen:
                _check_same_answer(vote, first_seen[vote.job_id])
                skipped[REPEAT_VOTE] += 1
            else:
                pairs.append(_pair(vote))
                first_seen[vote.job_id] = vote
                answered_by[_model_name(vote.record)] += 1
    files = [str(path) for path in paths]
    if not pairs:
        raise ValueError(
            f"no up-voted replies to train on in {', '.join(files)}: {votes} votes read"
            + (f", all skipped ({describe_skipped(skipped)})" if skipped else "")
        )
    log.info(
        "feedback: %d up-voted replies from %d votes in %s%s",
        len(pairs),
        votes,
        ", ".join(files),
        f"; skipped {describe_skipped(skipped)}" if skipped else "; none skipped",
    )
    return FeedbackPairs(pairs, files, votes, dict(sorted(skipped.items())), dict(answered_by))


def describe_skipped(skipped: Mapping[str, int]) -> str:
    """``{"down_vote": 2, "generate_job": 1}`` -> "down votes: 2, votes on generate jobs: 1"."""
    parts = []
    for reason, count in sorted(skipped.items()):
        words = _SKIP_WORDS.get(reason) or f"votes on {reason.removesuffix('_job')} jobs"
        parts.append(f"{words}: {count}")
    return ", ".join(parts)


# --- reading -------------------------------------------------------------------------------------


def _read_votes(path: Path) -> list[_Vote]:
    if not path.is_file():
        raise FileNotFoundError(f"feedback file {path} does not exist")
    votes = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():  # a trailing blank line is no vote
                votes.append(_parse_vote(line, f"{path} line {number}"))
    return votes


def _parse_vote(line: str, where: str) -> _Vote:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FeedbackFileError(f"{where} is not valid JSON: {exc.msg}") from exc
    if not isinstance(record, dict):
        raise FeedbackFileError(f"{where} is not a JSON object (one vote per line is expected)")
    job_id = record.get("job_id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise FeedbackFileError(f'{where} has no "job_id" (a non-empty string)')
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in set(JobKind):
        raise FeedbackFileError(f'{where}: "kind" must be one of {_choices(JobKind)}, not {kind!r}')
    rating = record.get("rating")
    if not isinstance(rating, str) or rating not in set(Rating):
        raise FeedbackFileError(f'{where}: "rating" must be one of {_choices(Rating)}, not {rating!r}')
    return _Vote(job_id, kind, rating, record, where)


def _pair(vote: _Vote) -> SupportPair:
    # Only the votes that are learnt from need the texts: a skipped sentiment job has no "input".
    texts = []
    for field in ("input", "output"):
        value = vote.record.get(field)
        if not isinstance(value, str) or not value.strip():
            raise FeedbackFileError(f'{vote.where}: an up-voted reply needs a non-empty string "{field}"')
        texts.append(value)
    return SupportPair(texts[0], texts[1], FEEDBACK_INTENT, FEEDBACK_CATEGORY)


def _check_same_answer(vote: _Vote, first: _Vote) -> None:
    # Two votes on one job rate one answer; different texts mean the file was edited or merged wrongly,
    # and quietly keeping either would hide that.
    for field in ("input", "output"):
        if vote.record.get(field) != first.record.get(field):
            raise FeedbackFileError(
                f'{vote.where}: job {vote.job_id} has another "{field}" than at {first.where}'
            )


def _model_name(record: Mapping[str, Any]) -> str:
    name = record.get("model_name")
    return name if isinstance(name, str) and name else "unknown"


def _choices(values: type[JobKind] | type[Rating]) -> str:
    return ", ".join(repr(value.value) for value in values)
