"""Train the conditional DCGAN on real digits, score it with the judge, and write the model folder."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from training.gan.card import write_gan_card
from training.gan.data import SHARES, SOURCE, Digits, load_digit_splits
from training.gan.discriminator import DigitDiscriminator
from training.gan.evaluation import score_gan
from training.gan.judge import Judge
from training.model_card import count_parameters, new_info
from training.seeding import seed_everything
from workers.ml.digit_gan import CONFIG_FILE, GAN_KIND, WEIGHTS_FILE, DigitGan, DigitGenerator, GanConfig
from workers.ml.info import ModelInfo, write_info

log = logging.getLogger(__name__)

MODEL_NAME = "digits-gan"


@dataclass(frozen=True)
class GanRecipe:
    steps: int
    width: int
    batch_size: int = 64
    learning_rate: float = 2e-4
    # Drawn per digit for the class consistency; the same for every profile that may replace another,
    # so their validation figures are measured on the same draws.
    images_per_class: int = 200


RECIPES = {
    "tiny": GanRecipe(steps=60, width=16, images_per_class=20),
    # 500 steps draw as well as 1,000 (class consistency 0.959 ± 0.011 against 0.962 ± 0.013, 3 seeds;
    # docs/benchmarks.md#digit-images-gan) in 10 s less of the first run.
    "starter": GanRecipe(steps=500, width=64),
    "quick": GanRecipe(steps=4000, width=64),
    "full": GanRecipe(steps=12000, width=96),
}


@dataclass
class LossCurves:
    generator: list[float]
    discriminator: list[float]
    every: int  # steps averaged into each point


def train_digit_gan(
    out_dir: Path, profile: str, device: str, seed: int, *, progress: bool = True
) -> ModelInfo:
    recipe = RECIPES[profile]
    started = time.perf_counter()
    seed_everything(seed)
    splits = load_digit_splits()
    config = GanConfig(width=recipe.width)
    generator, curves = _fit(splits["gan"], config, recipe, device, seed, progress)
    training_seconds = time.perf_counter() - started

    gan = DigitGan(generator, device)
    judge = Judge.fit(splits["judge"].flat(), splits["judge"].labels)
    scores = score_gan(gan, judge, splits["gan"], splits["heldout"], recipe.images_per_class)
    log.info(
        "digits-gan %s: class consistency %.3f; Fréchet %.2f (real baseline %.2f); judge accuracy %.3f",
        profile,
        scores.class_consistency,
        scores.frechet_generated,
        scores.frechet_real_baseline,
        scores.judge_accuracy,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(generator.state_dict(), out_dir / WEIGHTS_FILE)
    config.save(out_dir)
    info = new_info(
        MODEL_NAME,
        GAN_KIND,
        profile,
        "conditional DCGAN, trained from scratch",
        count_parameters(generator),
        device,
        {
            "source": SOURCE,
            "split": {name: len(digits) for name, digits in splits.items()},
            "shares": SHARES,
            "recipe": recipe.__dict__,
            "seed": seed,
            "files": [WEIGHTS_FILE, CONFIG_FILE],
        },
    )
    info.training_seconds = round(training_seconds, 1)
    info.metrics = scores.metrics()
    write_gan_card(out_dir, info, gan, scores, curves)
    write_info(out_dir, info)  # last: its presence says the folder is complete
    return info


def _fit(
    digits: Digits, config: GanConfig, recipe: GanRecipe, device: str, seed: int, progress: bool
) -> tuple[DigitGenerator, LossCurves]:
    generator = DigitGenerator(config).to(device)
    discriminator = DigitDiscriminator(config).to(device)
    for module in (generator, discriminator):
        module.apply(_dcgan_init)
    betas = (0.5, 0.999)
    g_opt = torch.optim.Adam(generator.parameters(), lr=recipe.learning_rate, betas=betas)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=recipe.learning_rate, betas=betas)
    loss = nn.BCEWithLogitsLoss()
    images = torch.from_numpy(digits.images).unsqueeze(1).to(device)
    labels = torch.from_numpy(digits.labels).to(device)
    rng = torch.Generator().manual_seed(seed)
    every = max(1, recipe.steps // 100)
    curves = LossCurves([], [], every)
    g_sum = d_sum = 0.0
    bar = tqdm(range(1, recipe.steps + 1), desc="digits-gan", unit="step", disable=not progress)
    for step in bar:
        pick = torch.randint(len(labels), (recipe.batch_size,), generator=rng).to(device)
        real, real_digits = images[pick], labels[pick]
        noise = torch.randn(recipe.batch_size, config.noise_dim, generator=rng).to(device)
        fake_digits = torch.randint(config.classes, (recipe.batch_size,), generator=rng).to(device)
        fake = generator(noise, fake_digits)

        # One-sided label smoothing (real = 0.9) keeps the discriminator from winning outright.
        d_opt.zero_grad()
        d_loss = loss(
            discriminator(real, real_digits), torch.full_like(real_digits, 0.9, dtype=torch.float)
        ) + loss(discriminator(fake.detach(), fake_digits), torch.zeros(recipe.batch_size, device=device))
        d_loss.backward()
        d_opt.step()

        g_opt.zero_grad()
        g_loss = loss(discriminator(fake, fake_digits), torch.ones(recipe.batch_size, device=device))
        g_loss.backward()
        g_opt.step()

        g_sum += g_loss.item()
        d_sum += d_loss.item()
        if step % every == 0:
            curves.generator.append(g_sum / every)
            curves.discriminator.append(d_sum / every)
            bar.set_postfix(g=f"{curves.generator[-1]:.2f}", d=f"{curves.discriminator[-1]:.2f}")
            g_sum = d_sum = 0.0
    return generator.eval(), curves


def _dcgan_init(module: nn.Module) -> None:
    # The DCGAN paper's initialisation: N(0, 0.02) weights, batch norm scales around 1.
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
