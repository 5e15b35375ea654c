"""Rate-distortion reports: regioncodec against uniform codecs at equal bytes.

Each peer codes the whole image at the highest quality whose file is no
larger than ours; both are then measured inside the foreground, in the
background and overall (PSNR and SSIM). `rcodec bench` and the benchmarks
use this module, so a figure means the same wherever it is printed.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import BinaryIO

import numpy as np
from PIL import Image

from . import api
from .metrics import boundary_band, psnr, seam_step, ssim
from .planes import to_rgb
from .settings import EncodeSettings

PEERS = ("jpeg", "jpegli", "webp", "avif")  # jpeg is libjpeg-turbo through Pillow; jpegli needs pyjpegli
BASELINE_QUALITY = 90  # speed is reported against one Pillow JPEG encode/decode at this quality


@dataclass(frozen=True)
class Row:
    """One coder's result on one image."""

    image: str
    coder: str
    quality: str
    bytes: int
    bpp: float
    psnr_fg: float
    psnr_bg: float
    psnr_all: float
    ssim_fg: float
    ssim_bg: float
    ssim_all: float
    psnr_band: float  # within 8 px of the foreground's border
    seam_step: float  # squared error of steps across the border (lower is better)
    encode_ratio: float
    decode_ratio: float


def peer_available(peer: str) -> bool:
    """Whether this machine can code peer (jpegli needs the optional pyjpegli; AVIF a Pillow with it)."""
    if peer == "jpegli":
        try:
            import pyjpegli  # noqa: F401
        except ImportError:
            return False
        return True
    from PIL import features

    return peer == "jpeg" or bool(features.check(peer))


def peer_encode(image: np.ndarray, peer: str, quality: int) -> bytes:
    """image coded uniformly by peer at quality, with the peer's default effort."""
    rgb = to_rgb(image)
    if peer == "jpegli":
        import pyjpegli

        return bytes(pyjpegli.encode(rgb.tobytes(), rgb.shape[1], rgb.shape[0], quality))
    out = io.BytesIO()
    options = {"optimize": True} if peer == "jpeg" else {}
    Image.fromarray(rgb).save(out, peer.upper(), quality=quality, **options)
    return out.getvalue()


def pillow_decode(data: bytes) -> np.ndarray:
    """Any picture Pillow reads, as RGB (without a copy when it is RGB already, so it times as a bare decode)."""
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture if picture.mode == "RGB" else picture.convert("RGB"))


def at_most(size: int, encode: Callable[[int], bytes]) -> tuple[int, bytes] | None:
    """The highest quality 1..100 whose output fits size bytes: bisection, then a look just above, as sizes are not
    always monotonic in quality; None if even quality 1 does not fit."""
    low, high, best = 1, 100, None
    while low <= high:
        middle = (low + high) // 2
        data = encode(middle)
        if len(data) <= size:
            best, low = (middle, data), middle + 1
        else:
            high = middle - 1
    start = best[0] if best else 0
    for quality in range(start + 1, min(start + 4, 101)):
        data = encode(quality)
        if len(data) <= size:
            best = (quality, data)
    return best


def compare(
    name: str, image: np.ndarray, mask: np.ndarray, settings: EncodeSettings, peers: Iterable[str], repeat: int = 3
) -> list[Row]:
    """regioncodec with settings, then each peer at equal bytes, measured on mask (True = foreground)."""

    def encode_ours() -> bytes:
        return api.encode(image, settings, mask=mask)

    ours = encode_ours()
    speed = _speed_ratios(image, repeat)
    ratios = speed(encode_ours, lambda: api.decode(ours))
    rows = [_row(name, "regioncodec", _setting(settings), image, ours, api.decode(ours), mask, *ratios)]
    for peer in peers:
        found = at_most(len(ours), partial(peer_encode, image, peer))
        if found is None:
            continue
        quality, data = found
        ratios = speed(partial(peer_encode, image, peer, quality), partial(pillow_decode, data))
        rows.append(_row(name, peer, str(quality), image, data, pillow_decode(data), mask, *ratios))
    return rows


def csv_text(rows: list[Row]) -> str:
    """All rows as CSV, one column per Row field."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(Row)], lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    return out.getvalue()


def markdown(rows: list[Row]) -> str:
    """A markdown table of every row, then the mean foreground gain of regioncodec over each peer."""
    head = (
        "| image | coder | quality | bytes | bpp | PSNR fg | PSNR bg | PSNR all | SSIM fg | SSIM bg | SSIM all "
        "| PSNR band | seam step | enc x | dec x |"
    )
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        lines.append(
            f"| {r.image} | {r.coder} | {r.quality} | {r.bytes} | {r.bpp:.3f} | {r.psnr_fg:.2f} | {r.psnr_bg:.2f} "
            f"| {r.psnr_all:.2f} | {r.ssim_fg:.4f} | {r.ssim_bg:.4f} | {r.ssim_all:.4f} "
            f"| {r.psnr_band:.2f} | {r.seam_step:.1f} | {r.encode_ratio:.2f} | {r.decode_ratio:.2f} |"
        )
    lines += ["", "| peer | images | mean fg PSNR gain of regioncodec (dB) | mean fg SSIM gain |", "|---|---|---|---|"]
    for peer, gains in fg_gains(rows).items():
        lines.append(
            f"| {peer} | {len(gains)} | {np.mean([g[0] for g in gains]):+.2f} | {np.mean([g[1] for g in gains]):+.4f} |"
        )
    return "\n".join(lines) + "\n"


def fg_gains(rows: list[Row]) -> dict[str, list[tuple[float, float]]]:
    """Per peer, regioncodec's (PSNR, SSIM) gain inside the foreground on each image."""
    ours = {r.image: r for r in rows if r.coder == "regioncodec"}
    gains: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        if r.coder != "regioncodec":
            mine = ours[r.image]
            gains.setdefault(r.coder, []).append((mine.psnr_fg - r.psnr_fg, mine.ssim_fg - r.ssim_fg))
    return gains


def _row(
    name: str, coder: str, quality: str, image: np.ndarray, data: bytes, decoded: np.ndarray, mask: np.ndarray,
    encode_ratio: float, decode_ratio: float,
) -> Row:  # fmt: skip
    """Measure one decoded result."""
    decoded = _like(image, decoded)
    pixels = image.shape[0] * image.shape[1]
    return Row(
        name, coder, quality, len(data), 8 * len(data) / pixels,
        psnr(image, decoded, mask), psnr(image, decoded, ~mask), psnr(image, decoded),
        ssim(image, decoded, mask), ssim(image, decoded, ~mask), ssim(image, decoded),
        psnr(image, decoded, boundary_band(mask)), seam_step(image, decoded, mask),
        encode_ratio, decode_ratio,
    )  # fmt: skip


def _speed_ratios(
    image: np.ndarray, repeat: int
) -> Callable[[Callable[[], object], Callable[[], object]], tuple[float, float]]:
    """A timer of (encode, decode) as ratios to one Pillow JPEG encode and decode of image, each timed beside it."""
    baseline = peer_encode(image, "jpeg", BASELINE_QUALITY)

    def timer(encode: Callable[[], object], decode: Callable[[], object]) -> tuple[float, float]:
        encoded = paired_ratios(lambda: peer_encode(image, "jpeg", BASELINE_QUALITY), {"run": encode}, repeat)
        return encoded["run"], paired_ratios(lambda: pillow_decode(baseline), {"run": decode}, repeat)["run"]

    return timer


def paired_ratios(
    baseline: Callable[[], object], runs: dict[str, Callable[[], object]], repeat: int
) -> dict[str, float]:
    """Median over repeats of (time of each run / time of baseline measured just before it).

    Timing each run right next to its own baseline cancels most of what a
    shared machine does to absolute times between one moment and the next.
    """
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            baseline()
            middle = time.perf_counter()
            run()
            ratios[name].append((time.perf_counter() - middle) / (middle - start))
    return {name: statistics.median(values) for name, values in ratios.items()}


def _setting(settings: EncodeSettings) -> str:
    """Our settings as a short label: the qualities, then whatever differs from the defaults."""
    low, high = settings.qualities
    extras = [
        f"{f.name}={getattr(settings, f.name)}"
        for f in fields(settings)
        if f.name not in ("fg_quality", "bg_quality") and getattr(settings, f.name) != f.default
    ]
    return " ".join([f"{high}/{low}", *extras])


SWEEP = (20, 30, 40, 50, 60, 70, 80, 90, 95)  # qualities the RD curves are drawn through


def rd_curves(
    image: np.ndarray, mask: np.ndarray, settings: EncodeSettings, peers: Iterable[str]
) -> dict[str, list[tuple[float, float]]]:
    """(bpp, fg PSNR) points per coder over SWEEP: ours sweeping the fg quality, each peer its uniform quality."""
    pixels = image.shape[0] * image.shape[1]
    curves: dict[str, list[tuple[float, float]]] = {"regioncodec": []}
    low = settings.qualities[0]
    for quality in SWEEP:
        data = api.encode(image, settings, mask=mask, fg_quality=quality, bg_quality=min(low, quality))
        curves["regioncodec"].append((8 * len(data) / pixels, psnr(image, api.decode(data), mask)))
    for peer in peers:
        points = []
        for quality in SWEEP:
            data = peer_encode(image, peer, quality)
            points.append((8 * len(data) / pixels, psnr(image, _like(image, pillow_decode(data)), mask)))
        curves[peer] = points
    return curves


def plot_curves(curves: dict[str, list[tuple[float, float]]], title: str, out: BinaryIO) -> None:
    """Draw RD curves as a PNG into out (needs matplotlib: pip install 'regioncodec[report]')."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 4.5), dpi=100)
    for coder, points in curves.items():
        bpp, quality = zip(*sorted(points), strict=True)
        axes.plot(bpp, quality, marker="o", markersize=3, linewidth=2 if coder == "regioncodec" else 1, label=coder)
    axes.set(xlabel="bits per pixel (whole image)", ylabel="PSNR inside the foreground (dB)", title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out, format="png")
    pyplot.close(figure)


def _like(image: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """decoded (RGB) in image's mode."""
    return decoded[..., 0] if image.ndim == 2 and decoded.ndim == 3 else decoded
