"""Pillow plugin: Image.open reads .rgc files, Image.save writes them.

Importing this module registers the plugin, as regioncodec.register_pillow()
does. It is a thin adapter: opening reads the header and metadata chunks only
(container.read_front), pixels are decoded by the reference decoder on
load() (at a reduced size after draft(): reduced.py), and saving calls
regioncodec.encode with the options given to save() that are EncodeSettings
fields (others are Pillow's or other formats' and left alone), plus mask,
exif, icc_profile and xmp. Pillow's usual quality= is EncodeSettings.quality:
the foreground's, with the background following
(settings.background_quality) unless bg_quality is given. A .rgc file holds
one picture: save_all=True saves a single frame, and refuses more.
"""

from __future__ import annotations

from typing import IO, BinaryIO, cast

from PIL import Image, ImageFile

from . import container, decoder, pixels, reduced
from .errors import InputError, RegionCodecError, TruncatedError
from .settings import OPTION_NAMES

FORMAT = "RGC"
EXTENSION = ".rgc"  # spec §14
MIME = "image/x-rgc"  # spec §14
SAVE_INPUTS = ("mask", "quality_map", "exif", "icc_profile", "xmp")  # save() keywords encode takes beside settings
NO_LIMIT = container.MAX_DIMENSION**2  # Image.open applies Pillow's own MAX_IMAGE_PIXELS check to the size


def _accept(prefix: bytes) -> bool:
    """Whether a file starts with the .rgc signature."""
    return prefix.startswith(container.SIGNATURE)


class RgcImageFile(ImageFile.ImageFile):
    """An .rgc file opened by Pillow: size, mode and metadata now, pixels on load()."""

    format = FORMAT
    format_description = "regioncodec region-adaptive image"

    def _open(self) -> None:
        """Read the header and metadata; a file that breaks the spec is "not this format" to Pillow."""
        try:
            header, metadata = container.read_front(cast(BinaryIO, self.fp), max_pixels=NO_LIMIT)
        except RegionCodecError as exc:
            raise SyntaxError(f"not a readable .rgc file: {exc}") from exc
        self._size = (header.width, header.height)
        self._mode = header.mode
        self.info.update(metadata.as_dict())
        self.tile = [ImageFile._Tile(FORMAT, (0, 0, *self.size), 0, (1,))]  # args: the reduction, 1 until draft()

    _thumbnailing = False  # within thumbnail(): draft fits the image into the size it is given

    def load_seek(self, pos: int) -> None:
        """Seek the file, as load() otherwise would: having this tells ImageFile.Parser to wait for the whole file
        and open it again, instead of feeding the decoder pieces (it reads the whole file itself)."""
        cast(BinaryIO, self.fp).seek(pos)

    def thumbnail(
        self,
        size: tuple[float, float],
        resample: Image.Resampling = Image.Resampling.BICUBIC,
        reducing_gap: float | None = 2.0,
    ) -> None:
        """Image.thumbnail, with draft() asked for what the thumbnail needs: the image fitted into the box.

        Pillow asks draft for the box times reducing_gap, not for the
        thumbnail's own size, so a draft that covers the box, as JPEG's and
        this one's do, decodes an image of another aspect larger than needed:
        768x512 into 160x160 at full size, where 1/2 still leaves 2.4 times
        the thumbnail. Fitting keeps reducing_gap's promise (the decoded image
        is at least reducing_gap times the thumbnail) for less decoding.
        """
        self._thumbnailing = True
        try:
            super().thumbnail(size, resample, reducing_gap)
        finally:
            self._thumbnailing = False

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int, float, float]] | None:
        """Decode at 1/r on load(), r the largest of 1, 2, 4, 8 that keeps the image at least size (Image.draft).

        As Pillow's JPEG plugin: the image's size becomes the reduced one, the
        result is (mode, where the original image lies in the reduced one),
        and None once loaded or drafted before, when nothing changes. The mode
        is the file's whatever is asked (a draft may ignore it). Within
        thumbnail(), "at least size" is on one side: the image fitted into size.
        """
        if len(self.tile) != 1 or self.tile[0].args != (1,):
            return None
        width, height = self.size
        factor = 1
        if size and min(size) > 0:
            across, down = width // size[0], height // size[1]
            fits = max(across, down) if self._thumbnailing else min(across, down)
            factor = max(r for r in reduced.REDUCTIONS if r <= max(fits, 1))
        self._size = reduced.reduced_size(width, height, factor)
        self.tile = [ImageFile._Tile(FORMAT, (0, 0, *self.size), 0, (factor,))]
        return self.mode, (0, 0, width / factor, height / factor)


class RgcDecoder(ImageFile.PyDecoder):
    """Decodes the whole file with regioncodec.decode, at the tile's reduction; errors become OSError, as Pillow's
    own decoders raise."""

    _pulls_fd = True

    def decode(self, buffer: Image.DecoderInput) -> tuple[int, int]:
        """Set the image to the file's pixels; buffer is unused, as the decoder reads the file itself."""
        assert self.fd is not None
        factor = self.args[0] if self.args else 1
        try:
            if factor == 1:
                pixels = decoder.decode(self.fd.read(), max_pixels=NO_LIMIT)
            else:
                pixels = reduced.decode(self.fd.read(), factor, max_pixels=NO_LIMIT)
        except TruncatedError as exc:
            raise OSError(f"image file is truncated: {exc}") from exc
        except RegionCodecError as exc:
            raise OSError(f"cannot decode .rgc file: {exc}") from exc
        self.set_as_raw(pixels.tobytes())
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Image.save(..., format="RGC"): encode with the regioncodec settings and inputs among the save() keywords."""
    from . import api

    options = {name: value for name, value in im.encoderinfo.items() if name in (*OPTION_NAMES, *SAVE_INPUTS)}
    fp.write(api.encode(im, **options))


def _save_all(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Image.save(..., save_all=True): as save for one frame; InputError for more, which .rgc cannot hold."""
    frames = pixels.frame_count(im) + len(im.encoderinfo.get("append_images") or ())
    if frames > 1:
        raise InputError(
            f"an .rgc file holds one picture, not {frames} frames: save one frame (im.seek(n)) without save_all"
        )
    _save(im, fp, filename)


def register() -> None:
    """Register the format with Pillow: opener, savers (one frame; all, which must be one), decoder, extension
    and MIME type."""
    Image.register_open(FORMAT, RgcImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_save_all(FORMAT, _save_all)
    Image.register_decoder(FORMAT, RgcDecoder)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)


register()
