"""Data sets as in-memory uint8 tensors, and explicit seeded splits (see :mod:`.splits`)."""

from agmc_env.data.augment import random_crop_flip
from agmc_env.data.cifar10 import CIFAR10_CLASSES, load_cifar10
from agmc_env.data.imagenet import image_folder_classes, load_image_folder
from agmc_env.data.imageset import ImageSet
from agmc_env.data.splits import DATASETS, SPLITS, load_split
from agmc_env.data.synthetic import synthetic_imageset

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "ImageSet",
    "image_folder_classes",
    "SPLITS",
    "load_cifar10",
    "load_image_folder",
    "load_split",
    "random_crop_flip",
    "synthetic_imageset",
]
