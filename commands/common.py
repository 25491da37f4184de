"""What every command shares: the global settings, option definitions, and output helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pod.config import Settings, load_settings
from pod.util.records import dataclass, field

if TYPE_CHECKING:  # typer is imported by the functions that make options: the fast path
    import typer  # (pod.commands.fastpath) runs commands without it

_state: dict[str, Any] = {}


@dataclass
class GlobalOptions:
    """The global flags as given (pod.config.load_settings checks them)."""

    root: str | None = None
    runroot: str | None = None
    storage_driver: str | None = None
    log_level: str = "warn"
    storage_opts: list[str] = field(default_factory=list)
    volume_path: str | None = None
    cgroup_manager: str | None = None
    default_mounts_file: str | None = None
    runtime: str | None = None


LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


def apply_root_options(
    root: str | None,
    runroot: str | None,
    log_level: str,
    storage_driver: str | None,
    storage_opt: list[str],
    volumepath: str | None,
    runtime: str | None,
    runtime_flag: list[str],
    cgroup_manager: str | None,
    default_mounts_file: str | None,
    noout: bool,
    events_backend: str | None,
) -> None:
    """The global flags (pod.commands.cli's root options, with the same names; the log level
    already checked) put in force for this invocation."""
    configure(
        GlobalOptions(
            root=root,
            runroot=runroot,
            storage_driver=storage_driver,
            log_level=log_level,
            storage_opts=list(storage_opt),
            volume_path=volumepath,
            cgroup_manager=cgroup_manager,
            default_mounts_file=default_mounts_file,
            runtime=runtime,
        )
    )
    if runtime_flag:  # the shims and their helpers inherit it
        from pod.runtime.external import RUNTIME_FLAGS_VARIABLE

        os.environ[RUNTIME_FLAGS_VARIABLE] = "\n".join(runtime_flag)
    if events_backend is not None:
        from pod import events

        events.configure(events_backend)
        events.backend()  # journald without a journal: refused before any work
    if noout:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    if log_level in ("trace", "debug", "info"):  # logging costs start-up time: only when asked
        import logging

        level = logging.INFO if log_level == "info" else logging.DEBUG
        logging.basicConfig(level=level, format="%(levelname)s[%(name)s] %(message)s")


def configure(options: GlobalOptions) -> None:
    _state["args"] = options
    _state.pop("settings", None)


def settings() -> Settings:
    """The settings for this invocation, built once from the global flags; the store they name
    is made private and tidied (pod.store.prepare) before any command uses it."""
    if "settings" not in _state:
        from pod import events
        from pod.store.layout import Layout
        from pod.store.prepare import prepare_store

        given = _state.get("args") or GlobalOptions()
        loaded = load_settings(
            given.root,
            given.runroot,
            given.storage_driver,
            given.log_level,
            storage_opts=given.storage_opts,
            volume_path=given.volume_path,
            cgroup_manager=given.cgroup_manager,
            default_mounts_file=given.default_mounts_file,
            runtime=given.runtime,
        )
        # containers.conf's events_logger = "journald" without a journal: refused before any
        # work, as --events-backend journald is (not after it, when the first event is due).
        events.backend()
        prepare_store(Layout(loaded.root, loaded.runroot), rootless=loaded.rootless)
        _state["settings"] = loaded
    return _state["settings"]


def image_store():
    """The image store of this invocation's settings."""
    from pod.store.images import ImageStore
    from pod.store.layout import Layout

    current = settings()
    return ImageStore(Layout(current.root, current.runroot))


def remember_command_line(argv: list[str]) -> None:
    """The arguments this invocation was given (after the program name)."""
    _state["argv"] = list(argv)


def command_line() -> list[str]:
    """This invocation as typed, under the program's name: `pod --root R run -d IMAGE` (what
    inspect shows as CreateCommand and `generate systemd --new` runs again)."""
    return ["pod", *_state.get("argv", [])]


def cidfile_option() -> Any:
    import typer

    return typer.Option([], "--cidfile", help="Read the container ID from the file.")


def container_ids_from(cidfiles: list[str], names: list[str] | None, ignore: bool) -> list[str]:
    """The IDs --cidfile names (podman's: not together with container names); with --ignore a
    missing file is skipped (a systemd unit's stop after a run that never wrote it)."""
    from pod.errors import PodError, UsageError

    if names:
        raise UsageError("no arguments are needed with --latest or --cidfile")
    ids = []
    for path in cidfiles:
        try:
            with open(path) as handle:
                ids.append(handle.read().strip())
        except FileNotFoundError:
            if not ignore:
                raise PodError(f"reading CIDFile: open {path}: no such file or directory") from None
    return ids


def read_pod_id_file(path: str) -> str:
    """The pod ID a --pod-id-file holds (podman's error when it cannot be read)."""
    from pod.errors import PodError

    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise PodError(f"reading pod ID file: open {path}: {reason}") from None


def new_typer(**settings: Any) -> typer.Typer:
    """Every typer app and group of pod's: help as plain click text, as podman's plain help;
    typer's rich help would import rich (~25 ms) on every `--help`."""
    import typer

    return typer.Typer(rich_markup_mode=None, **settings)


def hand_over_early_worker(worker: Any) -> None:
    """The bridge worker pod.entry forked before the CLI was imported (rootful `run`)."""
    _state["early_worker"] = worker


def take_early_worker() -> Any:
    """The early worker, if any, once: the caller owns it then."""
    return _state.pop("early_worker", None)


def debug_enabled() -> bool:
    return (_state.get("args") or GlobalOptions()).log_level in ("debug", "trace")


def warn(message: str) -> None:
    from pod.commands.progress import warning_line

    print(warning_line(message), file=sys.stderr)


def print_json(value: Any) -> None:
    """podman's JSON output style: 4-space indent, keys in the order given."""
    print(json.dumps(value, indent=4))


# Shared option definitions, so every command spells them the same way.
def tls_verify_option() -> Any:
    import typer

    return typer.Option(
        None,
        "--tls-verify/--no-tls-verify",
        help="Require HTTPS and verify certificates (default: registries.conf's insecure setting).",
    )


def authfile_option() -> Any:
    import typer

    return typer.Option(None, "--authfile", help="Path of the authentication file.")


def creds_option() -> Any:
    import typer

    return typer.Option(None, "--creds", help="Credentials (USERNAME:PASSWORD) for the registry.")


def cert_dir_option() -> Any:
    import typer

    return typer.Option(
        None,
        "--cert-dir",
        help="Directory with certificates (*.crt, *.cert, *.key) for the registry.",
    )


def quiet_option(help_text: str) -> Any:
    import typer

    return typer.Option(False, "--quiet", "-q", help=help_text)


def format_option(
    help_text: str = "Pretty-print with a Go template, `json` or `table ...`.",
) -> Any:
    import typer

    return typer.Option(None, "--format", help=help_text)


def container_group(app: typer.Typer) -> typer.Typer:
    """`pod container ...`, shared by every module that adds commands to it."""

    group = next((g.typer_instance for g in app.registered_groups if g.name == "container"), None)
    if group is None:
        group = new_typer(help="Manage containers.", no_args_is_help=True)
        app.add_typer(group, name="container", rich_help_panel="Containers")
    return group


def raise_collected(errors: Sequence[BaseException]) -> None:
    """podman's way with several failures in one command: each but the last printed as an
    `Error:` line, the last one raised (its exit code is the command's)."""
    for error in errors[:-1]:
        print(f"Error: {error}", file=sys.stderr)
    if errors:
        raise errors[-1]
