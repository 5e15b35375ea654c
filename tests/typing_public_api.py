"""Type-checked by `make lint`: the public API, used as a user would use it.

Not a pytest module (its name does not start with test_); it fails lint if the
package stops shipping types (py.typed) or a public signature loses them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import regioncodec


def round_trip(image: np.ndarray) -> np.ndarray:
    data: bytes = regioncodec.encode(image, fg_quality=90, bg_quality=30, method="edges", block_size=16, strip=True)
    info: regioncodec.Info = regioncodec.read_info(data)
    metadata: regioncodec.Metadata = regioncodec.read_metadata(data)
    sizes: dict[str, int] = info.metadata
    present: dict[str, bytes] = metadata.as_dict()
    assert sizes.keys() == present.keys()
    mask: np.ndarray = regioncodec.read_mask(data)
    assert mask.shape == regioncodec.segment(image).shape
    settings = regioncodec.EncodeSettings(fg_quality=85, segmentation=regioncodec.SegmentOptions(margin=16))
    assert regioncodec.encode(image, settings, bg_quality=40)
    preview: np.ndarray = regioncodec.decode(data, reduce=8)
    assert preview.shape[0] == -(-info.height // 8)
    return regioncodec.decode(data, max_pixels=regioncodec.DEFAULT_MAX_PIXELS)


def batch(paths: list[Path], out: Path) -> int:
    results: list[regioncodec.FileResult] = regioncodec.encode_many(paths, out, jobs=2, fg_quality=80)
    back: list[regioncodec.FileResult] = regioncodec.decode_many([r.output for r in results], out / "png")
    return sum(r.saved_bytes for r in results) + len(back)


def pillow(path: Path) -> tuple[int, int]:
    regioncodec.register_pillow()
    with Image.open(path) as image:
        image.save(path.with_suffix(".copy.rgc"), fg_quality=90)
        image.thumbnail((160, 160))  # decodes at a reduced size through draft()
        return image.size


def errors(data: bytes) -> str:
    try:
        regioncodec.decode(data)
    except regioncodec.RegionCodecError as exc:
        return str(exc)
    return ""
