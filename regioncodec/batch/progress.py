"""The progress bar of a batch (tqdm, on stderr)."""

from __future__ import annotations

import sys

from tqdm import tqdm

from .tasks import DONE, ENCODE, FAILED, FileResult


class Progress:
    """The tqdm bar of a batch: files done, files/s, and bytes saved (encoding) or written (decoding)."""

    def __init__(self, total: int, direction: str, enabled: bool) -> None:
        self.bar = tqdm(total=total, unit=" files", disable=not enabled, file=sys.stderr)
        self.label = "saved" if direction == ENCODE else "written"
        self.bytes = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def add(self, result: FileResult) -> None:
        """Count one file; print why it failed above the bar."""
        if result.status == FAILED and not self.bar.disable:
            self.bar.write(f"rcodec: failed: {result.error}", file=sys.stderr)
        if result.status == DONE:
            self.bytes += result.saved_bytes if self.label == "saved" else result.out_bytes
        self.bar.set_postfix_str(f"{self.label} {_human_bytes(self.bytes)}", refresh=False)
        self.bar.update(1)


def _human_bytes(count: int) -> str:
    """count bytes as B, kB, MB or GB (powers of 1000, as file managers show them)."""
    size = float(count)
    for unit in ("B", "kB", "MB"):
        if abs(size) < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
