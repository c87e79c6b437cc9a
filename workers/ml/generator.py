"""Text generation with a GPT-2-architecture causal language model: one prompt, a batch, or a reply."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from core.job_text import PIECE_INTERVAL_S
from workers.ml.copy_mixture import CopyLogitsProcessor, CopyMixture
from workers.ml.gpt2_decoding import (
    DecodeRow,
    GenerationRequest,
    TextListener,
    decode_rows,
    request_generator,
)
from workers.ml.gpt2_forward import Gpt2Forward
from workers.ml.info import ModelInfo, read_info
from workers.ml.loading import require_folder
from workers.ml.ngram_mixture import MixtureLogitsProcessor, NgramMixture
from workers.ml.phrase_loops import NO_PENALTY, NO_REPEAT_OFF
from workers.ml.reply_prompt import ReplyTemplate, reply_token_budget
from workers.ml.streamed_rows import StreamedRows

__all__ = [
    "GENERATOR_KIND",
    "KINDS",
    "REPLIES_KIND",
    "REPLY_STOPS",
    "GenerationRequest",
    "TextGenerator",
    "TextListener",
    "reply_text",
]

GENERATOR_KIND = "generator"  # continues any text: a language model fine-tuned on a corpus
REPLIES_KIND = "replies"  # answers customer questions in the prompt format stored in its info
KINDS = (GENERATOR_KIND, REPLIES_KIND)


# Where a reply model that runs on into the customer's next turn is cut.
REPLY_STOPS = ("\nCustomer:",)


def reply_text(generated: str) -> str:
    """The agent's turn of a decoded reply: trained replies end with <|endoftext|>, but should the model
    run on into a new turn, it is cut there."""
    return generated.split(REPLY_STOPS[0], 1)[0].strip()


def gpt2_tokenizer_path() -> Path:
    """OpenAI's GPT-2 byte-level BPE tokenizer, shipped inside the package (MIT)."""
    return Path(__file__).resolve().parent / "assets" / "gpt2-tokenizer"


class TextGenerator:
    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        info: ModelInfo,
        device: str,
        mixture: NgramMixture | None = None,
        copy: CopyMixture | None = None,
    ) -> None:
        if tokenizer.eos_token_id is None:
            raise ValueError(f"generator {info.name} has a tokenizer without an end-of-text token")
        self.model = model.to(device).eval()
        # generate_batch's forward pass; generate() keeps Hugging Face's, as the benchmark's baseline.
        self.forward = Gpt2Forward(self.model)
        self.tokenizer = tokenizer
        self.info = info
        self.device = device
        self.mixture = mixture  # the n-gram the transformer is interpolated with, if it was trained with one
        self.copy = copy  # copying from the prompt or the text so far, if the model was trained with it
        self.context_size = int(model.config.n_positions)
        # How often listeners are told their text while a batch decodes (workers/ml/streamed_rows.py).
        self.stream_interval_s = PIECE_INTERVAL_S
        # generate() samples from torch's global RNG; serialising its calls is what makes a seed reproduce
        # the same text even when several threads share one generator. generate_batch() needs no lock:
        # each request draws from its own torch.Generator.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, device: str, kinds: Sequence[str] = KINDS) -> TextGenerator:
        info = read_info(folder)
        if info.kind not in kinds:
            raise ValueError(f"model in {folder} is a {info.kind!r} model, not one of {list(kinds)}")
        folder = require_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
        return cls(
            model, tokenizer, info, device, NgramMixture.load(folder, info.data), CopyMixture.load(info.data)
        )

    def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        num_return_sequences: int,
        seed: int | None = None,
        no_repeat_ngram_size: int = NO_REPEAT_OFF,
        repetition_penalty: float = NO_PENALTY,
    ) -> list[str]:
        """Return only the continuation of each sequence, without the prompt, using HF ``generate``.

        ``temperature == 0`` decodes greedily: every returned sequence is then the same text, repeated
        ``num_return_sequences`` times. Sampling uses nucleus (``top_p``) filtering only, no top-k.
        The prompt keeps its last tokens when it is too long for the context together with
        ``max_new_tokens``. A seed reproduces this method's text, not ``generate_batch``'s: the two
        draw their random numbers differently.
        """
        request = GenerationRequest(
            prompt,
            max_new_tokens,
            temperature,
            top_p,
            num_return_sequences,
            seed,
            no_repeat_ngram_size=no_repeat_ngram_size,
            repetition_penalty=repetition_penalty,
        )
        request.validate(self.context_size)
        prompt_ids = self._prompt_ids(request)
        input_ids = torch.tensor([prompt_ids], device=self.device)
        greedy = temperature == 0
        options: dict[str, object] = (
            {"do_sample": False}
            if greedy
            else {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
        )
        mixing = [MixtureLogitsProcessor(self.mixture)] if self.mixture is not None else []
        if self.copy is not None:
            mixing.append(CopyLogitsProcessor(self.copy, prompt_ids))
        # The phrase-loop rules see the final mixed distribution, as in decode_rows.
        if repetition_penalty != NO_PENALTY:
            mixing.append(RepetitionPenaltyLogitsProcessor(repetition_penalty))
        if no_repeat_ngram_size != NO_REPEAT_OFF:
            mixing.append(NoRepeatNGramLogitsProcessor(no_repeat_ngram_size))
        if mixing:
            # generate() would put a custom processor after its own temperature and top-p warpers; the
            # mixtures must come first, so the warpers are passed in order and generate() makes none.
            processors = LogitsProcessorList(mixing)
            if not greedy:
                processors += [TemperatureLogitsWarper(temperature), TopPLogitsWarper(top_p)]
                options |= {"temperature": 1.0, "top_p": 1.0}
            options["logits_processor"] = processors
        with self._lock, torch.inference_mode(), torch.random.fork_rng(devices=self._rng_devices()):
            if seed is not None:
                torch.manual_seed(seed)
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                pad_token_id=self.tokenizer.eos_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
                max_new_tokens=max_new_tokens,
                # Greedy decoding cannot return several sequences; they would be identical anyway.
                num_return_sequences=1 if greedy else num_return_sequences,
                **options,
            )
        texts = [
            self.tokenizer.decode(row[len(prompt_ids) :], skip_special_tokens=True).strip() for row in output
        ]
        return texts * num_return_sequences if greedy else texts

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        """Continue every request's prompt in ONE batched decode; one list of texts per request.

        Each request becomes ``num_return_sequences`` rows (one row when greedy: the copies would be
        identical) with its own temperature, top-p, token budget and random generator, so a seeded
        request gives the same texts whatever else shares the batch. Texts are stripped and exclude the
        prompt, like ``generate``'s. All requests are validated before any work.
        """
        for request in requests:
            request.validate(self.context_size)
        rows: list[DecodeRow] = []
        owners: list[int] = []  # the request each row belongs to
        # Which of its request's sequences each row is: a greedy row is all of them (they are identical).
        choices: list[tuple[int, ...]] = []
        for index, request in enumerate(requests):
            greedy = request.temperature == 0
            generator = None if greedy else request_generator(request.seed, self.device)
            prompt_ids = self._prompt_ids(request)
            for choice in range(1 if greedy else request.num_return_sequences):
                rows.append(
                    DecodeRow(
                        prompt_ids,
                        request.max_new_tokens,
                        request.temperature,
                        request.top_p,
                        generator,
                        request.no_repeat_ngram_size,
                        request.repetition_penalty,
                    )
                )
                owners.append(index)
                choices.append(tuple(range(request.num_return_sequences)) if greedy else (choice,))
        streamed = self._streamed_rows([requests[owner].listener for owner in owners], choices)
        new_ids = decode_rows(
            self.forward,
            rows,
            self.tokenizer.eos_token_id,
            self.device,
            self.mixture,
            self.copy,
            on_step=streamed.on_step if streamed is not None else None,
        )
        if streamed is not None:
            streamed.finish()
        texts: list[list[str]] = [[] for _ in requests]
        for owner, ids in zip(owners, new_ids, strict=True):
            texts[owner].append(self.tokenizer.decode(ids, skip_special_tokens=True).strip())
        return [
            found * request.num_return_sequences if request.temperature == 0 else found
            for request, found in zip(requests, texts, strict=True)
        ]

    def _streamed_rows(
        self, listeners: Sequence[TextListener | None], choices: Sequence[tuple[int, ...]]
    ) -> StreamedRows | None:
        """Who hears each row's text while the batch decodes; None when no row has a listener, so that a
        batch nobody follows pays nothing for streaming."""
        followed = {
            row: (listener, choices[row]) for row, listener in enumerate(listeners) if listener is not None
        }
        if not followed:
            return None
        stops = REPLY_STOPS if self.info.kind == REPLIES_KIND else ()
        return StreamedRows(self.tokenizer, stops, followed, self.stream_interval_s)

    def reply(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        context: Sequence[str] = (),
        max_new_tokens: int | None = None,
        temperature: float = 0.7,
        top_p: float = 0.9,
        seed: int | None = None,
    ) -> str:
        """An agent's reply to ``question`` from a ``replies`` model (see ``reply_request``)."""
        request = self.reply_request(question, history, context, max_new_tokens, temperature, top_p, seed)
        (text,) = self.generate_batch([request])[0]
        return reply_text(text)

    def reply_request(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        context: Sequence[str] = (),
        max_new_tokens: int | None = None,
        temperature: float = 0.7,
        top_p: float = 0.9,
        seed: int | None = None,
    ) -> GenerationRequest:
        """The request for an agent's reply to ``question``, in the prompt format the model was trained on.

        ``history`` holds earlier (customer question, agent reply) turns, oldest first; ``context`` holds
        approved answers to adapt, best first. When the prompt does not fit the context window together
        with ``max_new_tokens`` (default: ``reply_token_budget``), the least relevant context lines and
        then the oldest turns are dropped (``ReplyTemplate.fit``); a question that is still too long keeps
        its end. Decode it with ``generate_batch`` (alone or batched with others) and pass the text
        through ``reply_text``.
        """
        if self.info.kind != REPLIES_KIND:
            raise ValueError(
                f"reply() needs a {REPLIES_KIND!r} model; {self.info.name} is {self.info.kind!r}"
            )
        if not question.strip():
            raise ValueError("the question is empty")
        template = ReplyTemplate.from_data(self.info.data)
        if max_new_tokens is None:
            max_new_tokens = reply_token_budget(self.context_size)
        GenerationRequest("", max_new_tokens, temperature, top_p).validate(self.context_size)
        prompt = template.fit(
            question, history, context, self._token_count, self.context_size - max_new_tokens
        )
        # No phrase-loop rules: a reply copies the approved answers in its prompt on purpose, and a
        # no-repeat rule over the prompt would forbid exactly that.
        return GenerationRequest(
            prompt,
            max_new_tokens,
            temperature,
            top_p,
            1,
            seed,
            no_repeat_ngram_size=NO_REPEAT_OFF,
            repetition_penalty=NO_PENALTY,
        )

    def warm_up(self) -> None:
        self.generate("Hello", max_new_tokens=1, temperature=0, top_p=1.0, num_return_sequences=1)
        self.generate_batch([GenerationRequest("Hello", max_new_tokens=1, temperature=0)])

    def _token_count(self, text: str) -> int:
        return len(self.tokenizer(text, verbose=False)["input_ids"])

    def prompt_tokens_dropped(self, request: GenerationRequest) -> int:
        """How many of the prompt's first tokens do not fit the context beside ``max_new_tokens``: the
        prompt keeps its end (the text to continue), and a result says what was left out."""
        return max(0, self._token_count(request.prompt) - self._prompt_room(request))

    def _prompt_room(self, request: GenerationRequest) -> int:
        return self.context_size - request.max_new_tokens

    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        # verbose=False: a prompt longer than the context is expected here; it is cut to its end.
        ids = self.tokenizer(request.prompt, verbose=False)["input_ids"]
        ids = ids[-self._prompt_room(request) :]
        # GPT-2 was trained with <|endoftext|> between documents, so it is the natural "start" token.
        return ids or [self.tokenizer.eos_token_id]

    def _rng_devices(self) -> list[int]:
        # fork_rng restores the global RNG afterwards: a seeded call leaves other callers' randomness alone.
        device = torch.device(self.device)
        if device.type != "cuda":
            return []
        return [device.index if device.index is not None else torch.cuda.current_device()]
