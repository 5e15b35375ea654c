"""regioncodec: a region-adaptive image codec.

Detailed blocks are coded at a high JPEG quality, smooth ones at a low one;
the mask and the per-region payloads live in a .rgc container (spec/format.md).

    >>> data = regioncodec.encode(rgb, fg_quality=90, bg_quality=30)
    >>> rgb2 = regioncodec.decode(data)

Names are imported from their modules when first used, so that a program
that only reads a file's header (or `rcodec --version`) loads no more than
it needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Each public name, and the module (under regioncodec) that defines it.
_EXPORTS = {
    "Info": "info",
    "RegionInfo": "info",
    "read_info": "info",
    "read_mask": "info",
    "read_metadata": "info",
    "export_jpeg": "jpegdct",
    "as_pixels": "api",
    "decode": "api",
    "encode": "api",
    "preview": "api",
    "segment": "api",
    "BatchSettings": "batch",
    "FileResult": "batch",
    "decode_many": "batch",
    "encode_many": "batch",
    "DEFAULT_MAX_PIXELS": "container",
    "MAX_DIMENSION": "container",
    "Metadata": "container",
    "ChunkError": "errors",
    "FormatError": "errors",
    "InputError": "errors",
    "LimitError": "errors",
    "OpenError": "errors",
    "OptionError": "errors",
    "RegionCodecError": "errors",
    "SchedulerError": "errors",
    "TruncatedError": "errors",
    "WriteError": "errors",
    "METHODS": "segmentation",
    "EncodeSettings": "settings",
    "SegmentOptions": "segmentation",
}

__all__ = [
    "BatchSettings",
    "ChunkError",
    "DEFAULT_MAX_PIXELS",
    "EncodeSettings",
    "FileResult",
    "FormatError",
    "Info",
    "InputError",
    "LimitError",
    "MAX_DIMENSION",
    "METHODS",
    "Metadata",
    "OpenError",
    "OptionError",
    "RegionCodecError",
    "RegionInfo",
    "SchedulerError",
    "SegmentOptions",
    "TruncatedError",
    "WriteError",
    "as_pixels",
    "decode",
    "decode_many",
    "encode",
    "encode_many",
    "export_jpeg",
    "preview",
    "read_info",
    "read_mask",
    "read_metadata",
    "register_pillow",
    "segment",
    "__version__",
]

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports on first use
    from .api import as_pixels, decode, encode, preview, segment
    from .batch import BatchSettings, FileResult, decode_many, encode_many
    from .container import DEFAULT_MAX_PIXELS, MAX_DIMENSION, Metadata
    from .errors import (
        ChunkError,
        FormatError,
        InputError,
        LimitError,
        OpenError,
        OptionError,
        RegionCodecError,
        SchedulerError,
        TruncatedError,
        WriteError,
    )
    from .info import Info, RegionInfo, read_info, read_mask, read_metadata
    from .jpegdct import export_jpeg
    from .segmentation import METHODS, SegmentOptions
    from .settings import EncodeSettings

    __version__: str


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("regioncodec")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    if name not in _EXPORTS:
        raise AttributeError(f"module 'regioncodec' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups find it without calling here
    return value


def __dir__() -> list[str]:
    """The public names, for dir() and tab completion."""
    return __all__


def register_pillow() -> None:
    """Let Pillow open and save .rgc files: Image.open("x.rgc"), im.save("x.rgc", fg_quality=90)."""
    from . import pillow

    pillow.register()
