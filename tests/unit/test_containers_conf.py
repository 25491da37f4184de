"""pod.config.containers_conf: read once per process, read again when a file changes.

A command asks for containers.conf several times (settings, events, the seccomp profile) and
pod run's early shim reads it ahead (pod.shim.setup.preload): each answer must be what the
files say at that moment, and no caller may change what another one gets.
"""

from __future__ import annotations

import os

from pod import config


def _conf(tmp_path, monkeypatch, text: str):
    path = tmp_path / "containers.conf"
    path.write_text(text)
    monkeypatch.setenv("CONTAINERS_CONF", str(path))
    return path


def test_the_same_files_are_parsed_once(tmp_path, monkeypatch):
    _conf(tmp_path, monkeypatch, '[engine]\nevents_logger = "file"\n')
    parsed = []
    real = config._read_toml
    monkeypatch.setattr(config, "_read_toml", lambda path: parsed.append(path) or real(path))
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
