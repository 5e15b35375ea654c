"""Planning a batch's outputs: where each file's output goes, and which files need no work or cannot be done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import files
from ..errors import OptionError
from .tasks import FAILED, SKIPPED, FileResult, Task


def folder_refused(folder: Path) -> str | None:
    """Why folder (and its parents) cannot be created, or None once it exists."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the folder {folder}: {exc.strerror or exc}"
    return None


def output_paths(sources: list[Path], out_dir: Path, root: Path | None, suffix: str) -> list[Path]:
    """Each source's output: under out_dir where it is under root (or flat in out_dir without root), with suffix."""
    outputs = []
    for source in sources:
        if root is None:
            relative = Path(source.name)
        elif source.is_relative_to(root):
            relative = source.relative_to(root)
        else:
            raise OptionError(f"{source} is not inside root {root}")
        outputs.append(out_dir / relative.with_suffix(suffix))
    return outputs


def plan_tasks(
    sources: list[Path], outputs: list[Path], direction: str, options: dict[str, Any], skip_existing: bool, force: bool
) -> tuple[dict[int, FileResult], dict[int, Task]]:
    """Results settled before any work (skipped, refused), and the tasks to run, by index."""
    for folder in {output.parent for output in outputs}:  # what writers killed in an earlier run left there
        files.remove_stale_temporaries(folder)
    results: dict[int, FileResult] = {}
    tasks: dict[int, Task] = {}
    first_with_output: dict[Path, Path] = {}
    for index, (source, output) in enumerate(zip(sources, outputs, strict=True)):
        if output in first_with_output:
            reason = f"its output {output} is also {first_with_output[output]}'s; rename one of them"
            results[index] = FileResult(source, output, FAILED, error=reason)
        elif output.exists() and skip_existing:
            results[index] = FileResult(source, output, SKIPPED)
        elif output.exists() and not force:
            reason = f"{output} exists; use --force to replace it or --skip-existing to keep it"
            results[index] = FileResult(source, output, FAILED, error=reason)
        elif refused := folder_refused(output.parent):
            results[index] = FileResult(source, output, FAILED, error=refused)
        else:
            tasks[index] = Task(direction, source, output, options, force)
        first_with_output.setdefault(output, source)
    return results, tasks
