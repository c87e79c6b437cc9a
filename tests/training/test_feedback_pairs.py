"""Exported votes as reply training pairs: what is learnt, what is skipped and counted, what is an error.

The export lines are written with every field ``queuebot export feedback`` writes (cli/export.py).
tests/cli/test_train_feedback.py takes a real export through a tiny fine-tune.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.replies.feedback_pairs import FeedbackFileError, FeedbackPairs, read_feedback_pairs


def _vote(
    job_id: str,
    kind: str = "reply",
    rating: str = "up",
    user: str = "U1",
    text: str | None = None,
    answer: str | None = None,
) -> dict[str, Any]:
    """One line of an export, with every field cli/export.py writes."""
    return {
        "job_id": job_id,
        "kind": kind,
        "input": text if text is not None else f"question of {job_id}?",
        "output": answer if answer is not None else f"Answer to {job_id}.",
        "rating": rating,
        "source": "slack",
        "user": user,
        "model_name": "intent-support" if kind == "reply" else "generator",
        "model_version": "tiny-20250101000000",
        "rated_at": "2025-01-01T12:00:00+00:00",
    }


def _export(path: Path, *records: dict[str, Any] | str) -> Path:
    """Write records the way the export does: one JSON object per line (a str is written as is)."""
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            line = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
            handle.write(line + "\n")
    return path


def _texts(feedback: FeedbackPairs) -> list[tuple[str, str]]:
    return [(pair.question, pair.reply) for pair in feedback.pairs]


# --- what is learnt and what is skipped ----------------------------------------------------------


def test_only_up_voted_replies_become_pairs_and_every_other_vote_is_counted_by_reason(
    tmp_path: Path,
) -> None:
    sentiment = {**_vote("s1", kind="sentiment"), "input": None}  # sentiment jobs have no prompt
    export = _export(
        tmp_path / "feedback.jsonl",
        _vote("r1", text="Où est ma commande ?", answer="Elle arrive demain."),
        _vote("r2", rating="down"),
        _vote("g1", kind="generate"),
        _vote("g2", kind="generate", rating="down"),
        sentiment,
        _vote("r3"),
    )

    feedback = read_feedback_pairs([export])

    assert _texts(feedback) == [
        ("Où est ma commande ?", "Elle arrive demain."),
        ("question of r3?", "Answer to r3."),
    ]
    assert feedback.to_data() == {
        "files": ["feedback.jsonl"],
        "votes": 6,
        "pairs": 2,
        "skipped": {"down_vote": 1, "generate_job": 2, "sentiment_job": 1},
        "answered_by": {"intent-support": 2},
    }


def test_an_answer_voted_up_several_times_or_exported_twice_is_learnt_once(tmp_path: Path) -> None:
    monday = _export(tmp_path / "monday.jsonl", _vote("r1", user="U1"), _vote("r1", user="U2"))
    friday = _export(tmp_path / "friday.jsonl", _vote("r1", user="U1"), _vote("r2"))

    feedback = read_feedback_pairs([monday, friday])

    assert _texts(feedback) == [("question of r1?", "Answer to r1."), ("question of r2?", "Answer to r2.")]
    assert (feedback.votes, feedback.skipped) == (4, {"repeat_vote": 2})


def test_a_reply_voted_up_by_one_person_and_down_by_another_is_learnt_and_the_down_vote_counted(
    tmp_path: Path,
) -> None:
    export = _export(tmp_path / "f.jsonl", _vote("r1", rating="down", user="U1"), _vote("r1", user="U2"))

    feedback = read_feedback_pairs([export])

    assert (len(feedback.pairs), feedback.skipped) == (1, {"down_vote": 1})


# --- what is an error ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "is not valid JSON"),
        (json.dumps([_vote("x")]), "is not a JSON object"),
        (json.dumps({**_vote("x"), "job_id": None}), 'has no "job_id"'),
        (json.dumps({k: v for k, v in _vote("x").items() if k != "kind"}), '"kind" must be one of'),
        (json.dumps(_vote("x", kind="summary")), "\"kind\" must be one of 'reply', .*not 'summary'"),
        (json.dumps(_vote("x", rating="meh")), "\"rating\" must be one of 'up', 'down', not 'meh'"),
        (json.dumps({**_vote("x"), "output": ""}), 'needs a non-empty string "output"'),
        (json.dumps({k: v for k, v in _vote("x").items() if k != "input"}), 'non-empty string "input"'),
        # The classic mix-up: an --extra-pairs file given as feedback.
        (json.dumps({"question": "Hi?", "reply": "Hello."}), 'has no "job_id"'),
    ],
)
def test_a_malformed_line_is_an_error_naming_the_file_and_the_line(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    export = _export(tmp_path / "feedback.jsonl", _vote("r1"), "", bad_line, _vote("r2"))

    with pytest.raises(FeedbackFileError, match=message) as error:
        read_feedback_pairs([export])

    assert str(error.value).startswith(f"{export} line 3")  # the blank line 2 still counts


def test_two_votes_on_one_job_with_different_answers_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    export = _export(tmp_path / "merged.jsonl", _vote("r1"), _vote("r1", user="U2", answer="Edited."))

    with pytest.raises(FeedbackFileError, match=r'line 2: job r1 has another "output" than at .*line 1'):
        read_feedback_pairs([export])


def test_an_export_without_up_voted_replies_is_an_error_that_says_what_it_held(tmp_path: Path) -> None:
    export = _export(tmp_path / "down.jsonl", _vote("r1", rating="down"), _vote("g1", kind="generate"))

    with pytest.raises(
        ValueError,
        match="no up-voted replies to train on in .*down.jsonl: 2 votes read, "
        r"all skipped \(down votes: 1, votes on generate jobs: 1\)",
    ):
        read_feedback_pairs([export])


def test_an_empty_export_and_a_missing_file_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0 votes read"):
        read_feedback_pairs([_export(tmp_path / "empty.jsonl")])
    with pytest.raises(FileNotFoundError, match="no-such.jsonl does not exist"):
        read_feedback_pairs([tmp_path / "no-such.jsonl"])


def test_an_up_voted_handoff_message_is_not_learnt_as_an_answer(tmp_path: Path) -> None:
    handoff = {**_vote("h1"), "path": "handoff", "output": "I'm handing you over to a colleague."}
    export = _export(tmp_path / "f.jsonl", handoff, {**_vote("t1"), "path": "template"})

    feedback = read_feedback_pairs([export])

    assert _texts(feedback) == [("question of t1?", "Answer to t1.")]
    assert feedback.skipped == {"handoff_reply": 1}
