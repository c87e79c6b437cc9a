import math
from pathlib import Path

import pytest

from workers.ml.sentiment import LABELS, SentimentClassifier, SentimentPrediction


@pytest.fixture(scope="module")
def classifier(tiny_models_dir: Path) -> SentimentClassifier:
    model = SentimentClassifier.load(tiny_models_dir / "sentiment", "cpu")
    model.warm_up()
    return model


def test_one_prediction_per_text_with_probabilities_over_the_three_labels(
    classifier: SentimentClassifier,
) -> None:
    texts = ["Shares soar after record profit", "Company misses estimates, stock plunges", "Meeting at 10am"]
    predictions = classifier.classify(texts, batch_size=2)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert isinstance(prediction, SentimentPrediction)
        assert tuple(prediction.scores) == LABELS
        assert math.isclose(sum(prediction.scores.values()), 1.0, abs_tol=1e-5)
        assert all(0.0 <= p <= 1.0 for p in prediction.scores.values())
        assert prediction.label == max(prediction.scores, key=prediction.scores.__getitem__)


def test_model_labels_are_exactly_negative_neutral_positive(classifier: SentimentClassifier) -> None:
    assert classifier.model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}


def test_text_longer_than_the_context_is_truncated_not_an_error(classifier: SentimentClassifier) -> None:
    (prediction,) = classifier.classify(["profits keep rising " * 2_000])
    assert prediction.label in LABELS


def test_no_texts_give_no_predictions(classifier: SentimentClassifier) -> None:
    assert classifier.classify([]) == []


def test_results_do_not_depend_on_batching(classifier: SentimentClassifier) -> None:
    texts = ["Stock up 5%", "Guidance cut again", "CEO to speak at conference", "Bankruptcy filing"]
    one_batch = classifier.classify(texts, batch_size=4)
    singles = classifier.classify(texts, batch_size=1)
    for a, b in zip(one_batch, singles, strict=True):
        assert a.label == b.label
        for label in LABELS:
            assert math.isclose(a.scores[label], b.scores[label], abs_tol=1e-4)


def test_info_describes_the_built_model(classifier: SentimentClassifier) -> None:
    assert classifier.info.kind == "sentiment"
    assert classifier.info.profile == "tiny"
    assert set(classifier.info.metrics) >= {"val_accuracy", "val_macro_f1"}
    assert classifier.info.data["label_mapping"] == {"0": "negative", "1": "positive", "2": "neutral"}


def test_loading_another_kind_of_model_is_refused(tiny_models_dir: Path) -> None:
    with pytest.raises(ValueError, match="not 'sentiment'"):
        SentimentClassifier.load(tiny_models_dir / "generator", "cpu")


def test_loading_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        SentimentClassifier.load(tmp_path / "nope", "cpu")
