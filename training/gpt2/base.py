"""Load the base model a fine-tune starts from: a local folder, or (in production) a Hugging Face name.

A queuebot ``gpt2-base`` folder carries its ``queuebot.json``; that is how the fine-tune's card can say
what its base is. Anything else (``gpt2``, a folder saved by other tools) is described only by the name
it was given: its provenance is its publisher's to state, not ours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from workers.ml.info import INFO_FILE, ModelInfo, read_info
from workers.ml.loading import require_folder

log = logging.getLogger(__name__)

BASE_KIND = "gpt2-base"


@dataclass
class BaseModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    source: str  # the folder or hub name it was loaded from
    info: ModelInfo | None  # the queuebot metadata, when the base is a queuebot model

    @property
    def context_size(self) -> int:
        return int(self.model.config.n_positions)

    def data(self) -> dict[str, object]:
        """What a fine-tune records about its base in ``info.data["base"]``."""
        if self.info is None:
            return {"source": self.source, "queuebot_model": False}
        return {
            "source": self.source,
            "queuebot_model": True,
            "name": self.info.name,
            "version": self.info.version,
            "kind": self.info.kind,
        }

    def describe(self) -> str:
        """One line for ``ModelInfo.base``."""
        if self.info is None:
            return f"{self.source} (not a queuebot model)"
        return f"queuebot {self.info.kind} model {self.info.name} version {self.info.version}"

    def provenance(self) -> str:
        """The sentence a model card uses to say what the fine-tune started from."""
        if self.info is None:
            return (
                f"Fine-tuned from `{self.source}`, which is **not a queuebot model**: what it is, what it "
                "was trained on and its licence are for its publisher to state; this card describes only "
                "the fine-tune."
            )
        statement = (
            f"Fine-tuned from queuebot's `{self.info.name}` model (version `{self.info.version}`, kind "
            f"`{self.info.kind}`, {self.info.parameters:,} parameters)"
        )
        if self.info.kind == BASE_KIND:
            statement += (
                ", a small GPT-2-architecture model pre-trained by queuebot from random weights with "
                "the real GPT-2 tokenizer. **This is NOT OpenAI's GPT-2 checkpoint**"
            )
        return statement + "."

    def trained_with_seed(self) -> int | None:
        seed = self.info.data.get("seed") if self.info is not None else None
        return seed if isinstance(seed, int) else None


def load_base(base: str | Path, device: str) -> BaseModel:
    """A ``Path``, or a string naming an existing folder, loads offline; any other string is a hub name."""
    local = isinstance(base, Path) or Path(base).is_dir()
    source: str | Path = require_folder(Path(base)) if local else str(base)
    info = None
    if local and (Path(source) / INFO_FILE).is_file():
        info = read_info(Path(source))
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
    model = AutoModelForCausalLM.from_pretrained(source, local_files_only=local)
    if tokenizer.eos_token_id is None:
        raise ValueError(f"base {source} has a tokenizer without an end-of-text token")
    if not hasattr(model.config, "n_positions"):
        raise ValueError(f"base {source} is a {model.config.model_type!r} model, not a GPT-2-like one")
    # Batches (training and serving) pad with <|endoftext|>; GPT-2's own tokenizer has no pad token.
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    log.info("base %s: %s", source, "queuebot model " + info.version if info else "not a queuebot model")
    return BaseModel(model.to(device), tokenizer, str(source), info)
