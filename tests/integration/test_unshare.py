"""`pod unshare`: a command as root of the rootless user namespace; refused when rootful."""

from __future__ import annotations


def test_unshare_is_root_with_the_subuid_range(rootless_user, rootless_pod):
    result = rootless_pod("unshare", "id", "-u")
    assert (result.returncode, result.stdout) == (0, "0\n"), result.stderr
    result = rootless_pod("unshare", "cat", "/proc/self/uid_map")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["0", str(rootless_user.uid), "1"] in lines
    assert ["1", str(rootless_user.subuid_start), str(rootless_user.subuid_count)] in lines


def test_unshare_environment_and_exit_code(rootless_pod):
    result = rootless_pod("unshare", "sh", "-c", 'echo "$CONTAINERS_GRAPHROOT"; exit 7')
    assert result.returncode == 7
    assert result.stdout.strip() == str(rootless_pod.root)
    result = rootless_pod("unshare", "no-such-command-here")
    assert result.returncode == 127


def test_unshare_rootful_is_an_error(pod):
    result = pod("unshare", "id")
    assert result.returncode == 125
    assert result.stderr.strip() == "Error: please use unshare with rootless"
