"""The public functions: encode, decode, segment, preview, inspect, read_mask, read_metadata.

Images go in and come out as numpy uint8 arrays in the channel order Pillow
and imageio use: H x W greyscale, H x W x 2 greyscale and alpha, H x W x 3 RGB,
H x W x 4 RGBA. PIL images are accepted on the way in, with their metadata.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from . import container, overlay, plan, planes, regions, search
from . import segment as segmentation
from .container import Container, Header, Metadata
from .errors import InputError
from .segment import SegmentOptions

DEFAULT_FG_QUALITY = 90
DEFAULT_BG_QUALITY = 30
DEFAULT_METHOD = "edges"
DEFAULT_BLOCK_SIZE = 16  # one 4:2:0 JPEG MCU, the finest grid where regions never share a block
DEFAULT_CODEC = "jpeg"  # fastest to code and decode, and read everywhere
DEFAULT_LEVELS = 2  # foreground and background; more split the background by detail
CODECS = tuple(container.CODEC_CODES.values())
BACKGROUND = 0  # region index of the background; the others rise in quality

# Pillow modes turned into one regioncodec stores without losing anything a viewer sees
# (premultiplied alpha is un-premultiplied; RGBX's fourth band is padding).
_CONVERTED_MODES = {
    "1": "L",
    "La": "LA",
    "P": "RGB",
    "PA": "RGBA",
    "RGBX": "RGB",
    "RGBa": "RGBA",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}
_WITH_ALPHA = {"L": "LA", "RGB": "RGBA"}  # for images whose transparency is a palette entry or a colour key
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")  # 16-bit greyscale, reduced to 8 bits
_CHANNEL_MODES = {2: "LA", 3: "RGB", 4: "RGBA"}  # channels of an H x W x C array; H x W is L
_PIL_METADATA_KEYS = ("exif", "icc_profile", "xmp")  # the Image.info keys Pillow's plugins fill

ImageLike = np.ndarray | Image.Image


@dataclass(frozen=True)
class RegionInfo:
    """What inspect reports about one region."""

    index: int
    role: str
    codec: str
    quality: int
    scale: int
    bytes: int
    fraction: float  # share of the image's pixels this region codes


@dataclass(frozen=True)
class Info:
    """What inspect reports about a .rgc file, read without decoding pixels."""

    width: int
    height: int
    mode: str
    block_size: int
    fg_fraction: float
    regions: tuple[RegionInfo, ...]
    file_bytes: int
    alpha_bytes: int = 0  # the lossless alpha plane, compressed (modes LA and RGBA)
    metadata: dict[str, int] = field(default_factory=dict)  # bytes stored for exif, icc_profile, xmp

    @property
    def overhead_bytes(self) -> int:
        """Bytes of the file that are not pixels or metadata: signature, chunk framing, header, map."""
        return self.file_bytes - sum(r.bytes for r in self.regions) - self.alpha_bytes - sum(self.metadata.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, overhead included."""
        return {**asdict(self), "overhead_bytes": self.overhead_bytes}


def encode(
    image: ImageLike,
    /,
    *,
    fg_quality: int = DEFAULT_FG_QUALITY,
    bg_quality: int = DEFAULT_BG_QUALITY,
    mask: np.ndarray | Image.Image | None = None,
    method: str = DEFAULT_METHOD,
    block_size: int = DEFAULT_BLOCK_SIZE,
    options: SegmentOptions | None = None,
    levels: int = DEFAULT_LEVELS,
    transition: bool = False,
    quality_map: ImageLike | None = None,
    codec: str = DEFAULT_CODEC,
    bg_scale: int | str = 1,
    target_size: int | None = None,
    exif: bytes | Image.Exif | None = None,
    icc_profile: bytes | None = None,
    xmp: bytes | str | None = None,
    strip: bool = False,
) -> bytes:
    """Code image as .rgc: foreground blocks at fg_quality, the rest at bg_quality.

    The foreground is mask (H x W, True or non-zero = foreground) when given,
    used as it is, else what segment(image, method, options=options) finds.
    Blocks are block_size pixels square; a block with any foreground pixel is
    coded as foreground.
    levels > 2 splits the background by detail into levels - 1 steps of
    quality between bg_quality and fg_quality. transition adds a one-block
    ring around the foreground at the quality halfway to the level below, so
    quality steps down without a visible seam. quality_map (H x W grey, 0 ->
    quality 1, 255 -> quality 100, a block takes its brightest pixel) replaces
    mask, method and both qualities. codec is "jpeg", "webp" or "avif";
    bg_scale (1, 2, 4) codes the background at that fraction of the
    resolution; "auto" takes whichever background layer is smallest among
    full resolution at bg_quality and each reduction at the lowest quality
    that makes no more error on the background. target_size (bytes) moves every quality together, then one
    region at a time, to the largest file that fits. Alpha, if any, is kept losslessly.
    Metadata (EXIF, ICC profile, XMP) is what a PIL image carries in its
    info, unless strip; exif, icc_profile and xmp, when given, take the place
    of the image's own (b"" stores none).
    """
    pixels = as_pixels(image)
    metadata = _metadata(image, strip, exif=exif, icc_profile=icc_profile, xmp=xmp)
    colour, alpha = _split_alpha(pixels)
    _check_block_size(block_size, colour)
    codec = _choice("codec", codec, CODECS)
    if codec in container.PLANE_CODECS:
        _check_padded_size(colour, block_size)
    bg_scale = _choice("bg_scale", bg_scale, (*container.SCALES, "auto"))
    block_map, qualities = _plan(colour, fg_quality, bg_quality, mask, method, options, block_size, levels, quality_map)
    if transition:
        if len(qualities) >= plan.MAX_LEVELS or quality_map is not None:
            raise InputError(f"transition adds a level: use it without quality_map and with levels < {plan.MAX_LEVELS}")
        block_map, qualities = plan.with_transition(block_map, qualities)
    coder = regions.LayerCoder(colour, block_map, block_size, codec)
    mode = "L" if pixels.ndim == 2 else _CHANNEL_MODES[pixels.shape[2]]
    header = Header(pixels.shape[1], pixels.shape[0], mode, block_size, len(qualities))
    extras: dict[str, Any] = {"alpha": None if alpha is None else container.alpha_data(alpha), "metadata": metadata}
    if bg_scale == "auto":
        bg_scale, qualities[0] = search.auto_background(coder, header, qualities)
    scales = [int(bg_scale)] + [1] * (len(qualities) - 1)
    if target_size is not None:
        qualities = search.fit(coder, header, qualities, scales, _integer("target_size", target_size, 1), **extras)
    layers = tuple(coder.layer(region, q, s) for region, (q, s) in enumerate(zip(qualities, scales, strict=True)))
    return container.write(Container(header, block_map, layers, **extras))


def _plan(
    pixels: np.ndarray,
    fg_quality: Any,
    bg_quality: Any,
    mask: Any,
    method: str,
    options: Any,
    block_size: int,
    levels: Any,
    quality_map: Any,
) -> tuple[np.ndarray, list[int]]:
    """The block map and per-region qualities the options ask for."""
    levels = _integer("levels", levels, 2, plan.MAX_LEVELS)
    if quality_map is not None:
        if mask is not None or levels != 2 or options is not None:
            raise InputError("quality_map replaces mask and levels (and segmentation options): give one or the other")
        grey = _pixel_map(quality_map, pixels.shape[:2])
        return plan.quality_map_plan(planes.block_max(grey, block_size))
    low, high = _integer("bg_quality", bg_quality, 1, 100), _integer("fg_quality", fg_quality, 1, 100)
    if mask is None:
        foreground = segmentation.block_grid(pixels, method, block_size, _options(options))
    elif options is not None:
        raise InputError("options steer a segmentation method; a given mask is used as it is, so give one or the other")
    else:
        foreground = planes.block_max(_pixel_mask(mask, pixels.shape[:2]).view(np.uint8), block_size) > 0
    if levels == 2:
        return foreground.astype(np.uint8), [low, high]
    detail = segmentation.edge_density(pixels, block_size)
    return plan.level_map(foreground, detail, levels), plan.level_qualities(low, high, levels)


def decode(data: bytes, /, *, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image stored in .rgc data: uint8 H x W, H x W x 2 (LA), H x W x 3 (RGB) or H x W x 4 (RGBA).

    Raises FormatError for data that breaks the spec and LimitError for images
    of more than max_pixels pixels (a guard against decompression bombs).
    """
    parsed = container.read(_bytes(data), max_pixels=_integer("max_pixels", max_pixels, 1))
    colour = regions.decode_layers(parsed.header, parsed.block_map, parsed.layers)
    if parsed.alpha is None:
        return colour
    alpha = container.alpha_plane(parsed.alpha, parsed.header)
    return np.dstack([colour, alpha])


def segment(
    image: ImageLike,
    /,
    method: str = DEFAULT_METHOD,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    options: SegmentOptions | None = None,
) -> np.ndarray:
    """The boolean H x W foreground mask encode would use for image, block-aligned.

    method is one of METHODS or several joined with "+" (their union);
    options (SegmentOptions) hold the controls shared by every method.
    """
    colour, _ = _split_alpha(as_pixels(image))
    _check_block_size(block_size, colour)
    grid = segmentation.block_grid(colour, method, block_size, _options(options))
    return planes.expand(grid, colour.shape[:2], block_size)


def preview(image: ImageLike, mask: np.ndarray, /) -> np.ndarray:
    """An RGB picture of what mask picks in image: background dimmed, foreground outlined (alpha left out)."""
    colour, _ = _split_alpha(as_pixels(image))
    return overlay.preview(colour, _pixel_mask(mask, colour.shape[:2]))


def inspect(data: bytes, /) -> Info:
    """Size, mode, block size, foreground share, per-region coding, alpha and metadata of .rgc data."""
    raw = _bytes(data)
    parsed = container.read(raw, max_pixels=container.MAX_DIMENSION**2)
    areas = _region_areas(parsed)
    infos = tuple(
        RegionInfo(
            layer.region,
            _role(layer.region, len(parsed.layers)),
            layer.codec,
            layer.quality,
            layer.scale,
            layer.payload_bytes,
            areas[i],
        )
        for i, layer in enumerate(parsed.layers)
    )
    h = parsed.header
    alpha_bytes = len(parsed.alpha) if parsed.alpha is not None else 0
    stored = {container.METADATA_FIELDS[kind]: len(body) for kind, body in container.metadata_chunks(parsed.metadata)}
    return Info(h.width, h.height, h.mode, h.block_size, 1.0 - areas[BACKGROUND], infos, len(raw), alpha_bytes, stored)


def read_mask(data: bytes, /, *, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The boolean H x W foreground mask stored in .rgc data (True where not background).

    The mask has a byte per pixel, so it has decode's pixel limit (LimitError).
    """
    parsed = container.read(_bytes(data), max_pixels=_integer("max_pixels", max_pixels, 1))
    h = parsed.header
    return planes.expand(parsed.block_map != BACKGROUND, (h.height, h.width), h.block_size)


def read_metadata(data: bytes, /) -> Metadata:
    """The EXIF, ICC profile and XMP stored in .rgc data, reading only the chunks before the pixels."""
    return container.read_front(io.BytesIO(_bytes(data)), max_pixels=container.MAX_DIMENSION**2)[1]


def as_pixels(image: ImageLike) -> np.ndarray:
    """A contiguous uint8 array (H x W, or H x W x 2, 3 or 4) of image, or InputError saying why not.

    16-bit images (uint16 arrays, Pillow's I;16 modes) are reduced to 8 bits,
    v * 255 / 65535 rounded: .rgc stores 8 bits per channel, as JPEG does.
    """
    if isinstance(image, Image.Image):
        image = _pil_pixels(image)
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a numpy array or PIL.Image, not {type(image).__name__}")
    if image.dtype == np.uint16:
        image = _eight_bits(image)
    if image.dtype != np.uint8:
        raise InputError(f"image must be uint8 (or uint16), not {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in _CHANNEL_MODES)):
        raise InputError(f"image must be H x W (L) or H x W x 2, 3 or 4 (LA, RGB, RGBA), not shape {image.shape}")
    height, width = image.shape[:2]
    if not (1 <= width <= container.MAX_DIMENSION and 1 <= height <= container.MAX_DIMENSION):
        raise InputError(f"image is {width}x{height}; each side must be 1..{container.MAX_DIMENSION}")
    return np.ascontiguousarray(image)


def _pil_pixels(image: Image.Image) -> np.ndarray:
    """Pixels of a PIL image in L, LA, RGB or RGBA, converting by the documented rules."""
    if image.mode in _SIXTEEN_BIT_MODES:
        return np.asarray(image).astype(np.uint16, copy=False)
    mode = _CONVERTED_MODES.get(image.mode, image.mode)
    if image.has_transparency_data and mode in _WITH_ALPHA:
        mode = _WITH_ALPHA[mode]
    if mode not in ("L", "LA", "RGB", "RGBA"):
        raise InputError(f"image mode {image.mode} is not supported; convert it to L, LA, RGB or RGBA first")
    return np.asarray(image if mode == image.mode else image.convert(mode))


def _eight_bits(image: np.ndarray) -> np.ndarray:
    """16-bit values scaled to 8 bits, v * 255 / 65535 rounded to the nearest (there are no ties)."""
    return ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _split_alpha(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour, alpha): the L or RGB pixels the regions code, and the alpha plane if there is one."""
    if pixels.ndim == 2 or pixels.shape[2] == 3:
        return pixels, None
    colour = pixels[..., 0] if pixels.shape[2] == 2 else pixels[..., :3]
    return np.ascontiguousarray(colour), np.ascontiguousarray(pixels[..., -1])


def _metadata(image: ImageLike, strip: bool, **given: Any) -> Metadata:
    """The metadata to store: each item given, else the PIL image's own unless strip; checked against §9."""
    if not isinstance(strip, bool):
        raise InputError(f"strip must be True or False, not {strip!r}")
    own = image.info if isinstance(image, Image.Image) and not strip else {}
    values = {}
    for name in _PIL_METADATA_KEYS:
        value = given[name] if given[name] is not None else own.get(name)
        values[name] = _metadata_item(name, value, from_image=given[name] is None)
    return Metadata(**values)


def _metadata_item(name: str, value: Any, *, from_image: bool) -> bytes | None:
    """One metadata item as the bytes Metadata holds, None if absent or empty, InputError if invalid."""
    if isinstance(value, Image.Exif):
        value = value.tobytes()
    if isinstance(value, str) and name == "xmp":
        value = value.encode("utf-8")
    if value is not None and not isinstance(value, (bytes, bytearray, memoryview)):
        raise InputError(f"{name} must be bytes, not {type(value).__name__}")
    if not value:
        return None
    kind = {v: k for k, v in container.METADATA_FIELDS.items()}[name]
    body = bytes(value).removeprefix(container.EXIF_APP1_PREFIX) if kind == container.EXIF else bytes(value)
    problem = container.metadata_problem(kind, body)
    if problem:
        hint = " (strip=True, or rcodec --strip, leaves the image's metadata out)" if from_image else ""
        raise InputError(f"{name} {problem}{hint}")
    return container.EXIF_APP1_PREFIX + body if kind == container.EXIF else body


def _pixel_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """mask (an array, or a PIL image: non-zero = foreground) as a boolean array of shape, or InputError."""
    if isinstance(mask, Image.Image):
        mask = np.asarray(mask.convert("L"))
    if not isinstance(mask, np.ndarray) or not (mask.dtype == bool or np.issubdtype(mask.dtype, np.integer)):
        raise InputError("mask must be a boolean or integer numpy array, or a PIL image (non-zero = foreground)")
    if mask.shape != shape:
        raise InputError(f"mask is {_size(mask.shape)} but the image is {_size(shape)}; they must be the same size")
    return mask.astype(bool, copy=False)


def _options(options: Any) -> SegmentOptions:
    """options if it is SegmentOptions, the defaults for None, else InputError."""
    if options is None:
        return segmentation.DEFAULT_OPTIONS
    if not isinstance(options, SegmentOptions):
        raise InputError(f"options must be a regioncodec.SegmentOptions, not {type(options).__name__}")
    return options


def _check_block_size(block_size: Any, colour: np.ndarray) -> None:
    """InputError unless block_size is one the container allows for these L or RGB pixels."""
    smallest = container.MIN_COLOUR_BLOCK if colour.ndim == 3 else min(container.BLOCK_SIZES)
    allowed = [b for b in container.BLOCK_SIZES if b >= smallest]
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size not in allowed:
        raise InputError(f"block_size must be one of {allowed} for this image, not {block_size!r}")


def _integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    """value if it is an int (not a bool) from low to high (or up), else InputError saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or value > (high or value):
        wanted = f"an integer from {low} to {high}" if high is not None else "a positive integer"
        raise InputError(f"{name} must be {wanted}, not {value!r}")
    return int(value)


def _choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """value if it is one of allowed (and not a bool standing for 1), else InputError listing them."""
    if isinstance(value, bool) or value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(map(str, allowed))}, not {value!r}")
    return value


def _pixel_map(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A quality map as uint8 H x W grey, or InputError."""
    if isinstance(value, Image.Image):
        value = np.asarray(value.convert("L"))
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 2:
        raise InputError("quality_map must be an H x W uint8 array or a PIL image (grey 0..255)")
    if value.shape != shape:
        raise InputError(f"quality_map is {_size(value.shape)} but the image is {_size(shape)}")
    return value


def _check_padded_size(pixels: np.ndarray, block_size: int) -> None:
    """InputError if the image padded to whole blocks is wider or taller than a JPEG mosaic may be (spec §12).

    A canvas (WebP, AVIF) is clipped to the image, so only JPEG needs this.
    """
    height, width = pixels.shape[:2]
    largest = container.MAX_DIMENSION // block_size * block_size
    if max(width, height) > largest:
        raise InputError(
            f"image is {width}x{height}; with {block_size}-pixel blocks each side must be at most {largest}, "
            f"so that it pads to whole blocks within JPEG's limit of {container.MAX_DIMENSION}"
        )


def _bytes(data: Any) -> bytes:
    """data as bytes if it is bytes-like, else InputError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"data must be bytes, not {type(data).__name__}")
    return bytes(data)


def _region_areas(parsed: Container) -> list[float]:
    """Share of the image's pixels in each region, counting edge blocks by their visible part.

    Every block counts B x B pixels, less what the bottom row and right column
    of blocks hide past the image's edge (the corner block's hidden part added
    back once): counts of the map only, so no temporary is larger than it.
    """
    h = parsed.header
    b, regions = h.block_size, h.regions
    rows, cols = h.grid_shape
    hidden_rows, hidden_cols = rows * b - h.height, cols * b - h.width
    bm = parsed.block_map
    visible = (
        container.block_counts(bm, regions) * b * b
        - container.block_counts(bm[-1:, :], regions) * hidden_rows * b
        - container.block_counts(np.ascontiguousarray(bm[:, -1:]), regions) * hidden_cols * b
        + container.block_counts(bm[-1:, -1:], regions) * hidden_rows * hidden_cols
    )
    return [float(area) / (h.width * h.height) for area in visible]


def _role(region: int, regions: int) -> str:
    """Name of a region: background (0), foreground (the last), or its level between."""
    if region == BACKGROUND:
        return "background"
    return "foreground" if region == regions - 1 else f"level {region}"


def _size(shape: tuple[int, ...]) -> str:
    """'WxH' for a shape (H, W, ...)."""
    return f"{shape[1]}x{shape[0]}"
