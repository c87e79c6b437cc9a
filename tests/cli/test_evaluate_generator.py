"""`queuebot evaluate-generator` scores the generator on BBC articles it was never trained on, against an
n-gram baseline, and continues some of them; its figures must be well-formed and its prompts unseen."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.main
from core.settings import get_settings
from tests.support.stack_fixtures import use_models_dir
from training.bbc_corpus import BBC_CORPUS
from training.gpt2.data import read_news_articles, split_news
from training.gpt2.generator_evaluation import distinct_n, prompt_and_rest, repeated_ngram_share
from workers.ml.generator import TextGenerator
from workers.model_store import ModelStore


def test_repetition_and_distinct_2_on_hand_made_texts() -> None:
    # 5 four-grams, "a b c d" at words 0 and 4: 2 of the 5 repeat.
    assert repeated_ngram_share("a b c d a b c d") == pytest.approx(2 / 5)
    assert repeated_ngram_share("The cat sat on the mat") == 0.0
    assert repeated_ngram_share("la la la la la") == 1.0  # "la la la la" twice
    assert repeated_ngram_share("too short here") is None
    # Bigrams: (a b), (b a), (a b) in one text and (a b), (b c) in the other: 3 distinct of 5, none
    # made across the two texts.
    assert distinct_n(["a b a b", "a b c"]) == pytest.approx(3 / 5)
    assert distinct_n(["The end", "the END"]) == pytest.approx(1 / 2)  # case is ignored
    assert distinct_n(["one", ""]) is None


def test_the_prompt_is_the_title_and_the_first_sentence_of_the_body() -> None:
    article = "Title here\n\nFirst one ends. Second one? Third!\n\nNext paragraph."
    prompt, rest = prompt_and_rest(article)
    assert prompt == "Title here\n\nFirst one ends." and rest == " Second one? Third!\n\nNext paragraph."
    assert prompt_and_rest("T\n\nA one-sentence lede.\n\nMore.") == ("T\n\nA one-sentence lede.", "\n\nMore.")


def test_the_command_prints_and_writes_held_out_perplexity_and_continuations(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    use_models_dir(tiny_models_dir)
    out = tmp_path / "generator.json"

    result = CliRunner().invoke(cli.main.app, ["evaluate-generator", "--prompts", "3", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "n-gram baseline" in result.output and "bits per byte" in result.output
    figures = json.loads(out.read_text())
    for name in ("generator", "transformer", "baseline"):
        assert math.isfinite(figures[f"{name}_perplexity"]) and figures[f"{name}_perplexity"] > 1
        assert math.isfinite(figures[f"{name}_bits_per_byte"]) and figures[f"{name}_bits_per_byte"] > 0
    for share in ("repeated_4gram_share", "distinct_2"):
        assert 0 <= figures[share] <= 1
    assert -1 <= figures["mean_similarity"] <= 1
    assert figures["prompts"] == 3 == len(figures["examples"])

    generator = TextGenerator.load(ModelStore(tiny_models_dir).folder("generator"), "cpu")
    assert figures["model"] == "generator" and figures["version"] == generator.info.version
    assert generator.mixture is not None  # served with its n-gram, whose weight the figures name
    assert figures["transformer_weight"] == generator.mixture.weight and figures["ngram_order"] == 3
    # And with copying from the text so far, whose effect the figures show beside.
    assert generator.copy is not None and figures["copy_weights"] == list(generator.copy.weights)
    assert math.isfinite(figures["uncopied_perplexity"]) and "copying from the text so far" in result.output
    articles = read_news_articles(get_settings().data_dir / BBC_CORPUS)
    train, _valid, test = split_news(articles, int(generator.info.data["seed"]))
    assert figures["test_articles"] == len(test) and not set(test) & set(train)
    for example, article in zip(figures["examples"], test[:3], strict=True):
        # A tiny model may end a text at once: the continuation need not be empty-free, the reference must.
        assert isinstance(example["continuation"], str) and example["reference"].strip()
        assert article.startswith(example["prompt"])
        assert not any(document.startswith(example["prompt"]) for document in train)
