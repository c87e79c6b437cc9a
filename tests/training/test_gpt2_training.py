"""The GPT-2 builds: pre-training, the two fine-tunes, their data handling and their model cards.

The models are built once per module with the ``tiny`` profile on a small copy of the shared data
(every customer-support intent, a few articles), so the whole file takes seconds.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast
from typer.testing import CliRunner

import cli.main
from core.settings import reset_settings_cache
from tests.support.model_fixtures import DATA_DIR
from training.bbc_corpus import BBC_CORPUS
from training.gpt2.data import (
    IGNORE_INDEX,
    SUPPORT_FILE,
    LmExample,
    SupportPair,
    read_extra_pairs,
    read_support_pairs,
    read_text_corpus,
    reply_example,
    sample_pairs,
    split_support_pairs,
)
from training.gpt2.finetune import finetune_generator, finetune_replies
from training.gpt2.heldout import HeldOutScore, document_windows, targets_text
from training.gpt2.loop import collate, fit, loss_sum, mean_loss
from training.gpt2.pretrain import pretrain_gpt2
from training.gpt2.profiles import GPT2_PROFILES, TrainingSchedule, get_gpt2_profile
from workers.ml.copy_mixture import INFO_KEY as COPY_INFO_KEY
from workers.ml.generator import TextGenerator, gpt2_tokenizer_path
from workers.ml.info import read_info
from workers.ml.ngram_mixture import INFO_KEY as MIXTURE_INFO_KEY
from workers.ml.ngram_mixture import NGRAM_FILE
from workers.ml.reply_prompt import ReplyTemplate, reply_token_budget
from workers.model_store import ModelStore

ARTICLES = 60
PAIRS_PER_INTENT = 12


@dataclass(frozen=True)
class Built:
    data_dir: Path
    base: Path
    generator: Path
    replies: Path


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first articles and the first pairs of every intent, in the shared data's own formats."""
    data_dir = tmp_path_factory.mktemp("gpt2-data")
    (data_dir / BBC_CORPUS).parent.mkdir(parents=True)
    with (DATA_DIR / BBC_CORPUS).open(encoding="utf-8") as source:
        lines = [next(source) for _ in range(ARTICLES)]
    (data_dir / BBC_CORPUS).write_text("".join(lines), encoding="utf-8")
    (data_dir / SUPPORT_FILE).parent.mkdir(parents=True)
    with (DATA_DIR / SUPPORT_FILE).open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        kept, seen = [], {}
        for row in reader:
            seen[row["intent"]] = seen.get(row["intent"], 0) + 1
            if seen[row["intent"]] <= PAIRS_PER_INTENT:
                kept.append(row)
        fields = reader.fieldnames
    with (data_dir / SUPPORT_FILE).open("w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return data_dir


@pytest.fixture(scope="module")
def built(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    models = tmp_path_factory.mktemp("gpt2-models")
    pretrain_gpt2(small_data, models / "gpt2-base", "tiny", "cpu", seed=0)
    finetune_generator(small_data, models / "generator", "tiny", "cpu", seed=0, base=models / "gpt2-base")
    finetune_replies(small_data, models / "replies", "tiny", "cpu", seed=0, base=models / "gpt2-base")
    return Built(small_data, models / "gpt2-base", models / "generator", models / "replies")


@pytest.fixture(scope="module")
def tokenizer() -> GPT2TokenizerFast:
    return GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)


def _tiny_lm(tokenizer: GPT2TokenizerFast, positions: int) -> GPT2LMHeadModel:
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=positions, n_embd=16, n_layer=1, n_head=1)
    return GPT2LMHeadModel(config)


def _card(folder: Path) -> str:
    return (folder / "README.md").read_text(encoding="utf-8")


# --- the built models ----------------------------------------------------------------------------


def test_every_build_writes_a_loadable_model_folder_with_info_and_card(built: Built) -> None:
    for folder, kind in (
        (built.base, "gpt2-base"),
        (built.generator, "generator"),
        (built.replies, "replies"),
    ):
        info = read_info(folder)
        assert (info.name, info.kind, info.profile, info.device) == (kind, kind, "tiny", "cpu")
        assert {"config.json", "model.safetensors", "tokenizer_config.json", "README.md"} <= {
            p.name for p in folder.iterdir()
        }
    for folder in (built.generator, built.replies):
        assert TextGenerator.load(folder, "cpu").generate_batch([]) == []


def test_the_base_card_states_what_the_model_is_and_how_it_was_trained(built: Built) -> None:
    info, card = read_info(built.base), _card(built.base)
    assert "NOT OpenAI's GPT-2 checkpoint" in card
    assert f"{info.parameters:,} parameters" in card
    assert f"{info.data['tokens_seen']:,} tokens" in card
    assert f"in {info.training_seconds:.0f} s on cpu" in card
    assert f"held-out news perplexity {info.metrics['val_news_perplexity']:,.2f} per GPT-2 token" in card
    assert f"against {info.metrics['val_news_ngram_perplexity']:,.2f}" in card
    assert "order-3 Kneser-Ney model fitted on the same training tokens" in card
    assert "Sample generations" in card and "**The government said**" in card


def test_the_base_learns_a_small_vocabulary_of_its_own_that_round_trips_any_text(built: Built) -> None:
    tokenizer = AutoTokenizer.from_pretrained(built.base, local_files_only=True)
    model = GPT2LMHeadModel.from_pretrained(built.base)
    size = get_gpt2_profile("tiny").pretrain.vocab_size
    assert len(tokenizer) == size == model.config.vocab_size == read_info(built.base).data["vocab_size"]
    assert tokenizer.eos_token == "<|endoftext|>"
    gpt2 = GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    texts = [
        "Shares in the company rose 4.5% after the results.",
        "Dear customer, thank you for contacting {{Company Name}}!",
        "ÆØÅ naïve café — “quotes” 🤖🚀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u200b zero-width, tab\tand  two  spaces\n\nend ",
        "日本語のテキストと한국어",
    ]
    for text in texts:
        ids = tokenizer(text)["input_ids"]
        assert max(ids) < size
        decoded = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
        assert decoded == text == gpt2.decode(gpt2(text)["input_ids"], clean_up_tokenization_spaces=False)


def test_finetuning_the_generator_lowers_validation_perplexity_on_the_corpus(built: Built) -> None:
    metrics = read_info(built.generator).metrics
    assert metrics["val_perplexity"] < metrics["val_perplexity_before"]
    card = _card(built.generator)
    assert f"{metrics['val_perplexity_before']:,.1f} before fine-tuning" in card
    assert f"held-out documents perplexity **{metrics['val_perplexity']:,.2f}** per GPT-2 token" in card
    assert math.isfinite(metrics["val_ngram_perplexity"]) and metrics["val_bits_per_byte"] > 0
    assert "Sample generations" in card


def test_the_generator_carries_its_ngram_and_a_weight_that_validation_chose(built: Built) -> None:
    folder = built.generator
    info = read_info(folder)
    mixture = info.data[MIXTURE_INFO_KEY]
    assert (folder / NGRAM_FILE).is_file() and mixture["order"] == get_gpt2_profile("tiny").ngram_order
    assert 0.0 <= mixture["weight"] <= 1.0
    # Chosen on validation from a grid that holds both ends: never worse there than either half alone.
    served = info.metrics["val_perplexity"]
    assert served <= info.metrics["val_transformer_perplexity"] + 1e-6
    assert served <= info.metrics["val_ngram_perplexity"] + 1e-6
    loaded = TextGenerator.load(folder, "cpu")
    assert loaded.mixture is not None and loaded.mixture.weight == mixture["weight"]
    # On top of the interpolation, copying from the text so far; the grid holds 0, so validation is
    # never worse with it than without.
    copy = info.data[COPY_INFO_KEY]
    assert copy["source"] == "text" and len(copy["weights"]) == get_gpt2_profile("tiny").generator.copy_match
    assert served <= info.metrics["val_uncopied_perplexity"] + 1e-6
    assert loaded.copy is not None and list(loaded.copy.weights) == copy["weights"]
    assert f"the transformer's weight, {mixture['weight']:.2f}, was chosen on the validation text" in _card(
        folder
    )


def test_a_finetune_records_its_queuebot_base(built: Built) -> None:
    base = read_info(built.base)
    for folder in (built.generator, built.replies):
        recorded = read_info(folder).data["base"]
        assert recorded["name"] == base.name and recorded["version"] == base.version
        assert "NOT OpenAI's GPT-2 checkpoint" in _card(folder)


def test_the_replies_model_records_its_template_and_reports_validation_and_test_perplexity(
    built: Built,
) -> None:
    info, card = read_info(built.replies), _card(built.replies)
    assert ReplyTemplate.from_data(info.data) == ReplyTemplate()
    assert info.metrics["val_perplexity"] < info.metrics["val_perplexity_before"]
    assert math.isfinite(info.metrics["test_perplexity"])
    assert f"test perplexity {info.metrics['test_perplexity']:,.2f} per GPT-2 token" in card
    assert math.isfinite(info.metrics["test_ngram_perplexity"])
    # No n-gram: mixed in, it pulls replies away from the answers in their prompt.
    assert MIXTURE_INFO_KEY not in info.data and not (built.replies / NGRAM_FILE).exists()
    assert TextGenerator.load(built.replies, "cpu").mixture is None
    # Copying from the prompt instead, one weight per match length, chosen on validation: the grid
    # holds 0, so the served model is never worse there than the transformer alone.
    weights = info.data[COPY_INFO_KEY]["weights"]
    assert len(weights) == get_gpt2_profile("tiny").replies.copy_match
    assert info.metrics["val_perplexity"] <= info.metrics["val_transformer_perplexity"] + 1e-6
    loaded = TextGenerator.load(built.replies, "cpu").copy
    assert loaded is not None and list(loaded.weights) == weights
    assert f"the transformer alone scores {info.metrics['test_transformer_perplexity']:,.2f}" in card
    # Retrieve and refine: the training prompts hold the nearest other questions' approved answers.
    assert 0 < info.data["train_examples_with_context"] <= info.data["train_pairs"]
    assert "Sample replies to held-out test questions" in card and "**Customer**" in card
    assert info.data["test_pairs"] > 0 and info.data["valid_pairs"] > 0


def test_a_loaded_replies_model_answers_with_a_seeded_reply(built: Built) -> None:
    replier = TextGenerator.load(built.replies, "cpu")
    first = replier.reply("How do I cancel my order?", max_new_tokens=12, seed=3)
    assert isinstance(first, str)
    assert replier.reply("How do I cancel my order?", max_new_tokens=12, seed=3) == first


def test_a_base_that_is_not_a_queuebot_model_is_named_as_such(built: Built, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign-gpt2"
    GPT2LMHeadModel.from_pretrained(built.base).save_pretrained(foreign)  # no queuebot.json
    GPT2TokenizerFast.from_pretrained(built.base).save_pretrained(foreign)
    info = finetune_generator(built.data_dir, tmp_path / "out", "tiny", "cpu", base=str(foreign))
    assert info.data["base"] == {"source": str(foreign), "queuebot_model": False}
    assert "not a queuebot model" in _card(tmp_path / "out")


def test_train_generator_fine_tunes_a_full_vocabulary_gpt2_folder(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--base`` takes any Hugging Face GPT-2 folder, such as OpenAI's ``gpt2`` with its 50,257 tokens."""
    folder = tmp_path / "gpt2-like"
    gpt2 = GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    torch.manual_seed(0)
    GPT2LMHeadModel(
        GPT2Config(vocab_size=len(gpt2), n_positions=64, n_embd=16, n_layer=1, n_head=1)
    ).save_pretrained(folder)
    gpt2.save_pretrained(folder)
    monkeypatch.setenv("QUEUEBOT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("QUEUEBOT_DATA_DIR", str(built.data_dir))
    reset_settings_cache()
    try:
        result = CliRunner().invoke(
            cli.main.app,
            ["train", "generator", "--profile", "tiny", "--device", "cpu", "--base", str(folder)],
            standalone_mode=False,
        )
    finally:
        # The environment goes back first, so no later reader can cache this test's folders.
        monkeypatch.undo()
        reset_settings_cache()
    assert result.exit_code == 0, result.exception
    trained = ModelStore(tmp_path / "models").folder("generator")
    assert len(AutoTokenizer.from_pretrained(trained)) == 50257
    info = read_info(trained)
    assert info.data["base"] == {"source": str(folder), "queuebot_model": False}
    assert info.metrics["val_perplexity"] < info.metrics["val_perplexity_before"]


def test_a_missing_base_folder_is_named(built: Built, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-base"):
        finetune_generator(built.data_dir, tmp_path / "out", "tiny", "cpu", base=tmp_path / "no-such-base")


# --- user corpora and extra pairs ----------------------------------------------------------------


def test_a_jsonl_corpus_gives_one_document_per_text(tmp_path: Path) -> None:
    corpus = tmp_path / "notes.jsonl"
    corpus.write_text('{"text": "First note."}\n\n{"text": "Second note.", "id": 2}\n', encoding="utf-8")
    assert read_text_corpus(corpus) == ["First note.", "Second note."]


def test_a_txt_corpus_splits_documents_at_blank_lines(tmp_path: Path) -> None:
    corpus = tmp_path / "notes.txt"
    corpus.write_text("First line\nof one.\n\n\n  \nSecond.\n", encoding="utf-8")
    assert read_text_corpus(corpus) == ["First line\nof one.", "Second."]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.csv", "text\nhello\n", "unsupported corpus format '.csv'"),
        ("notes.jsonl", '{"text": "ok"}\n{"body": "no text"}\n', "line 2 is not a JSON object"),
        ("notes.jsonl", '{"text": "ok"}\nnot json\n', "line 2 is not valid JSON"),
        ("notes.txt", "only one document\n", "at least 2"),
    ],
)
def test_a_bad_corpus_gets_a_clear_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    corpus = tmp_path / name
    corpus.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_text_corpus(corpus)


def test_the_generator_finetunes_on_a_user_corpus(built: Built, tmp_path: Path) -> None:
    corpus = tmp_path / "manual.txt"
    corpus.write_text("\n\n".join(f"Step {i}: press the green button and wait." for i in range(40)))
    info = finetune_generator(built.data_dir, tmp_path / "out", "tiny", "cpu", base=built.base, corpus=corpus)
    assert (info.data["corpus"], info.data["default_corpus"]) == ("manual.txt", False)
    assert info.data["train_documents"] + info.data["valid_documents"] == 40
    assert "the user corpus `manual.txt`" in _card(tmp_path / "out")


def test_extra_pairs_are_read_from_csv_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "extra.csv").write_text(
        'question,reply\nWhere is it?,"It is on its way."\n', encoding="utf-8"
    )
    (tmp_path / "extra.jsonl").write_text('{"instruction": "Hi?", "response": "Hello."}\n', encoding="utf-8")
    assert [(p.question, p.reply) for p in read_extra_pairs(tmp_path / "extra.csv")] == [
        ("Where is it?", "It is on its way.")
    ]
    assert [(p.question, p.reply) for p in read_extra_pairs(tmp_path / "extra.jsonl")] == [("Hi?", "Hello.")]
    (tmp_path / "bad.csv").write_text("question,answer\nWhere?,Here.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="record 1 needs"):
        read_extra_pairs(tmp_path / "bad.csv")


def test_extra_pairs_join_the_replies_training_data(built: Built, tmp_path: Path) -> None:
    extra = tmp_path / "feedback.jsonl"
    extra.write_text(json.dumps({"question": "Can I pay by card?", "reply": "Yes, we take cards."}) + "\n")
    info = finetune_replies(
        built.data_dir, tmp_path / "out", "tiny", "cpu", base=built.base, extra_pairs=extra
    )
    assert (info.data["extra_pairs"], info.data["extra_pairs_file"]) == (1, "feedback.jsonl")
    assert info.data["train_pairs"] == get_gpt2_profile("tiny").replies.max_train_pairs + 1


# --- replies data: template, masking, splits -----------------------------------------------------


def test_reply_examples_take_the_loss_on_the_reply_and_end_of_text_only(tokenizer: GPT2TokenizerFast) -> None:
    pair = SupportPair("Where is my order?", "It ships today.", "track_order", "ORDER")
    example = reply_example(tokenizer, ReplyTemplate(), pair, max_length=64)
    prompt_ids = tokenizer("Customer: Where is my order?\nAgent:")["input_ids"]
    reply_ids = tokenizer(" It ships today.")["input_ids"]
    assert example.input_ids == prompt_ids + reply_ids + [tokenizer.eos_token_id]
    assert example.labels == [IGNORE_INDEX] * len(prompt_ids) + reply_ids + [tokenizer.eos_token_id]
    _, attention_mask, labels = collate([example, LmExample([1, 2], [1, 2])], tokenizer.eos_token_id, "cpu")
    assert labels[1].tolist() == [1, 2] + [IGNORE_INDEX] * (len(example.input_ids) - 2)  # padding: no loss
    assert attention_mask[1].tolist() == [1, 1] + [0] * (len(example.input_ids) - 2)


def test_a_too_long_reply_example_keeps_its_prompt_and_loses_the_end_of_its_reply(
    tokenizer: GPT2TokenizerFast,
) -> None:
    pair = SupportPair("Refund?", "word " * 100, "get_refund", "REFUND")
    example = reply_example(tokenizer, ReplyTemplate(), pair, max_length=32)
    prompt = tokenizer("Customer: Refund?\nAgent:")["input_ids"]
    assert len(example.input_ids) == len(prompt) + reply_token_budget(32)  # as serving would stop it
    assert (
        example.input_ids[: len(tokenizer("Customer: Refund?\nAgent:")["input_ids"])]
        == tokenizer("Customer: Refund?\nAgent:")["input_ids"]
    )


def test_a_reply_example_shows_the_nearest_answers_that_fit_beside_a_full_length_reply(
    tokenizer: GPT2TokenizerFast,
) -> None:
    pair = SupportPair("Where is my order?", "It ships today.", "track_order", "ORDER")
    nearest, too_long = "Your parcel left our depot.", "word " * 40
    example = reply_example(tokenizer, ReplyTemplate(), pair, max_length=64, context=[nearest, too_long])
    prompt = [token for token, label in zip(example.input_ids, example.labels, strict=True) if label == -100]
    assert (
        tokenizer.decode(prompt)
        == "Context: Your parcel left our depot.\nCustomer: Where is my order?\nAgent:"
    )
    # The reply is scored in GPT-2 tokens of its text, plus one for the end marker.
    held = targets_text(tokenizer, [example])
    assert held.gpt2_tokens == len(tokenizer(" It ships today.")["input_ids"]) + 1 == held.model_tokens


def test_held_out_documents_predict_each_token_once_and_are_counted_in_gpt2_tokens(
    tokenizer: GPT2TokenizerFast,
) -> None:
    documents = ["One short text.", "word " * 50]
    held = document_windows(tokenizer, documents, window=16)
    lengths = [len(tokenizer(document)["input_ids"]) for document in documents]
    assert all(len(example.input_ids) <= 16 for example in held.examples)
    # Every token after the opening marker, the closing marker included, is a target exactly once.
    assert held.model_tokens == sum(length + 1 for length in lengths) == held.gpt2_tokens
    assert held.utf8_bytes == sum(len(document.encode()) for document in documents)
    figures = HeldOutScore(nll=60.0, model_tokens=40, gpt2_tokens=30, utf8_bytes=100)
    assert figures.perplexity == pytest.approx(math.exp(2.0))
    assert figures.bits_per_byte == pytest.approx(60.0 / math.log(2) / 100)


def test_the_loss_ignores_prompt_tokens(tokenizer: GPT2TokenizerFast) -> None:
    torch.manual_seed(0)
    model = _tiny_lm(tokenizer, 32).eval()  # eval: no dropout, so the two losses can be compared
    pair = SupportPair("Where is my order?", "It ships today.", "track_order", "ORDER")
    example = reply_example(tokenizer, ReplyTemplate(), pair, max_length=32)
    other_prompt = reply_example(tokenizer, ReplyTemplate(), SupportPair("Where?", pair.reply, "", ""), 32)
    with torch.no_grad():
        total, count = loss_sum(model, *collate([example], tokenizer.eos_token_id, "cpu"))
        logits = model(input_ids=torch.tensor([example.input_ids])).logits[0]
        targets = torch.tensor(example.labels)
        scored = targets[1:] != IGNORE_INDEX
        expected = torch.nn.functional.cross_entropy(
            logits[:-1][scored], targets[1:][scored], reduction="sum"
        )
    assert count == int(scored.sum()) == len(tokenizer(" It ships today.")["input_ids"]) + 1
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert sum(label != IGNORE_INDEX for label in other_prompt.labels) == count  # same reply, same targets


def test_support_pairs_split_by_intent_into_disjoint_reproducible_parts(small_data: Path) -> None:
    pairs = read_support_pairs(small_data / SUPPORT_FILE)
    split = split_support_pairs(pairs, seed=0)
    assert len(split.train) + len(split.valid) + len(split.test) == len(pairs)
    intents = {pair.intent for pair in pairs}
    assert {p.intent for p in split.valid} == {p.intent for p in split.test} == intents
    assert not {id(p) for p in split.train} & ({id(p) for p in split.valid} | {id(p) for p in split.test})
    assert split_support_pairs(pairs, seed=0) == split
    assert split_support_pairs(pairs, seed=1) != split


def test_a_pair_sample_smaller_than_the_intents_takes_distinct_intents(small_data: Path) -> None:
    pairs = read_support_pairs(small_data / SUPPORT_FILE)
    sample = sample_pairs(pairs, 5, seed=0)
    assert len({pair.intent for pair in sample}) == 5
    assert sample_pairs(pairs, 5, seed=0) == sample


# --- the training loop and profiles --------------------------------------------------------------


def test_training_stops_early_and_keeps_the_best_weights(tokenizer: GPT2TokenizerFast) -> None:
    torch.manual_seed(0)
    model = _tiny_lm(tokenizer, 16)
    examples = [LmExample(ids, ids) for ids in torch.randint(0, 1000, (8, 16)).tolist()]
    # A learning rate this large only makes things worse: the weights before training stay the best.
    schedule = TrainingSchedule(2, 20, 50.0, 0, 0.0, eval_every=2, patience=2)
    before = mean_loss(model, examples, 4, tokenizer.eos_token_id, "cpu")
    result = fit(
        model, examples, examples, schedule, pad_id=0, device="cpu", seed=0, name="t", evaluate_first=True
    )
    assert result.stopped_early and result.steps == 4 and result.best_step == 0
    assert [step for step, _ in result.evaluations] == [0, 2, 4]
    assert mean_loss(model, examples, 4, tokenizer.eos_token_id, "cpu") == pytest.approx(before)


def test_profiles_fit_their_purpose() -> None:
    assert set(GPT2_PROFILES) == {"tiny", "starter", "quick", "full"}
    # A first run's starter is replaced by quick only on validation, so the two must score the same
    # validation text: the same architecture (context, vocabulary) and the same held-out samples.
    starter, quick = GPT2_PROFILES["starter"], GPT2_PROFILES["quick"]
    assert starter.pretrain.architecture == quick.pretrain.architecture
    assert starter.pretrain.vocab_size == quick.pretrain.vocab_size
    assert starter.replies.max_eval_pairs == quick.replies.max_eval_pairs
    assert starter.pretrain.max_valid_blocks == quick.pretrain.max_valid_blocks
    assert starter.pretrain.schedule.max_steps < quick.pretrain.schedule.max_steps
    tiny = get_gpt2_profile("tiny").pretrain.architecture
    assert (tiny.n_layer, tiny.n_embd) == (2, 64)
    for profile in GPT2_PROFILES.values():
        # Reply examples are trained whole (up to max_length) only if the context can hold them.
        assert profile.replies.max_length <= profile.pretrain.architecture.n_positions
    assert GPT2_PROFILES["quick"].pretrain.architecture.n_positions >= 256
    with pytest.raises(ValueError, match="'huge'"):
        get_gpt2_profile("huge")
