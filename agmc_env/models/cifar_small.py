"""CIFAR variants of MobileNet-V2 and VGG-16 (32x32 inputs, no pretrained weights shipped)."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import MobileNetV2

# VGG-16 configuration "D"; "M" is a 2x2 max-pool.
_VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)


class CifarVGG16(nn.Module):
    """VGG-16 with batch norm for 32x32 inputs (one linear classifier, as in the CIFAR literature).

    Shapes:
        - input: ``(N, 3, 32, 32)``
        - output: ``(N, num_classes)``
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in _VGG16_CFG:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [
                    nn.Conv2d(in_channels, int(item), 3, padding=1, bias=False),
                    nn.BatchNorm2d(int(item)),
                    nn.ReLU(inplace=True),
                ]
                in_channels = int(item)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def cifar_mobilenet_v2(num_classes: int = 10) -> MobileNetV2:
    """torchvision's MobileNet-V2 adapted to 32x32 inputs.

    The stem and the first stride-2 bottleneck run at stride 1 (as in the common CIFAR variants), so
    the last feature map is 4x4 instead of 1x1.
    """
    model = MobileNetV2(num_classes=num_classes)
    model.features[0][0].stride = (1, 1)
    # features[2] is the first bottleneck with stride 2 (t=6, c=24); its depthwise conv is conv[1][0].
    model.features[2].conv[1][0].stride = (1, 1)
    return model
