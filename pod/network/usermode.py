"""Rootless outbound networking: slirp4netns in the container's namespace.

It needs /dev/net/tun inside a user namespace, which a host with the device at mode 0600
refuses; pod then gives the container loopback only and says once how to fix it. Published
ports never depend on it: pod's forwarder serves those in every rootless mode. (pasta is not
used: Debian 12's cannot join a namespace when it runs as root in a user namespace, as the
shim does.)
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pod.errors import PodError

if TYPE_CHECKING:
    import subprocess  # imported by `spawn`: a rootless `pod run` plans with this module

TUN = Path("/dev/net/tun")
SLIRP4NETNS = "slirp4netns"
SLIRP_HOST = "10.0.2.2"  # slirp4netns's address for the host's loopback
_NOTICE_FILE = "network-notice-given"


def tun_usable() -> bool:
    """Can this user open the tun device (what slirp4netns would fail on)?"""
    try:
        os.close(os.open(TUN, os.O_RDWR | os.O_CLOEXEC))
    except OSError:
        return False
    return True


def _mode_text() -> str:
    try:
        return oct(TUN.stat().st_mode & 0o777)[2:]
    except OSError:
        return "missing"


def unusable_reason() -> str | None:
    """Why slirp4netns cannot give a rootless container a network here, with the fix."""
    if shutil.which(SLIRP4NETNS) is None:
        return f"{SLIRP4NETNS} is not installed (apt-get install {SLIRP4NETNS})"
    if not tun_usable():
        return (
            f"{TUN} is not usable by this user (mode {_mode_text()}); as root: "
            f'chmod 0666 {TUN} (persist it with a udev rule: KERNEL=="tun", MODE="0666")'
        )
    return None


def resolve(kind: str, runroot: Path, warn) -> str:
    """The rootless mode a container gets: slirp4netns (an error when asked for by name and
    it cannot work), else "private": loopback only, said once per boot."""
    reason = unusable_reason()
    if reason is None:
        return SLIRP4NETNS
    if kind == SLIRP4NETNS:
        raise PodError(f"--network {kind}: {reason}")
    text = f"rootless containers get loopback only (no outbound network): {reason}"
    _notice_once(runroot, warn, text)
    return "private"


def shared_host_address(runroot: Path, warn) -> str:
    """host.containers.internal for a rootless container on pod networks: slirp4netns's
    address for the host, when the rootless network namespace gets slirp4netns; else none
    (and the notice, once per boot)."""
    reason = unusable_reason()
    if reason is None:
        return SLIRP_HOST
    text = f"rootless containers on pod networks reach only each other (no outbound): {reason}"
    _notice_once(runroot, warn, text)
    return ""


def _notice_once(runroot: Path, warn, text: str) -> None:
    marker = runroot / _NOTICE_FILE
    if not marker.exists():
        warn(f"{text}. Published ports still work.")
        runroot.mkdir(parents=True, exist_ok=True)
        marker.touch()


def host_address(kind: str, options: str = "") -> str:
    """What host.containers.internal is in the container (the host's loopback services);
    `options` are --network slirp4netns:OPTIONS (a cidr moves it)."""
    from pod.network.modes import slirp_host_address

    return slirp_host_address(options) if kind == SLIRP4NETNS else ""


def start(netns: str, log_path: Path, userns: str = "", options: str = "") -> int:
    """Start slirp4netns for the network namespace at `netns` (joining the user namespace at
    `userns` first, when it is not the caller's); its pid once it is ready. `options`:
    --network slirp4netns:OPTIONS (pod.network.modes.parse_slirp_options)."""
    return spawn(netns, log_path, userns, options).wait()


class Starting:
    """A slirp4netns started (`spawn`) and not yet ready: its start (~15 ms) overlaps the
    caller's own work until `wait`; `stop` ends it when that work fails instead."""

    def __init__(self, proc: subprocess.Popen, ready_r: int, log_path: Path) -> None:
        self.proc, self.ready_r, self.log_path = proc, ready_r, log_path

    def wait(self) -> int:
        """Its pid once it says it is ready; PodError with its reason when it failed."""
        try:
            if os.read(self.ready_r, 1) != b"1":
                time.sleep(0.05)
                self.proc.poll()
                text = self.log_path.read_text(errors="replace")
                raise PodError(f"slirp4netns failed: {_reason(text)}")
        finally:
            os.close(self.ready_r)
        return self.proc.pid

    def stop(self) -> None:
        os.close(self.ready_r)
        self.proc.kill()
        self.proc.wait()


def spawn(netns: str, log_path: Path, userns: str = "", options: str = "") -> Starting:
    """`start` without the wait for its readiness."""
    import subprocess

    from pod.network.modes import parse_slirp_options

    extra = parse_slirp_options(options)
    mtu = [] if any(arg.startswith("--mtu=") for arg in extra) else ["--mtu=65520"]
    ready_r, ready_w = os.pipe()
    argv = [SLIRP4NETNS, "--configure", *mtu, *extra, f"--ready-fd={ready_w}",
            "--netns-type=path", *([f"--userns-path={userns}"] if userns else []), netns,
            "tap0"]  # fmt: skip
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(ready_w,),
            start_new_session=True,
        )  # fmt: skip
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        os.close(ready_w)
        log.close()
    return Starting(proc, ready_r, log_path)


def _reason(text: str) -> str:
    """The tool's reason: its first line (slirp4netns follows an error with its usage)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no reason given"
