"""--userns=auto: carving a container's id range out of the ids still free (pure logic).

As containers/storage's automatic user namespaces: the ids available (rootful: the ranges of
the `containers` user in /etc/subuid and /etc/subgid; rootless: ids 1..N of the user's own
namespace) minus every id another container's map uses, the first `size` of them mapped to
container ids 0..size-1 (minus the ids `uidmapping=`/`gidmapping=` pin, which are added as
given). The size is `size=` when given, else the largest id the image's /etc/passwd and
/etc/group name (plus one, "nobody" left out), at least 1024.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pod.errors import PodError
from pod.util.records import dataclass
from pod.util.userns import IdMapLine

AUTO_MIN_SIZE = 1024
NOBODY = 65534
NOT_ENOUGH_IDS = "creating container storage: could not find enough available IDs"

Interval = tuple[int, int]  # [start, end)


@dataclass(frozen=True)
class AutoOptions:
    """`--userns=auto[:size=N,uidmapping=C:H:S,gidmapping=C:H:S]` taken apart."""

    size: int = 0  # 0: from the image
    uidmapping: tuple[IdMapLine, ...] = ()
    gidmapping: tuple[IdMapLine, ...] = ()


def parse_auto(text: str) -> AutoOptions:
    """The options of an `auto` value (already checked by pod.container.namespaces)."""
    size = 0
    uids: list[IdMapLine] = []
    gids: list[IdMapLine] = []
    _, _, rest = text.partition(":")
    for option in filter(None, rest.split(",")):
        key, _, value = option.partition("=")
        if key == "size":
            size = int(value)
        elif key in ("uidmapping", "gidmapping"):
            (uids if key == "uidmapping" else gids).append(parse_map_line(value))
    return AutoOptions(size, tuple(uids), tuple(gids))


def parse_map_line(text: str) -> IdMapLine:
    """ "CONTAINER:HOST:SIZE" (podman's ParseIDMapping form)."""
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or int(parts[2]) == 0:
        raise PodError(f"invalid mapping {text!r}: want CONTAINER_ID:HOST_ID:SIZE")
    return IdMapLine(int(parts[0]), int(parts[1]), int(parts[2]))


def format_map(lines: Iterable[IdMapLine]) -> list[str]:
    """Map lines as podman's inspect shows them (IDMappings.UidMap): "0:300000:1024"."""
    return [f"{m.inside}:{m.outside}:{m.count}" for m in lines]


def _normalize(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(have: Iterable[Interval], taken: Iterable[Interval]) -> list[Interval]:
    left = _normalize(have)
    for t_start, t_end in _normalize(taken):
        out = []
        for start, end in left:
            if t_end <= start or end <= t_start:
                out.append((start, end))
                continue
            if start < t_start:
                out.append((start, t_start))
            if t_end < end:
                out.append((t_end, end))
        left = out
    return left


def _first(intervals: Sequence[Interval], count: int) -> list[Interval]:
    """The first `count` ids of `intervals` (PodError when there are fewer)."""
    out, need = [], count
    for start, end in intervals:
        if need == 0:
            break
        take = min(need, end - start)
        out.append((start, start + take))
        need -= take
    if need:
        raise PodError(NOT_ENOUGH_IDS)
    return out


def _zip(host: Sequence[Interval], container: Sequence[Interval]) -> list[IdMapLine]:
    """Pair the ids of two interval lists of the same size in order, as map lines."""
    lines: list[IdMapLine] = []
    hosts, inner = list(host), list(container)
    while hosts and inner:
        (h_start, h_end), (c_start, c_end) = hosts[0], inner[0]
        count = min(h_end - h_start, c_end - c_start)
        lines.append(IdMapLine(c_start, h_start, count))
        hosts[0], inner[0] = (h_start + count, h_end), (c_start + count, c_end)
        if hosts[0][0] == h_end:
            hosts.pop(0)
        if inner[0][0] == c_end:
            inner.pop(0)
    return lines


def _outside(lines: Iterable[IdMapLine]) -> list[Interval]:
    return [(m.outside, m.outside + m.count) for m in lines]


def _inside(lines: Iterable[IdMapLine]) -> list[Interval]:
    return [(m.inside, m.inside + m.count) for m in lines]


def carve(
    size: int,
    available: Iterable[Interval],
    used: Iterable[IdMapLine],
    additional: Sequence[IdMapLine] = (),
) -> tuple[IdMapLine, ...]:
    """One kind of id's map for a new container: container ids [0, size) less the ids
    `additional` pins, onto the first free ids of `available` (free: not the outside of a
    `used` line nor of an `additional` one); then the `additional` lines as given."""
    wanted = _subtract([(0, size)], _inside(additional))
    free = _subtract(available, [*_outside(used), *_outside(additional)])
    host = _first(free, sum(end - start for start, end in wanted))
    return (*_zip(host, wanted), *additional)


def size_from_files(passwd: str, group: str) -> int:
    """The namespace size /etc/passwd and /etc/group ask for (podman's parseMountedFiles):
    one more than the largest uid or gid named, "nobody"/"nogroup" and 65534 left out
    (podman compares with `>` and can leave a primary gid one above the largest uid out)."""
    size = 0
    for text, fields in ((passwd, (2, 3)), (group, (2,))):
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) <= max(fields) or parts[0] in ("nobody", "nogroup"):
                continue
            for index in fields:
                value = parts[index]
                if value.isdigit() and int(value) >= size and int(value) != NOBODY:
                    size = int(value) + 1
    return size


def auto_size(options: AutoOptions, passwd: str, group: str) -> int:
    """The size of the namespace: `size=` when given, else the image's, at least 1024."""
    if options.size:
        return options.size
    return max(AUTO_MIN_SIZE, size_from_files(passwd, group))
