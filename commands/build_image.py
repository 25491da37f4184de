"""The body of `pod build`, without typer: the typer command (pod.commands.build) and the
typer-free fast path (pod.commands.fastpath) both call it with the command's parameters by name,
so a build whose every step is cached does not pay ~30 ms for importing typer and building the
CLI, a quarter of its time."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pod.commands import common


def build(
    *,
    context: str,
    tags: list[str],
    files: list[str],
    build_args: list[str],
    target: str | None,
    no_cache: bool,
    layers: bool,
    pull: str,
    pull_always: bool,
    pull_never: bool,
    tls_verify: bool | None,
    authfile: str | None,
    creds: str | None,
    cert_dir: str | None,
    ignorefile: str | None,
    logfile: str | None,
    ulimit: list[str],
    cache_ttl: str | None,
    jobs: int,
    iidfile: str | None,
    labels: list[str],
    annotations: list[str],
    image_format: str,
    network: str | None,
    platform: str | None,
    timestamp: int | None,
    quiet: bool,
    secrets: list[str],
    env: list[str],
    volumes: list[str],
    build_contexts: list[str],
    runtime: str | None,
    squash: bool,
    squash_all: bool,
) -> None:
    """`pod build`: build the image the Containerfile describes and print its ID."""
    import tempfile

    from pod.builder.executor import Builder, remove_build_leftovers
    from pod.builder.options import BuildOptions, pull_policy
    from pod.container.flags import parse_labels, parse_volume
    from pod.container.resource_flags import parse_ulimit
    from pod.errors import UsageError
    from pod.image.access import RegistryAccess, parse_creds
    from pod.image.writer import FORMATS
    from pod.util.timefmt import parse_duration

    policy = pull_policy(pull, pull_always, pull_never)
    ttl = parse_duration(cache_ttl) if cache_ttl is not None else None
    if cache_ttl is not None and ttl is None:
        raise UsageError(
            f'unable to parse value provided "{cache_ttl}" as --cache-ttl: time: invalid '
            f'duration "{cache_ttl}"'
        )
    if jobs < 0:
        raise UsageError("building: invalid value for jobs.  It must be a positive integer")
    if ignorefile is not None and not Path(ignorefile).is_file():
        raise UsageError(f"open {ignorefile}: no such file or directory")
    if image_format not in FORMATS:
        raise UsageError(f'unrecognized image type "{image_format}": use oci or docker')
    settings = common.settings()
    remove_build_leftovers(settings)
    with tempfile.TemporaryDirectory(prefix="pod-build-") as empty:
        text, name, path, root = _containerfile(context, files, Path(empty))
        options = BuildOptions(
            containerfile_text=text,
            containerfile_name=name,
            context=root,
            containerfile_path=path,
            tags=list(tags),
            build_args=_pairs(build_args, "--build-arg"),
            target=target,
            no_cache=no_cache,
            layers=layers,
            pull=policy,
            quiet=quiet,
            labels=parse_labels(labels),
            annotations=parse_labels(annotations),
            image_format=image_format,
            network=network,
            timestamp=_timestamp(timestamp),
            secrets=_secrets(secrets),
            env=[f"{k}={v}" for k, v in _pairs(env, "--env").items()],
            volumes=[parse_volume(v) for v in volumes],
            build_contexts=_build_contexts(build_contexts),
            runtime=runtime,
            squash=squash,
            squash_all=squash_all,
            access=RegistryAccess(tls_verify, authfile, parse_creds(creds), cert_dir),
            ignore_file=Path(ignorefile).absolute() if ignorefile else None,
            ulimits=[parse_ulimit(value) for value in ulimit],
            cache_ttl=ttl,
        )
        from pod.commands.progress import reporter_for

        with _output_to(logfile):
            reporter = reporter_for(quiet)
            try:
                builder = Builder(settings, options, reporter)
                if platform:
                    builder.check_platform(platform)
                record = builder.build()
            finally:
                reporter.close()
            if iidfile:
                from pod.store.lock import atomic_write

                atomic_write(Path(iidfile), f"sha256:{record.id}".encode())
            print(record.id)


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    """KEY=VALUE flags; a bare KEY takes the value from our environment (podman's rule)."""
    from pod.errors import UsageError

    result: dict[str, str] = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not key:
            raise UsageError(f'invalid {flag} "{value}": use KEY=VALUE')
        if sep:
            result[key] = content
        elif key in os.environ:
            result[key] = os.environ[key]
    return result


def _fields(value: str, flag: str) -> dict[str, str]:
    from pod.errors import UsageError

    fields = {}
    for part in value.split(","):
        key, sep, content = part.partition("=")
        if not sep:
            raise UsageError(f'invalid {flag} "{value}": use id=ID,src=PATH')
        fields[key] = content
    return fields


def _secrets(values: list[str]) -> dict[str, Path]:
    """--secret id=ID[,src=PATH]: the file given, else the stored secret named ID (`pod secret
    create`; RUN mounts its 0600 data file read-only, nothing is copied), else the file ID."""
    from pod.errors import UsageError

    secrets = {}
    for value in values:
        fields = _fields(value, "--secret")
        if "id" not in fields:
            raise UsageError(f'invalid --secret "{value}": it needs id=')
        given = fields.get("src") or fields.get("source")
        stored = None if given else _stored_secret(fields["id"])
        source = stored or Path(given or fields["id"])
        if not source.is_file():
            raise UsageError(
                f'secret "{fields["id"]}": {source}: no such file (nor a secret of that name)'
            )
        secrets[fields["id"]] = source.resolve()
    return secrets


def _stored_secret(name: str) -> Path | None:
    """The data file of the stored secret `name`, if there is one."""
    from pod.errors import PodError
    from pod.store.layout import Layout
    from pod.store.secrets import SecretStore

    settings = common.settings()
    store = SecretStore(Layout(settings.root, settings.runroot))
    try:
        record = store.lookup(name)
    except PodError:  # no such secret, or an ambiguous id prefix
        return None
    return store.data_file(record) if record.name == name else None  # a name, not an id prefix


def _build_contexts(values: list[str]) -> dict[str, Path]:
    from pod.errors import UsageError

    contexts = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not Path(path).is_dir():
            raise UsageError(
                f'invalid --build-context "{value}": use name=DIRECTORY (a local directory)'
            )
        contexts[name] = Path(path).resolve()
    return contexts


def _containerfile(
    context: str, files: list[str], empty: Path
) -> tuple[str, str, Path | None, Path]:
    """(text, name for errors, its path, the context dir); `-` reads stdin (context `empty`)."""
    from pod.errors import PodError, UsageError

    if context == "-":
        return sys.stdin.read(), "Containerfile", None, empty
    if "://" in context or context.startswith("git@"):
        raise UsageError(f'build context "{context}": only a local directory is supported')
    root = Path(context)
    if not root.is_dir():
        raise PodError(f"stat {context}: no such file or directory")
    root = root.resolve()
    if len(files) > 1:
        raise UsageError("pod build takes one -f file (join the files into one)")
    if files:
        given = files[0]
        if given == "-":
            return sys.stdin.read(), "Containerfile", None, root
        path = Path(given)
        if not path.exists() and not path.is_absolute():
            path = root / given
        if not path.is_file():
            raise PodError(f"the Containerfile {given} does not exist: no such file or directory")
        return path.read_text(), given, path.resolve(), root
    for name in ("Containerfile", "Dockerfile"):
        if (root / name).is_file():
            return (root / name).read_text(), name, root / name, root
    raise PodError(
        f"no Containerfile or Dockerfile specified or found in context directory, {root}: "
        "no such file or directory"
    )


def _timestamp(value: int | None) -> int | None:
    if value is not None:
        return value
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(epoch) if epoch.isdigit() else None


@contextlib.contextmanager
def _output_to(logfile: str | None) -> Iterator[None]:
    """--logfile: stdout and stderr go to the file (appended) while the build runs."""
    if logfile is None:
        yield
        return
    from pod.errors import PodError

    try:
        target = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as err:
        raise PodError(f"opening the log file {logfile}: {err.strerror}") from None
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
