"""Go's text/tabwriter: the column alignment of podman's tables, cell for cell.

podman prints tables through a tabwriter (minwidth 12, tabwidth 2, padding 2, padchar ' '), and
scripts cut its columns at fixed offsets, so the block rules of Go's writer are reproduced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pod.util.records import dataclass


@dataclass(repr=False, eq=False)
class _Cell:
    """A tabwriter cell and whether a tab (not a line end) terminated it."""

    text: str
    htab: bool


@dataclass(repr=False, eq=False)
class _TabConfig:
    """Go tabwriter settings."""

    minwidth: int
    tabwidth: int
    padding: int
    padchar: str


def tabwrite(
    text: str, minwidth: int = 12, tabwidth: int = 2, padding: int = 2, padchar: str = " "
) -> str:
    """Align tab-terminated cells exactly as Go's tabwriter (podman: 12, 2, 2, ' ', 0).

    Cells are tab-terminated: the text after a line's last tab is not part of a column.
    A column block is the run of consecutive lines that have a cell in that column; its width
    is the widest cell plus padding, at least minwidth.
    """
    cfg = _TabConfig(minwidth, tabwidth, padding, padchar)
    out: list[str] = []
    lines: list[list[_Cell]] = [[]]
    start = 0
    for i, ch in enumerate(text):
        if ch not in "\t\v\n\f":
            continue
        lines[-1].append(_Cell(text[start:i], ch == "\t"))
        start = i + 1
        if ch in "\n\f":
            cells = len(lines[-1])
            lines.append([])
            if ch == "\f" or cells == 1:
                _flush(lines, cfg, out)
                lines = [[]]
    if start < len(text):
        lines[-1].append(_Cell(text[start:], False))
    _flush(lines, cfg, out)
    return "".join(out)


def tabulate(rows: Iterable[Sequence[str]]) -> str:
    """Rows of cells as podman prints its tables (each row ends with a newline)."""
    return tabwrite("".join("\t".join(row) + "\n" for row in rows))


def _flush(lines: list[list[_Cell]], cfg: _TabConfig, out: list[str]) -> None:
    _format_block(lines, 0, len(lines), [], cfg, out)


def _format_block(
    lines: list[list[_Cell]],
    line0: int,
    line1: int,
    widths: list[int],
    cfg: _TabConfig,
    out: list[str],
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column < len(lines[this]) - 1:
            _write_lines(lines, line0, this, widths, cfg, out)
            line0 = this
            width = cfg.minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column].text) + cfg.padding)
                this += 1
            _format_block(lines, line0, this, widths + [width], cfg, out)
            line0 = this
        this += 1
    _write_lines(lines, line0, line1, widths, cfg, out)


def _write_lines(
    lines: list[list[_Cell]],
    line0: int,
    line1: int,
    widths: list[int],
    cfg: _TabConfig,
    out: list[str],
) -> None:
    for i in range(line0, line1):
        for j, cell in enumerate(lines[i]):
            out.append(cell.text)
            if j < len(widths):
                out.append(_padding(len(cell.text), widths[j], cfg))
        if i + 1 < len(lines):
            out.append("\n")


def _padding(textw: int, cellw: int, cfg: _TabConfig) -> str:
    if cfg.padchar != "\t":
        return cfg.padchar * (cellw - textw)
    if cfg.tabwidth == 0:
        return ""
    cellw = -(-cellw // cfg.tabwidth) * cfg.tabwidth
    return "\t" * -(-(cellw - textw) // cfg.tabwidth)
