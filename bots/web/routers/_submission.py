"""What the routers that start a job share: the session, who asks, the Idempotency-Key header, and
the answer's status code: 202 for a new job, 200 for the job an earlier request with the same key
started (a retry is told it changed nothing)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Response, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bots.gateway import submit_chat_message, submit_job
from bots.web.deps import Caller, CallerDep, SessionDep
from bots.web.routers._params import IdempotencyKey
from core.jobs import JobKind
from db.models import Job


@dataclass(frozen=True)
class JobSubmission:
    session: Session
    caller: Caller
    response: Response
    idempotency_key: str | None

    def submit(self, kind: JobKind, payload: BaseModel) -> Job:
        job, created = submit_job(
            self.session, kind, payload, self.caller.source, idempotency_key=self.idempotency_key
        )
        return self._answered(job, created)

    def submit_chat(self, text: str, conversation_id: int | None) -> Job:
        job, created = submit_chat_message(
            self.session,
            text,
            self.caller.source,
            conversation_id=conversation_id,
            idempotency_key=self.idempotency_key,
        )
        return self._answered(job, created)

    def _answered(self, job: Job, created: bool) -> Job:
        if not created:
            self.response.status_code = status.HTTP_200_OK
        return job


def job_submission(
    session: SessionDep, caller: CallerDep, response: Response, idempotency_key: IdempotencyKey = None
) -> JobSubmission:
    return JobSubmission(session, caller, response, idempotency_key)


JobSubmissionDep = Annotated[JobSubmission, Depends(job_submission)]
