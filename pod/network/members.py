"""Containers on one network find each other by name: every running member's /etc/hosts lists
the others (name and aliases), kept current as members start and stop — no DNS daemon.

Each line pod adds ends with a `# pod-network <id>` comment naming the member it describes,
so a member's lines can be taken out again exactly. Files are rewritten in place (they are
bind-mounted into running containers: a rename would leave the container the old file).
Callers hold the networks lock.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from pod.network.state import read_state
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout

_TAG = "# pod-network "


def _line(ip: str, names: list[str], container_id: str) -> str:
    return f"{ip}\t{' '.join(dict.fromkeys(names))}\t{_TAG}{container_id[:12]}\n"


def _rewrite(path: os.PathLike, drop: set[str], add: list[str]) -> None:
    """Remove the lines of the members in `drop`, append `add`."""

    def edit(lines: list[str]) -> list[str]:
        kept = [
            line for line in lines if not (_TAG in line and line.rsplit(_TAG, 1)[1].strip() in drop)
        ]
        return kept + add

    _edit(path, edit)


def _edit(path: os.PathLike, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite the lines of a hosts file in place (same inode: it is bind-mounted)."""
    try:
        with open(path, "r+", encoding="utf-8") as hosts:
            text = "".join(edit(hosts.readlines()))
            hosts.seek(0)
            hosts.write(text)
            hosts.truncate()
    except FileNotFoundError:
        pass  # a member removed meanwhile


def _own_names(record: ContainerRecord) -> list[str]:
    """The names the container's own line gives its address (pod.container.etc_files)."""
    return list(dict.fromkeys(name for name in (record.hostname, record.name) if name))


def own_address(layout: Layout, record: ContainerRecord, ip: str, present: bool) -> None:
    """The container's own /etc/hosts line for its address on a network it was connected to
    (`present`) or disconnected from, as podman keeps it."""
    names = _own_names(record)

    def edit(lines: list[str]) -> list[str]:
        kept = [line for line in lines if not _is_own_line(line, ip, names)]
        return kept + ([f"{ip}\t{' '.join(names)}\n"] if present else [])

    if ip:
        _edit(layout.container(record.id).hosts, edit)


def _is_own_line(line: str, ip: str, names: list[str]) -> bool:
    fields = line.partition("#")[0].split()
    return len(fields) > 1 and fields[0] == ip and set(fields[1:]) <= set(names)


def _running_members(
    layout: Layout, store: ContainerStore, network: str, allocations: dict
) -> list[tuple[ContainerRecord, str, list[str]]]:
    found = []
    for container_id, entry in allocations.items():
        state = read_state(layout, container_id)
        if state is None or network not in state.attachments:
            continue
        with contextlib.suppress(Exception):
            record = store.lookup(container_id)
            names = [record.name, *entry.get("aliases", [])]
            found.append((record, entry["ip"], names))
    return found


def joined(layout: Layout, record: ContainerRecord, network: str, allocations: dict) -> None:
    """`record` is now running on `network`: it and the other members learn each other."""
    store = ContainerStore(layout)
    members = _running_members(layout, store, network, allocations)
    mine = allocations.get(record.id, {})
    own_line = _line(mine.get("ip", ""), [record.name, *mine.get("aliases", [])], record.id)
    others = [m for m in members if m[0].id != record.id]
    _rewrite(
        layout.container(record.id).hosts,
        {m[0].id[:12] for m in others},
        [_line(ip, names, member.id) for member, ip, names in others],
    )
    for member, _ip, _names in others:
        _rewrite(layout.container(member.id).hosts, {record.id[:12]}, [own_line])


def left(layout: Layout, record: ContainerRecord, network: str, allocations: dict) -> None:
    """`record` stopped: the other running members forget it."""
    store = ContainerStore(layout)
    for member, _ip, _names in _running_members(layout, store, network, allocations):
        if member.id != record.id:
            _rewrite(layout.container(member.id).hosts, {record.id[:12]}, [])
