"""The job contract shared by the bots and the workers: kinds, states, payload schemas, task names and queues.

Bots validate a request against these schemas before a job row exists; workers re-read the stored
payload with the same schema, so both sides agree on its shape by construction.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)


class JobKind(StrEnum):
    REPLY = "reply"
    SENTIMENT = "sentiment"
    GENERATE = "generate"
    IMAGE = "image"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


class JobSource(StrEnum):
    WEB = "web"
    SLACK = "slack"
    API = "api"


class Queue(StrEnum):
    # Chat replies wait for nobody: a person is watching. Batch work may queue up behind them.
    INTERACTIVE = "interactive"
    BATCH = "batch"
    # Light work that loads no model: posts to Slack (which wait on the network and Slack's rate
    # limits) and spike detection (a few queries).
    IO = "io"


class TaskRoute(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_name: str
    queue: Queue


TASK_ROUTES: dict[JobKind, TaskRoute] = {
    JobKind.REPLY: TaskRoute(task_name="queuebot.reply", queue=Queue.INTERACTIVE),
    JobKind.SENTIMENT: TaskRoute(task_name="queuebot.sentiment", queue=Queue.BATCH),
    JobKind.GENERATE: TaskRoute(task_name="queuebot.generate", queue=Queue.BATCH),
    JobKind.IMAGE: TaskRoute(task_name="queuebot.image", queue=Queue.BATCH),
}

# Tasks that are not jobs: they carry finished results and alerts out to Slack, and keep the
# knowledge base's embeddings current.
SLACK_DELIVERY_ROUTE = TaskRoute(task_name="queuebot.deliver_to_slack", queue=Queue.IO)
SLACK_ALERT_ROUTE = TaskRoute(task_name="queuebot.post_alert_to_slack", queue=Queue.IO)
# Shows a running job's text in its Slack thread as it is written (workers/slack/streaming.py).
SLACK_STREAM_ROUTE = TaskRoute(task_name="queuebot.stream_to_slack", queue=Queue.IO)
# Embeds knowledge-base questions that have no embedding yet (after an import or an edit).
KNOWLEDGE_EMBED_ROUTE = TaskRoute(task_name="queuebot.embed_knowledge", queue=Queue.BATCH)
# Tells the people on the Slack alerts channel that a customer was handed over to them.
HANDOFF_NOTICE_ROUTE = TaskRoute(task_name="queuebot.notify_handoff", queue=Queue.IO)
# Tests the topics a stored sentiment batch touched for negative spikes; database work only.
SPIKE_DETECTION_ROUTE = TaskRoute(task_name="queuebot.detect_spikes", queue=Queue.IO)
# Celery beat sends this every report_check_s: the reports of closed periods (database work only).
REPORTS_ROUTE = TaskRoute(task_name="queuebot.make_reports", queue=Queue.IO)
SLACK_REPORT_ROUTE = TaskRoute(task_name="queuebot.post_report_to_slack", queue=Queue.IO)
# Celery beat sends this every sweep_interval_s: jobs and Slack deliveries that nothing will run
# any more (a lost message, a dead worker) are sent again.
SWEEP_ROUTE = TaskRoute(task_name="queuebot.sweep_jobs", queue=Queue.IO)
OTHER_TASK_ROUTES = (
    SLACK_DELIVERY_ROUTE,
    SLACK_STREAM_ROUTE,
    SLACK_ALERT_ROUTE,
    KNOWLEDGE_EMBED_ROUTE,
    HANDOFF_NOTICE_ROUTE,
    SPIKE_DETECTION_ROUTE,
    REPORTS_ROUTE,
    SLACK_REPORT_ROUTE,
    SWEEP_ROUTE,
)

# Names of the models jobs use; workers ask the registry for them by these names, and each stored
# result records the name and version that produced it.
SENTIMENT_GENERAL_MODEL = "sentiment-general"
SENTIMENT_FINANCE_MODEL = "sentiment-finance"
SENTIMENT_MODELS = (SENTIMENT_GENERAL_MODEL, SENTIMENT_FINANCE_MODEL)
GENERATOR_MODEL = "generator"
# The reply pipeline: the customer's intent (with out-of-scope detection), and the GPT-2 that writes
# a reply where no approved answer fits. Its retrieval runs over the knowledge base in the database.
INTENT_MODEL = "intent-support"
REPLIES_MODEL = "replies"
# The topic of a stream item that came without one (news topics), run in the same sentiment job.
TOPIC_MODEL = "topic-news"
# The conditional DCGAN that draws handwritten digits (training/gan/, workers/images/).
DIGITS_GAN_MODEL = "digits-gan"
# Ranks the articles suggested with each answer; optional: until `queuebot train recommender` has
# built one, the embedding similarity ranks them (workers/recommendations/ranker.py).
RECOMMENDER_MODEL = "recommender"
# What a worker loads and warms at start: every model a job can ask for.
SERVED_MODELS = (
    *SENTIMENT_MODELS,
    GENERATOR_MODEL,
    INTENT_MODEL,
    REPLIES_MODEL,
    TOPIC_MODEL,
    DIGITS_GAN_MODEL,
)

SENTIMENT_LABELS = ("negative", "neutral", "positive")
# Where a stored observation's topic came from: the item itself (its channel, brand field, caller),
# a keyword list, the topic model, or none of them (DEFAULT_TOPIC).
TopicSource = Literal["given", "keyword", "predicted", "default"]
DEFAULT_TOPIC = "general"
SentimentLabel = Literal["negative", "neutral", "positive"]
# Who labelled the items of a batch whose labels were given, where a model's name would be.
GIVEN_LABELS_MODEL = "given-labels"

# Input limits live in the schemas (not settings) so the OpenAPI schema states them and every way
# in enforces the same numbers.
MAX_MESSAGE_CHARS = 4_000
MAX_PROMPT_CHARS = 2_000
# The quick generator has 256 positions: 200 new tokens leave room for the prompt.
MAX_NEW_TOKENS = 200
MAX_RETURN_SEQUENCES = 4
DEFAULT_NO_REPEAT_NGRAM_SIZE = 6  # chosen on validation prompts: docs/generation.md, "Phrase loops"
DEFAULT_REPETITION_PENALTY = 1.0
MAX_NO_REPEAT_NGRAM_SIZE = 16
MAX_REPETITION_PENALTY = 2.0
MAX_SENTIMENT_ITEMS = 256
MAX_SENTIMENT_TEXT_CHARS = 2_000
# Row ids are INTEGER columns: 32-bit on PostgreSQL (SQLite would take 64 bits). A larger id in a
# request is refused with 422; sent to PostgreSQL it fails the statement, a 500 for the client's
# mistake. Offsets are BIGINT there, and the driver refuses anything past 64 bits.
MAX_ROW_ID = 2**31 - 1
MAX_OFFSET = 2**63 - 1


def _refuse_nul(text: str) -> str:
    # PostgreSQL cannot store NUL in a text column (psycopg refuses it: DataError, a 500); SQLite
    # can, so without this a text would be stored or fail depending on the database. Other control
    # characters are stored as sent.
    if "\x00" in text:
        raise ValueError("text contains a NUL character (\\u0000), which cannot be stored")
    return text


# Every text a request stores goes through this.
NoNul = AfterValidator(_refuse_nul)

ShortLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]


class _Payload(BaseModel):
    # Unknown fields are a client's mistake worth telling them about, not something to drop.
    model_config = ConfigDict(extra="forbid")


class ReplyPayload(_Payload):
    conversation_id: int
    message_id: int
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS), NoNul
    ]


class GeneratePayload(_Payload):
    prompt: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PROMPT_CHARS), NoNul
    ]
    max_new_tokens: int = Field(default=64, ge=1, le=MAX_NEW_TOKENS)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0, description="0 means greedy decoding")
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    num_return_sequences: int = Field(default=1, ge=1, le=MAX_RETURN_SEQUENCES)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    # Against phrase loops, as Hugging Face's processors of the same names (workers/ml/phrase_loops.py);
    # the defaults were chosen on validation prompts (docs/generation.md, "Phrase loops").
    no_repeat_ngram_size: int = Field(
        default=DEFAULT_NO_REPEAT_NGRAM_SIZE,
        ge=0,
        le=MAX_NO_REPEAT_NGRAM_SIZE,
        description="forbid repeating any n-gram of this many tokens (prompt included); 0 turns it off",
    )
    repetition_penalty: float = Field(
        default=DEFAULT_REPETITION_PENALTY,
        ge=1.0,
        le=MAX_REPETITION_PENALTY,
        description="divide the probability of tokens already present, as in transformers; 1 turns it off",
    )


class SentimentItem(_Payload):
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SENTIMENT_TEXT_CHARS),
        NoNul,
    ]
    topic: ShortLabel | None = Field(
        default=None,
        description=(
            "The item's own topic (its channel, brand, feed); without one the item gets its predicted "
            f"topic (see the batch's 'topics'), else '{DEFAULT_TOPIC}'"
        ),
    )
    source: ShortLabel = "api"
    # A time without a zone would be guessed at; the caller knows which it meant.
    occurred_at: AwareDatetime | None = Field(
        default=None, description="ISO 8601 with a time zone; default: now"
    )
    label: SentimentLabel | None = Field(
        default=None, description="A person's label for the item; used when the batch's labels are 'given'"
    )


class SentimentPayload(_Payload):
    items: list[SentimentItem] = Field(min_length=1, max_length=MAX_SENTIMENT_ITEMS)
    model: Literal["sentiment-general", "sentiment-finance"] = Field(
        default=SENTIMENT_GENERAL_MODEL,
        description="sentiment-general for messages and reviews; sentiment-finance for market news",
    )
    labels: Literal["model", "given"] = Field(
        default="model",
        description=(
            "'model' classifies the items; 'given' stores each item's own label instead (replaying "
            "human-labelled data, to compare trends and alerts with the model's)"
        ),
    )

    topics: Literal["auto", "predict", "given"] = Field(
        default="auto",
        description=(
            f"'auto' predicts a topic ({TOPIC_MODEL}) for the items that have none of their own; "
            "'predict' for every item, beside its own; 'given' predicts none (own and keyword topics only)"
        ),
    )

    @model_validator(mode="after")
    def _given_labels_are_given(self) -> SentimentPayload:
        if self.labels == "given":
            missing = [index for index, item in enumerate(self.items) if item.label is None]
            if missing:
                raise ValueError(f"labels is 'given' but items {missing[:10]} have no label")
        return self

    def earliest_occurred_at(self, received_at: datetime) -> datetime:
        """The earliest time the batch's items will be stored under; an item without a time is
        stored at its arrival, which is no earlier than ``received_at``."""
        return min(item.occurred_at or received_at for item in self.items)


MAX_IMAGES = 16
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def digit_in_prompt(prompt: str) -> int:
    """The one digit a prompt names, as a numeral or an English word ("7", "a seven", "draw 7");
    ValueError when it names none or several, so nothing is guessed."""
    words = prompt.lower().replace(",", " ").replace(".", " ").split()
    found = {int(word) for word in words if word.isdigit() and len(word) == 1}
    found |= {DIGIT_WORDS.index(word) for word in words if word in DIGIT_WORDS}
    if len(found) != 1:
        named = "no digit" if not found else f"several digits {sorted(found)}"
        raise ValueError(f"the prompt names {named}; name one digit, 0-9 (e.g. '7' or 'seven')")
    return found.pop()


def _names_one_digit(prompt: str) -> str:
    digit_in_prompt(prompt)
    return prompt


class ImagePayload(_Payload):
    """Handwritten digits drawn by the conditional GAN. Give ``digit``, or a ``prompt`` naming one."""

    digit: int | None = Field(default=None, ge=0, le=9, description="the digit to draw, 0-9")
    prompt: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
            NoNul,
            AfterValidator(_names_one_digit),
        ]
        | None
    ) = Field(default=None, description="a text naming one digit, e.g. 'a seven' (instead of digit)")
    n: int = Field(default=4, ge=1, le=MAX_IMAGES, description="how many images")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _one_digit(self) -> ImagePayload:
        # Errors of the whole body carry no field of their own, so the message names it.
        if self.prompt is not None:
            found = digit_in_prompt(self.prompt)
            if self.digit is not None and self.digit != found:
                raise ValueError(f"digit is {self.digit} but prompt names {found}; give one of them")
            self.digit = found
        if self.digit is None:
            raise ValueError("digit is missing: give digit (0-9) or a prompt that names one")
        return self

    @property
    def wanted_digit(self) -> int:
        assert self.digit is not None  # the validator fills it
        return self.digit


PAYLOAD_SCHEMAS: dict[JobKind, type[_Payload]] = {
    JobKind.REPLY: ReplyPayload,
    JobKind.SENTIMENT: SentimentPayload,
    JobKind.GENERATE: GeneratePayload,
    JobKind.IMAGE: ImagePayload,
}
