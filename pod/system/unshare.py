"""`pod unshare [COMMAND...]`: run a command as root of a user namespace with the rootless mapping.

The namespace is the one rootless containers and layer unpacking use (pod.util.userns: uid 0
is the user, 1.. the user's /etc/subuid and /etc/subgid ranges), so files in the store owned by
subordinate ids can be inspected or removed. As podman, CONTAINERS_GRAPHROOT and
CONTAINERS_RUNROOT name the store. The child is
`python -m pod.system.unshare --userns-sync FD CMD...`: it unshares, waits for the maps, then
execs the command; its exit code is passed through. The session has a mount namespace of its
own, as podman's: `pod mount` works there and its mounts stay there. POD_ROOT and POD_RUNROOT
name the store too, so pod run in the session uses the user's store, not root's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from pod.errors import PodError
from pod.util.userns import SYNC_FLAG, current_mapping, enter_userns, set_up_child


def run_unshare(settings: Any, command: Sequence[str], warn: Any = None) -> int:
    """Run `command` (default: $SHELL, else /bin/sh) in the namespace; return its exit code."""
    if os.geteuid() == 0:
        raise PodError("please use unshare with rootless")
    argv = list(command) or [os.environ.get("SHELL") or "/bin/sh"]
    env = dict(os.environ)
    env["CONTAINERS_GRAPHROOT"] = env["POD_ROOT"] = str(settings.root)
    env["CONTAINERS_RUNROOT"] = env["POD_RUNROOT"] = str(settings.runroot)
    parent_end, child_end = socket.socketpair()
    with parent_end:
        with child_end:
            # -I: the cwd is kept for the command, but must not shadow pod on sys.path.
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-m",
                    "pod.system.unshare",
                    SYNC_FLAG,
                    str(child_end.fileno()),
                ]
                + argv,
                pass_fds=(child_end.fileno(),),
                env=env,
            )
        try:
            warning = set_up_child(parent_end, proc.pid, current_mapping())
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if warning and warn is not None:
        warn(warning)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command gets ^C itself
    try:
        code = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return 128 - code if code < 0 else code


def _child(argv: list[str]) -> None:
    from pod.container.rootfs import private_mount_namespace  # mounts come back to no one

    try:
        enter_userns(int(argv[1]))
        private_mount_namespace()
    except OSError as err:
        print(f"Error: a mount namespace for the session: {err.strerror}", file=sys.stderr)
        sys.exit(125)
    except PodError as err:
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(125)
    command = argv[2:]
    try:
        os.execvp(command[0], command)
    except OSError as err:
        print(f"Error: {command[0]}: {err.strerror}", file=sys.stderr)
        sys.exit(127 if isinstance(err, FileNotFoundError) else 126)


if __name__ == "__main__":
    _child(sys.argv[1:])
