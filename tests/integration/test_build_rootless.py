"""`pod build` and `pod commit` as an unprivileged user with /etc/subuid ranges (rootless_pod).

The build runs inside the user's namespace: files the Containerfile gives to uid 1000 are uid
1000 inside containers and subuid_start + 999 on disk, in the layer the build committed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_build import (
    BUILD_TIMEOUT,
    UUID,
    build,
    cached_steps,
    image_id,
    inspect,
    run_out,
    write_tree,
)

pytestmark = pytest.mark.rootless


def rootless_context(user, containerfile: str, files: dict[str, str] | None = None) -> Path:
    """A context the rootless user owns (its store and tmp dirs are private to it)."""
    ctx = write_tree(user.make_tmpdir("ctx"), {"Containerfile": containerfile, **(files or {})})
    for dirpath, dirnames, filenames in os.walk(ctx):
        for name in [*dirnames, *filenames]:
            os.chown(Path(dirpath, name), user.uid, user.gid)
    return ctx


def test_rootless_multistage_and_cache(rootless_user, rootless_pod, test_images):
    base = test_images.busybox.ref
    ctx = rootless_context(rootless_user, f"""\
FROM {base} AS first
RUN {UUID} > /first.txt
FROM {base}
COPY --from=first /first.txt /by-name.txt
COPY --from=0 /first.txt /by-index.txt
COPY a.txt /a.txt
RUN cat /by-name.txt /by-index.txt /a.txt > /all.txt
""", {"a.txt": "a1\n"})  # fmt: skip
    first = build(rootless_pod, "-t", "multi", ctx)
    first_id = image_id(first)
    lines = run_out(rootless_pod, first_id, "cat", "/all.txt").splitlines()
    assert lines[0] == lines[1] and re.fullmatch(r"[0-9a-f-]{36}", lines[0]) and lines[2] == "a1"

    again = build(rootless_pod, "-t", "multi", ctx)
    assert image_id(again) == first_id
    hits = cached_steps(again.stdout)
    assert all(hit for instr, hit in hits.items() if not instr.startswith("FROM")), again.stdout

    (Path(ctx) / "a.txt").write_text("a2\n")
    changed = build(rootless_pod, ctx)
    hits = cached_steps(changed.stdout)
    assert hits[f"RUN {UUID} > /first.txt"] is True
    assert hits["COPY a.txt /a.txt"] is False
    assert run_out(rootless_pod, image_id(changed), "cat", "/all.txt").splitlines() == [
        lines[0],
        lines[1],
        "a2",
    ]


def test_rootless_copy_chown_and_run_chown_keep_owners(rootless_user, rootless_pod, test_images):
    ctx = rootless_context(rootless_user, f"""\
FROM {test_images.busybox.ref}
COPY --chown=1000:1000 owned.txt /owned.txt
COPY --chown=tester owned.txt /by-name.txt
RUN echo chowned > /chowned.txt && chown 1000:1000 /chowned.txt && chmod 600 /chowned.txt
""", {"owned.txt": "owned\n"})  # fmt: skip
    image = image_id(build(rootless_pod, ctx))
    out = run_out(rootless_pod, image, "stat", "-c", "%n %u:%g %a",
               "/owned.txt", "/by-name.txt", "/chowned.txt")  # fmt: skip
    assert out.splitlines() == [
        "/owned.txt 1000:1000 644",
        "/by-name.txt 1000:1000 644",
        "/chowned.txt 1000:1000 600",
    ]
    # on disk, in the layer the RUN step committed: the user's subordinate uid for 1000
    upper = Path(inspect(rootless_pod, image)["GraphDriver"]["Data"]["UpperDir"])
    st = os.lstat(upper / "chowned.txt")
    assert (st.st_uid, st.st_gid) == (
        rootless_user.subuid_start + 999,
        rootless_user.subgid_start + 999,
    )
    as_tester = rootless_pod("run", "--rm", "-u", "1000", image, "cat", "/chowned.txt")
    assert as_tester.stdout == "chowned\n", as_tester.stderr


def test_rootless_failing_run_and_syntax_error_leave_nothing(
    rootless_user, rootless_pod, test_images
):
    base = test_images.busybox.ref
    failing = rootless_context(rootless_user, f"FROM {base}\nRUN exit 4\n")
    result = rootless_pod("build", failing, timeout=BUILD_TIMEOUT)
    assert result.returncode == 4, result.stderr
    assert result.stderr.splitlines()[-1].startswith('Error: building at STEP "RUN exit 4"')
    assert rootless_pod("ps", "-a", "-q").stdout == ""
    broken = rootless_context(rootless_user, f"FROM {base}\nFROBNICATE\n")
    result = rootless_pod("build", broken, timeout=BUILD_TIMEOUT)
    assert result.returncode == 125
    assert "Containerfile:2" in result.stderr and "Traceback" not in result.stderr
    assert rootless_pod("ps", "-a", "-q").stdout == ""


def test_rootless_commit(rootless_pod, rootless_busybox):
    made = rootless_pod("run", "--name", "c", rootless_busybox, "sh", "-c",
                        "echo data > /data.txt && chown 1000:1000 /data.txt")  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = rootless_pod("commit", "-q", "-c", 'CMD ["cat", "/data.txt"]', "c", "committed")
    assert result.returncode == 0, result.stderr
    committed = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", committed)
    assert run_out(rootless_pod, "localhost/committed") == "data\n"
    owner = run_out(rootless_pod, "localhost/committed", "stat", "-c", "%u:%g", "/data.txt")
    assert owner == "1000:1000\n"
    assert inspect(rootless_pod, "localhost/committed")["Config"]["Cmd"] == ["cat", "/data.txt"]
