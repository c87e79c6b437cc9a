"""POST /api/chat: a customer's message in a conversation becomes a reply job."""

from fastapi import APIRouter, status

from bots.web.routers._submission import JobSubmissionDep
from bots.web.schemas import ChatAccepted, ChatRequest, JobOut

router = APIRouter(tags=["chat"])


@router.post("/chat", status_code=status.HTTP_202_ACCEPTED, response_model=ChatAccepted)
def post_chat(request: ChatRequest, submission: JobSubmissionDep) -> ChatAccepted:
    """Send a message; the reply arrives as the result of the returned job (follow it with GET
    /api/jobs/{id}/events). Conversations started on the web page have the source ``web``."""
    job = submission.submit_chat(request.message, request.conversation_id)
    return ChatAccepted(
        conversation_id=job.input["conversation_id"],
        message_id=job.input["message_id"],
        job=JobOut.model_validate(job),
    )
