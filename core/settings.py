"""The one settings object. Nothing else in the project reads os.environ.

Every field can be set by an environment variable named ``QUEUEBOT_<FIELD>`` or in a ``.env``
file; the defaults run the embedded product on one machine with no configuration at all.
"""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.jobs import JobKind
from core.logs import LogFormat
from core.monitoring import SpikeRule

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Published in .env.example and the README: anyone who can reach the server knows it.
DEVELOPMENT_API_TOKEN = "dev-token-change-me"

ModelProfile = Literal["tiny", "starter", "quick", "full"]
WorkerPool = Literal["threads", "solo", "prefork"]
InferenceBackend = Literal["auto", "torch", "onnx-int8"]
# How an answer being written shows in Slack (docs/slack.md "Streaming"): "stream" uses Slack's chat
# streaming and falls back to updates of the placeholder where Slack refuses it, "update" only updates
# the placeholder, "off" posts the answer whole once its job is done.
SlackStreaming = Literal["stream", "update", "off"]


class Settings(BaseSettings):
    # An empty variable counts as unset, so a deployment can pass QUEUEBOT_SLACK_BOT_TOKEN=${TOKEN:-}.
    model_config = SettingsConfigDict(
        env_prefix="QUEUEBOT_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    # --- storage -------------------------------------------------------------------------------
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""  # empty: a SQLite file in var_dir
    # PostgreSQL only (SQLite has one writer and its busy timeout, db/engine.py). Each process (the
    # web app, the Slack bot, each worker, beat) keeps up to pool_size + max_overflow connections: a
    # worker's 64 task threads hold one only for a claim or a store, a few milliseconds each, never
    # while a model runs, so 5 serve them and a burst borrows up to 10 more; a thread waits up to
    # pool_timeout_s for one. Keep (processes) x (pool_size + max_overflow) under the server's
    # max_connections (100, 3 of them for superusers): the compose file's five need at most 75.
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    database_pool_timeout_s: float = Field(default=30.0, gt=0)
    # No request or task waits on a stuck database for longer than these: a lock held elsewhere (a
    # long migration, a person's open transaction) or a statement that runs away. Past them the
    # statement fails: a task retries with backoff (workers/retries.py), the API answers 503.
    database_lock_timeout_s: float = Field(default=10.0, gt=0)
    database_statement_timeout_s: float = Field(default=30.0, gt=0)
    # A server that does not answer (down, restarting) fails a connection attempt after this long.
    database_connect_timeout_s: int = Field(default=5, ge=1)
    redis_url: str = "redis://127.0.0.1:6379/0"

    # --- models --------------------------------------------------------------------------------
    models_dir: Path = PROJECT_ROOT / "models"
    data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    model_profile: ModelProfile = "quick"
    # `queuebot up` answers first with models of this profile (built in well under the time of
    # model_profile's), then builds model_profile behind the serving product at the lowest CPU
    # priority; each new model replaces the served one only if it is better on validation. A profile
    # not below model_profile: build model_profile before answering.
    first_answer_profile: ModelProfile = "starter"
    # "auto" picks CUDA when torch sees a GPU, else the CPU.
    device: str = "auto"
    # Which backend serves the classifiers and the sentence encoder (workers/ml/backends.py,
    # docs/inference-backends.md): "auto" serves a model's int8 export on the CPU where its card says
    # int8 held its accuracy, "torch" never does, "onnx-int8" always does (a model without an export
    # is then an error at load).
    inference_backend: InferenceBackend = "auto"
    # Threads of one int8 forward pass; 0: the runtime's default (one per core, as torch). One, because
    # a worker runs many jobs at once: a second spinning thread per pass raised the CPU per job and
    # cut the replies per second (docs/inference-backends.md).
    int8_threads: int = Field(default=1, ge=0)
    # Threads of one torch operation in a worker process (the generators' decoding, and any model torch
    # serves); 0: torch's default, one per core. One, for the same reason: a worker decodes and
    # classifies several batches at once beside the web process, and under that contention torch's
    # spinning threads made every generation slower, alone and in waves of 16 (docs/serving.md).
    torch_threads: int = Field(default=1, ge=0)
    # Load and warm every model when a worker process starts, so the first job is not slow.
    warm_up_models: bool = True

    # --- web API -------------------------------------------------------------------------------
    api_token: SecretStr = SecretStr(DEVELOPMENT_API_TOKEN)
    # How long the web page's sign-in lasts (its session cookie; bots/web/web_session.py).
    web_session_hours: float = Field(default=12.0, gt=0)
    web_host: str = "127.0.0.1"
    web_port: int = 8000

    # Bodies above this are refused with 413 before they are parsed.
    max_request_bytes: int = 1_000_000

    # How long a request to the OpenAI-compatible API (/v1, bots/web/openai_api/) waits for its job
    # before answering 504 with the job's id (a stream ends with an error naming it), so that the
    # caller can fetch the result from /api/jobs/{id} later. A non-streaming answer holds its
    # connection and sends nothing until the job is final: 120 s is the tasks' soft time limit, so a
    # job a worker starts at once is done or failed within it, and a job stuck behind a backlog is not
    # worth an open connection for longer. A proxy in front must let a response be silent this long
    # (nginx's proxy_read_timeout is 60 s by default); streams send a comment every few seconds.
    openai_wait_s: float = Field(default=120.0, gt=0)

    # --- backpressure and rate limits ----------------------------------------------------------
    # Jobs of a kind waiting for a worker (status queued) beyond which new ones are refused with 503
    # and Retry-After, so a burst cannot grow the backlog (Redis memory, the jobs table, everyone's
    # wait) without bound; 0: no bound. Replies have the interactive queue to themselves, so a
    # batch backlog never refuses a chat message. Sentiment jobs carry up to 256 texts each.
    max_queued_reply: int = Field(default=500, ge=0)
    max_queued_sentiment: int = Field(default=1000, ge=0)
    max_queued_generate: int = Field(default=200, ge=0)
    max_queued_image: int = Field(default=200, ge=0)

    def max_queued(self, kind: JobKind) -> int:
        bounds = {
            JobKind.REPLY: self.max_queued_reply,
            JobKind.SENTIMENT: self.max_queued_sentiment,
            JobKind.GENERATE: self.max_queued_generate,
            JobKind.IMAGE: self.max_queued_image,
        }
        return bounds[kind]

    # Requests per caller (the API token; each sign-in on the web page has a bucket of its own) in each
    # window of api_rate_limit_window_s, past which /api answers 429; 0: no limit.
    api_rate_limit: int = Field(default=600, ge=0)
    api_rate_limit_window_s: int = Field(default=60, ge=1)
    # Wrong API tokens (bearer or sign-in) from one client address in each window, past which every
    # token attempt from that address is refused with 429, right or wrong, until the window ends;
    # it slows guessing. Behind a reverse proxy, run uvicorn with --proxy-headers so the address is
    # the client's, or all clients share the proxy's. 0: no limit.
    auth_failure_limit: int = Field(default=20, ge=0)

    # --- observability ---------------------------------------------------------------------------
    # "json": one JSON object per log line (web, workers, beat, command line), for a log collector.
    log_format: LogFormat = "text"
    # Prometheus usually scrapes without credentials from inside the network; set this when the web
    # port is reachable from outside and the counts of jobs and alerts should not be.
    metrics_require_token: bool = False
    # Each process that runs jobs serves its own /metrics (job latency, model inference time, alerts
    # raised) on this port; 0 serves none. A prefork child serves on port + its index (1, 2, ...).
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    # --- Celery ---------------------------------------------------------------------------------
    # Soft limit raises inside the task so it can store `failed`; the hard limit kills the child.
    task_soft_time_limit_s: int = 120
    task_hard_time_limit_s: int = 150
    # Whether generation and generated replies publish their text while it is decoded (core/job_text.py),
    # for the web page, Slack and the OpenAI-compatible streams. Off, followers get the text only when
    # the job is done; `queuebot benchmark-streaming` measures what streaming costs against off.
    stream_generated_text: bool = True
    # Redis re-delivers an unacknowledged message after this long; it must exceed the longest job
    # (hard limit) or a running job is delivered twice.
    broker_visibility_timeout_s: int = 600

    # --- recovery: the job sweeper (workers/recovery/sweeper.py) ----------------------------
    # Every process that runs jobs marks itself alive in Redis this often (the mark lives three
    # times as long); a running job whose process has stopped marking is run again.
    worker_heartbeat_s: float = Field(default=10.0, gt=0)
    # How often beat sends the sweep, and how long a queued job may be without a message in Redis (or
    # with one a worker took and never started) before the sweep sends it again. Longer than a
    # worker takes from receiving a message to starting the job, so live work is left alone.
    sweep_interval_s: float = Field(default=30.0, gt=0)
    sweep_grace_s: float = Field(default=60.0, gt=0)
    # Runs of a job that ended without storing anything (its worker died, the hard time limit killed
    # it) after which it is marked failed instead of run again: a job that kills its worker must not
    # take down every worker in turn.
    job_max_attempts: int = Field(default=5, ge=1)
    # One process, many task threads: concurrent jobs meet in the model micro-batchers and share
    # one copy of each model. Celery enforces time limits only in prefork; with threads, a stuck
    # model is caught by batch_timeout_s instead.
    worker_pool: WorkerPool = "threads"
    # A job waiting for its batch holds a task thread, so the thread count caps how many jobs can
    # share one forward pass: with 16, four of 20 concurrent 50-text jobs waited for the next batch.
    # Waiting threads cost almost nothing.
    worker_concurrency: int = Field(default=64, ge=1, le=256)
    # Celery's task events for a monitor (Flower turns the workers' on by itself while it runs): a
    # Redis publish per task and state, a cost every one-text job paid (docs/benchmarks.md).
    celery_task_events: bool = False
    # Celery's INFO line for every task received and every task succeeded. The job runner's lines say
    # when each job is done or failed, with its id; these two per task are a share of a one-text job's
    # cost in the worker worth saving (docs/benchmarks.md).
    celery_task_logs: bool = False

    # --- dynamic micro-batching in the worker ---------------------------------------------------
    # Classification requests arriving within this window run as one forward pass, up to this many
    # texts; the first request never waits longer than the window. The texts of a batch are sorted
    # by length before they are cut into forward passes of 64, so a large batch pads far less
    # (docs/benchmarks.md#serving-throughput).
    classify_batch_max_texts: int = Field(default=1024, ge=1)
    classify_batch_wait_ms: float = Field(default=5.0, ge=0)
    # Generation requests arriving within this window are decoded together, up to this many rows.
    generate_batch_max_rows: int = Field(default=16, ge=1)
    generate_batch_wait_ms: float = Field(default=20.0, ge=0)
    # Image requests arriving within this window are drawn in one generator pass, up to this many
    # images (a request of 16 is never split).
    image_batch_max_images: int = Field(default=256, ge=16)
    image_batch_wait_ms: float = Field(default=10.0, ge=0)
    # The GAN draws 8x8 digits; each pixel becomes a square this many pixels wide in the stored PNGs.
    image_png_scale: int = Field(default=8, ge=1, le=32)
    # A job whose model has finished no batch for this long fails instead of hanging a worker
    # thread. Waiting behind a backlog that is being worked off is not a failure: a long replay sent
    # at once failed jobs when this bounded the whole wait (docs/serving.md).
    batch_timeout_s: float = Field(default=110.0, gt=0)
    # How often a worker looks for a newly promoted model version (a stat per job at most).
    model_reload_check_s: float = Field(default=2.0, ge=0)

    # --- replies ---------------------------------------------------------------------------------
    # Values for the site-fact placeholders of approved answers ({{Website Name}} and the like);
    # set your own as JSON. Placeholders for identifiers are never filled from here: they take the
    # customer's own or are removed (workers/replies/guard.py).
    reply_slot_values: dict[str, str] = Field(
        default_factory=lambda: {
            "Website Name": "our website",
            "Website URL": "our website",
            "Company Name": "our company",
            "Customer Support Phone Number": "our customer support phone line",
            "Support Phone Number": "our customer support phone line",
            "Customer Support Email": "our customer support e-mail address",
            "Customer Support Email Address": "our customer support e-mail address",
            "Customer Support Availability": "our opening hours",
            "Customer Support Hours": "our opening hours",
        }
    )

    # A generated reply is sent only when its MiniLM cosine to the nearest approved answer it was
    # written from reaches this; otherwise the customer is handed over. Chosen on the replies model's
    # validation split: `queuebot evaluate-replies --force-generation --split valid --calibrate 0.65`
    # (docs/benchmarks.md). -1 sends every non-empty generated reply.
    reply_min_grounding: float = Field(default=0.70, ge=-1.0, le=1.0)
    # Related articles under each answer (docs/recommendations.md): how many (0 shows none), and how
    # much each older customer message counts in the conversation's interest relative to the next.
    recommendations_shown: int = Field(default=3, ge=0, le=3)
    recommendation_recency_decay: float = Field(default=0.5, gt=0.0, le=1.0)

    # --- sentiment monitoring ---------------------------------------------------------------------
    # Topics by keyword, on top of an item's own topic: {"refunds": ["refund", "money back"]}. A
    # keyword matches whole words, case-insensitively; an item may get several topics.
    topic_keywords: dict[str, list[str]] = Field(default_factory=dict)
    # A predicted topic (topic-news) is used when its calibrated confidence reaches this; None: the
    # threshold the model chose on validation (its card says which), 0 uses every prediction.
    topic_min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    # When negative sentiment on a topic is a spike (core/monitoring.py), and per-topic overrides:
    # {"United": {"k": 2.5, "min_volume": 20}}.
    spike_rule: SpikeRule = Field(default_factory=SpikeRule)
    spike_rules: dict[str, SpikeRule] = Field(default_factory=dict)
    # While stored batches keep noting topics, the run judging them passes at most once per this many
    # seconds, so a burst of one-text jobs costs a pass a second, not one every few jobs. 0 passes
    # again at once.
    spike_detection_pass_interval_s: float = Field(default=1.0, ge=0.0, le=30.0)

    def spike_rule_for(self, topic: str) -> SpikeRule:
        return self.spike_rules.get(topic, self.spike_rule)

    # Periodic reports (Celery beat): one per topic and period, over the items that *arrived* in the
    # period, so a replay of old data is reported as it comes in. Periods are aligned to the Unix
    # epoch: 86400 makes daily reports from 00:00 UTC, 3600 hourly ones.
    report_period_s: int = Field(default=86_400, ge=1)
    # How often beat asks for the reports of closed periods (catching up on missed ones), and how
    # long after its end a period counts as closed: a batch being stored at the boundary lands first.
    report_check_s: float = Field(default=60.0, gt=0)
    report_grace_s: float = Field(default=30.0, ge=0)

    # --- Slack ----------------------------------------------------------------------------------
    # With a bot token the Slack bot runs: over Socket Mode when an app token (xapp-...) is set, and
    # over HTTP at /slack/events of the web app when a signing secret is set (both may be set).
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    # Slack's Web API; tests point it at a fake on loopback. Keep the trailing slash.
    slack_api_url: str = "https://slack.com/api/"
    # Channel id (C...) that receives sentiment alerts and handoff notices; none: alerts stay in the app.
    slack_alerts_channel: str | None = None
    # Channel id that receives the periodic reports; none: reports are stored and served by the API only.
    slack_reports_channel: str | None = None
    # Channels whose messages go to sentiment monitoring: channel id -> topic, as JSON, e.g.
    # {"C0123456789": "billing"}; an empty topic uses the channel id.
    slack_monitored_channels: dict[str, str] = Field(default_factory=dict)
    # Slack allows about one message per second per channel; deliveries wait their turn.
    slack_channel_interval_s: float = Field(default=1.0, ge=0)
    # Failed attempts (network errors, 5xx) before a Slack post is given up; waiting for the channel's
    # pace or for a rate limit is not an attempt.
    slack_delivery_max_attempts: int = Field(default=8, ge=1)
    # A generated reply or /generate result in a Slack thread shows while its job runs.
    slack_streaming: SlackStreaming = "stream"
    # At most one chat.appendStream or preview chat.update per message per interval: the text decoded in
    # between goes in one call.
    slack_stream_interval_s: float = Field(default=1.0, ge=0.1)
    # Preview calls per minute for the whole workspace, per method. Slack's limits count per method per
    # workspace: chat.update is Tier 3 (50+ a minute), shared with the final answers, so the previews
    # leave them 20; a preview skipped for want of budget is only late, its text goes in the next one.
    slack_preview_calls_per_minute: int = Field(default=30, ge=1)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @model_validator(mode="after")
    def _slack_has_a_way_in(self) -> Settings:
        if self.slack_enabled and self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(
                "QUEUEBOT_SLACK_BOT_TOKEN is set but Slack cannot reach the bot: set "
                "QUEUEBOT_SLACK_APP_TOKEN (Socket Mode) or QUEUEBOT_SLACK_SIGNING_SECRET (HTTP events)"
            )
        if not self.slack_api_url.endswith("/"):
            raise ValueError("slack_api_url must end with '/' (slack_sdk joins method names onto it)")
        return self

    @model_validator(mode="after")
    def _visibility_timeout_outlasts_jobs(self) -> Settings:
        if self.broker_visibility_timeout_s <= self.task_hard_time_limit_s:
            raise ValueError(
                "broker_visibility_timeout_s must exceed task_hard_time_limit_s, "
                "or Redis re-delivers jobs that are still running"
            )
        if self.task_soft_time_limit_s >= self.task_hard_time_limit_s:
            raise ValueError("task_soft_time_limit_s must be below task_hard_time_limit_s")
        return self

    @model_validator(mode="after")
    def _public_server_has_its_own_token(self) -> Settings:
        if self.api_token.get_secret_value() == DEVELOPMENT_API_TOKEN and not _is_loopback(self.web_host):
            raise ValueError(
                f"QUEUEBOT_WEB_HOST={self.web_host} serves beyond this machine, and QUEUEBOT_API_TOKEN is "
                "still the published development token: set a secret one (e.g. `python -c 'import "
                "secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'queuebot.db'}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


_settings_lock = threading.Lock()
_settings: Settings | None = None


def get_settings() -> Settings:
    # Not functools.lru_cache: a thread that began reading the environment before a reset would store
    # its stale reading after the reset, and every later caller would get it. Building under the lock
    # makes a reset wait for a reading in progress, so no reading older than the reset outlives it.
    global _settings
    settings = _settings
    if settings is None:
        with _settings_lock:
            if _settings is None:
                _settings = Settings()
            settings = _settings
    return settings


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the embedded runner change the environment first)."""
    global _settings
    with _settings_lock:
        _settings = None
