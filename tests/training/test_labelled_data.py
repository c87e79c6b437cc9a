from collections import Counter
from pathlib import Path

import pytest

from tests.support.model_fixtures import DATA_DIR
from training.classifier import labelled_data
from training.classifier.evaluation import evaluate_predictions
from training.classifier.labelled_data import LabelledTexts, read_labelled_file
from training.splits import SplitSpec, sample, split


def test_every_sentiment_set_is_mapped_onto_the_three_product_labels() -> None:
    for name in ("financial-phrasebank", "finance-tweets", "airline-tweets", "sst2-dev"):
        labels = set(labelled_data.NAMED_SETS[name](DATA_DIR).labels)
        assert labels <= {"negative", "neutral", "positive"}, name
    # The tweets' own codes: 0 bearish, 1 bullish, 2 neutral.
    tweets = labelled_data.finance_tweets(DATA_DIR, "valid")
    assert Counter(tweets.labels) == {"neutral": 1566, "positive": 475, "negative": 347}


def test_clinc150_out_of_scope_queries_get_the_product_label() -> None:
    data = labelled_data.clinc150(DATA_DIR, ("oos_train",))
    assert set(data.labels) == {labelled_data.OUT_OF_SCOPE} and len(data) == 100


def test_an_unknown_label_is_an_error_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "sentiment" / "financial_phrasebank" / "train.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("text,label,all_agree\nProfit rose,positive,1\nProfit fell,bearish,1\n")
    with pytest.raises(ValueError, match=r"train.csv:3: unknown label 'bearish'"):
        labelled_data.financial_phrasebank(tmp_path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.csv", "text,label\ngreat,positive\nawful,negative\n"),
        ("data.tsv", "text\tlabel\ngreat\tpositive\nawful\tnegative\n"),
        ("data.jsonl", '{"text": "great", "label": "positive"}\n\n{"text": "awful", "label": "negative"}\n'),
    ],
)
def test_a_users_labelled_file_is_read_in_any_supported_format(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    data = read_labelled_file(path)
    assert (data.texts, data.labels) == (["great", "awful"], ["positive", "negative"])


def test_an_unsupported_or_incomplete_file_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_text("")
    with pytest.raises(ValueError, match="unsupported format '.xlsx'"):
        read_labelled_file(tmp_path / "data.xlsx")
    (tmp_path / "data.csv").write_text("sentence,label\nhi,positive\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['text'\]"):
        read_labelled_file(tmp_path / "data.csv")
    with pytest.raises(FileNotFoundError):
        read_labelled_file(tmp_path / "missing.csv")


def test_splits_are_reproducible_disjoint_and_stratified() -> None:
    data = LabelledTexts([f"text {i}" for i in range(200)], ["a"] * 120 + ["b"] * 80, "test")
    spec = SplitSpec(seed=7, valid_fraction=0.1, test_fraction=0.2)
    first, again = split(data, spec), split(data, spec)
    assert first == again
    parts = [set(first.train.texts), set(first.valid.texts), set(first.test.texts)]
    assert sum(map(len, parts)) == 200 and not (
        parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]
    )
    test_counts = Counter(first.test.labels)  # 20 % of each class, give or take sklearn's rounding
    assert abs(test_counts["a"] - 24) <= 1 and abs(test_counts["b"] - 16) <= 1
    assert split(data, SplitSpec(seed=8, valid_fraction=0.1, test_fraction=0.2)).test != first.test
    assert Counter(sample(data, 50, seed=1).labels) == {"a": 30, "b": 20}


def test_out_of_scope_recall_and_in_scope_accuracy_are_computed_separately() -> None:
    gold = ["out_of_scope", "out_of_scope", "balance", "balance", "transfer"]
    predicted = ["out_of_scope", "balance", "balance", "out_of_scope", "transfer"]
    report = evaluate_predictions(gold, predicted, ["balance", "out_of_scope", "transfer"])
    assert report.metrics["out_of_scope_recall"] == 0.5
    assert report.metrics["in_scope_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert report.metrics["accuracy"] == 0.6
    assert report.confusion.tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 1]]
