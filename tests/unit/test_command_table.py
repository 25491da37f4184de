"""The table that lets a command import only its own module must name every command."""

from pod import commands


def test_every_top_level_name_is_in_the_table() -> None:
    app = commands.build_app()
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert names == set(commands.MODULES_FOR)


def test_each_name_is_registered_by_its_modules() -> None:
    for name, modules in commands.MODULES_FOR.items():
        app = commands.build_app(modules)
        names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
        assert name in names, (name, modules)


def _paths(command, prefix=()):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, (*prefix, name))


def test_every_command_renders_its_help() -> None:
    """Help text goes through rich markup: a `[/x]` in it breaks `--help` at run time."""
    import typer
    from typer.testing import CliRunner

    app = commands.build_app()
    cli = typer.main.get_command(app)
    runner = CliRunner()
    paths = list(_paths(cli))
    assert ("build",) in paths and ("container", "commit") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output, result.exception)
        assert "Usage" in result.output, path
