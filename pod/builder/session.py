"""What a build's steps see of the build they belong to: its stages' records and the
Builder's services (variables, earlier stages, images, file operations).

The step modules (copy_step, run_mounts) are written against `BuildSession`, which the executor's
Builder provides, so they import this module and never the executor itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pod.util.records import dataclass, field

if TYPE_CHECKING:
    from pod.builder.context import BuildContext
    from pod.builder.options import BuildOptions
    from pod.builder.working import WorkingImage
    from pod.config import Settings
    from pod.image.writer import ImageLayer
    from pod.store.images import ImageRecord
    from pod.store.layout import Layout


@dataclass
class StageResult:
    name: str | None
    work: WorkingImage
    base_layers: int  # how many of work.layers came with the FROM image


@dataclass
class StageRun:
    """What one stage's steps share while it runs."""

    index: int
    label: str  # "[1/2] " with several stages, else ""
    work: WorkingImage
    args: dict[str, str] = field(default_factory=dict)


class BuildSession(Protocol):
    settings: Settings
    options: BuildOptions
    layout: Layout
    context: BuildContext
    escape: str
    ignore_patterns: list[str]
    results: list[StageResult | None]

    def variables(self, state: StageRun) -> dict[str, str]:
        """What $VAR means in an instruction: the stage's ARGs, overridden by ENV."""
        ...

    def stage_index(self, text: str, before: int) -> int | None:
        """An earlier stage named or numbered `text`, else None (then it is an image)."""
        ...

    def image(self, text: str) -> ImageRecord:
        """A base image by name, pulled by the build's policy."""
        ...

    def file_step(
        self, work: WorkingImage, ops: list[dict], source_layers: list[str] | None = None
    ) -> ImageLayer | None:
        """Run file operations on the stage's rootfs; the change becomes a layer."""
        ...
