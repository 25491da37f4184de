"""`pod secret`: create, ls, inspect, rm (the store: pod.store.secrets)."""

from __future__ import annotations

import os
import sys

import typer

from pod.commands import common

secret_app = common.new_typer(help="Manage secrets.", no_args_is_help=True)


def _layout():
    from pod.store.layout import Layout

    settings = common.settings()
    return Layout(settings.root, settings.runroot)


def _store():
    from pod.store.secrets import SecretStore

    return SecretStore(_layout())


def _read_data(source: str, from_env: bool) -> bytes:
    from pod.errors import PodError

    if from_env:
        if source not in os.environ:
            raise PodError(
                f"cannot create store secret data: environment variable {source} is not set"
            )
        return os.environ[source].encode()
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except OSError as err:
        raise PodError(f"open {source}: {(err.strerror or str(err)).lower()}") from None


@secret_app.command("create")
def create_command(
    name: str = typer.Argument(..., help="The secret's name."),
    source: str = typer.Argument(..., metavar="FILE|-", help="File with the data, or - (stdin)."),
    driver: str = typer.Option("file", "--driver", "-d", help="Secret driver (file)."),
    labels: list[str] = typer.Option([], "--label", "-l", help="Set a label (KEY=VALUE)."),
    from_env: bool = typer.Option(
        False, "--env", help="Read the data from the environment variable named by FILE."
    ),
) -> None:
    """Create a secret from a file, stdin or an environment variable; prints its ID."""
    from pod.container.flags import parse_labels
    from pod.errors import PodError
    from pod.store.secrets import DRIVER, check_name

    check_name(name)
    if driver != DRIVER:
        raise PodError(f'unsupported secret driver "{driver}": pod stores secrets with "file"')
    record = _store().create(name, _read_data(source, from_env), parse_labels(labels))
    print(record.id)


def _matches(record, filters: list[tuple[str, str]]) -> bool:
    """podman 4.3's rule: a secret is listed when any filter matches (values are regexps; one
    that does not compile matches nothing, as in podman)."""
    if not filters:
        return True
    fields = {"name": record.name, "id": record.id}
    return any(_search(value, fields[key]) for key, value in filters)


def _search(pattern: str, text: str) -> bool:
    import re

    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _parse_filters(values: list[str]) -> list[tuple[str, str]]:
    from pod.errors import UsageError

    parsed = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or key not in ("name", "id"):
            raise UsageError(f'invalid filter "{key}"')
        parsed.append((key, value))
    return parsed


@secret_app.command("ls")
def ls_command(
    quiet: bool = common.quiet_option("Print secret IDs only."),
    fmt: str = common.format_option(),
    filters: list[str] = typer.Option([], "--filter", "-f", help="Filter: name=REGEX, id=ID."),
    noheading: bool = typer.Option(False, "--noheading", help="Do not print headings."),
) -> None:
    """List secrets."""
    from pod import format as gotemplate
    from pod.commands.secret_view import LIST_FORMAT, LIST_HEADERS, SecretListReport, list_report

    wanted = _parse_filters(filters)
    records = [r for r in _store().list() if _matches(r, wanted)]
    if quiet:  # before any --format, as podman's
        for record in records:
            print(record.id)
        return
    rows = [list_report(r) for r in records]
    # podman 4.3's `secret ls` has no JSON output: `--format json` (or `table`) is a template
    # like any other
    if fmt is None:
        fmt = LIST_FORMAT
    if gotemplate.is_table(fmt):
        headers = gotemplate.struct_headers(SecretListReport, LIST_HEADERS)
        text = gotemplate.render_table(
            rows, fmt, headers, heading=not noheading, name="ls", strict=True
        )
    else:
        text = gotemplate.render_rows(rows, fmt, name="ls")
    print(text, end="")


secret_app.command("list", hidden=True)(ls_command)


@secret_app.command("inspect")
def inspect_command(
    names: list[str] = typer.Argument(..., metavar="SECRET...", help="Secrets to inspect."),
    fmt: str = typer.Option(None, "--format", "-f", help="Go template or json."),
    pretty: bool = typer.Option(False, "--pretty", help="Human-readable output."),
) -> None:
    """Show details of secrets (never their data)."""
    from pod import format as gotemplate
    from pod.commands.secret_view import PRETTY, info_report
    from pod.errors import NoSuchSecretError, PodError

    store = _store()
    documents, missing = [], None
    for name in names:
        try:
            documents.append(info_report(store.lookup(name), str(store.data_dir)))
        except NoSuchSecretError as err:
            missing = missing or err
    fmt = PRETTY if pretty else fmt  # --pretty wins over --format, as podman's
    if fmt and gotemplate.is_table(fmt):  # aligned, no header line: podman's
        print(gotemplate.render_table(documents, fmt, heading=False, name="inspect"), end="")
    elif fmt and not gotemplate.is_json(fmt):
        print(gotemplate.render_rows(documents, fmt, name="inspect"), end="")
    else:
        print(gotemplate.format_json(documents, indent=4), end="")
    if missing is not None:
        raise PodError(f"inspecting secret: {missing}")


def _users(record) -> list[str]:
    """The containers that name the secret."""
    from pod.store.containers import ContainerStore

    containers = ContainerStore(_layout()).list()
    return [c.id for c in containers if any(e["id"] == record.id for e in c.secrets)]


@secret_app.command("rm")
def rm_command(
    names: list[str] = typer.Argument(None, metavar="SECRET...", help="Secrets to remove."),
    all_secrets: bool = typer.Option(False, "--all", "-a", help="Remove all secrets."),
) -> None:
    """Remove secrets; one a container uses is kept (exit 125)."""
    from pod.errors import PodError, SecretInUseError, UsageError

    if bool(names) == all_secrets:
        raise UsageError("`pod secret rm` requires one argument, or the --all flag")
    store = _store()
    targets = [r.id for r in store.list()] if all_secrets else names
    errors: list[PodError] = []
    for text in targets:
        try:
            record = store.lookup(text)
            users = _users(record)
            if users:
                raise SecretInUseError(
                    f"secret {record.name} is in use by container(s) {', '.join(users)}: "
                    "remove them first"
                )
            print(store.remove(record.id).id)
        except PodError as err:
            errors.append(err)
    common.raise_collected(errors)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(secret_app, name="secret", rich_help_panel="Secrets")
