"""The OpenAI-compatible API under /v1, so that code written for OpenAI, vLLM or Hugging Face TGI can
point its client at queuebot: GET /v1/models, POST /v1/completions (the generator) and POST
/v1/chat/completions (the customer-service pipeline), streamed or not.

It is another way in, not another system: each request becomes a job through the gateway
(bots/gateway.py), with the REST API's token, rate limits, queue bounds and stored jobs, and then
waits for the job (bots/web/job_follower.py) because an OpenAI client expects its answer in the response. What
differs is only the shape: OpenAI's bodies (schemas.py), errors (errors.py) and server-sent events
(streaming.py). docs/openai-api.md is the manual. Like the rest of the web app, it never imports
torch.
"""

from fastapi import APIRouter

from bots.web.openai_api import chat, completions, models

router = APIRouter(prefix="/v1")
for _routes in (models.router, completions.router, chat.router):
    router.include_router(_routes)

__all__ = ["router"]
