"""Nucleus sampling in the batched decoding loop: whichever way a row's nucleus is found (among its
most likely 256 tokens, or by sorting all of them, for every row of a small vocabulary on a CPU), the
token is the one a plain definition gives."""

from __future__ import annotations

import pytest
import torch

from workers.ml import gpt2_decoding
from workers.ml.gpt2_decoding import _nucleus_sample


@pytest.fixture(params=["as served", "first candidates always"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs as served and again with the first-candidates search forced on every vocabulary,
    so both ways of finding a nucleus are held to the definition whatever size picks them."""
    if request.param == "first candidates always":
        monkeypatch.setattr(gpt2_decoding, "_SORT_WHOLE_VOCABULARY", 0)
    return str(request.param)


def _plain_nucleus_sample(probs: torch.Tensor, top_p: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """The definition, one row at a time: the most likely tokens until their mass reaches top_p, any
    token as likely as the last of them, then the inverse CDF in token-id order."""
    tokens = []
    for row, p, u in zip(probs, top_p.tolist(), uniform.tolist(), strict=True):
        ranked = row.sort(descending=True).values
        size = int((ranked.cumsum(0) - ranked < p).sum())
        mass = (row * (row >= ranked[size - 1])).double()
        cdf = mass.cumsum(0)
        tokens.append(min(int(torch.searchsorted(cdf, u * cdf[-1], right=True)), len(row) - 1))
    return torch.tensor(tokens)


@pytest.mark.parametrize("vocab", [300, 4096, 50257])
@pytest.mark.parametrize("sharpness", [0.5, 3.0, 12.0])  # nuclei of thousands of tokens down to a few
def test_every_row_gets_the_token_the_definition_gives(vocab: int, sharpness: float, search: str) -> None:
    generator = torch.Generator().manual_seed(vocab)
    probs = torch.softmax(torch.randn(12, vocab, generator=generator) * sharpness, dim=-1)
    top_p = torch.tensor([0.5, 0.9, 0.95, 0.99] * 3)
    uniform = torch.rand(12, generator=generator)
    expected = _plain_nucleus_sample(probs, top_p, uniform)

    assert _nucleus_sample(probs, top_p, uniform).tolist() == expected.tolist()


def test_tokens_tied_with_the_nucleus_end_beyond_the_first_candidates_are_candidates_too(search: str) -> None:
    # One likely token, then 400 equally likely ones: the nucleus ends among the ties, which go on past
    # the first 256 candidates, so every tied token must stay a candidate.
    row = torch.cat([torch.tensor([0.5]), torch.full((400,), 0.5 / 400), torch.zeros(99)])
    probs = row.repeat(3, 1)
    top_p = torch.tensor([0.9, 0.9, 0.9])
    uniform = torch.tensor([0.2, 0.6, 0.999])

    tokens = _nucleus_sample(probs, top_p, uniform)

    assert tokens.tolist() == _plain_nucleus_sample(probs, top_p, uniform).tolist()
    assert tokens[2] > 256, "a token past the first 256 candidates can be drawn"
