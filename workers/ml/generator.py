"""Text generation with a GPT-2-architecture causal language model."""

from __future__ import annotations

import threading
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from workers.ml.info import ModelInfo, read_info_of_kind
from workers.ml.loading import require_folder

KIND = "generator"


def gpt2_tokenizer_path() -> Path:
    """OpenAI's GPT-2 byte-level BPE tokenizer, shipped inside the package (MIT)."""
    return Path(__file__).resolve().parent / "assets" / "gpt2-tokenizer"


class TextGenerator:
    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, info: ModelInfo, device: str
    ) -> None:
        if tokenizer.eos_token_id is None:
            raise ValueError(f"generator {info.name} has a tokenizer without an end-of-text token")
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.info = info
        self.device = device
        self.context_size = int(model.config.n_positions)
        # Sampling draws from torch's global RNG; serialising calls is what makes a seed reproduce
        # the same text even when several threads share one generator.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, device: str) -> TextGenerator:
        info = read_info_of_kind(folder, KIND)
        folder = require_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
        return cls(model, tokenizer, info, device)

    def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        num_return_sequences: int,
        seed: int | None = None,
    ) -> list[str]:
        """Return only the continuation of each sequence, without the prompt.

        ``temperature == 0`` decodes greedily: every returned sequence is then the same text, repeated
        ``num_return_sequences`` times. Sampling uses nucleus (``top_p``) filtering only, no top-k.
        The prompt keeps its last tokens when it is too long for the context together with
        ``max_new_tokens``.
        """
        if not 1 <= max_new_tokens < self.context_size:
            raise ValueError(f"max_new_tokens must be in [1, {self.context_size - 1}], got {max_new_tokens}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if num_return_sequences < 1:
            raise ValueError(f"num_return_sequences must be >= 1, got {num_return_sequences}")

        prompt_ids = self.tokenizer(prompt)["input_ids"][-(self.context_size - max_new_tokens) :]
        if not prompt_ids:
            # GPT-2 was trained with <|endoftext|> between documents, so it is the natural "start" token.
            prompt_ids = [self.tokenizer.eos_token_id]
        input_ids = torch.tensor([prompt_ids], device=self.device)
        greedy = temperature == 0
        options: dict[str, object] = (
            {"do_sample": False}
            if greedy
            else {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
        )
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

    def warm_up(self) -> None:
        self.generate("Hello", max_new_tokens=1, temperature=0, top_p=1.0, num_return_sequences=1)

    def _rng_devices(self) -> list[int]:
        # fork_rng restores the global RNG afterwards: a seeded call leaves other callers' randomness alone.
        device = torch.device(self.device)
        if device.type != "cuda":
            return []
        return [device.index if device.index is not None else torch.cuda.current_device()]
