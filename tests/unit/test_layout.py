"""store/layout.py: every store path in one place, importable by the shim's small interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pod
import pod.store
from pod.store.layout import ContainerPaths, Layout


def test_importing_the_layout_loads_no_other_module():
    """The supervisor runs `python -I -S` with C modules only: the layout must stay usable
    there (no pathlib, dataclasses or typing behind it)."""
    probe = (
        "import sys; sys.path.append(sys.argv[1]); import pod; pod.__path__.append(sys.argv[2]);"
        " before = set(sys.modules); import pod.store.layout;"
        " print(' '.join(sorted(set(sys.modules) - before)))"
    )
    pod_parent = str(Path(pod.__path__[0]).parent)
    store_parent = str(Path(pod.store.__path__[0]).parent)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, pod_parent, store_parent],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert set(done.stdout.split()) <= {"__future__", "pod.store", "pod.store.layout"}


def test_container_paths():
    layout = Layout(Path("/r"), Path("/run/r"))
    paths = layout.container("abc")
    assert paths.directory == layout.container_dir("abc") == Path("/r/containers/abc")
    assert (paths.config, paths.record, paths.state) == (
        Path("/r/containers/abc/config.json"),
        Path("/r/containers/abc/container.json"),
        Path("/r/containers/abc/state.json"),
    )
    assert [p.name for p in (paths.upper, paths.work, paths.merged)] == ["upper", "work", "merged"]
    assert [p.name for p in (paths.log, paths.pid_file, paths.attach_socket)] == [
        "ctr.log", "container.pid", "attach.sock",
    ]  # fmt: skip
    assert [p.name for p in (paths.hosts, paths.hostname, paths.resolv_conf)] == [
        "hosts", "hostname", "resolv.conf",
    ]  # fmt: skip
    assert ContainerPaths(Path("/x")).merged == Path("/x/merged")  # any mount directory


def test_layout_compares_and_hashes_by_its_roots():
    first, again = Layout(Path("/a"), Path("/b")), Layout(Path("/a"), Path("/b"))
    assert first == again and hash(first) == hash(again)
    assert first != Layout(Path("/a"), Path("/c"))
    assert repr(first) == "Layout(root=PosixPath('/a'), runroot=PosixPath('/b'))"
