"""Segmentation: the default edges method on scenes with a known answer, and odd inputs."""

from __future__ import annotations

import numpy as np
import pytest

import regioncodec
from regioncodec import InputError


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_edges_finds_the_textured_object(textured_scene: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = textured_scene
    assert iou(regioncodec.segment(image), truth) >= 0.8


def test_edges_mask_is_block_aligned(textured_scene: tuple[np.ndarray, np.ndarray]) -> None:
    mask = regioncodec.segment(textured_scene[0], block_size=32)
    blocks = mask.reshape(6, 32, 8, 32)
    assert np.array_equal(blocks.all(axis=(1, 3)), blocks.any(axis=(1, 3)))


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (3, 2000), (64, 64, 3)])
def test_constant_and_tiny_images_segment_without_error(shape: tuple[int, ...]) -> None:
    mask = regioncodec.segment(np.full(shape, 77, np.uint8))
    assert mask.shape == shape[:2] and not mask.any()


def test_unknown_method_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match="unknown segmentation method 'magic'; choose from edges"):
        regioncodec.segment(np.zeros((8, 8), np.uint8), method="magic")
