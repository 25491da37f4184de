"""Differential tests: the same command line through pod and podman.

Each engine has its own store, its own host directory with the same files (written by the same
function, owned by the user running the engines) and containers made by the same command lines.
A command's arguments may say `{host}` for the engine's host directory; commands run there.
The tests compare exit codes, messages (the host directory shown as `{host}`), the host files
and the containers' files (listed from inside by `exec`).
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# A tree as seen from inside a container: "path mode uid:gid kind [md5 | link target]".
_LIST_SCRIPT = r"""
cd "$1" || exit 3
find . | sort | while IFS= read -r f; do
    if [ -L "$f" ]; then what="link $(readlink "$f")"
    elif [ -d "$f" ]; then what=dir
    elif [ -f "$f" ]; then what="file $(md5sum < "$f" | cut -c1-32)"
    else what=other; fi
    echo "$f $(stat -c '%a %u:%g' "$f") $what"
done
"""


T = TypeVar("T")


@dataclass
class Engine:
    """One engine of a pair: `run` is its runner (pod's or podman's), `host` its directory."""

    name: str
    run: Callable[..., subprocess.CompletedProcess]
    host: Path

    def __call__(self, *args, **options) -> subprocess.CompletedProcess:
        options.setdefault("cwd", self.host)
        return self.run(*[str(arg).replace("{host}", str(self.host)) for arg in args], **options)

    def shown(self, text: str) -> str:
        """A message with this engine's host directory written `{host}`."""
        return text.replace(str(self.host), "{host}").strip()

    def listing(self, container: str, path: str) -> list[str]:
        """The tree at `path` in the (running) container, listed from inside."""
        done = self("exec", container, "sh", "-c", _LIST_SCRIPT, "sh", path, check=True)
        return done.stdout.splitlines()


@dataclass
class Twins:
    """pod and podman, run the same way, as root or as the rootless user (`owner`)."""

    mode: str
    pod: Engine
    podman: Engine
    owner: tuple[int, int]
    image: str  # the busybox test image, in both stores

    @property
    def engines(self) -> tuple[Engine, Engine]:
        return (self.pod, self.podman)

    def in_both(self, call: Callable[[Engine], T]) -> list[T]:
        """`call(engine)` for pod and podman at the same time (their stores and host
        directories are their own): [pod's result, podman's]."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(call, self.engines))

    def both(self, *args, **options) -> list[subprocess.CompletedProcess]:
        options.setdefault("check", True)
        return self.in_both(lambda engine: engine(*args, **options))

    def make_host(self, build: Callable[[Path], None]) -> None:
        """Run `build` on each host directory, then give what it made to the owner."""
        for engine in self.engines:
            build(engine.host)
            for top, dirs, files in os.walk(engine.host):
                for name in [*dirs, *files]:
                    os.lchown(os.path.join(top, name), *self.owner)

    def same(self, *args, messages: bool = True, **options) -> list[subprocess.CompletedProcess]:
        """Run `args` in both; assert the same exit code and (unless `messages` is False) the
        same message; return both results."""
        results = self.in_both(lambda engine: engine(*args, **options))
        pod, podman = results
        assert pod.returncode == podman.returncode, (args, pod.stderr, podman.stderr)
        if messages:
            shown = [
                engine.shown(r.stderr if isinstance(r.stderr, str) else r.stderr.decode())
                for engine, r in zip(self.engines, results, strict=True)
            ]
            assert shown[0] == shown[1], args
        return results

    def same_listing(self, container: str, path: str) -> list[str]:
        pod, podman = self.in_both(lambda engine: engine.listing(container, path))
        assert pod == podman, (path, pod, podman)
        return pod


def host_tree(top: Path) -> dict[str, tuple]:
    """Every entry below `top`: kind, mode, owner and content (or link target)."""
    tree: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            path = Path(dirpath, name)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                what: object = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                what = ("file", path.read_bytes())
            else:
                what = ("dir",) if stat.S_ISDIR(st.st_mode) else ("other", stat.S_IFMT(st.st_mode))
            mode = stat.S_IMODE(st.st_mode)
            tree[str(path.relative_to(top))] = (mode, st.st_uid, st.st_gid, what)
    return tree


def tar_members(data: bytes, owners: bool = True) -> list[tuple]:
    """A tar stream's members in order: name (no trailing "/"), type, mode, owner, content."""
    members = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            content = tar.extractfile(info).read() if info.isfile() else info.linkname
            owner = (info.uid, info.gid) if owners else None
            members.append((info.name.rstrip("/"), info.type, info.mode, owner, content))
    return members
