"""The conditional DCGAN's discriminator: an 8x8 image with its class as ten constant planes."""

from __future__ import annotations

import torch
from torch import nn

from workers.ml.digit_gan import GanConfig


class DigitDiscriminator(nn.Module):
    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.classes = config.classes
        self.body = nn.Sequential(
            nn.Conv2d(1 + config.classes, config.width, 4, 2, 1),  # 8x8 -> 4x4
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(config.width, 2 * config.width, 4, 2, 1, bias=False),  # 4x4 -> 2x2
            nn.BatchNorm2d(2 * config.width),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            nn.Linear(2 * config.width * 2 * 2, 1),
        )

    def forward(self, images: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        planes = nn.functional.one_hot(digits, self.classes).float()[:, :, None, None]
        planes = planes.expand(-1, -1, images.shape[-2], images.shape[-1])
        return self.body(torch.cat([images, planes], dim=1)).squeeze(1)
