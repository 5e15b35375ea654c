"""Coverage-guided fuzzing of regioncodec.decode with atheris (pip install -e '.[fuzz]'; make fuzz).

    python fuzz/fuzz_decode.py fuzz-out/corpus fuzz/corpus -max_total_time=600

Anything decode raises but RegionCodecError is a crash, as is a run over the
memory or time limit. Most mutations get their chunk CRCs made right again,
as PNG fuzzers do; else nearly every input would stop at the first CRC check.
The pixel limit is lowered so that a legitimate decode stays far below
-rss_limit_mb and any large allocation is a missed check.
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.craft

with atheris.instrument_imports(include=["regioncodec"]):  # not numpy, cv2, Pillow: they would only slow it
    import regioncodec
from tests.craft import fix_crcs  # noqa: E402

MAX_PIXELS = 1 << 22  # 4 megapixels: at most ~50 MB for a valid file


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation, with the CRCs made right three times in four."""
    mutated = atheris.Mutate(data, max_size)
    return fix_crcs(mutated) if seed % 4 else mutated


def decode(data: bytes) -> None:
    """One fuzz input: decoded, or refused with RegionCodecError."""
    try:
        regioncodec.decode(data, max_pixels=MAX_PIXELS)
    except regioncodec.RegionCodecError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, decode, custom_mutator=mutate)
    atheris.Fuzz()
