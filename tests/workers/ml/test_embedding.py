import numpy as np
import pytest

from workers.ml.embedding import SentenceEncoder, minilm_path


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.load(minilm_path(), "cpu")


def test_vectors_are_float32_unit_rows_of_width_384(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(["Where is my parcel?", "I want a refund", "hello " * 500], batch_size=2)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_give_an_empty_matrix(encoder: SentenceEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder: SentenceEncoder) -> None:
    parcel, package, weather = encoder.encode(
        ["Where is my parcel?", "Has my package shipped yet?", "It will rain tomorrow in Paris."]
    )
    assert parcel @ package > parcel @ weather + 0.2


def test_padding_does_not_change_a_sentence_vector(encoder: SentenceEncoder) -> None:
    # Mean pooling must ignore padding, so a sentence batched with a longer one keeps its vector.
    alone = encoder.encode(["Cancel my order"])[0]
    batched = encoder.encode(["Cancel my order", "a much longer sentence " * 10])[0]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_a_single_string_is_refused(encoder: SentenceEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("Cancel my order")
