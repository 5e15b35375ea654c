"""Encode settings: one validated, frozen object that the API, the command line, batches and Pillow all build.

Every option is listed once, here, with its default, how the command line
reads it and what it does; every value and every combination is checked
once, when the object is made (OptionError says what is wrong). A setting
left None takes its default; a setting given explicitly counts as given, so
that a combination that would ignore it is refused rather than silently
dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from .container import BLOCK_SIZES, SCALES
from .errors import OptionError
from .fields import check_bool, check_int, is_int, option

if TYPE_CHECKING:  # segmentation brings OpenCV: imported where a method is checked or used, so that
    from .segmentation import SegmentOptions  # importing settings (the Pillow plugin does) stays light

# Chosen on the Kodak images (README, "Defaults"): with the background's tables and the decoder's deblocking, fg 85
# / bg 60 is within 3 points of uniform JPEG's SSIMULACRA2 at equal bytes on every image, with the foreground 2 dB
# or more better; lower backgrounds buy foreground decibels with whole-image looks.
DEFAULT_FG_QUALITY = 85
DEFAULT_BG_QUALITY = 60
# A foreground quality given (quality=, rcodec -q, or fg_quality=) without a background quality derives the
# background's by background_quality: the default pair's ratio, so 85 is exactly the defaults and every other
# quality keeps their proportion (a fixed background of 60 would refuse every foreground below it). One place to retune.
BG_PER_FG = DEFAULT_BG_QUALITY / DEFAULT_FG_QUALITY
DEFAULT_METHOD = "edges"
DEFAULT_BLOCK_SIZE = 16  # one 4:2:0 JPEG MCU, the finest grid where regions never share a block
DEFAULT_CODEC = "jpeg"  # fastest to code and decode, and read everywhere
BG_CODECS = ("webp", "avif")  # bg_codec: a canvas background under JPEG layers (spec §7, §11.9)
DEFAULT_LEVELS = 2  # foreground and background; more split the background by detail
MAX_LEVELS = 8  # each region costs two JPEG headers (~0.5 kB); more levels buy too little to pay for them
AUTO = "auto"  # bg_scale: whichever background scale codes smallest at equal error
# options that say one thing two ways: a keyword given to build replaces its twin in the settings it changes
TWINS = {"quality": "fg_quality", "fg_quality": "quality", "target_size": "target_bpp", "target_bpp": "target_size"}


def background_quality(quality: int) -> int:
    """The background quality that goes with a foreground quality when no background quality is given."""
    return max(1, round(quality * BG_PER_FG))


def bytes_with_unit(text: str) -> int:
    """A byte count with an optional unit: kB and MB are 1000s, KiB and MiB 1024s, K and M as kB and MB."""
    units = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "kib": 1024, "mib": 1024**2}
    number = text.strip().lower().rstrip("bkmi ")
    return int(float(number) * units[text.strip().lower()[len(number) :].strip()])


def _scale(text: str) -> int | str:
    """A background scale as the command line writes it: 1, 2, 4 or auto."""
    return text if text == AUTO else int(text)


@dataclass(frozen=True)
class EncodeSettings:
    """How to code an image; None means the default. Checked when made: OptionError says what is wrong.

    The foreground comes from a segmentation method (method, segmentation),
    or from a mask or a quality map given with the image (see check_guides).
    """

    fg_quality: int | None = option(None, int, f"quality 1-100 of the foreground (default {DEFAULT_FG_QUALITY})", "Q")
    bg_quality: int | None = option(
        None,
        int,
        f"quality 1-100 of the background, at most the foreground's (default {DEFAULT_BG_QUALITY}, or "
        f"{BG_PER_FG:.2g} of a foreground quality given)",
        "Q",
    )
    quality: int | None = option(
        None,
        int,
        f"one knob, 1-100: the foreground's quality, with the background at about {BG_PER_FG:.2g} of it "
        f"(-q {DEFAULT_FG_QUALITY} is fg {DEFAULT_FG_QUALITY}, bg {DEFAULT_BG_QUALITY}); --bg-quality overrides "
        "the background",
        "Q",
        "-q",
    )
    method: str | None = option(
        None,
        str,
        "how to find the foreground: {methods}, or several joined with + such as faces+edges "
        f"(default {DEFAULT_METHOD})",
        "NAME",
    )
    segmentation: SegmentOptions | None = None  # the controls every method shares; flags of their own
    block_size: int = option(
        DEFAULT_BLOCK_SIZE,
        int,
        f"block side in pixels: 16, 32 or 64 (8 too for greyscale; default {DEFAULT_BLOCK_SIZE})",
        "N",
    )
    levels: int | None = option(
        None,
        int,
        f"quality levels 2-{MAX_LEVELS}: the background is split by detail into N-1 steps up to the foreground "
        f"(default {DEFAULT_LEVELS})",
        "N",
    )
    transition: bool = option(
        False,
        None,
        "ring the foreground with blocks of intermediate quality, so no seam shows where it meets the rest "
        f"(adds a level: levels at most {MAX_LEVELS - 1})",
    )
    codec: str = option(DEFAULT_CODEC, str, f"payload codec: {{codecs}} (default {DEFAULT_CODEC})", "NAME")
    bg_codec: str | None = option(
        None,
        str,
        f"code the background (the lowest level) as {' or '.join(BG_CODECS)} under JPEG layers: smoother to the eye "
        "for more bytes and a slower decode (default: as --codec)",
        "NAME",
    )
    deblock: bool = option(
        True,
        None,
        "on unless turned off (--no-deblock): the decoder smooths the block edges of JPEG layers below the "
        "foreground (spec §11.8)",
    )
    subjects: bool = option(
        True,
        None,
        "on unless turned off (--no-subjects): skin and the holes inside the foreground's outline are kept out of "
        "the lowest level, at a middle quality (with segmentation)",
    )
    bg_scale: int | str = option(
        1, _scale, "code the background at 1/N resolution: 1, 2, 4, or auto for the smallest at equal error", "N"
    )
    target_size: int | None = option(
        None,
        bytes_with_unit,
        "largest file that fits SIZE (e.g. 80000, 80kB, 78KiB, 1.5MB): qualities are chosen to fit",
        "SIZE",
    )
    target_bpp: float | None = option(None, float, "as target size, in bits per pixel of the image", "BPP")
    strip: bool = option(False, None, "store no metadata (EXIF, ICC profile, XMP) from the input")
    force_quality: bool = option(
        False,
        None,
        "for a JPEG input, code at the qualities asked even above its own quality, and even if the output is "
        "larger than it (by default no region goes above the input's quality and the output is never larger)",
    )

    def __new__(cls, *args: Any, **options: Any) -> EncodeSettings:  # noqa: ARG004 - __init__ takes them
        """OptionError for a misspelt option, as build gives, instead of the TypeError __init__ would raise."""
        check_names(options)
        return super().__new__(cls)

    def __post_init__(self) -> None:
        for name in ("quality", "fg_quality", "bg_quality"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1, 100)
        if self.quality is not None and self.fg_quality is not None:
            raise OptionError("give quality or fg_quality, not both: quality is the foreground's")
        self._check_order()
        if self.method is not None or self.segmentation is not None:
            self._check_segmentation()
        if self.block_size not in BLOCK_SIZES or not is_int(self.block_size):
            raise OptionError(f"block_size must be one of {', '.join(map(str, BLOCK_SIZES))}, not {self.block_size!r}")
        check_bool("transition", self.transition)
        check_bool("strip", self.strip)
        check_bool("force_quality", self.force_quality)
        check_bool("deblock", self.deblock)
        check_bool("subjects", self.subjects)
        if self.levels is not None:
            check_int("levels" + " with transition" * self.transition, self.levels, 2, MAX_LEVELS - self.transition)
        from .codecs import find

        find(self.codec)
        if self.bg_codec is not None:
            if self.bg_codec not in (*BG_CODECS, self.codec):
                raise OptionError(f"bg_codec must be one of {', '.join(BG_CODECS)}, not {self.bg_codec!r}")
            if self.codec != DEFAULT_CODEC and self.bg_codec != self.codec:
                raise OptionError(f"bg_codec puts a {self.bg_codec} background under JPEG layers: codec must be jpeg")
        if self.bg_scale != AUTO and not (is_int(self.bg_scale) and self.bg_scale in SCALES):  # not 2.0, not True
            raise OptionError(f"bg_scale must be one of 1, 2, 4 or {AUTO!r}, not {self.bg_scale!r}")
        if self.target_size is not None:
            check_int("target_size", self.target_size, 1)
        if self.target_bpp is not None and not (
            isinstance(self.target_bpp, (int, float))
            and not isinstance(self.target_bpp, bool)
            and 0 < self.target_bpp < math.inf
        ):
            raise OptionError(f"target_bpp must be a positive number of bits per pixel, not {self.target_bpp!r}")
        if self.target_size is not None and self.target_bpp is not None:
            raise OptionError("give target_size or target_bpp, not both")

    @classmethod
    def build(cls, base: EncodeSettings | None = None, **options: Any) -> EncodeSettings:
        """base (or the defaults) with options changed; OptionError names an option that does not exist (__new__,
        which replace calls, checks their names)."""
        if base is not None and not isinstance(base, EncodeSettings):
            raise OptionError(f"settings must be EncodeSettings, not {type(base).__name__}")
        superseded: dict[str, Any] = {  # a keyword given a value replaces its twin; one given None changes nothing
            twin: None for name, twin in TWINS.items() if options.get(name) is not None and twin not in options
        }
        return replace(base or cls(), **superseded, **options)

    def _check_segmentation(self) -> None:
        """OptionError unless method names a segmentation method and segmentation is SegmentOptions."""
        from .segmentation import SegmentOptions, method_names

        if self.method is not None:
            method_names(self.method)
        if self.segmentation is not None and not isinstance(self.segmentation, SegmentOptions):
            raise OptionError(f"segmentation must be SegmentOptions, not {type(self.segmentation).__name__}")

    def _check_order(self) -> None:
        """OptionError if the background's quality (given, or its default) is above the foreground's."""
        low, high = self.qualities
        if low > high:
            fg_name = "quality" if self.quality is not None else "fg_quality"
            default = "" if self.quality is not None or self.fg_quality is not None else " (the default)"
            raise OptionError(f"bg_quality {low} is above {fg_name} {high}{default}")

    def check_guides(self, *, mask: bool, quality_map: bool) -> None:
        """OptionError if a mask or quality map is given with settings it replaces (they would be ignored)."""
        if mask and quality_map:
            raise OptionError("give a mask or a quality map, not both")
        replaced: tuple[str, ...] = ("method", "segmentation") if mask else ()
        if quality_map:
            replaced = ("quality", "fg_quality", "bg_quality", "levels", "transition", "method", "segmentation")
        given = [name for name in replaced if getattr(self, name) not in (None, False)]
        if given:
            guide = "a mask" if mask else "a quality map"
            raise OptionError(f"{guide} is used as it is: {', '.join(given)} cannot apply with it")

    @property
    def qualities(self) -> tuple[int, int]:
        """(background, foreground) quality: the foreground's as given (quality or fg_quality) or the default; the
        background's as given, else following the foreground's (background_quality: the defaults' proportion)."""
        high = self.quality if self.quality is not None else self.fg_quality
        high = DEFAULT_FG_QUALITY if high is None else high
        return (self.bg_quality if self.bg_quality is not None else background_quality(high)), high

    @property
    def codecs(self) -> tuple[str, str]:
        """(background, every other region) payload codec: bg_codec, else codec, below codec."""
        return self.bg_codec or self.codec, self.codec

    @property
    def level_count(self) -> int:
        """Quality levels before any transition ring, the default filled in."""
        return DEFAULT_LEVELS if self.levels is None else self.levels

    @property
    def segment_with(self) -> tuple[str, SegmentOptions]:
        """The segmentation method and its controls, defaults filled in."""
        from .segmentation import SegmentOptions

        return self.method or DEFAULT_METHOD, self.segmentation or SegmentOptions()


OPTION_NAMES = tuple(f.name for f in fields(EncodeSettings))


def check_names(options: dict[str, Any]) -> None:
    """OptionError naming the options that are not EncodeSettings fields."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise OptionError(f"unknown encode options {', '.join(unknown)}; choose from {', '.join(OPTION_NAMES)}")
