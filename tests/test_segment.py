"""Segmentation: every method on scenes with a known answer, the shared controls, and odd inputs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import regioncodec
from regioncodec import InputError, OptionError, SegmentOptions

from .scenes import SCENES, blank_page, dark_object, iou, luma, odd_disc, red_object

ALL_METHODS = [*regioncodec.METHODS, "faces+edges"]
FACE_CENTRE = (383, 287)  # row, column of the face in kodim04


@pytest.mark.parametrize("method", SCENES)
def test_iou_on_the_scene_with_a_known_object(method: str) -> None:
    """The issue's figures: edges >= 0.80, threshold >= 0.85, kmeans >= 0.85."""
    scene, target = SCENES[method]
    image, truth = scene()
    assert iou(regioncodec.segment(image, method), truth) >= target


def test_kmeans_scene_has_no_grey_contrast() -> None:
    """The red object and its background are equally bright, so only colour can split them."""
    image, truth = red_object()
    grey = luma(image)
    assert abs(float(grey[truth].mean()) - float(grey[~truth].mean())) < 3
    assert iou(regioncodec.segment(image, "threshold"), truth) < 0.5


def test_threshold_takes_the_smaller_side_whatever_its_brightness() -> None:
    image, truth = dark_object()
    assert iou(regioncodec.segment(255 - image, "threshold"), truth) >= 0.85


@pytest.mark.parametrize("clusters", [4, 6])
def test_kmeans_cluster_count(clusters: int) -> None:
    image, truth = red_object()
    assert iou(regioncodec.segment(image, "kmeans", segmentation=SegmentOptions(clusters=clusters)), truth) >= 0.85


def test_kmeans_does_not_depend_on_opencv_random_state() -> None:
    image = red_object()[0]
    masks = []
    for seed in (1, 2):
        cv2.setRNGSeed(seed)
        masks.append(regioncodec.segment(image, "kmeans", segmentation=SegmentOptions(clusters=6)))
    assert np.array_equal(*masks)


def test_saliency_finds_the_odd_one_out() -> None:
    image, truth = odd_disc()
    mask = regioncodec.segment(image, "saliency")
    assert mask[250, 350] and mask.mean() < 0.15
    assert iou(mask, truth) >= 0.3


def test_faces_finds_the_face(photo: np.ndarray) -> None:
    mask = regioncodec.segment(photo, "faces")
    assert 0.005 <= mask.mean() <= 0.40
    assert mask[FACE_CENTRE]


def test_faces_finds_none_where_there_is_none() -> None:
    assert not regioncodec.segment(odd_disc()[0], "faces").any()


def test_combination_is_the_union(photo: np.ndarray) -> None:
    union = regioncodec.segment(photo, "faces") | regioncodec.segment(photo, "edges")
    assert np.array_equal(regioncodec.segment(photo, "faces+edges"), union)
    assert np.array_equal(regioncodec.segment(photo, "edges+faces"), union)
    assert union.mean() > regioncodec.segment(photo, "edges").mean()


@pytest.mark.parametrize("method", ALL_METHODS)
def test_masks_are_block_aligned(photo: np.ndarray, method: str) -> None:
    mask = regioncodec.segment(photo, method, block_size=32)
    blocks = mask.reshape(24, 32, 16, 32)
    assert np.array_equal(blocks.all(axis=(1, 3)), blocks.any(axis=(1, 3)))


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (3, 2000), (2000, 3, 3), (64, 64, 3)])
def test_constant_and_tiny_images_have_no_foreground(method: str, shape: tuple[int, ...]) -> None:
    mask = regioncodec.segment(np.full(shape, 77, np.uint8), method)
    assert mask.shape == shape[:2] and not mask.any()


@pytest.mark.parametrize("method", ALL_METHODS)
def test_a_blank_page_has_no_foreground(method: str) -> None:
    assert not regioncodec.segment(blank_page(), method).any()


@pytest.mark.parametrize("method", ALL_METHODS)
def test_noise_of_a_huge_aspect_ratio_segments(method: str) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (2, 20000, 3), dtype=np.uint8)
    assert regioncodec.segment(noise, method, segmentation=SegmentOptions(fraction=0.5)).shape == (2, 20000)


def test_an_image_of_no_pixels_is_refused() -> None:
    with pytest.raises(InputError, match="1..65500"):
        regioncodec.segment(np.zeros((0, 5, 3), np.uint8))


def test_threshold_override_orders_the_masks(photo: np.ndarray) -> None:
    options = [SegmentOptions(threshold=t, kernel=1) for t in (0.0, 0.1, 0.3, 1.0)]
    masks = [regioncodec.segment(photo, segmentation=o) for o in options]
    shares = [m.mean() for m in masks]
    assert shares[0] > shares[1] > shares[2] > shares[3] == 0
    assert all((later <= earlier).all() for earlier, later in zip(masks, masks[1:], strict=False))


@pytest.mark.parametrize("method", ["edges", "saliency"])
@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6])
def test_fraction_is_reached(photo: np.ndarray, method: str, fraction: float) -> None:
    mask = regioncodec.segment(photo, method, segmentation=SegmentOptions(fraction=fraction, margin=16))
    assert mask.mean() == pytest.approx(fraction, abs=0.02)


def test_fraction_bounds(photo: np.ndarray) -> None:
    assert not regioncodec.segment(photo, segmentation=SegmentOptions(fraction=0.0)).any()
    assert regioncodec.segment(photo, segmentation=SegmentOptions(fraction=1.0)).all()


def _two_patches(small: int, large: int) -> np.ndarray:
    """A flat grey image with two noisy square patches, small x small and large x large pixels."""
    image = np.full((384, 512), 128, np.uint8)
    rng = np.random.default_rng(9)
    for top, left, side in ((32, 32, small), (160, 224, large)):
        image[top : top + side, left : left + side] = rng.integers(0, 256, (side, side), dtype=np.uint8)
    return image


def test_kernel_removes_specks_and_one_turns_it_off() -> None:
    image = _two_patches(16, 96)
    assert not regioncodec.segment(image)[32:48, 32:48].any()
    assert regioncodec.segment(image, segmentation=SegmentOptions(kernel=1))[32:48, 32:48].all()
    assert not regioncodec.segment(image, segmentation=SegmentOptions(kernel=7))[160:256, 224:320].any()


def test_min_area_drops_small_regions() -> None:
    image = _two_patches(48, 96)
    both = regioncodec.segment(image)
    assert both[32:80, 32:80].all() and both[160:256, 224:320].all()
    large_only = regioncodec.segment(image, segmentation=SegmentOptions(min_area=0.02))  # 48^2 is 1.2% of the frame
    assert not large_only[32:80, 32:80].any() and np.array_equal(large_only[128:], both[128:])


@pytest.mark.parametrize("margin, blocks", [(1, 1), (16, 1), (17, 2)])
def test_margin_grows_by_whole_blocks(margin: int, blocks: int) -> None:
    image = _two_patches(16, 96)
    plain = regioncodec.segment(image)
    grown = regioncodec.segment(image, segmentation=SegmentOptions(margin=margin))
    size = 16 * (6 + 2 * blocks)
    expected = np.zeros_like(plain)
    expected[160 - 16 * blocks :][:size, 224 - 16 * blocks :][:, :size] = True
    assert plain[160:256, 224:320].all() and plain.sum() == 96 * 96
    assert np.array_equal(grown, expected)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"threshold": 1.5}, "threshold must be a number from 0 to 1, not 1.5"),
        ({"threshold": float("nan")}, "threshold"),
        ({"fraction": -0.1}, "fraction"),
        ({"fraction": "half"}, "fraction"),
        ({"threshold": 0.2, "fraction": 0.3}, "not both"),
        ({"kernel": 4}, "kernel must be an odd integer"),
        ({"kernel": 0}, "kernel"),
        ({"kernel": True}, "kernel"),
        ({"min_area": 2}, "min_area"),
        ({"margin": -1}, "margin"),
        ({"margin": 1.5}, "margin"),
        ({"clusters": 1}, "clusters must be an integer from 2 to 16, not 1"),
        ({"clusters": 17}, "clusters"),
    ],
)
def test_bad_controls_raise_input_error(options: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        SegmentOptions(**options)


def test_options_must_be_segment_options() -> None:
    with pytest.raises(OptionError, match="SegmentOptions"):
        regioncodec.segment(np.zeros((8, 8), np.uint8), segmentation={"margin": 3})  # type: ignore[arg-type]


def test_options_do_not_apply_to_a_given_mask(photo: np.ndarray) -> None:
    with pytest.raises(OptionError, match="a mask is used as it is: segmentation cannot apply"):
        regioncodec.encode(photo, mask=np.ones(photo.shape[:2], bool), segmentation=SegmentOptions(margin=16))


def test_encode_codes_what_segment_picks(photo: np.ndarray) -> None:
    options = SegmentOptions(fraction=0.25)
    data = regioncodec.encode(photo, method="saliency", segmentation=options)
    picked = regioncodec.segment(photo, "saliency", segmentation=options, subjects=True)
    assert np.array_equal(regioncodec.read_mask(data), picked)


@pytest.mark.parametrize("method", ["magic", "edges+magic", "faces+", ""])
def test_unknown_method_lists_the_valid_ones(method: str) -> None:
    valid = "choose from edges, threshold, kmeans, saliency, faces, or join several with \\+"
    with pytest.raises(InputError, match=f"unknown segmentation method '{method.split('+')[-1]}'; {valid}"):
        regioncodec.segment(np.zeros((8, 8), np.uint8), method=method)


def test_preview_dims_the_background_and_outlines_the_foreground(photo: np.ndarray) -> None:
    mask = np.zeros(photo.shape[:2], bool)
    mask[200:400, 100:300] = True
    picture = regioncodec.preview(photo, mask)
    assert picture.shape == photo.shape and picture.dtype == np.uint8
    assert np.array_equal(picture[250:350, 150:250], photo[250:350, 150:250])
    assert (picture[~mask].astype(int) <= photo[~mask]).all() and picture[~mask].mean() < 0.5 * photo[~mask].mean()
    assert (picture[200, 100:300] == (255, 200, 0)).all() and (picture[300, 100] == (255, 200, 0)).all()
    grey = regioncodec.preview(photo[..., 1], mask)
    assert grey.shape == photo.shape


def test_preview_checks_the_mask_size(photo: np.ndarray) -> None:
    with pytest.raises(InputError, match="mask is 5x5 but the image is 512x768"):
        regioncodec.preview(photo, np.zeros((5, 5), bool))


def test_subjects_get_a_middle_region_with_two_levels_and_rise_to_the_nearest_level_with_more() -> None:
    """plan.with_subjects: subject blocks leave the lowest level; the foreground is never lowered."""
    from regioncodec.plan import with_subjects

    block_map = np.array([[0, 0, 1], [0, 0, 1]], np.uint8)
    subjects = np.array([[True, False, True], [False, False, False]])
    lifted, qualities = with_subjects(block_map, [30, 90], subjects)
    assert qualities == [30, 60, 90] and lifted.tolist() == [[1, 0, 2], [0, 0, 2]]
    assert with_subjects(block_map, [30, 90], np.zeros_like(subjects))[1] == [30, 90]  # none: no region added
    three = np.array([[0, 1, 2], [0, 0, 2]], np.uint8)
    lifted, qualities = with_subjects(three, [30, 50, 90], np.ones_like(subjects))
    assert qualities == [30, 50, 90] and lifted.tolist() == [[1, 1, 2], [1, 1, 2]]
