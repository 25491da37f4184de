"""`pod system` commands."""

from __future__ import annotations

import typer

from pod.commands import common

system_app = typer.Typer(help="Manage pod itself.", no_args_is_help=True)


@system_app.command("df")
def df_command(
    fmt: str = common.format_option(),
) -> None:
    """Show pod's disk usage."""
    from pod.commands.render import render_rows
    from pod.disk_usage import disk_usage
    from pod.humanize import human_size

    lines = disk_usage(common.settings())
    rows = []
    for line in lines:
        percent = round(100 * line.reclaimable / line.size) if line.size else 0
        rows.append(
            {
                "Type": line.kind,
                "Total": line.total,
                "Active": line.active,
                "Size": human_size(line.size, 4, ""),
                "Reclaimable": f"{human_size(line.reclaimable, 4, '')} ({percent}%)",
                "RawSize": line.size,
                "RawReclaimable": line.reclaimable,
            }
        )
    columns = [
        ("TYPE", "Type"),
        ("TOTAL", "Total"),
        ("ACTIVE", "Active"),
        ("SIZE", "Size"),
        ("RECLAIMABLE", "Reclaimable"),
    ]
    render_rows(rows, columns, fmt)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(system_app, name="system", rich_help_panel="System")
