"""Coverage-guided fuzzing of every public reader with atheris (pip install -e '.[fuzz]'; make fuzz).

    python fuzz/fuzz_decode.py fuzz-out/corpus fuzz/corpus -max_total_time=600

Each input goes through decode (whole and reduced), read_info, read_mask,
read_metadata and export_jpeg, and through the Pillow plugin (open, a draft
for some, and load). A crash is anything but a
RegionCodecError from the readers, and anything but Pillow's own exception
types (OSError, SyntaxError, DecompressionBombError) from the plugin; as is a
run over the memory or time limit. Mutations (fuzz/mutations.py) get their
chunk CRCs made right three times in four, as PNG fuzzers do, else nearly
every input would stop at the first CRC check; one in three swaps a stream
for another valid one of exactly the right size (progressive, restart
markers, alpha, sequences, another codec). The pixel limit is lowered so that
a legitimate decode stays far below -rss_limit_mb and any large allocation is
a missed check.
"""

import importlib.util
import io
import random
import sys
from functools import partial
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for mutations
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.craft

with atheris.instrument_imports(include=["regioncodec"]):  # not numpy, cv2, Pillow: they would only slow it
    import regioncodec
    import regioncodec.pillow
import mutations  # noqa: E402
from PIL import Image  # noqa: E402

from tests.craft import fix_crcs  # noqa: E402

REDUCTIONS = (2, 4, 8)  # decode(reduce=...) and the plugin's draft
JPEGLIB = importlib.util.find_spec("jpeglib") is not None  # export_jpeg needs it (regioncodec[jpeg])
MAX_PIXELS = 1 << 22  # 4 megapixels: at most ~50 MB for a valid file
PILLOW_ERRORS = (OSError, SyntaxError, Image.DecompressionBombError)  # what Pillow's own plugins raise
Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow refuses past twice this: the plugin has decode's limit too


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation or a stream swap (one in three), with the CRCs made right three times in four."""
    rng = random.Random(seed)
    if seed % 3 == 0:
        swapped = mutations.swap_stream(data, rng)
        if swapped is not None and len(swapped) <= max_size:
            return swapped
    mutated = atheris.Mutate(data, max_size)
    return fix_crcs(mutated) if seed % 4 else mutated


def read(data: bytes) -> None:
    """One fuzz input through every reader: read, or refused with RegionCodecError (Pillow's types for the plugin).

    The reduced decode's factor, and whether the plugin is asked for a draft, come from the input's length.
    """
    factor = REDUCTIONS[len(data) % len(REDUCTIONS)]
    readers = [regioncodec.decode, regioncodec.read_mask, partial(regioncodec.decode, reduce=factor)]
    if JPEGLIB:
        readers.append(regioncodec.export_jpeg)
    for reader in readers:
        try:
            reader(data, max_pixels=MAX_PIXELS)
        except regioncodec.RegionCodecError:
            pass
    for reader in (regioncodec.read_info, regioncodec.read_metadata):
        try:
            reader(data)
        except regioncodec.RegionCodecError:
            pass
    try:
        with Image.open(io.BytesIO(data), formats=["RGC"]) as image:  # ours alone: a mutant may look like a TGA,
            if len(data) % 2:  # whose Pillow reader has its own bugs (ValueError "unknown raw mode"), not ours to find
                image.draft(None, (image.width // factor, image.height // factor))
            image.load()
    except PILLOW_ERRORS:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, read, custom_mutator=mutate)
    atheris.Fuzz()
