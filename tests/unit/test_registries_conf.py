"""registries.conf v2: file order, drop-ins, short names, aliases, rewriting, mirrors, blocking."""

from __future__ import annotations

from pathlib import Path

import pytest

from pod.errors import PodError, RegistryError
from pod.image import registries_conf
from pod.image.reference import parse
from pod.image.registries_conf import RegistryConfig, load


@pytest.fixture
def conf_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Isolated system, user and pod locations; rootless so the user files count."""
    system = tmp_path / "etc" / "containers" / "registries.conf"
    pod_system = tmp_path / "etc" / "pod" / "registries.conf"
    config_home = tmp_path / "config"
    monkeypatch.delenv("CONTAINERS_REGISTRIES_CONF", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setattr(registries_conf, "SYSTEM_FILE", system)
    monkeypatch.setattr(registries_conf, "POD_SYSTEM_FILE", pod_system)
    monkeypatch.setattr(registries_conf, "is_rootless", lambda: True)
    return {
        "system": system,
        "user": config_home / "containers" / "registries.conf",
        "pod_system": pod_system,
        "pod_user": config_home / "pod" / "registries.conf",
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def conf_from(tmp_path: Path, text: str) -> RegistryConfig:
    return load([write(tmp_path / "registries.conf", text)])


def names(refs: list) -> list[str]:
    return [str(ref) for ref in refs]


def test_env_var_names_the_only_file(conf_dirs: dict, tmp_path: Path, monkeypatch) -> None:
    write(conf_dirs["system"], 'unqualified-search-registries = ["system.example.com"]\n')
    write(conf_dirs["pod_user"], 'unqualified-search-registries = ["pod.example.com"]\n')
    only = write(tmp_path / "only.conf", 'unqualified-search-registries = ["env.example.com"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(only))
    assert registries_conf.config_files() == [only]
    assert load().unqualified_search_registries == ["env.example.com"]


def test_search_registries_in_order(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, 'unqualified-search-registries = ["quay.io", "docker.io"]\n')
    assert names(conf.resolve_short_name(parse("busybox:1.36"))) == [
        "quay.io/busybox:1.36",
        "docker.io/library/busybox:1.36",
    ]


def test_no_search_registries_falls_back_to_docker_io(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, "")
    assert names(conf.resolve_short_name("alpine")) == ["docker.io/library/alpine:latest"]


def test_qualified_names_are_not_resolved(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, 'unqualified-search-registries = ["quay.io"]\n')
    assert names(conf.resolve_short_name("ghcr.io/a/b:1")) == ["ghcr.io/a/b:1"]


def test_alias_wins_over_search_and_keeps_tag(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        'unqualified-search-registries = ["quay.io"]\n'
        '[aliases]\n"fedora" = "registry.fedoraproject.org/fedora"\n',
    )
    assert names(conf.resolve_short_name("fedora:39")) == ["registry.fedoraproject.org/fedora:39"]
    digest = "sha256:" + "a" * 64
    assert names(conf.resolve_short_name(f"fedora@{digest}")) == [
        f"registry.fedoraproject.org/fedora@{digest}"
    ]


def test_later_files_override_aliases_and_scalars(conf_dirs: dict) -> None:
    write(
        conf_dirs["system"],
        'short-name-mode = "enforcing"\nunqualified-search-registries = ["a.example.com"]\n'
        '[aliases]\n"one" = "a.example.com/one"\n"two" = "a.example.com/two"\n',
    )
    write(
        Path(f"{conf_dirs['system']}.d") / "10-more.conf",
        'short-name-mode = "permissive"\n[aliases]\n"two" = "b.example.com/two"\n',
    )
    conf = load()
    assert conf.short_name_mode == "permissive"
    assert conf.unqualified_search_registries == ["a.example.com"]
    assert conf.aliases == {"one": "a.example.com/one", "two": "b.example.com/two"}


def test_prefix_is_rewritten_to_location(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[[registry]]\nprefix = "example.com/foo"\nlocation = "internal.example.com:5000/bar"\n',
    )
    (endpoint,) = conf.endpoints_for("example.com/foo/app:1")
    assert str(endpoint.reference) == "internal.example.com:5000/bar/app:1"
    assert (endpoint.host, endpoint.repository) == ("internal.example.com:5000", "bar/app")
    (untouched,) = conf.endpoints_for("example.com/foobar/app:1")
    assert str(untouched.reference) == "example.com/foobar/app:1"


def test_longest_prefix_wins(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[[registry]]\nlocation = "example.com"\ninsecure = true\n'
        '[[registry]]\nprefix = "example.com/team"\nlocation = "team.example.com"\n',
    )
    (team,) = conf.endpoints_for("example.com/team/app")
    assert (str(team.reference), team.insecure) == ("team.example.com/app:latest", False)
    (other,) = conf.endpoints_for("example.com/other/app")
    assert (str(other.reference), other.insecure) == ("example.com/other/app:latest", True)


def test_wildcard_prefix_and_its_mirror(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[[registry]]\nprefix = "*.example.com"\nblocked = false\n'
        '[[registry.mirror]]\nlocation = "mirror.local/cache"\n',
    )
    mirror, primary = conf.endpoints_for("a.b.example.com/x/y:2")
    assert (str(mirror.reference), mirror.mirror) == ("mirror.local/cache/x/y:2", True)
    assert (str(primary.reference), primary.mirror) == ("a.b.example.com/x/y:2", False)
    assert len(conf.endpoints_for("example.com/x/y")) == 1


def test_mirrors_first_with_their_own_insecure_flag(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n'
        '[[registry.mirror]]\nlocation = "mirror-a.local:5000"\ninsecure = true\n'
        '[[registry.mirror]]\nlocation = "mirror-b.local/hub"\n',
    )
    endpoints = conf.endpoints_for(parse("busybox"))
    assert [str(e.reference) for e in endpoints] == [
        "mirror-a.local:5000/library/busybox:latest",
        "mirror-b.local/hub/library/busybox:latest",
        "docker.io/library/busybox:latest",
    ]
    assert [e.insecure for e in endpoints] == [True, False, False]
    assert [str(e.reference) for e in conf.endpoints_for("busybox", mirrors=False)] == [
        "docker.io/library/busybox:latest"
    ]


def test_pull_from_mirror_digest_only(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[[registry]]\nlocation = "quay.io"\n'
        '[[registry.mirror]]\nlocation = "digests.local"\npull-from-mirror = "digest-only"\n'
        '[[registry.mirror]]\nlocation = "tags.local"\npull-from-mirror = "tag-only"\n',
    )
    by_tag = conf.endpoints_for("quay.io/a/b:1")
    assert [e.host for e in by_tag] == ["tags.local", "quay.io"]
    by_digest = conf.endpoints_for("quay.io/a/b@sha256:" + "b" * 64)
    assert [e.host for e in by_digest] == ["digests.local", "quay.io"]


def test_mirror_by_digest_only(tmp_path: Path) -> None:
    conf = conf_from(
        tmp_path,
        '[[registry]]\nlocation = "quay.io"\nmirror-by-digest-only = true\n'
        '[[registry.mirror]]\nlocation = "m.local"\n',
    )
    assert [e.host for e in conf.endpoints_for("quay.io/a/b:1")] == ["quay.io"]
    assert [e.host for e in conf.endpoints_for("quay.io/a/b@sha256:" + "c" * 64)] == [
        "m.local",
        "quay.io",
    ]


def test_blocked_registry(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, '[[registry]]\nlocation = "evil.example.com"\nblocked = true\n')
    with pytest.raises(RegistryError, match="registry evil.example.com is blocked"):
        conf.endpoints_for("evil.example.com/x")


def test_insecure_host(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, '[[registry]]\nlocation = "localhost:5000"\ninsecure = true\n')
    assert conf.host_is_insecure("localhost:5000")
    assert not conf.host_is_insecure("localhost:5001")
    assert conf.endpoints_for("localhost:5000/a")[0].insecure


def test_localhost_is_not_implicitly_insecure(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, "")
    assert not conf.host_is_insecure("localhost:5000")
    assert not conf.endpoints_for("localhost:5000/a")[0].insecure


def test_drop_in_registry_replaces_same_prefix(conf_dirs: dict) -> None:
    write(conf_dirs["system"], '[[registry]]\nlocation = "r.example.com"\ninsecure = true\n')
    write(Path(f"{conf_dirs['system']}.d") / "a.conf", '[[registry]]\nlocation = "r.example.com"\n')
    conf = load()
    assert len(conf.registries) == 1
    assert not conf.host_is_insecure("r.example.com")


def test_user_file_replaces_system_file(conf_dirs: dict) -> None:
    write(conf_dirs["system"], 'unqualified-search-registries = ["system.example.com"]\n')
    write(
        Path(f"{conf_dirs['system']}.d") / "a.conf",
        '[aliases]\n"sys" = "system.example.com/sys"\n',
    )
    write(Path(f"{conf_dirs['user']}.d") / "b.conf", '[aliases]\n"usr" = "user.example.com/u"\n')
    conf = load()
    assert conf.unqualified_search_registries == ["system.example.com"]
    assert set(conf.aliases) == {"sys", "usr"}

    write(conf_dirs["user"], 'unqualified-search-registries = ["user.example.com"]\n')
    conf = load()
    assert conf.unqualified_search_registries == ["user.example.com"]
    assert set(conf.aliases) == {"usr"}, "the system drop-ins go with the system file"


def test_root_reads_no_user_files(conf_dirs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registries_conf, "is_rootless", lambda: False)
    write(conf_dirs["system"], 'unqualified-search-registries = ["system.example.com"]\n')
    write(conf_dirs["user"], 'unqualified-search-registries = ["user.example.com"]\n')
    assert load().unqualified_search_registries == ["system.example.com"]


def test_pod_files_layer_on_top(conf_dirs: dict) -> None:
    write(conf_dirs["system"], 'unqualified-search-registries = ["system.example.com"]\n')
    write(conf_dirs["pod_system"], '[aliases]\n"x" = "pod.example.com/x"\n')
    write(conf_dirs["pod_user"], 'unqualified-search-registries = ["mine.example.com"]\n')
    conf = load()
    assert conf.unqualified_search_registries == ["mine.example.com"]
    assert conf.aliases == {"x": "pod.example.com/x"}
    assert conf.files[-1] == conf_dirs["pod_user"]


def test_v1_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PodError, match="v1 format"):
        conf_from(tmp_path, "[registries.search]\nregistries = ['docker.io']\n")


@pytest.mark.parametrize(
    "text, why",
    [
        ('[[registry]]\nlocation = "https://example.com"\n', "scheme"),
        ('short-name-mode = "sometimes"\n', "short-name-mode"),
        ('[aliases]\n"a" = "not-qualified"\n', "fully-qualified"),
        ('[aliases]\n"a" = "example.com/a:tag"\n', "tag or digest"),
        ('[[registry]]\nprefix = "ex*ample.com"\nlocation = "x.com"\n', "wildcard"),
        ('[[registry]]\ninsecure = "yes"\nlocation = "x.com"\n', "true or false"),
        ("unqualified-search-registries = [\n", "registries.conf"),
    ],
)
def test_invalid_files(tmp_path: Path, text: str, why: str) -> None:
    with pytest.raises(PodError, match=why):
        conf_from(tmp_path, text)


def test_missing_files_are_skipped(tmp_path: Path) -> None:
    conf = load([tmp_path / "nope.conf"])
    assert conf.files == [] and conf.search_registries == ["docker.io"]


def test_module_functions_use_given_config(tmp_path: Path) -> None:
    conf = conf_from(tmp_path, 'unqualified-search-registries = ["quay.io"]\n')
    assert names(registries_conf.resolve_short_name("a", conf)) == ["quay.io/a:latest"]
    assert registries_conf.endpoints_for("quay.io/a", conf)[0].host == "quay.io"
