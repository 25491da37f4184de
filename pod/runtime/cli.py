"""`pod-runtime`: the OCI runtime command line over api.py, close enough to runc for podman.

argparse, not typer: conmon runs this for every container operation and start-up time counts.
Errors: one line on stderr (and a record in --log, which conmon/podman read), non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from pod import __version__
from pod.errors import PodError


def default_root() -> Path:
    if os.geteuid() == 0 and not _in_userns():
        return Path("/run/pod-runtime")
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        return Path(runtime_dir) / "pod-runtime"
    return Path(f"/tmp/pod-runtime-{os.geteuid()}")


def _in_userns() -> bool:
    from pod.util.proc_info import in_user_namespace

    return in_user_namespace()


def parse_signal(text: str) -> int:
    """TERM, SIGTERM, sigterm or 15."""
    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise PodError(f"unknown signal {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pod-runtime", description="pod's OCI runtime")
    parser.add_argument("--root", type=Path, help="state directory (default: per user)")
    parser.add_argument("--log", type=Path, help="append errors to this file")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("--debug", action="store_true", help="accepted for runc compatibility")
    parser.add_argument("--systemd-cgroup", action="store_true", help="not supported")
    parser.add_argument("--rootless", default="auto", help="accepted for runc compatibility")
    parser.add_argument("-v", "--version", action="version", version=f"pod-runtime {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True)
    for verb in ("create", "run"):
        sub = verbs.add_parser(verb)
        sub.add_argument("--bundle", "-b", type=Path, default=None)
        sub.add_argument("--pid-file", type=Path)
        sub.add_argument("--console-socket", type=Path)
        sub.add_argument("--no-new-keyring", action="store_true", help="keyrings are not used")
        sub.add_argument("--preserve-fds", type=int, default=0, help="pass fds 3..N+2 on")
        sub.add_argument("id")
    verbs.add_parser("start").add_argument("id")
    state = verbs.add_parser("state")
    state.add_argument("id")
    kill = verbs.add_parser("kill")
    kill.add_argument("--all", "-a", action="store_true", help="every process in the container")
    kill.add_argument("id")
    kill.add_argument("signal", nargs="?", default="TERM")
    delete = verbs.add_parser("delete")
    delete.add_argument("--force", "-f", action="store_true")
    delete.add_argument("id")
    verbs.add_parser("features")
    execute = verbs.add_parser("exec")
    execute.add_argument("--process", "-p", type=Path, help="a config.json process object")
    execute.add_argument("--tty", "-t", action="store_true")
    execute.add_argument("--console-socket", type=Path)
    execute.add_argument("--detach", "-d", action="store_true")
    execute.add_argument("--pid-file", type=Path)
    execute.add_argument("--cwd")
    execute.add_argument("--env", "-e", action="append", default=[])
    execute.add_argument("id")
    execute.add_argument("command", nargs=argparse.REMAINDER)
    return parser


def _log(args: argparse.Namespace, message: str, level: str = "error") -> None:
    if not args.log:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if args.log_format == "json":
        line = json.dumps({"level": level, "msg": message, "time": stamp})
    else:
        line = f'time="{stamp}" level={level} msg={json.dumps(message)}'
    try:
        with open(args.log, "a") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


def _warn(args: argparse.Namespace, warnings: list[str]) -> None:
    """Hook failures that do not fail the verb (poststart, poststop): stderr and the log."""
    for message in warnings:
        _log(args, message, "warning")
        print(f"pod-runtime: warning: {message}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from pod.runtime import api

    if args.systemd_cgroup:
        raise PodError('pod-runtime manages cgroups itself: use cgroup_manager = "cgroupfs"')
    root = args.root or default_root()
    if args.verb in ("create", "run"):
        bundle = args.bundle or Path.cwd()
        if args.verb == "run":  # the init must become our child so we can wait for it
            from pod.runtime.syscalls import PR_SET_CHILD_SUBREAPER, prctl

            prctl(PR_SET_CHILD_SUBREAPER, 1)
        pid = api.create(root, args.id, bundle, pid_file=args.pid_file,
                         console_socket=args.console_socket,
                         preserve_fds=args.preserve_fds)  # fmt: skip
        if args.verb == "create":
            return 0
        _warn(args, api.start(root, args.id))
        _, status = os.waitpid(pid, 0)
        _warn(args, api.delete(root, args.id, force=True))
        return os.waitstatus_to_exitcode(status) % 256 if os.WIFEXITED(status) else (
            128 + os.WTERMSIG(status))  # fmt: skip
    if args.verb == "start":
        _warn(args, api.start(root, args.id))
    elif args.verb == "state":
        print(json.dumps(api.state(root, args.id), indent=2))
    elif args.verb == "kill":
        api.kill(root, args.id, parse_signal(args.signal), all_processes=args.all)
    elif args.verb == "delete":
        _warn(args, api.delete(root, args.id, force=args.force))
    elif args.verb == "features":
        print(json.dumps(api.features(), indent=2))
    elif args.verb == "exec":
        return _exec(root, args)
    return 0


def _exec_process(root: Path, args: argparse.Namespace) -> dict:
    """runc's rules: --process FILE, or the container's own process with COMMAND as args."""
    from pod.runtime import api
    from pod.runtime import state as st

    if args.process:
        try:
            process = json.loads(args.process.read_text())
        except (OSError, ValueError) as err:
            raise PodError(f"reading the process file {args.process}: {err}") from None
        if not isinstance(process, dict):
            raise PodError(f"{args.process}: not a process object")
    else:
        if not args.command:
            raise PodError("exec needs --process FILE or a command")
        record = st.load(root, args.id)
        process = dict(api.load_spec(Path(record.bundle)).get("process") or {})
        process["args"] = list(args.command)
        process["terminal"] = False
    if args.tty:
        process["terminal"] = True
    if args.cwd:
        process["cwd"] = args.cwd
    if args.env:
        process["env"] = [*(process.get("env") or []), *args.env]
    return process


def _exec(root: Path, args: argparse.Namespace) -> int:
    """Start the process; without --detach wait for it (as its subreaper) and pass its code."""
    from pod.runtime import api
    from pod.runtime import state as st
    from pod.runtime.exec import wait_for
    from pod.runtime.syscalls import PR_SET_CHILD_SUBREAPER, prctl

    process = _exec_process(root, args)
    if not args.detach:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    pid = api.exec_process(
        root, args.id, process, console_socket=args.console_socket, detach=args.detach
    )
    if args.pid_file:
        st.write_atomic(args.pid_file, str(pid))
    return 0 if args.detach else wait_for(pid)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except PodError as err:
        message = str(err)
        _log(args, message)
        print(f"pod-runtime: {message}", file=sys.stderr)
        return 1 if err.exit_code == 125 else err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
