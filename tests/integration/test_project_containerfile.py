"""The project's own Containerfile, built by `pod build`: an image with pod inside.

The Containerfile's default base is docker.io/library/debian:12, which the tests cannot pull. The
test makes a base the Containerfile accepts (python3 with venv, setuptools and wheel, no apt-get):
the busybox test image plus the host's /usr/bin/python3, its standard library, the shared libraries
`ldd` names, Debian's ensurepip wheels and, in /usr/lib/python3/dist-packages, the installed
distributions pod depends on (so pip needs no network: the build runs with `--network none`).
That base is itself built with `pod build` (`COPY rootfs/ /`).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from packaging.requirements import Requirement
from runners import REPO_ROOT, SYSTEM_PYTHON
from test_build import built, image_id, inspect, run_out, write_tree

PYTHON = Path(SYSTEM_PYTHON)
DIST_PACKAGES = "usr/lib/python3/dist-packages"
STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "__phello__"}
HOST_SITE_DIRS = ["/usr/lib/python3/dist-packages"]
BUILD_TIMEOUT = 900


def copy_file(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        if not dest.is_symlink() and not dest.exists():
            dest.symlink_to(os.readlink(src))
    elif not dest.exists():
        shutil.copy2(src, dest)


def shared_libraries(binaries: list[Path]) -> set[str]:
    """Every library path `ldd` resolves for `binaries`, the dynamic loader included."""
    found: set[str] = set()
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            match = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
            if match:
                found.add(match.group(1))
    return found


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def find_distribution(name: str) -> importlib.metadata.Distribution | None:
    for path in (None, HOST_SITE_DIRS):
        try:
            if path is None:
                return importlib.metadata.distribution(name)
            found = list(importlib.metadata.distributions(name=name, path=path))
            if found:
                return found[0]
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def copy_distribution(dist: importlib.metadata.Distribution, site: Path) -> None:
    """The installed files of `dist` (RECORD; for Debian's egg-info, its top-level packages)."""
    if dist.files is not None:
        top = Path(dist.locate_file(""))
        for entry in dist.files:
            if entry.parts[0] == ".." or "__pycache__" in entry.parts:
                continue  # scripts in bin/; byte code is rebuilt
            src = Path(dist.locate_file(entry))
            if src.exists() or src.is_symlink():
                copy_file(src, site / src.relative_to(top))
        return
    info = Path(dist._path)  # an .egg-info dir without installed-files.txt (Debian)
    shutil.copytree(info, site / info.name, dirs_exist_ok=True)
    for name in (dist.read_text("top_level.txt") or "").split():
        src = info.parent / name
        if src.is_dir():
            shutil.copytree(src, site / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        elif (info.parent / f"{name}.py").exists():
            copy_file(info.parent / f"{name}.py", site / f"{name}.py")


def install_requirements(site: Path, tmp: Path) -> None:
    """pod's runtime dependencies (transitively), setuptools and wheel, from the host."""
    wanted = [*runtime_requirements(), Requirement("setuptools"), Requirement("wheel")]
    done: set[str] = set()
    while wanted:
        req = wanted.pop()
        key = req.name.lower().replace("_", "-")
        if key in done or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        done.add(key)
        dist = find_distribution(req.name)
        if dist is None and key == "wheel":
            # not installed on this host (no python3-wheel): fetch it as pip would
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--dest", str(tmp), "wheel"], check=True)  # fmt: skip
            with zipfile.ZipFile(next(tmp.glob("wheel-*.whl"))) as whl:
                whl.extractall(site)
            continue
        assert dist is not None, f"{req.name} is not installed on this host"
        copy_distribution(dist, site)
        wanted += [Requirement(r) for r in dist.requires or []]


def python_rootfs(rootfs: Path, tmp: Path) -> Path:
    """The host's Python 3, its stdlib and libraries, and pod's dependencies under `rootfs`."""
    real = PYTHON.resolve()
    copy_file(real, rootfs / str(real).lstrip("/"))
    (rootfs / "usr/bin/python3").symlink_to(real.name)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = Path("/usr/lib") / version
    assert real.name == version, f"{real} is not the interpreter of this test run ({version})"
    for src in stdlib.iterdir():
        if src.name in STDLIB_SKIP or src.name.startswith("config-"):
            continue
        dest = rootfs / str(src).lstrip("/")
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, dest, symlinks=True)
        else:
            copy_file(src, dest)
    wheels = Path("/usr/share/python-wheels")  # Debian's ensurepip takes pip from here
    if wheels.is_dir():
        shutil.copytree(wheels, rootfs / "usr/share/python-wheels")
    install_requirements(rootfs / DIST_PACKAGES, tmp)
    objects = [real] + [p for p in rootfs.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    for lib in shared_libraries(objects):
        dest = rootfs / lib.lstrip("/")
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(lib), dest)
    return rootfs


def test_containerfile_builds_an_image_with_pod_inside(pod, test_images, tmp_path):
    base_ctx = write_tree(tmp_path / "pybase", {
        "Containerfile": f"FROM {test_images.busybox.ref}\nCOPY rootfs/ /\nENV LANG=C.UTF-8\n",
    })  # fmt: skip
    python_rootfs(base_ctx / "rootfs", tmp_path)
    built(pod, base_ctx, "-t", "localhost/pod-test-pybase")
    # the base really is a working Python with pod's dependencies (and no apt-get)
    probe = run_out(pod, "localhost/pod-test-pybase", "python3", "-c",
                    "import venv, setuptools, wheel, typer, rich, oras, pyroute2, zstandard; "
                    "print('base-ok')")  # fmt: skip
    assert probe == "base-ok\n"

    result = pod(
        "build", "--network", "none", "--build-arg", "BASE=localhost/pod-test-pybase",
        "-t", "localhost/pod-in-pod", "-f", REPO_ROOT / "Containerfile", REPO_ROOT,
        timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Reading package lists" not in result.stdout  # the base has no apt-get
    image = image_id(result)

    expected = pod("--version", check=True).stdout
    assert re.fullmatch(r"pod version \S+\n", expected)
    assert run_out(pod, image, "--version") == expected
    assert "Usage: pod" in run_out(pod, image)  # CMD ["--help"]
    config = inspect(pod, image)["Config"]
    assert config["Entrypoint"] == ["/opt/pod/bin/pod"]
    assert any(e.startswith("PATH=/opt/pod/bin:") for e in config["Env"])
    # the source tree is not left in the image
    gone = pod("run", "--rm", "--entrypoint", "", image, "ls", "/src/pod")
    assert gone.returncode != 0
    # the shell completions are installed where bash-completion, zsh and fish look
    for shell, path in [
        ("bash", "/usr/share/bash-completion/completions/pod"),
        ("zsh", "/usr/share/zsh/vendor-completions/_pod"),
        ("fish", "/usr/share/fish/vendor_completions.d/pod.fish"),
    ]:
        installed = run_out(pod, image, "cat", path, args=("--entrypoint", ""))
        assert installed == (REPO_ROOT / "completions" / f"pod.{shell}").read_text(), shell
