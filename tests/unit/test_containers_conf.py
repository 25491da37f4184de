"""pod.config.containers_conf: read once per process, read again when a file changes.

A command asks for containers.conf several times (settings, events, the seccomp profile) and
pod run's early shim reads it ahead (pod.shim.setup.preload): each answer must be what the
files say at that moment, and no caller may change what another one gets. The next command
takes the parse from the cache (pod.config.parse_cache) while the files are unchanged.
"""

from __future__ import annotations

import json
import os

import pytest

from pod import config


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Each test its own cache, and a fresh process's memory: nothing parsed yet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(config, "_parsed", {})
    return tmp_path / "cache"


def _counting_parses(monkeypatch) -> list:
    parsed: list = []
    real = config._read_toml
    monkeypatch.setattr(config, "_read_toml", lambda path: parsed.append(path) or real(path))
    return parsed


def _next_command(monkeypatch) -> None:
    """What a new process starts with: the files and the cache, nothing in memory."""
    monkeypatch.setattr(config, "_parsed", {})


def _conf(tmp_path, monkeypatch, text: str):
    path = tmp_path / "containers.conf"
    path.write_text(text)
    monkeypatch.setenv("CONTAINERS_CONF", str(path))
    return path


def test_the_same_files_are_parsed_once(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    parsed = _counting_parses(monkeypatch)
    first = config.containers_conf()
    count = len(parsed)
    assert config.containers_conf() == first == {"engine": {"events_logger": "file"}}
    assert len(parsed) == count  # the second answer came from the first parse


def test_a_changed_file_is_read_again(tmp_path, monkeypatch):
    path = _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    assert config.containers_conf()["engine"]["events_logger"] == "file"
    path.write_text('[engine]\nevents_logger = "none"\n')
    os.utime(path, ns=(1, 1))  # a different stamp even within the clock's resolution
    assert config.containers_conf()["engine"]["events_logger"] == "none"


def test_another_file_named_by_the_environment_is_read(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    assert config.containers_conf()["engine"]["events_logger"] == "file"
    other = tmp_path / "other.conf"
    other.write_text('[engine]\nevents_logger = "journald"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(other))
    assert config.containers_conf()["engine"]["events_logger"] == "journald"


def test_callers_get_their_own_copy(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    config.containers_conf()["engine"]["events_logger"] = "changed by a caller"
    assert config.containers_conf()["engine"]["events_logger"] == "file"


def test_arrays_in_tables_are_copied_too(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, '[containers]\nenv = ["A=1"]\n')
    config.containers_conf()["containers"]["env"].append("B=2")
    assert config.containers_conf()["containers"]["env"] == ["A=1"]


def test_drop_ins_are_the_conf_files_beside_in_name_order(tmp_path, monkeypatch):
    """As glob's `containers.conf.d/*.conf`: hidden files and other names are not read."""
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    main = tmp_path / "containers.conf"
    drop_ins = tmp_path / "containers.conf.d"
    drop_ins.mkdir()
    for name in ("b.conf", "a.conf", ".hidden.conf", "notes.txt", "c.conf.bak"):
        (drop_ins / name).write_text("")
    files = config._conf_files("POD_TEST_UNSET", [main], [])
    assert files == [main, drop_ins / "a.conf", drop_ins / "b.conf"]
    assert config._conf_files("POD_TEST_UNSET", [tmp_path / "none.conf"], []) == [
        tmp_path / "none.conf"
    ]


def test_the_next_command_takes_the_parse_from_the_cache(tmp_path, monkeypatch, cache_home):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    first = config.containers_conf()
    assert config.parse_cache() == cache_home / "pod" / "containers-conf.json"
    assert json.loads(config.parse_cache().read_text())["settings"] == first
    _next_command(monkeypatch)
    parsed = _counting_parses(monkeypatch)
    assert config.containers_conf() == first
    assert parsed == []


def test_a_file_changed_since_the_cache_was_written_is_read_again(tmp_path, monkeypatch):
    path = _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    config.containers_conf()
    path.write_text('[engine]\nevents_logger = "none"\n')
    os.utime(path, ns=(1, 1))
    _next_command(monkeypatch)
    assert config.containers_conf()["engine"]["events_logger"] == "none"
    _next_command(monkeypatch)  # and the cache now holds the new parse
    parsed = _counting_parses(monkeypatch)
    assert config.containers_conf()["engine"]["events_logger"] == "none"
    assert parsed == []


def test_a_file_added_beside_is_read(tmp_path, monkeypatch):
    """containers.conf.d/*.conf files count: one more is a different set of files."""
    system = tmp_path / "containers.conf"
    system.write_text('[engine]\nevents_logger = "file"\n')
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    monkeypatch.setattr(config, "_conf_files", lambda *_: sorted(tmp_path.glob("*.conf")))
    assert config.containers_conf()["engine"]["events_logger"] == "file"
    (tmp_path / "zz.conf").write_text('[engine]\nevents_logger = "none"\n')
    _next_command(monkeypatch)
    assert config.containers_conf()["engine"]["events_logger"] == "none"


def test_a_broken_or_foreign_cache_is_parsed_over(tmp_path, monkeypatch, cache_home):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    config.parse_cache().parent.mkdir(parents=True)
    for text in ("{not json", json.dumps({"key": "other", "settings": {}}), "[]"):
        config.parse_cache().write_text(text)
        _next_command(monkeypatch)
        assert config.containers_conf() == {"engine": {"events_logger": "file"}}


def test_an_unwritable_cache_costs_only_the_parse(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # no directory can be made in it
    assert config.containers_conf() == {"engine": {"events_logger": "file"}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "containers.conf"]


def test_toml_dates_are_not_cached_but_read(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, "[engine]\nwhen = 1979-05-27T07:32:00Z\n")
    assert config.containers_conf()["engine"]["when"].year == 1979
    assert not config.parse_cache().exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="handing the cache to another user takes root")
def test_a_cache_another_user_controls_is_neither_read_nor_written(tmp_path, monkeypatch):
    """Root's pod run with a user's HOME (`sudo -E pod ...`): that user's files are no input."""
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    first = config.containers_conf()
    cache = config.parse_cache()
    forged = json.loads(cache.read_text())
    forged["settings"] = {"engine": {"events_logger": "forged"}}
    cache.write_text(json.dumps(forged))
    os.chown(cache.parent, 65534, 65534)
    _next_command(monkeypatch)
    assert config.containers_conf() == first
    assert json.loads(cache.read_text())["settings"] == forged["settings"]  # nor written
    os.chown(cache.parent, 0, 0)
    os.chown(cache, 65534, 65534)  # in our directory, a file that is not ours: parsed over
    _next_command(monkeypatch)
    assert config.containers_conf() == first
    assert os.stat(cache).st_uid == 0
    assert json.loads(cache.read_text())["settings"] == first


def test_a_linked_cache_directory_is_not_followed(tmp_path, monkeypatch, cache_home):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache_home.mkdir()
    (cache_home / "pod").symlink_to(elsewhere)
    assert config.containers_conf() == {"engine": {"events_logger": "file"}}
    assert list(elsewhere.iterdir()) == []


def test_a_rootless_shim_reads_the_files_its_command_read(tmp_path, monkeypatch):
    """The rootless shim is root in the user's namespace: it still reads the user's own
    containers.conf, as the command did (else the two parses differ, and so do the cache's
    keys: every command would parse again)."""
    from pod.util import proc_info

    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    system, user = tmp_path / "system.conf", tmp_path / "user.conf"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(proc_info, "in_user_namespace", lambda: True)
    assert config._conf_files("POD_TEST_UNSET", [system], [user]) == [system, user]
    monkeypatch.setattr(proc_info, "in_user_namespace", lambda: False)  # rootful: system only
    assert config._conf_files("POD_TEST_UNSET", [system], [user]) == [system]
