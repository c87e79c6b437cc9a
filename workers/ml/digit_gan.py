"""The conditional DCGAN's generator, and serving it: 8x8 handwritten digits of a chosen class.

The network is defined here, not in training/, because the worker builds it to load the weights;
training/gan/ adds the discriminator and the loop. Every image's noise comes from its own seed (the
job's seed and the image's index), so an image is the same whichever requests it was batched with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workers.ml.info import read_info_of_kind

GAN_KIND = "digit-gan"
WEIGHTS_FILE = "generator.pt"
CONFIG_FILE = "gan_config.json"
IMAGE_SIDE = 8  # scikit-learn's digits are 8x8


@dataclass(frozen=True)
class GanConfig:
    noise_dim: int = 32
    width: int = 64  # channels of the last hidden layer; the first has twice as many
    classes: int = 10

    def save(self, folder: Path) -> None:
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> GanConfig:
        return cls(**json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))


class DigitGenerator(nn.Module):
    """(noise, class) -> an 8x8 image in [-1, 1]: project to 2x2, then two transposed convolutions."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = config
        wide = 2 * config.width
        self.embed = nn.Embedding(config.classes, config.classes)
        self.project = nn.Sequential(
            nn.Linear(config.noise_dim + config.classes, wide * 2 * 2, bias=False),
            nn.BatchNorm1d(wide * 2 * 2),
            nn.ReLU(True),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(wide, config.width, 4, 2, 1, bias=False),  # 2x2 -> 4x4
            nn.BatchNorm2d(config.width),
            nn.ReLU(True),
            nn.ConvTranspose2d(config.width, 1, 4, 2, 1),  # 4x4 -> 8x8
            nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        hidden = self.project(torch.cat([noise, self.embed(digits)], dim=1))
        return self.upsample(hidden.view(len(noise), 2 * self.config.width, 2, 2))


@dataclass(frozen=True)
class DigitDraw:
    """One image to draw: its class and the seed of its noise."""

    digit: int
    seed: int
    index: int

    def noise(self, noise_dim: int) -> np.ndarray:
        return np.random.default_rng([self.seed, self.index]).standard_normal(noise_dim).astype(np.float32)


def ink_to_grey(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] ink (the data's 0..16 scaled) -> uint8 grey, dark ink on white as digits are written."""
    ink = ((images.clamp(-1, 1) + 1) / 2).squeeze(1).cpu().numpy()
    return np.round(255 * (1 - ink)).astype(np.uint8)


class DigitGan:
    """The served generator: draws a batch of :class:`DigitDraw` in one forward pass."""

    def __init__(self, generator: DigitGenerator, device: str) -> None:
        self.generator = generator.to(device).eval()
        self.device = device
        self.config = generator.config

    @classmethod
    def load(cls, folder: Path, device: str) -> DigitGan:
        read_info_of_kind(folder, GAN_KIND)
        generator = DigitGenerator(GanConfig.load(folder))
        generator.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True))
        return cls(generator, device)

    def warm_up(self) -> None:
        self.draw([DigitDraw(digit=0, seed=0, index=0)])

    @torch.inference_mode()
    def draw(self, draws: list[DigitDraw]) -> list[np.ndarray]:
        """Each draw's 8x8 uint8 image, in order (the micro-batcher's model call)."""
        noise = torch.from_numpy(np.stack([draw.noise(self.config.noise_dim) for draw in draws]))
        digits = torch.tensor([draw.digit for draw in draws], dtype=torch.long)
        images = self.generator(noise.to(self.device), digits.to(self.device))
        return list(ink_to_grey(images))
