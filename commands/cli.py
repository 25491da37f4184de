"""The `pod` command line: the root typer app and the global options (the error boundary is
pod.commands.boundary, shared with the typer-free pod.commands.fastpath).

Command modules are thin (parse, call the core, render). Heavy libraries are imported inside the
functions that need them so `pod --help`, `pod --version` and `pod images` start fast.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from pod import __version__
from pod.commands import boolflags, boundary, common
from pod.util.argv import command_name

COMMAND_MODULES = (
    "containers", "exec", "images", "pull", "push", "login", "volume", "system", "info",
    "inspect", "lifecycle", "cp", "network", "build", "archives", "mount", "completion",
    "healthcheck", "events", "secret", "generate", "pods", "kube",
)  # fmt: skip
# Which modules register each top-level name, so a command imports only its own module(s);
# help and unknown names import them all. A unit test keeps this table complete.
MODULES_FOR = {
    **dict.fromkeys(("run", "create", "start", "attach", "ps", "rm"), ("containers",)),
    **dict.fromkeys(("images", "rmi", "tag", "untag", "history"), ("images",)),
    **dict.fromkeys(
        ("logs", "stop", "kill", "restart", "wait", "init", "pause", "unpause", "top"),
        ("lifecycle",),
    ),  # fmt: skip
    **dict.fromkeys(("stats", "port", "rename", "diff"), ("lifecycle",)),
    "exec": ("exec",),
    "image": ("images", "pull", "push", "build", "archives", "mount"),
    "build": ("build",),
    "buildx": ("build",),
    "commit": ("build",),
    "pull": ("pull",),
    "push": ("push",),
    "login": ("login",),
    "logout": ("login",),
    "volume": ("volume",),
    "network": ("network",),
    "system": ("system", "info"),
    "info": ("info",),
    "version": ("info",),
    "inspect": ("inspect",),
    "container": ("containers", "inspect", "lifecycle", "cp", "build", "archives", "mount"),
    **dict.fromkeys(("save", "load", "import", "export"), ("archives",)),
    **dict.fromkeys(("mount", "umount", "unmount"), ("mount",)),
    "cp": ("cp",),
    "unshare": ("cp",),
    "completion": ("completion",),
    "healthcheck": ("healthcheck",),
    "events": ("events",),
    "pod": ("pods",),
    "kube": ("kube",),
    "secret": ("secret",),
    "generate": ("generate",),
}


def _print_version(value: bool) -> None:
    if value:
        print(f"pod version {__version__}")
        raise typer.Exit()


def root_options(
    root: str = typer.Option(None, "--root", help="Path to the graph root (the store)."),
    runroot: str = typer.Option(
        None, "--runroot", help="Path to the run root (state that dies with boot)."
    ),
    log_level: str = typer.Option(
        "warn",
        "--log-level",
        help="Log messages at and above: trace, debug, info, warn, error, fatal, panic.",
    ),
    storage_driver: str = typer.Option(
        None, "--storage-driver", help="Storage driver: overlay or vfs."
    ),
    storage_opt: list[str] = typer.Option(
        [], "--storage-opt", help="Storage driver option (overlay.mount_program=, ...)."
    ),
    volumepath: str = typer.Option(
        None, "--volumepath", help="Path of the volume directory (the store's own)."
    ),
    runtime: str = typer.Option(
        None, "--runtime", help="OCI runtime of the containers made: pod, runc, crun or a path."
    ),
    runtime_flag: list[str] = typer.Option(
        [], "--runtime-flag", help="A global flag for the OCI runtime (runc, crun)."
    ),
    cgroup_manager: str = typer.Option(
        None, "--cgroup-manager", help="Cgroup manager: cgroupfs or systemd."
    ),
    default_mounts_file: str = typer.Option(
        None, "--default-mounts-file", help="File of HOST:CONTAINER copies for every container."
    ),
    noout: bool = typer.Option(False, "--noout", help="Do not output to stdout."),
    events_backend: str = typer.Option(
        None, "--events-backend", help="Events backend: file or none (journald needs a journal)."
    ),
    version: bool = typer.Option(
        False, "--version", "-v", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Global options, as podman's."""
    if log_level not in common.LOG_LEVELS:  # logrus's words and exit code, as podman prints them
        choices = ", ".join(common.LOG_LEVELS)
        print(f'Log Level "{log_level}" is not supported, choose from: {choices}', file=sys.stderr)
        raise typer.Exit(1)
    common.apply_root_options(
        root=root,
        runroot=runroot,
        log_level=log_level,
        storage_driver=storage_driver,
        storage_opt=storage_opt,
        volumepath=volumepath,
        runtime=runtime,
        runtime_flag=runtime_flag,
        cgroup_manager=cgroup_manager,
        default_mounts_file=default_mounts_file,
        noout=noout,
        events_backend=events_backend,
    )


def build_app(modules: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    """The typer app with the commands of `modules` (importing a module costs start-up time)."""
    import importlib

    app = common.new_typer(
        name="pod",
        help="Manage containers and images with no daemon: rootless first, podman compatible.",
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root_options)
    image_app = common.new_typer(help="Manage images.", no_args_is_help=True)
    app.add_typer(image_app, name="image", rich_help_panel="Images")
    for name in COMMAND_MODULES:
        if name in modules:
            importlib.import_module(f"pod.commands.{name}").register(app, image_app)
    return app


def __getattr__(name: str) -> typer.Typer:
    """`pod.commands.app`: the whole CLI (completion generation and tests walk it)."""
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _app_for(name: str | None) -> typer.Typer:
    """Only the invoked command's module is imported and turned into a click command: all of
    them cost ~30 ms on every start. Help and unknown names get the whole app (to list all)."""
    app = build_app(MODULES_FOR.get(name or "", COMMAND_MODULES))
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app if name not in MODULES_FOR else build_app()
    slim = common.new_typer(
        name="pod", add_completion=False, context_settings=app.info.context_settings
    )
    slim.registered_callback = app.registered_callback
    slim.registered_commands = commands
    slim.registered_groups = groups
    return slim


def main(argv: list[str] | None = None, early_worker: Any = None) -> None:
    """Run the CLI: every error leaves through here as one `Error: ...` line, podman's code.

    Run as the program (no `argv`), it ends without the interpreter's teardown (see
    `boundary.exit_now`); called with `argv` it raises SystemExit like any function would.
    `early_worker`: the bridge worker pod.entry forked for a rootful `run`."""
    as_program = argv is None
    common.hand_over_early_worker(early_worker)
    argv = sys.argv[1:] if argv is None else argv
    common.remember_command_line(argv)
    command = typer.main.get_command(_app_for(command_name(argv)))
    args = boolflags.normalize(command, argv)

    def invoke() -> int | None:
        try:
            return command.main(args=args, prog_name="pod", standalone_mode=False)
        except typer.Exit as done:
            return done.exit_code
        except typer.TyperException as err:
            message = err.format_message()
            context = getattr(err, "ctx", None)
            if context is not None and (
                not message or message.startswith("Usage:") or message == "Missing command."
            ):
                # A group called without a subcommand: as podman, its help (to stdout, terminal
                # or not), then what is missing.
                print(context.get_help())
                message = f"missing command '{context.command_path} COMMAND'"
            print(f"Error: {message}", file=sys.stderr)
            return 125
        except typer.Abort:
            raise KeyboardInterrupt from None

    code = boundary.guarded(invoke)
    if as_program:
        boundary.exit_now(code)
    sys.exit(code)
