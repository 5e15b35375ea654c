"""The exceptions regioncodec raises on purpose: one base, then what went wrong.

The library says what went wrong; it never decides how a program exits.
The command line maps each class to its exit status.
"""


class RegionCodecError(Exception):
    """Base of every error regioncodec raises; catch this to catch them all."""


class InputError(RegionCodecError, ValueError):
    """An argument is wrong: an image of the wrong shape or mode, a mask of the wrong size, an unreadable image."""


class OptionError(InputError):
    """A setting is invalid, or settings contradict each other (a quality map with a foreground quality)."""


class FormatError(RegionCodecError, ValueError):
    """The bytes are not a valid .rgc file: wrong signature, unsupported version, a broken rule."""


class TruncatedError(FormatError):
    """The bytes end before a size declared in them says they should."""


class ChunkError(FormatError):
    """A chunk is damaged (CRC), unknown and critical, repeated, missing or out of order."""


class LimitError(RegionCodecError):
    """The file is valid but larger than the caller allows (a decompression-bomb guard)."""


class OpenError(RegionCodecError, OSError):
    """An input file cannot be opened or read (missing, a folder, no permission)."""


class WriteError(RegionCodecError, OSError):
    """An output cannot be written: it exists (and replacing was not asked for), it is the input, or the disk
    refused."""


class SchedulerError(RegionCodecError):
    """A batch cannot run on the Dask cluster asked for: no dask.distributed, or no scheduler at the address."""
