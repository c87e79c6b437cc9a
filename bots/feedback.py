"""Feedback on bot answers, from Slack buttons and the web API: one vote per person per answer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bots.not_found import NotFound
from core.jobs import JobSource
from db.engine import session_scope
from db.models import Feedback, Job, Rating


class UnknownJob(NotFound):
    pass


def record_feedback(job_id: str, rating: Rating, source: JobSource, user_id: str) -> Feedback:
    """Store the vote, replacing this person's earlier vote on the same answer."""
    for _ in range(2):  # a concurrent first vote by the same person wins the insert; then update it
        try:
            with session_scope() as session:
                if session.get(Job, job_id) is None:
                    raise UnknownJob(f"job {job_id} does not exist")
                feedback = session.scalar(
                    select(Feedback).where(
                        Feedback.job_id == job_id, Feedback.source == source, Feedback.user_id == user_id
                    )
                )
                if feedback is None:
                    feedback = Feedback(job_id=job_id, source=source, user_id=user_id, rating=rating)
                    session.add(feedback)
                else:
                    feedback.rating = rating
            return feedback
        except IntegrityError:
            continue
    raise RuntimeError(f"could not store feedback on job {job_id}")
