"""podman's `cp` rules as pod.container.cp applies them: argument parsing, container paths, and
where a copy lands (checked with a side that only answers stat from a table)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pod.container.cp import Location, _destination, _plan, parse_location, quoted
from pod.container.cp_sides import Get, Stat, container_path
from pod.errors import PodError


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("ctr:/etc/passwd", Location("ctr", "/etc/passwd")),
        ("ctr:relative", Location("ctr", "relative")),
        ("ctr:", Location("ctr", "")),
        ("ctr:a:b", Location("ctr", "a:b")),
        ("-", Location(None, "-")),
        ("/abs:with:colons", Location(None, "/abs:with:colons")),
        ("./file:name.txt", Location(None, "./file:name.txt")),
        ("plain", Location(None, "plain")),
        ("", Location(None, "")),
    ],
)
def test_parse_location(text: str, location: Location) -> None:
    assert parse_location(text) == location


@pytest.mark.parametrize(
    ("path", "workdir", "absolute"),
    [
        ("/etc/hosts", "/home", "/etc/hosts"),
        ("file", "/home/tester", "/home/tester/file"),
        (".", "/home/tester", "/home/tester"),
        ("sub/../other", "/w", "/w/other"),
        ("/a/../../b", "/", "/b"),
        ("x", "/", "/x"),
    ],
)
def test_container_paths_start_at_the_workdir(path: str, workdir: str, absolute: str) -> None:
    assert container_path(path, workdir) == absolute


def test_quoted_as_go_does() -> None:
    assert quoted('a"b\\c') == '"a\\"b\\\\c"'


@dataclass
class TableSide:
    """A side whose stat answers come from a table (path as given → Stat)."""

    kind: str
    table: dict[str, Stat] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return "the host" if self.kind == "host" else "container ctr"

    def stat(self, path: str) -> Stat:
        return self.table.get(path, Stat(path.strip("/"), "missing"))


def container(**entries: str) -> TableSide:
    """A container side: entries named by their path below the root, valued by kind."""
    table = {}
    for path, kind in entries.items():
        table["/" + path] = Stat(path, kind)
    table["/"] = Stat("", "dir")
    return TableSide("container", table)


def test_an_existing_directory_takes_the_source_under_its_name() -> None:
    side = container(tmp="dir")
    dest = _destination(side, "/tmp", stdin=False)
    assert (dest.into, dest.name) == ("tmp", None)
    source = container(d="dir", f="file")
    assert _plan(source, Stat("d", "dir"), "/d", dest) == Get("d", "d")
    assert _plan(source, Stat("d", "dir"), "/d/.", dest) == Get("d", "")
    assert _plan(source, Stat("", "dir"), "/", dest) == Get("", "")


def test_a_file_or_a_missing_name_is_replaced_or_made() -> None:
    side = container(tmp="dir", **{"tmp/f": "file"})
    source = container(d="dir", f="file")
    dest = _destination(side, "/tmp/f", stdin=False)
    assert (dest.into, dest.name) == ("tmp", "f")
    assert _plan(source, Stat("f", "file"), "/f", dest) == Get("f", "f")
    with pytest.raises(PodError, match="destination must be a directory when copying a dir"):
        _plan(source, Stat("d", "dir"), "/d", dest)
    missing = _destination(side, "/tmp/new", stdin=False)
    assert (missing.into, missing.name) == ("tmp", "new")
    assert _plan(source, Stat("d", "dir"), "/d/.", missing) == Get("d", "new")


@pytest.mark.parametrize(
    ("path", "stdin", "message"),
    [
        ("/tmp/new/", False, '"/tmp/new/" could not be found on container ctr: no such file'),
        ("/nope/x", False, '"/nope/x" could not be found on container ctr: no such file'),
        ("/tmp/f/x", False, '"/tmp/f/x" could not be found on container ctr: not a directory'),
        ("/tmp/f", True, "destination must be a directory when copying from stdin"),
        ("/tmp/new", True, "destination must be a directory when copying from stdin"),
        ("/dev/null", False, 'invalid destination: "/dev/null" must be a directory or a regular'),
    ],
)
def test_destination_errors(path: str, stdin: bool, message: str) -> None:
    side = container(tmp="dir", **{"tmp/f": "file", "dev/null": "other"})
    with pytest.raises(PodError, match=message.replace("(", r"\(")):
        _destination(side, path, stdin=stdin)


def test_a_host_fifo_parent_is_an_invalid_destination() -> None:
    host = TableSide("host", {"/w/fifo": Stat("/w/fifo", "other")})
    host.table["/w/fifo/x"] = Stat("/w/fifo/x", "missing")
    with pytest.raises(PodError, match='invalid destination: "/w/fifo" must be a directory'):
        _destination(host, "/w/fifo/x", stdin=False)


def test_host_sources_keep_the_name_given() -> None:
    """A host symlink is copied under its own name (podman), a container's under its target's."""
    host = TableSide("host")
    dest = _destination(container(tmp="dir"), "/tmp", stdin=False)
    assert _plan(host, Stat("/w/target", "file"), "/w/link", dest) == Get("/w/target", "link")
    assert _plan(host, Stat("/w/dir", "dir"), "/w/dir/.", dest) == Get("/w/dir", "")
    ctr = container()
    assert _plan(ctr, Stat("bin/busybox", "file"), "/bin/sh", dest) == Get("bin/busybox", "busybox")
