"""`pod kube generate|play|down`: Kubernetes YAML out of and into pods and containers."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pod.commands import common

kube_app = common.new_typer(
    help="Play containers, pods or volumes from Kubernetes YAML, or generate it.",
    no_args_is_help=True,
)


def _read(source: str) -> tuple[bytes, str]:
    """The YAML of FILE, or of stdin for `-`; and how errors name it."""
    from pod.errors import PodError

    if source == "-":
        return sys.stdin.buffer.read(), "stdin"
    try:
        return Path(source).read_bytes(), source
    except OSError as err:
        raise PodError(f"open {source}: {(err.strerror or str(err)).lower()}") from None


def _documents(source: str) -> list[dict]:
    from pod.kube.documents import load_documents

    return load_documents(*_read(source))


@kube_app.command("generate")
def generate_command(
    names: list[str] = typer.Argument(..., metavar="CONTAINER|POD...", help="What to describe."),
    service: bool = typer.Option(False, "--service", "-s", help="Add a NodePort Service."),
    filename: str = typer.Option(None, "--filename", "-f", help="Write to this file."),
) -> None:
    """Generate Kubernetes YAML (a Pod, and a Service with -s) from containers or pods."""
    from pod.commands.progress import reporter_for
    from pod.errors import PodError
    from pod.kube.generate import generate

    text = generate(common.settings(), list(names), service, reporter_for(False))
    if filename is None:
        print(text, end="")
        return
    path = Path(filename)
    if path.exists():
        raise PodError(f"cannot write to {filename!r}: file exists")
    from pod.store.lock import atomic_write

    atomic_write(path, text.encode())


def _print_down(report) -> None:
    if report.stopped:
        print("Pods stopped:")
        print("\n".join(report.stopped))
    if report.removed:
        print("Pods removed:")
        print("\n".join(report.removed))


@kube_app.command("play")
def play_command(
    source: str = typer.Argument(..., metavar="FILE|-", help="The YAML, or - for stdin."),
    replace: bool = typer.Option(False, "--replace", help="Replace pods the YAML names."),
    down: bool = typer.Option(False, "--down", help="Stop and remove what the YAML made."),
    start: bool = typer.Option(True, "--start/--no-start", help="Start the pods (default)."),
    network: list[str] = typer.Option([], "--network", help="Networks for the pods."),
    configmap: list[str] = typer.Option([], "--configmap", help="ConfigMap YAML files to use."),
    log_driver: str = typer.Option("k8s-file", "--log-driver", help="k8s-file or none."),
    build: bool = typer.Option(False, "--build", help="Build images from directories beside."),
    quiet: bool = common.quiet_option("Suppress pull output."),
) -> None:
    """Play pods, containers and volumes from Kubernetes YAML (FILE, or - for stdin)."""
    from pod.commands.progress import reporter_for
    from pod.errors import PodError, UsageError
    from pod.kube.down import down as take_down
    from pod.kube.play import PlayOptions, play

    if log_driver not in ("k8s-file", "none"):
        raise UsageError(f'unsupported --log-driver "{log_driver}": use k8s-file or none')
    settings = common.settings()
    reporter = reporter_for(quiet)
    documents = _documents(source)
    if down:
        _print_down(take_down(settings, documents, reporter))
        return
    network_mode = None
    if network:
        from pod.network import modes

        network_mode = modes.parse_network(modes.NetworkFlags(list(network)), settings.rootless)
    options = PlayOptions(
        start=start,
        replace=replace,
        network_mode=network_mode,
        log_driver=log_driver,
        build=build,
        context=Path(source).resolve().parent if source != "-" else Path.cwd(),
    )
    extra = [doc for path in configmap for doc in _documents(path)]
    try:
        report = play(settings, documents, options, reporter, extra)
    finally:
        reporter.close()
    if report.volumes:
        print("Volumes:")
        print("\n".join(report.volumes))
    for played in report.pods:
        print("Pod:")
        print(played.pod.id)
        print("Container:" if len(played.containers) == 1 else "Containers:")
        print("\n".join(r.id for r in played.containers))
        print()
    if report.pods:
        print()
    if report.errors:
        for line in report.errors:
            print(line, file=sys.stderr)
        raise PodError(f"failed to start {len(report.errors)} containers")


@kube_app.command("down")
def down_command(
    source: str = typer.Argument(..., metavar="FILE|-", help="The YAML, or - for stdin."),
) -> None:
    """Stop and remove the pods a Kubernetes YAML made (FILE, or - for stdin)."""
    from pod.commands.progress import QuietReporter
    from pod.kube.down import down

    _print_down(down(common.settings(), _documents(source), QuietReporter()))


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(kube_app, name="kube", rich_help_panel="Pods")
