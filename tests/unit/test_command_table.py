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
