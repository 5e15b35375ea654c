"""Perceptual quality of a decoded picture: SSIMULACRA2 (here, vectorised) and Butteraugli (libjxl's binary).

regioncodec is judged on whole-picture perceptual quality against uniform JPEG,
WebP and AVIF at equal bytes, and PSNR rewards the wrong things (blur, a
background that is merely close on average). SSIMULACRA2 and Butteraugli are
the metrics the JPEG XL work tuned against subjective scores.

`ssimulacra2` is SSIMULACRA 2.1 (libjxl's tools/ssimulacra2.cc): sRGB to
linear RGB to a rescaled XYB, six scales made by 2x2 box averages in linear
RGB, and per scale and channel an SSIM error map and two edge maps (ringing,
blurring), pooled by 1-norm and 4-norm into 108 figures that 108 published
weights and a fitted curve turn into a score: 100 for identical pictures,
about 90 visually lossless, 70 high, 50 medium, 30 low quality; it can fall
below 0. Its two published implementations disagree (by up to 3 points on
768x512 photographs, 25 on small pictures) through their blur window, blur
border and scale count, so both are here: ``variant="pypi"`` (the default)
agrees with the PyPI package ``ssimulacra2`` to 1e-9, ``variant="libjxl"``
with libjxl's C++ tool to about 0.02 (0.5 at worst; that tool's float32
recursive blur is itself noisy at that level). benchmarks/check_perceptual.py
measures both. It runs on OpenCV's separable filters and whole-array numpy,
in float64: in float32 the local variances, blur(x^2) - blur(x)^2, lose
enough digits in smooth areas to move scores by up to 2e-3.

`butteraugli` runs libjxl's ``butteraugli_main`` (Debian: libjxl-devtools) on
temporary PNG files and reads its two figures.

Both take a region of interest, ``where``: the score of the picture in which
every pixel outside ``where`` is the reference's, so only errors inside count
(through each metric's blur they still weigh a few pixels beyond its edge).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError, RegionCodecError
from .planes import to_rgb

# The 108 weights of SSIMULACRA 2.1, libjxl tools/ssimulacra2.cc Msssim::Score (identical in the PyPI
# package), indexed [channel X, Y, B][scale 1:1 .. 1:32][norm 1, 4][map SSIM, ringing, blurring]; a row per norm.
_WEIGHTS = np.array(
    [
        [0.0, 0.0007376606707406586, 0.0],  # X 1:1 1-norm
        [0.0, 0.0007793481682867309, 0.0],  # X 1:1 4-norm
        [0.0, 0.0004371155730107379, 0.0],  # X 1:2 1-norm
        [1.1041726426657346, 0.00066284834129271, 0.00015231632783718752],  # X 1:2 4-norm
        [0.0, 0.0016406437456599754, 0.0],  # X 1:4 1-norm
        [1.8422455520539298, 11.441172603757666, 0.0],  # X 1:4 4-norm
        [0.0007989109436015163, 0.000176816438078653, 0.0],  # X 1:8 1-norm
        [1.8787594979546387, 10.94906990605142, 0.0],  # X 1:8 4-norm
        [0.0007289346991508072, 0.9677937080626833, 0.0],  # X 1:16 1-norm
        [0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053],  # X 1:16 4-norm
        [0.0004550992113792063, 0.0, 0.0],  # X 1:32 1-norm
        [0.0013648766163243398, 0.0, 0.0],  # X 1:32 4-norm
        [0.0, 0.0, 0.0],  # Y 1:1 1-norm
        [7.466890328078848, 0.0, 17.445833984131262],  # Y 1:1 4-norm
        [0.0006235601634041466, 0.0, 0.0],  # Y 1:2 1-norm
        [6.683678146179332, 0.00037724407979611296, 1.027889937768264],  # Y 1:2 4-norm
        [225.20515300849274, 0.0, 0.0],  # Y 1:4 1-norm
        [19.213238186143016, 0.0011401524586618361, 0.001237755635509985],  # Y 1:4 4-norm
        [176.39317598450694, 0.0, 0.0],  # Y 1:8 1-norm
        [24.43300999870476, 0.28520802612117757, 0.0004485436923833408],  # Y 1:8 4-norm
        [0.0, 0.0, 0.0],  # Y 1:16 1-norm
        [34.77906344483772, 44.835625328877896, 0.0],  # Y 1:16 4-norm
        [0.0, 0.0, 0.0],  # Y 1:32 1-norm
        [0.0, 0.0, 0.0],  # Y 1:32 4-norm
        [0.0, 0.0008680556573291698, 0.0],  # B 1:1 1-norm
        [0.0, 0.0, 0.0],  # B 1:1 4-norm
        [0.0, 0.0005313191874358747, 0.0],  # B 1:2 1-norm
        [0.00016533814161379112, 0.0, 0.0],  # B 1:2 4-norm
        [0.0, 0.0, 0.0],  # B 1:4 1-norm
        [0.0004179171803251336, 0.0017290828234722833, 0.0],  # B 1:4 4-norm
        [0.0020827005846636437, 0.0, 0.0],  # B 1:8 1-norm
        [8.826982764996862, 23.19243343998926, 0.0],  # B 1:8 4-norm
        [95.1080498811086, 0.9863978034400682, 0.9834382792465353],  # B 1:16 1-norm
        [0.0012286405048278493, 171.2667255897307, 0.9807858872435379],  # B 1:16 4-norm
        [0.0, 0.0, 0.0],  # B 1:32 1-norm
        [0.0005130064588990679, 0.0, 0.00010854057858411537],  # B 1:32 4-norm
    ]
).reshape(3, 6, 2, 3)

SCALES = 6  # 1:1 to 1:32, as libjxl
MIN_SIDE = 8  # px: a scale narrower or shorter than this is not measured; with no scale at all the score is 100
SSIM_C2 = 0.0009  # SSIMULACRA 2.1's constant in the structure term (there is no luminance constant in 2.1)
BLUR_SIGMA = 1.5  # px: the Gaussian window of the SSIM statistics, as libjxl
# The PyPI package truncates its Gaussian at 3.33 sigma (scipy's truncate): radius int(3.33 * 1.5 + 0.5) = 5;
# libjxl's recursive Gaussian reaches 4 (its N = round(3.2795 * 1.5 + 0.2546) = 5, with zero end taps).
BLUR_RADIUS = 5
STRIP = 64  # rows measured at a time: a strip's planes stay in cache (fastest of 32..256 here); memory is bounded

# Opsin absorbance of libjxl (lib/jxl/cms/opsin_params.h): linear RGB to LMS-like mixes, plus a bias that keeps
# the cube root off its steep start.
_OPSIN_BIAS = 0.0037930732552754493
_OPSIN = np.array(
    [
        [0.30, 1.0 - 0.078 - 0.30, 0.078],
        [0.23, 1.0 - 0.078 - 0.23, 0.078],
        [0.24342268924547819, 0.20476744424496821, 1.0 - 0.24342268924547819 - 0.20476744424496821],
    ]
)
# Cube-rooted mixes (c0, c1, c2) to SSIMULACRA2's positive XYB, in one affine map: X = (c0 - c1) / 2, Y = (c0 + c1)
# / 2 - cbrt(bias), B = c2 - cbrt(bias); then MakePositiveXYB: X * 14 + 0.42, Y + 0.01, (B - Y) + 0.55.
_CBRT_BIAS = float(np.cbrt(_OPSIN_BIAS))
_TO_POSITIVE_XYB = np.array(
    [
        [7.0, -7.0, 0.0, 0.42],
        [0.5, 0.5, 0.0, 0.01 - _CBRT_BIAS],
        [-0.5, -0.5, 1.0, 0.55],
    ]
)


def _srgb_to_linear_table() -> np.ndarray:
    """The 256 linear-light values of the 8-bit sRGB codes (IEC 61966-2-1)."""
    v = np.arange(256) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


_LINEAR = _srgb_to_linear_table()


def _sampled_gaussian() -> np.ndarray:
    """The PyPI package's window: the sampled Gaussian of BLUR_SIGMA over +-BLUR_RADIUS, normalised."""
    x = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1)
    k = np.exp(-0.5 * (x / BLUR_SIGMA) ** 2)
    return k / k.sum()


def _recursive_gaussian() -> np.ndarray:
    """libjxl's window: the impulse response of its recursive Gaussian of BLUR_SIGMA, over +-BLUR_RADIUS.

    libjxl (tools/gauss_blur.cc) blurs with the recursive filter of
    Charalampidis, "Recursive implementation of the Gaussian filter using
    truncated cosine functions" (IEEE TSP, 2016): three truncated cosines,
    each run as a two-pole recursion fed by in[n - N - 1] + in[n + N - 1].
    Its impulse response is finite (9 taps for sigma 1.5) and, once known,
    is applied here as an ordinary kernel.
    """
    n = round(3.2795 * BLUR_SIGMA + 0.2546)  # the paper's (57)
    omega = np.pi / (2 * n) * np.array([1.0, 3.0, 5.0])
    p = np.array([1.0, -1.0, 1.0]) / np.tan(omega / 2)  # (37)
    r = np.array([1.0, -1.0, 1.0]) * p * p / np.sin(omega)  # (44)
    rho = np.exp(-0.5 * BLUR_SIGMA**2 * omega**2) / n  # (50)
    d = [p[i] * r[j] - r[i] * p[j] for i, j in ((0, 1), (1, 2), (2, 0))]  # (52): D13, D35, D51
    zeta = np.array([d[1] / d[0], d[2] / d[0], 1.0])
    gamma = np.array([1.0, n * n - BLUR_SIGMA**2, zeta @ rho])  # (55)
    beta = np.linalg.solve(np.array([p, r, zeta]), gamma)  # (53)
    gain, feedback = -beta * np.cos(omega * (n + 1)), 2 * np.cos(omega)  # (33)
    impulse = np.zeros(4 * n + 1)
    impulse[2 * n] = 1.0
    response, previous, before = np.zeros_like(impulse), np.zeros(3), np.zeros(3)
    for i in range(-n + 1, impulse.size):  # out[i] needs in[i - n - 1] and in[i + n - 1], zero outside
        drive = sum(impulse[j] for j in (i - n - 1, i + n - 1) if 0 <= j < impulse.size)
        previous, before = gain * drive + feedback * previous - before, previous
        if i >= 0:
            response[i] = previous.sum()
    return response[n : 3 * n + 1]


@dataclass(frozen=True)
class _Variant:
    """What differs between the two published SSIMULACRA2 implementations."""

    kernel: np.ndarray  # the blur window, 2 * BLUR_RADIUS + 1 taps
    border: int  # OpenCV's border past the top and bottom; past the left and right it is always 0
    halve_first: bool  # halve, then check MIN_SIDE (PyPI), or check the last scale, then halve (libjxl)


VARIANTS = {
    # The PyPI package ssimulacra2: its zero border falls left and right because it works on the transposed image.
    "pypi": _Variant(_sampled_gaussian(), cv2.BORDER_REFLECT, halve_first=True),
    # libjxl's tools/ssimulacra2 (C++): its recursive blur reads zeros past every edge.
    "libjxl": _Variant(_recursive_gaussian(), cv2.BORDER_CONSTANT, halve_first=False),
}


def ssimulacra2(
    reference: np.ndarray, distorted: np.ndarray, where: np.ndarray | None = None, *, variant: str = "pypi"
) -> float:
    """SSIMULACRA2 score of distorted against reference (uint8 H x W grey or H x W x 3 RGB, same shape).

    100 means identical. A grey image counts as RGB with R = G = B. A scale is
    measured only if it (variant "pypi") or the scale before it ("libjxl") is
    at least MIN_SIDE (8) pixels both ways, so a picture under 8 pixels
    either way scores 100: no scale, no error (libjxl's command refuses it).

    variant "pypi" (default) is the PyPI package ssimulacra2 0.3, to 1e-9;
    "libjxl" is libjxl's C++ tool, which blurs with another window and
    border: to about 0.02 at low and middle quality, 0.5 at worst at high
    quality, where libjxl's float32 recursive blur is itself that noisy. On
    768x512 photographs the two differ by up to 3 points; on pictures under
    256 pixels a side by up to 25, as they count scales differently.

    With ``where`` (boolean H x W, True = region of interest), the score is the
    SSIMULACRA2 of the picture made of distorted inside ``where`` and reference
    outside it: errors outside the region are left out, and the region is
    still judged in its whole-picture context (pooling is over all pixels, so
    a small region's errors weigh in proportion to its size).
    """
    if variant not in VARIANTS:
        raise InputError(f"variant must be one of {sorted(VARIANTS)}, not {variant!r}")
    chosen = VARIANTS[variant]
    reference, distorted = _pair(reference, distorted, where)
    img1, img2 = _linear_rgb(reference), _linear_rgb(distorted)
    norms = []
    for scale in range(SCALES):
        if scale and chosen.halve_first:
            img1, img2 = _half(img1), _half(img2)
        if min(img1.shape[:2]) < MIN_SIDE:
            break
        if scale and not chosen.halve_first:
            img1, img2 = _half(img1), _half(img2)
        norms.append(_scale_norms(img1, img2, chosen))
    return _score(np.stack(norms, axis=1)) if norms else 100.0


def _pair(reference: np.ndarray, distorted: np.ndarray, where: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Both images as uint8 H x W x 3, with distorted taken from reference outside where; refuses bad input."""
    for name, image in (("reference", reference), ("distorted", distorted)):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise InputError(f"{name} must be a uint8 numpy array, not {getattr(image, 'dtype', type(image))}")
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or 0 in image.shape:
            raise InputError(f"{name} must be H x W grey or H x W x 3 RGB, not of shape {image.shape}")
    if reference.shape != distorted.shape:
        raise InputError(f"reference {reference.shape} and distorted {distorted.shape} differ in shape")
    if where is not None:
        distorted = _in_region(reference, distorted, where)
    return to_rgb(reference), to_rgb(distorted)


def _in_region(reference: np.ndarray, distorted: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Distorted inside where, reference outside it."""
    mask = np.asarray(where)
    if mask.shape != reference.shape[:2]:
        raise InputError(f"where must be H x W {reference.shape[:2]}, not of shape {mask.shape}")
    mask = mask.astype(bool, copy=False)
    return np.where(mask[..., None] if reference.ndim == 3 else mask, distorted, reference)


def _linear_rgb(image: np.ndarray) -> np.ndarray:
    """Linear-light RGB of 8-bit sRGB, by table."""
    return cv2.LUT(np.ascontiguousarray(image), _LINEAR)


def _positive_xyb(linear: np.ndarray) -> list[np.ndarray]:
    """The X, Y and B planes of SSIMULACRA2's XYB of linear RGB, moved into about 0..1 (libjxl's MakePositiveXYB)."""
    mixed = cv2.transform(linear, np.hstack([_OPSIN, np.full((3, 1), _OPSIN_BIAS)]))
    np.maximum(mixed, 0, out=mixed)
    np.cbrt(mixed, out=mixed)
    return list(cv2.split(cv2.transform(mixed, _TO_POSITIVE_XYB)))


def _half(image: np.ndarray) -> np.ndarray:
    """Image at half size by 2x2 means; an odd last row or column is averaged with a copy of itself."""
    h, w = image.shape[:2]
    if h % 2 or w % 2:
        image = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return cv2.resize(image, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)


class _Blur:
    """A variant's Gaussian blur of float64 planes; zero past the left and right edges.

    One buffer with BLUR_RADIUS zero columns left and right is reused, so one
    OpenCV call does each blur.
    """

    def __init__(self, rows: int, columns: int, variant: _Variant) -> None:
        """A zeroed buffer for planes of up to rows x columns."""
        self.buffer = np.zeros((rows, columns + 2 * BLUR_RADIUS), np.float64)
        self.variant = variant

    def of_product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Blur of a * b."""
        np.multiply(a, b, out=self.buffer[: a.shape[0], BLUR_RADIUS:-BLUR_RADIUS])
        return self._run(a.shape[0])

    def of(self, a: np.ndarray) -> np.ndarray:
        """Blur of a."""
        self.buffer[: a.shape[0], BLUR_RADIUS:-BLUR_RADIUS] = a
        return self._run(a.shape[0])

    def _run(self, rows: int) -> np.ndarray:
        """Blur of the buffer's first rows."""
        kernel, border = self.variant.kernel, self.variant.border
        out = cv2.sepFilter2D(self.buffer[:rows], -1, kernel, kernel, borderType=border)
        return out[:, BLUR_RADIUS:-BLUR_RADIUS]


def _scale_norms(linear1: np.ndarray, linear2: np.ndarray, variant: _Variant) -> np.ndarray:
    """The 18 pooled errors of one scale (linear RGB), indexed [channel][norm 1, 4][map SSIM, ringing, blurring].

    Measured STRIP rows at a time, each with BLUR_RADIUS rows of context above
    and below, so the result is exact and the working planes stay small.
    """
    h, w = linear1.shape[:2]
    blur = _Blur(min(h, STRIP + 2 * BLUR_RADIUS), w, variant)
    sums = np.zeros((3, 2, 3))  # [channel][sum of e, sum of e^4][map]
    for top in range(0, h, STRIP):
        rows = slice(max(top - BLUR_RADIUS, 0), min(top + STRIP + BLUR_RADIUS, h))
        keep = slice(top - rows.start, min(top + STRIP, h) - rows.start)
        planes1, planes2 = _positive_xyb(linear1[rows]), _positive_xyb(linear2[rows])
        for channel in range(3):
            sums[channel] += _channel_sums(blur, planes1[channel], planes2[channel], keep)
    sums /= h * w
    sums[:, 1] **= 0.25
    return sums


def _channel_sums(blur: _Blur, img1: np.ndarray, img2: np.ndarray, keep: slice) -> np.ndarray:
    """Sums of error and error^4 of one plane's rows keep: [sum of e, of e^4][map SSIM, ringing, blurring]."""
    mu1, mu2 = blur.of(img1)[keep], blur.of(img2)[keep]
    ringing, blurring = _edge_errors(img1[keep], mu1, img2[keep], mu2)
    edge_sums = _sums(ringing), _sums(blurring)
    s11, s22, s12 = (blur.of_product(a, b)[keep] for a, b in ((img1, img1), (img2, img2), (img1, img2)))
    return np.stack([_sums(_ssim_error(mu1, mu2, s11, s22, s12)), *edge_sums], axis=-1)


def _sums(error: np.ndarray) -> np.ndarray:
    """The sum of an error map and the sum of its fourth powers."""
    squared = cv2.multiply(error, error)
    return np.array([cv2.sumElems(error)[0], cv2.norm(squared, cv2.NORM_L2SQR)])


def _ssim_error(mu1: np.ndarray, mu2: np.ndarray, s11: np.ndarray, s22: np.ndarray, s12: np.ndarray) -> np.ndarray:
    """1 - SSIM' per pixel, clipped at 0: SSIMULACRA 2.1's SSIM, whose mean term is 1 - (mu1 - mu2)^2.

    Works in place, overwriting s11, s22 and s12, in the reference's order of
    operations, so that identical pictures give exactly 0.
    """
    num_s = s12
    num_s -= mu1 * mu2
    num_s *= 2
    num_s += SSIM_C2  # 2 sigma12 + C2
    denom = s11
    denom -= mu1 * mu1
    s22 -= mu2 * mu2
    denom += s22
    denom += SSIM_C2  # sigma1^2 + sigma2^2 + C2
    diff: np.ndarray = cv2.subtract(mu1, mu2, dst=s22)
    diff *= diff
    np.subtract(1, diff, out=diff)  # the mean term
    diff *= num_s
    diff /= denom
    np.subtract(1, diff, out=diff)
    return np.maximum(diff, 0, out=diff)


def _edge_errors(img1: np.ndarray, mu1: np.ndarray, img2: np.ndarray, mu2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ringing (edges in distorted where reference is smooth) and blurring (the reverse) per pixel."""
    edge1: np.ndarray = cv2.absdiff(img1, mu1)
    ratio: np.ndarray = cv2.absdiff(img2, mu2)
    ratio += 1
    edge1 += 1
    ratio /= edge1
    ratio -= 1  # > 0: ringing, blockiness, banding; < 0: smoothing, blurring
    blurring = np.negative(ratio, out=edge1)
    np.maximum(blurring, 0, out=blurring)
    return np.maximum(ratio, 0, out=ratio), blurring


# The fitted curve from the weighted sum to the score, libjxl tools/ssimulacra2.cc Msssim::Score.
_SCORE_SCALE = 0.9562382616834844
_SCORE_POLY = (2.326765642916932, -0.020884521182843837, 6.248496625763138e-05)  # x, x^2, x^3
_SCORE_EXPONENT = 0.6276336467831387


def _score(norms: np.ndarray) -> float:
    """The score from the pooled errors [channel][scale][norm][map] of the scales measured.

    With fewer than six scales the reference (libjxl and the PyPI package
    alike) takes the weights in order from the start of the list, not those
    of the scales measured: channel Y then gets weights tuned for X's coarser
    scales. That is the published behaviour, so it is kept.
    """
    weights = _WEIGHTS.ravel()[: norms.size].reshape(norms.shape)
    total = float(np.sum(weights * np.abs(norms))) * _SCORE_SCALE
    a, b, c = _SCORE_POLY
    total = total * (a + total * (b + total * c))
    return 100.0 - 10.0 * total**_SCORE_EXPONENT if total > 0 else 100.0


BUTTERAUGLI_BINARY = "butteraugli_main"  # libjxl's tool; Debian and Ubuntu ship it in libjxl-devtools
_PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # the files live for one call: spend no time compressing them
# butteraugli_main prints the largest distance on a line of its own, then "3-norm: <value>".
_MAX_LINE = re.compile(r"^\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$", re.MULTILINE)
_PNORM_LINE = re.compile(r"^\s*3-norm:\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Butteraugli:
    """Butteraugli distances: the largest over the pixels, and the 3-norm of them (about 1 = just noticeable)."""

    max_distance: float
    pnorm3: float


def butteraugli_available() -> bool:
    """Whether libjxl's butteraugli_main is on PATH."""
    return shutil.which(BUTTERAUGLI_BINARY) is not None


def butteraugli(reference: np.ndarray, distorted: np.ndarray, where: np.ndarray | None = None) -> Butteraugli:
    """Butteraugli distances of distorted from reference (uint8 H x W grey or H x W x 3 RGB, same shape).

    0 means identical; libjxl's butteraugli_main reports 0 for pictures under 8
    pixels either way. With ``where`` (boolean H x W, True = region of
    interest), the distances are those of the picture made of distorted
    inside ``where`` and reference outside it, so errors outside the region
    are left out. Runs butteraugli_main on temporary PNG files (about 0.5 s
    for 768x512); raises RegionCodecError if it is missing or fails.
    """
    reference, distorted = _pair(reference, distorted, where)
    binary = shutil.which(BUTTERAUGLI_BINARY)
    if binary is None:
        raise RegionCodecError(
            f"butteraugli needs libjxl's {BUTTERAUGLI_BINARY} on PATH: apt-get install libjxl-devtools"
        )
    with tempfile.TemporaryDirectory(prefix="regioncodec-butteraugli-") as folder:
        paths = [Path(folder) / "reference.png", Path(folder) / "distorted.png"]
        for path, image in zip(paths, (reference, distorted), strict=True):
            _write_png(path, image)
        run = subprocess.run([binary, *map(str, paths), "--pnorm", "3"], capture_output=True, text=True, check=False)
    if run.returncode:
        raise RegionCodecError(f"{BUTTERAUGLI_BINARY} failed (exit {run.returncode}): {run.stderr.strip()[-500:]}")
    return _parse_butteraugli(run.stdout)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as a quickly compressed PNG (no colour profile: read as sRGB)."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), _PNG_FAST)
    if not ok:
        raise RegionCodecError(f"could not encode a {rgb.shape} image as PNG for {BUTTERAUGLI_BINARY}")
    path.write_bytes(data.tobytes())


def _parse_butteraugli(output: str) -> Butteraugli:
    """The two distances from butteraugli_main's standard output."""
    largest, pnorm = _MAX_LINE.search(output), _PNORM_LINE.search(output)
    if largest is None or pnorm is None:
        raise RegionCodecError(f"unexpected output from {BUTTERAUGLI_BINARY}: {output.strip()[:500]!r}")
    return Butteraugli(max_distance=float(largest.group(1)), pnorm3=float(pnorm.group(1)))
