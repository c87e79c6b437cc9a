"""What every GPT-2 build writes besides its card: the model folder and the card's sample generations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.gpt2.loop import FitResult
from workers.ml.copy_mixture import CopyMixture
from workers.ml.generator import GenerationRequest, TextGenerator
from workers.ml.info import ModelInfo, write_info
from workers.ml.ngram_mixture import NgramMixture

# Card samples: nucleus sampling with a fixed seed per sample, so a rebuild with the same seed shows
# the same text.
SAMPLE_TEMPERATURE, SAMPLE_TOP_P, SAMPLE_TOKENS = 0.8, 0.95, 48


def save_model_folder(
    out_dir: Path, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, info: ModelInfo
) -> None:
    """Hugging Face model and tokenizer plus ``queuebot.json``; the card is written separately."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.model_max_length = int(model.config.n_positions)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    write_info(out_dir, info)


def sample_continuations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    info: ModelInfo,
    prompts: Sequence[str],
    seed: int,
    mixture: NgramMixture | None = None,
    copy: CopyMixture | None = None,
) -> list[tuple[str, str]]:
    """(prompt, continuation) for the card, all in one batched decode; prompt i uses seed + i."""
    generator = TextGenerator(model, tokenizer, info, str(model.device), mixture, copy)
    tokens = min(SAMPLE_TOKENS, generator.context_size // 2)  # leave the prompt room in a small context
    requests = [
        GenerationRequest(prompt, tokens, SAMPLE_TEMPERATURE, SAMPLE_TOP_P, 1, seed + i)
        for i, prompt in enumerate(prompts)
    ]
    texts = generator.generate_batch(requests)
    return [(prompt, found[0]) for prompt, found in zip(prompts, texts, strict=True)]


def fit_summary(result: FitResult) -> dict[str, object]:
    """The training run's facts for ``ModelInfo.data``."""
    return {
        "steps": result.steps,
        "best_step": result.best_step,
        "stopped_early": result.stopped_early,
        "tokens_seen": result.tokens_seen,
        "target_tokens_seen": result.target_tokens_seen,
        "evaluations": [[step, round(loss, 4)] for step, loss in result.evaluations],
    }
