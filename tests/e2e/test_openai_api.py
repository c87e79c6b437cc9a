"""The OpenAI-compatible API driven by the real ``openai`` package against the real app, worker, Redis
and database: what a team's existing client gets is the job queuebot stored, streamed or not.

Every answer is checked against the job behind it (``queuebot.job_id``), read back through
GET /api/jobs/{id}: the text the client got is the stored text of record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from core.settings import get_settings
from tests.reliability.overrides import settings_env
from tests.support.knowledge_fixtures import CANCEL_QUESTION
from tests.support.stack_fixtures import ApiServer, wait_for_job

pytestmark = pytest.mark.usefixtures("celery_worker")

# A question the tiny intent model answers with its approved answer (tests/e2e/test_replies.py).


@pytest.fixture
def client(api_server: ApiServer) -> Iterator[OpenAI]:
    # No retries: a test must see the first answer, and a 5xx here is a failure, not a hiccup.
    with OpenAI(
        base_url=f"{api_server.base_url}/v1",
        api_key=get_settings().api_token.get_secret_value(),
        max_retries=0,
        timeout=120,
    ) as client:
        yield client


def _stored(api: httpx.Client, answer: Any) -> dict[str, Any]:
    job_id = answer.queuebot["job_id"]
    return api.get(f"/api/jobs/{job_id}").raise_for_status().json()


def test_models_lists_the_generator_and_the_customer_service_pipeline(client: OpenAI) -> None:
    listed = client.models.list()

    assert {model.id for model in listed.data} == {"generator", "customer-service"}
    assert all(model.object == "model" and model.owned_by == "queuebot" for model in listed.data)
    assert client.models.retrieve("generator").id == "generator"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_a_completion_is_the_generate_job_it_stored(client: OpenAI, api: httpx.Client) -> None:
    completion = client.completions.create(
        model="generator", prompt="The market opened", max_tokens=12, n=2, seed=7, temperature=0.9
    )

    job = _stored(api, completion)
    assert (job["kind"], job["status"], job["source"]) == ("generate", "done", "api")
    assert job["input"] | {"prompt": "The market opened"} == {
        "prompt": "The market opened",
        "max_new_tokens": 12,
        "temperature": 0.9,
        "top_p": 0.95,
        "num_return_sequences": 2,
        "seed": 7,
        # The generate job's phrase-loop defaults (docs/generation.md): /v1 has no fields for them.
        "no_repeat_ngram_size": 6,
        "repetition_penalty": 1.0,
    }
    assert completion.id == f"cmpl-{job['id']}" and completion.object == "text_completion"
    assert completion.model == "generator"
    assert [choice.index for choice in completion.choices] == [0, 1]
    assert [choice.text for choice in completion.choices] == job["result"]["texts"]
    assert all(choice.text for choice in completion.choices)
    assert completion.system_fingerprint == f"generator:{job['model_version']}"
    assert completion.usage is None  # no honest token count: docs/openai-api.md


def test_stop_strings_cut_the_answer_plain_and_streamed(client: OpenAI, api: httpx.Client) -> None:
    request = {"model": "generator", "prompt": "Shares of the bank", "max_tokens": 32, "temperature": 0}
    whole = client.completions.create(**request).choices[0].text
    assert len(whole) >= 8, whole
    stop = whole[len(whole) // 2 : len(whole) // 2 + 3]
    expected = whole[: whole.index(stop)]

    cut = client.completions.create(**request, stop=[stop, "\x01never"])
    streamed = list(client.completions.create(**request, stop=stop, stream=True))

    assert (cut.choices[0].text, cut.choices[0].finish_reason) == (expected, "stop")
    assert _stored(api, cut)["result"]["texts"] == [whole]  # the job keeps its whole text
    assert "".join(chunk.choices[0].text for chunk in streamed) == expected
    assert streamed[-1].choices[0].finish_reason == "stop"


def test_a_streamed_completion_ends_with_the_stored_text(client: OpenAI, api: httpx.Client) -> None:
    chunks = list(
        client.completions.create(
            model="generator", prompt="Rain is expected", max_tokens=16, n=2, seed=11, stream=True
        )
    )

    job = _stored(api, chunks[-1])
    assert job["status"] == "done"
    for index, stored in enumerate(job["result"]["texts"]):
        streamed = [chunk.choices[0] for chunk in chunks if chunk.choices[0].index == index]
        assert "".join(choice.text for choice in streamed) == stored
        assert [choice.finish_reason for choice in streamed][-1] is None  # no stop string: unknown
    assert {chunk.id for chunk in chunks} == {f"cmpl-{job['id']}"}
    assert all(chunk.object == "text_completion" for chunk in chunks)


def test_a_long_completion_streams_as_it_is_decoded(client: OpenAI, api: httpx.Client) -> None:
    """The worker publishes the text as it decodes it: the client gets it in many chunks, not one."""
    chunks = list(
        client.completions.create(
            model="generator", prompt="The minister said", max_tokens=64, seed=5, stream=True
        )
    )

    *content, finish = chunks
    job = _stored(api, finish)
    assert sum(1 for chunk in content if chunk.choices[0].text) > 1
    assert "".join(chunk.choices[0].text for chunk in content) == job["result"]["texts"][0]
    assert finish.choices[0].text == ""


def test_a_chat_completion_is_the_reply_job_with_its_path_and_sources(
    client: OpenAI, api: httpx.Client
) -> None:
    answer = client.chat.completions.create(
        model="customer-service",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": CANCEL_QUESTION},
        ],
    )

    job = _stored(api, answer)
    assert (job["kind"], job["status"], job["input"]["text"]) == ("reply", "done", CANCEL_QUESTION)
    assert answer.id == f"chatcmpl-{job['id']}" and answer.object == "chat.completion"
    [choice] = answer.choices
    assert (choice.message.role, choice.message.content) == ("assistant", job["result"]["reply"])
    assert choice.finish_reason == "stop"
    assert answer.queuebot["path"] == job["result"]["path"] == "template"
    assert answer.queuebot["sources"] == job["result"]["sources"] and answer.queuebot["sources"]
    # Only the question was stored: a new conversation, the client's history not replayed into it.
    conversation = api.get(f"/api/conversations/{answer.queuebot['conversation_id']}").json()
    assert [message["text"] for message in conversation["messages"]] == [
        CANCEL_QUESTION,
        choice.message.content,
    ]


def test_a_chat_continues_a_stored_conversation_when_named(client: OpenAI, api: httpx.Client) -> None:
    first = client.chat.completions.create(
        model="customer-service", messages=[{"role": "user", "content": CANCEL_QUESTION}]
    )
    conversation_id = first.queuebot["conversation_id"]

    second = client.chat.completions.create(
        model="customer-service",
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "And how long does a refund take?"}]}
        ],
        extra_body={"conversation_id": conversation_id},
    )

    assert second.queuebot["conversation_id"] == conversation_id
    messages = api.get(f"/api/conversations/{conversation_id}").json()["messages"]
    assert len(messages) == 4 and messages[-1]["text"] == second.choices[0].message.content


def test_a_streamed_chat_sends_the_role_then_only_the_stored_answer(
    client: OpenAI, api: httpx.Client
) -> None:
    chunks = list(
        client.chat.completions.create(
            model="customer-service", messages=[{"role": "user", "content": CANCEL_QUESTION}], stream=True
        )
    )

    first, *content, finish = chunks
    job = _stored(api, finish)
    assert first.choices[0].delta.role == "assistant" and not first.choices[0].delta.content
    assert "".join(chunk.choices[0].delta.content or "" for chunk in content) == job["result"]["reply"]
    assert finish.choices[0].finish_reason == "stop"
    assert finish.queuebot["path"] == job["result"]["path"]
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}


def test_wrong_token_unknown_model_and_bad_parameters_raise_the_clients_errors(
    client: OpenAI, api_server: ApiServer
) -> None:
    stranger = OpenAI(base_url=f"{api_server.base_url}/v1", api_key="not-the-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        stranger.models.list()
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"

    with pytest.raises(openai.NotFoundError) as unknown:
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi")
    assert unknown.value.code == "model_not_found"

    with pytest.raises(openai.BadRequestError) as out_of_range:
        client.completions.create(model="generator", prompt="hi", temperature=3)
    assert out_of_range.value.param == "temperature"

    with pytest.raises(openai.BadRequestError) as unsupported:
        client.completions.create(model="generator", prompt="hi", echo=True)
    assert (unsupported.value.param, unsupported.value.code) == ("echo", "unsupported_parameter")

    with pytest.raises(openai.BadRequestError) as several:
        client.chat.completions.create(
            model="customer-service", messages=[{"role": "user", "content": "hi"}], n=2
        )
    assert several.value.param == "n"


def test_a_wait_that_runs_out_names_the_job_which_still_finishes(client: OpenAI, api: httpx.Client) -> None:
    with settings_env(openai_wait_s=0.001):
        with pytest.raises(openai.InternalServerError) as timed_out:
            client.completions.create(model="generator", prompt="Later today", max_tokens=40, seed=1)
        with pytest.raises(openai.APIError) as stream_timed_out:
            list(
                client.completions.create(
                    model="generator", prompt="Later", max_tokens=40, seed=2, stream=True
                )
            )

    assert timed_out.value.status_code == 504 and timed_out.value.code == "job_timeout"
    assert timed_out.value.response.headers["x-should-retry"] == "false"
    for error in (timed_out.value, stream_timed_out.value):
        assert isinstance(error.body, dict)
        message = error.body["message"]
        job_id = message.split("job ", 1)[1].split(" ", 1)[0]
        assert f"/api/jobs/{job_id}" in message
        assert wait_for_job(api, job_id)["status"] == "done"
