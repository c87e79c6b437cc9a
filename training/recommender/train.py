"""``queuebot train recommender``: fine-tune the ranker of suggested articles on the click log.

Text in, click as the label: each impression's conversation text and each shown article's questions
are embedded with the knowledge base's MiniLM (the vectors the worker ranks with), and a click model
is fitted on them (training/recommender/fit.py). A seeded fifth of the clicked impressions (at least
one) is held out as validation: it chooses the L2 strength and gives the figures in the model's
card, beside the untrained ranker's on the same impressions.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.jobs import RECOMMENDER_MODEL
from core.settings import get_settings
from training.model_card import new_info, write_model_card
from training.recommender.click_log import ClickLog, LoggedImpression
from training.recommender.fit import (
    L2_CHOICES,
    ImpressionVectors,
    click_log_loss,
    fit_ranker,
    mean_reciprocal_rank,
)
from workers.knowledge.embedding import KB_ENCODER_NAME, load_kb_encoder
from workers.ml.info import ModelInfo, write_info
from workers.recommendations.ranker import RECOMMENDER_KIND, Ranker
from workers.recommendations.vectors import conversation_vector, item_vector, recent_texts

log = logging.getLogger(__name__)

PROFILE = "clicks"
VALIDATION_SHARE = 0.2
MIN_IMPRESSIONS = 2  # one to train on, one to validate on


def train_recommender(clicks: ClickLog, out_dir: Path, device: str, seed: int) -> ModelInfo:
    if len(clicks.impressions) < MIN_IMPRESSIONS:
        raise ValueError(
            f"the click log has {len(clicks.impressions)} impressions with a click; training needs at "
            f"least {MIN_IMPRESSIONS} (one is held out for validation)"
        )
    started = time.perf_counter()
    decay = get_settings().recommendation_recency_decay
    vectors = _embed(clicks.impressions, device, decay)
    order = np.random.default_rng(seed).permutation(len(vectors))
    held_out = max(1, round(len(vectors) * VALIDATION_SHARE))
    valid = [vectors[i] for i in order[:held_out]]
    train = [vectors[i] for i in order[held_out:]]

    info = new_info(
        RECOMMENDER_MODEL,
        RECOMMENDER_KIND,
        PROFILE,
        KB_ENCODER_NAME,
        parameters=0,
        device=device,
        data=clicks.to_data()
        | {"train_impressions": len(train), "valid_impressions": len(valid), "seed": seed},
    )
    untrained = Ranker.similarity()
    candidates = {l2: fit_ranker(train, l2, info.version, seed) for l2 in L2_CHOICES}
    # Best validation MRR; ties (a small log often has them) go to the strongest regularisation.
    l2, ranker = max(candidates.items(), key=lambda kv: (mean_reciprocal_rank(kv[1], valid), kv[0]))
    ranker.save(out_dir)
    assert ranker.interaction is not None
    info.parameters = int(ranker.interaction.size) + 2
    info.training_seconds = round(time.perf_counter() - started, 2)
    info.metrics = {
        "valid_mrr": mean_reciprocal_rank(ranker, valid),
        "valid_mrr_untrained": mean_reciprocal_rank(untrained, valid),
        "valid_click_log_loss": click_log_loss(ranker, valid),
        "train_mrr": mean_reciprocal_rank(ranker, train),
        "l2": l2,
    }
    info.data["recency_decay"] = decay
    write_model_card(
        out_dir,
        "Recommender (ranker of suggested articles)",
        "Ranks knowledge-base articles for a conversation: cosine similarity of MiniLM vectors plus a "
        "bilinear term learnt from logged clicks. Its score is the estimated click probability.",
        info,
        {
            "Data": f"Logged impressions and clicks: {clicks.to_data()}. Validation: a seeded "
            f"{VALIDATION_SHARE:.0%} of the clicked impressions (seed {seed}); it chose the L2 strength.",
            "Caveats": "Clicks are biased by position (people open the first suggestion more) and by "
            "what was shown at all; this ranker does not correct for either.",
        },
    )
    write_info(out_dir, info)
    log.info("recommender %s: %s", info.version, info.metrics)
    return info


def _embed(impressions: list[LoggedImpression], device: str, decay: float) -> list[ImpressionVectors]:
    encoder = load_kb_encoder(device)
    out = []
    for impression in tqdm(impressions, desc="embedding the click log", unit="impression"):
        context = encoder.encode(recent_texts(impression.context))
        items = np.stack([item_vector(encoder.encode(article.questions)) for article in impression.shown])
        clicked = np.array([article.clicked for article in impression.shown], dtype=bool)
        out.append(ImpressionVectors(conversation_vector(context, decay), items, clicked))
    return out
