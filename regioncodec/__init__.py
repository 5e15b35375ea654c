"""regioncodec: a region-adaptive image codec.

Detailed blocks are coded at a high JPEG quality, smooth ones at a low one;
the mask and the per-region payloads live in a .rgc container (spec/format.md).

    >>> data = regioncodec.encode(rgb, fg_quality=90, bg_quality=30)
    >>> rgb2 = regioncodec.decode(data)
"""

from importlib.metadata import PackageNotFoundError, version

# api loads the module regioncodec.segment first; importing the function from
# api then makes the name regioncodec.segment the function. The module's
# contents stay importable with `from regioncodec.segment import ...`.
from .api import (
    Info,
    RegionInfo,
    as_pixels,
    decode,
    encode,
    inspect,
    preview,
    read_mask,
    read_metadata,
    segment,
)
from .batch import BatchSettings, FileResult, decode_many, encode_many
from .container import DEFAULT_MAX_PIXELS, MAX_DIMENSION, Metadata
from .errors import (
    ChunkError,
    FormatError,
    InputError,
    LimitError,
    RegionCodecError,
    SchedulerError,
    TruncatedError,
)
from .segment import METHODS, SegmentOptions


def register_pillow() -> None:
    """Let Pillow open and save .rgc files: Image.open("x.rgc"), im.save("x.rgc", fg_quality=90)."""
    from . import pillow

    pillow.register()


try:
    __version__ = version("regioncodec")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BatchSettings",
    "DEFAULT_MAX_PIXELS",
    "MAX_DIMENSION",
    "METHODS",
    "ChunkError",
    "FileResult",
    "FormatError",
    "Info",
    "InputError",
    "LimitError",
    "Metadata",
    "RegionCodecError",
    "RegionInfo",
    "SchedulerError",
    "SegmentOptions",
    "TruncatedError",
    "as_pixels",
    "decode",
    "decode_many",
    "encode",
    "encode_many",
    "inspect",
    "preview",
    "read_mask",
    "read_metadata",
    "register_pillow",
    "segment",
]
