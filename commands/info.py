"""`pod info` (host, store and rootless readiness) and `pod version`."""

from __future__ import annotations

import typer

from pod.commands import common


def _render(document: dict, fmt: str | None, text: str) -> None:
    from pod import format as gotemplate
    from pod.system.info import go_fields

    if fmt is None:
        print(text, end="")
    elif gotemplate.is_json(fmt):
        print(gotemplate.to_json(document, 4), end="\n")
    else:
        print(gotemplate.render_rows([go_fields(document)], fmt, name="info"), end="")


def info_command(
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show the host, the store and whether rootless containers will work here (with fixes)."""
    from pod.system.info import info_document, info_text

    document = info_document(common.settings())
    _render(document, fmt, info_text(document) if fmt is None else "")


def version_command(
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show pod's version (podman's layout: Python stands where podman shows Go)."""
    from pod import format as gotemplate
    from pod.system.info import version_document

    client = version_document()
    text = gotemplate.tabwrite(
        "Client:\tpod\n"
        f"Version:\t{client['Version']}\n"
        f"API Version:\t{client['APIVersion']}\n"
        f"Python Version:\t{client['PythonVersion']}\n"
        f"Built:\t{client['BuiltTime']}\n"
        f"OS/Arch:\t{client['OsArch']}\n"
    )
    _render({"Client": client}, fmt, text)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("info", rich_help_panel="System")(info_command)
    app.command("version", rich_help_panel="System")(version_command)
    system = next((g.typer_instance for g in app.registered_groups if g.name == "system"), None)
    if system is not None:
        system.command("info")(info_command)
