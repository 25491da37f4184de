"""`pod build` and `pod commit` (root): real builds from the busybox test image in the registry.

Every Containerfile starts `FROM <registry>/test/busybox:latest` (the `test_images` fixture).
The reference for outputs and exit codes is podman 4.3 (`podman build` / `podman commit`):
`STEP n/m: INSTR` lines (prefixed `[i/k] ` in multi-stage builds), `--> Using cache <id>` on a hit,
`COMMIT [name]`, and the image id as the last stdout line; a failing RUN exits with the
command's own status and `Error: building at STEP "RUN ...": ... exit status N`; any other
error is one `Error: ...` line and exit 125.

Tests that only read a built image share one store per module (`shared_pod`); tests about the cache,
leftovers or counting images use the function-scoped `pod` store.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import tarfile
import threading
import time
from pathlib import Path

import pytest
from image_builder import MT_DOCKER_MANIFEST, MT_OCI_MANIFEST, native_arch, served_manifest
from mounts import mounts_under
from polling import poll
from runners import isolated_pod

HEX64 = re.compile(r"[0-9a-f]{64}")
STEP = re.compile(r"^(?:\[\d+/\d+\] )?STEP (\d+)/(\d+): (.*)$")
BUILD_TIMEOUT = 300
UUID = "cat /proc/sys/kernel/random/uuid"  # a new value each time a RUN really runs


# --------------------------------------------------------------------------------------------
# helpers (test_build_rootless.py imports some of them)


def write_tree(top: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> content) below `top`; returns `top`."""
    top.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return top


def context(tmp: Path, containerfile: str, files: dict[str, str | bytes] | None = None,
            name: str = "ctx") -> Path:  # fmt: skip
    """A build context dir with a Containerfile and `files`."""
    return write_tree(tmp / name, {"Containerfile": containerfile, **(files or {})})


def build(runner, *args, check: bool = True, env=None, input=None):
    """`pod build ARGS`; with check, asserts exit 0 and a 64-hex image id as the last line."""
    result = runner("build", *args, env=env, input=input, timeout=BUILD_TIMEOUT)
    if check:
        assert result.returncode == 0, f"build failed\n{result.stdout}\n{result.stderr}"
        image_id(result)
    return result


def image_id(result) -> str:
    lines = result.stdout.strip().splitlines()
    assert lines and HEX64.fullmatch(lines[-1]), f"no image id last:\n{result.stdout}"
    return lines[-1]


def built(runner, ctx: Path, *args, env=None) -> str:
    """Build `ctx` and return the image id."""
    return image_id(build(runner, *args, ctx, env=env))


def inspect(runner, ref: str) -> dict:
    result = runner("image", "inspect", ref)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 1
    return data[0]


def run_out(runner, image: str, *cmd: str, args=()) -> str:
    """stdout of `run --rm [ARGS] IMAGE CMD...` (which must succeed)."""
    result = runner("run", "--rm", *args, image, *cmd)
    assert result.returncode == 0, f"run {image} {cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def cat(runner, image: str, path: str) -> str:
    return run_out(runner, image, "cat", path, args=("--entrypoint", "")).strip()


def steps(stdout: str) -> list[tuple[str, str]]:
    """[(instruction, text printed for that step)] in order."""
    out: list[tuple[str, list[str]]] = []
    for line in stdout.splitlines():
        match = STEP.match(line)
        if match:
            out.append((match.group(3), []))
        elif out:
            out[-1][1].append(line)
    return [(instr, "\n".join(lines)) for instr, lines in out]


def cached_steps(stdout: str) -> dict[str, bool]:
    """instruction -> whether the step was a cache hit (`--> Using cache <64 hex>`)."""
    hit = re.compile(r"^--> Using cache [0-9a-f]{64}$", re.M)
    return {instr: bool(hit.search(text)) for instr, text in steps(stdout)}


def layer_files_contain(runner, needle: bytes) -> list[Path]:
    """Files anywhere in the store (gzip blobs decompressed) whose content holds `needle`."""
    found = []
    for dirpath, _dirs, names in os.walk(runner.root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                with contextlib.suppress(OSError, EOFError):
                    data = gzip.decompress(data)
            if needle in data:
                found.append(path)
    return found


def one_error_line(result) -> str:
    """The `Error: ...` line of a failed command, checking there is exactly one, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def base(test_images) -> str:
    return test_images.busybox.ref


def instructions_containerfile(base: str) -> str:
    return f"""\
FROM {base}
SHELL ["/bin/sh", "-c"]
ENV A=1 B="two words"
ENV C=${{A}}-${{UNSET:-dflt}}-${{B:+set}}
ARG BUILD_ONLY=arg-value
RUN echo "$BUILD_ONLY" > /arg.txt && echo "$C" > /c.txt && echo "arg-in-env:$BUILD_ONLY"
RUN ["/bin/sh", "-c", "echo exec-form > /exec.txt"]
RUN ["echo", "literal:$A"]
RUN <<EOF
echo heredoc-1 > /heredoc.txt
echo heredoc-2 >> /heredoc.txt
EOF
WORKDIR /work
WORKDIR dir
RUN pwd > here.txt
COPY --chown=1000:1000 --chmod=640 owned.txt /owned.txt
COPY src/*.txt /globbed/
COPY tree /tree
ADD files.tar.gz /unpacked/
USER tester
RUN id -u > /tmp/runuser
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo from-cmd $A $B"]
LABEL l1=v1 "l 2"="v 2"
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD true
ONBUILD RUN {UUID} > /tmp/onbuild.txt
"""


def tar_gz(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def instructions(shared_pod, test_images, tmp_path_factory):
    """One image using every instruction (docker format, so HEALTHCHECK/ONBUILD are kept)."""
    ctx = context(
        tmp_path_factory.mktemp("instructions"),
        instructions_containerfile(test_images.busybox.ref),
        {
            "owned.txt": "owned\n",
            "src/one.txt": "one\n",
            "src/two.txt": "two\n",
            "src/skip.md": "not a txt\n",
            "tree/top.txt": "top\n",
            "tree/sub/deep.txt": "deep\n",
            "files.tar.gz": tar_gz({"x/inside.txt": "from the tarball\n", "y.txt": "y\n"}),
        },
    )
    result = build(shared_pod, "--format", "docker", "-t", "instructions", ctx)
    return {
        "id": image_id(result),
        "result": result,
        "inspect": inspect(shared_pod, image_id(result)),
    }


# --------------------------------------------------------------------------------------------
# output, names, files


def test_build_output_steps_commit_and_id(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN echo step-output\nENV X=1\n")
    result = build(pod, "-t", "out", ctx)
    lines = result.stdout.splitlines()
    step_lines = [line for line in lines if STEP.match(line)]
    assert [STEP.match(s).group(3) for s in step_lines] == [
        f"FROM {base}",
        "RUN echo step-output",
        "ENV X=1",
    ]
    assert all(STEP.match(s).group(2) == "3" for s in step_lines)
    assert "step-output" in lines
    assert any(re.fullmatch(r"COMMIT (localhost/)?out(:latest)?", line) for line in lines), lines
    listed = pod("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout
    assert "localhost/out:latest" in listed.split(), listed
    assert inspect(pod, "localhost/out:latest")["Id"] == image_id(result)


def test_quiet_iidfile_and_several_tags(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN echo quiet-step\n")
    iidfile = tmp_path / "iid"
    result = build(pod, "-q", "--iidfile", iidfile, "-t", "one", "-t", "two:2", ctx)
    assert HEX64.fullmatch(result.stdout.strip()) and result.stdout.count("\n") == 1, result.stdout
    assert "quiet-step" not in result.stdout and "STEP" not in result.stdout
    assert iidfile.read_text().strip() == "sha256:" + result.stdout.strip()
    tags = inspect(pod, result.stdout.strip())["RepoTags"]
    assert sorted(tags) == ["localhost/one:latest", "localhost/two:2"]


def test_containerfile_then_dockerfile_then_f_and_stdin(pod, base, tmp_path):
    both = write_tree(tmp_path / "both", {
        "Containerfile": f"FROM {base}\nLABEL which=containerfile\n",
        "Dockerfile": f"FROM {base}\nLABEL which=dockerfile\n",
        "custom.cf": f"FROM {base}\nLABEL which=custom\n",
    })  # fmt: skip
    only_docker = write_tree(tmp_path / "docker", {"Dockerfile": f"FROM {base}\nLABEL which=d\n"})

    def label(image: str) -> str:
        return inspect(pod, image)["Config"]["Labels"]["which"]

    assert label(built(pod, both)) == "containerfile"
    assert label(built(pod, only_docker)) == "d"
    assert label(built(pod, both, "-f", both / "custom.cf")) == "custom"
    from_stdin = build(pod, "-", input=f"FROM {base}\nLABEL which=stdin\n")
    assert label(image_id(from_stdin)) == "stdin"
    missing = pod("build", tmp_path / "nothing-here", timeout=BUILD_TIMEOUT)
    assert missing.returncode == 125
    one_error_line(missing)


# --------------------------------------------------------------------------------------------
# multi-stage, target


def multistage(base: str) -> str:
    return f"""\
FROM {base} AS first
RUN echo from-first > /first.txt
FROM {base} AS second
RUN echo from-second > /second.txt
FROM {base}
COPY --from=first /first.txt /by-name.txt
COPY --from=1 /second.txt /by-index.txt
RUN cat /by-name.txt /by-index.txt > /both.txt && echo final-stage-ran
"""


def test_multistage_copy_from_name_and_index(pod, base, tmp_path):
    result = build(pod, "-t", "multi", context(tmp_path, multistage(base)))
    assert re.search(r"^\[1/3\] STEP 1/2: FROM .* AS first$", result.stdout, re.M), result.stdout
    assert re.search(r"^\[3/3\] STEP 3/4: COPY --from=1 ", result.stdout, re.M), result.stdout
    image = image_id(result)
    assert cat(pod, image, "/both.txt") == "from-first\nfrom-second"
    # only the last stage is the image: the other stages' files are not in it
    absent = pod("run", "--rm", image, "ls", "/first.txt")
    assert absent.returncode != 0


def test_target_stops_at_the_stage(pod, base, tmp_path):
    result = build(pod, "--target", "second", context(tmp_path, multistage(base)))
    assert "final-stage-ran" not in result.stdout
    assert "from-first" not in run_out(pod, image_id(result), "ls", "/")
    assert cat(pod, image_id(result), "/second.txt") == "from-second"
    bad = pod("build", "--target", "nosuch", tmp_path / "ctx", timeout=BUILD_TIMEOUT)
    assert bad.returncode == 125
    assert "nosuch" in one_error_line(bad)


def test_from_an_earlier_stage_and_scratch(pod, base, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base} AS parent
ENV FROM_PARENT=yes
RUN echo parent > /parent.txt
FROM parent
RUN cat /parent.txt && echo "env=$FROM_PARENT" > /env.txt
FROM 0
RUN cat /parent.txt > /index.txt
FROM scratch
COPY --from=1 /env.txt /env.txt
COPY --from=2 /index.txt /index.txt
COPY --from=parent /bin/busybox /busybox
""")  # fmt: skip
    image = built(pod, ctx)
    data = inspect(pod, image)
    assert len(data["RootFS"]["Layers"]) == 3  # scratch: only the three COPY layers
    out = run_out(pod, image, "/busybox", "cat", "/env.txt", "/index.txt")
    assert out == "env=yes\nparent\n"


# --------------------------------------------------------------------------------------------
# the cache


def cache_containerfile(base: str) -> str:
    return f"""\
FROM {base}
RUN {UUID} > /before
COPY a.txt /a.txt
RUN {UUID} > /after
RUN {UUID} > /after2
"""


def test_cache_hit_then_exactly_the_steps_from_the_changed_copy(pod, base, tmp_path):
    ctx = context(tmp_path, cache_containerfile(base), {"a.txt": "a1\n", "b.txt": "b1\n"})
    first = build(pod, ctx)
    first_id = image_id(first)
    assert not any(cached_steps(first.stdout).values()), first.stdout

    again = build(pod, ctx)
    hits = cached_steps(again.stdout)
    assert hits == {
        f"FROM {base}": False,
        f"RUN {UUID} > /before": True,
        "COPY a.txt /a.txt": True,
        f"RUN {UUID} > /after": True,
        f"RUN {UUID} > /after2": True,
    }, again.stdout
    assert image_id(again) == first_id

    (ctx / "b.txt").write_text("b2: a file no step copies\n")
    unrelated = build(pod, ctx)
    assert image_id(unrelated) == first_id, unrelated.stdout

    (ctx / "a.txt").write_text("a2\n")
    changed = build(pod, ctx)
    hits = cached_steps(changed.stdout)
    assert hits[f"RUN {UUID} > /before"] is True
    assert hits["COPY a.txt /a.txt"] is False
    assert hits[f"RUN {UUID} > /after"] is False
    assert hits[f"RUN {UUID} > /after2"] is False
    new_id = image_id(changed)
    assert new_id != first_id
    assert cat(pod, new_id, "/before") == cat(pod, first_id, "/before")
    assert cat(pod, new_id, "/after") != cat(pod, first_id, "/after")
    assert cat(pod, new_id, "/after2") != cat(pod, first_id, "/after2")
    assert cat(pod, new_id, "/a.txt") == "a2"


def test_no_cache_reruns_every_step(pod, base, tmp_path):
    ctx = context(tmp_path, cache_containerfile(base), {"a.txt": "a\n"})
    first_id = built(pod, ctx)
    fresh = build(pod, "--no-cache", ctx)
    assert "Using cache" not in fresh.stdout
    assert image_id(fresh) != first_id
    assert cat(pod, image_id(fresh), "/before") != cat(pod, first_id, "/before")


def test_changed_build_arg_invalidates_from_its_first_use(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN {UUID} > /u1\nARG V=1\nRUN echo $V > /v\n")
    first = built(pod, ctx)
    same = build(pod, "--build-arg", "V=1", ctx)
    assert image_id(same) == first
    other = build(pod, "--build-arg", "V=2", ctx)
    hits = cached_steps(other.stdout)
    assert hits[f"RUN {UUID} > /u1"] is True and hits["RUN echo $V > /v"] is False
    assert cat(pod, image_id(other), "/v") == "2"


# --------------------------------------------------------------------------------------------
# context: ignore files, build args


@pytest.mark.parametrize("ignore_file", [".containerignore", ".dockerignore"])
def test_ignore_files(pod, base, tmp_path, ignore_file):
    files = {name: name + "\n" for name in (
        "a.txt", "x.log", "keep.log", "sub/deep/y.log", "sub/deep/keep.log", "secret/key",
        "build/out.o", "sub/z.txt",
    )}  # fmt: skip
    files[ignore_file] = "**/*.log\n!keep.log\nsecret/\nbuild\n"
    ctx = context(tmp_path, f"FROM {base}\nCOPY . /ctx\n", files)
    image = built(pod, ctx)
    listing = run_out(pod, image, "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == sorted(
        [
            "/ctx/Containerfile",
            f"/ctx/{ignore_file}",
            "/ctx/a.txt",
            "/ctx/keep.log",
            "/ctx/sub/z.txt",
        ]
    )


def test_build_args_arg_before_from_and_defaults(pod, base, test_images, tmp_path):
    repo = base.rsplit(":", 1)[0]  # host:port/test/busybox
    ctx = context(tmp_path, f"""\
ARG REPO={repo}
ARG TAG=nosuchtag
FROM ${{REPO}}:${{TAG}}
ARG NAME=default
ARG EMPTY
ENV FROM_ARG=${{NAME}} FALLBACK=${{EMPTY:-fallback}} ALT=${{NAME:+alt}}
RUN echo "name=$NAME fallback=${{UNSET:-dflt}} tag=${{TAG:-not-in-stage}}" > /args.txt
""")  # fmt: skip
    image = built(pod, ctx, "--build-arg", "TAG=latest", "--build-arg", "NAME=given")
    assert cat(pod, image, "/args.txt") == "name=given fallback=dflt tag=not-in-stage"
    env = inspect(pod, image)["Config"]["Env"]
    assert {"FROM_ARG=given", "FALLBACK=fallback", "ALT=alt"} <= set(env)
    assert not any(e.startswith(("NAME=", "TAG=", "REPO=")) for e in env)
    defaults = built(pod, ctx, "--build-arg", "TAG=latest")
    assert cat(pod, defaults, "/args.txt").startswith("name=default ")
    bad = pod("build", ctx, timeout=BUILD_TIMEOUT)  # TAG=nosuchtag: the FROM cannot be pulled
    assert bad.returncode == 125
    assert "nosuchtag" in one_error_line(bad)


def test_escape_directive(pod, base, tmp_path):
    ctx = context(tmp_path, f"""\
# escape=`
FROM {base}
RUN echo one `
    two > /joined.txt
RUN echo 'trailing\\' > /backslash.txt
RUN echo second > /second.txt
""")  # fmt: skip
    image = built(pod, ctx)
    assert cat(pod, image, "/joined.txt") == "one two"
    # with ` as the escape, a trailing backslash does not join the next line
    assert cat(pod, image, "/backslash.txt") == "trailing\\"
    assert cat(pod, image, "/second.txt") == "second"


# --------------------------------------------------------------------------------------------
# every instruction, checked on one image


def test_env_arg_and_substitution(shared_pod, instructions):
    config = instructions["inspect"]["Config"]
    assert {"A=1", "B=two words", "C=1-dflt-set"} <= set(config["Env"])
    assert not any(e.startswith("BUILD_ONLY=") for e in config["Env"])
    assert "arg-in-env:arg-value" in instructions["result"].stdout
    assert cat(shared_pod, instructions["id"], "/arg.txt") == "arg-value"
    assert cat(shared_pod, instructions["id"], "/c.txt") == "1-dflt-set"


def test_run_exec_form_and_heredoc(shared_pod, instructions):
    image = instructions["id"]
    assert cat(shared_pod, image, "/exec.txt") == "exec-form"
    # exec form: no shell, so no variable expansion
    assert "literal:$A" in instructions["result"].stdout.splitlines()
    assert cat(shared_pod, image, "/heredoc.txt") == "heredoc-1\nheredoc-2"


def test_workdir_and_user(shared_pod, instructions):
    config = instructions["inspect"]["Config"]
    assert config["WorkingDir"] == "/work/dir"
    assert config["User"] == "tester"
    image = instructions["id"]
    assert cat(shared_pod, image, "/work/dir/here.txt") == "/work/dir"
    assert cat(shared_pod, image, "/tmp/runuser") == "1000"
    assert run_out(shared_pod, image, "pwd; id -u") == "/work/dir\n1000\n"


def test_entrypoint_and_cmd(shared_pod, instructions):
    config = instructions["inspect"]["Config"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"]
    assert config["Cmd"] == ["echo from-cmd $A $B"]
    assert run_out(shared_pod, instructions["id"]) == "from-cmd 1 two words\n"
    assert run_out(shared_pod, instructions["id"], "echo override") == "override\n"


def test_labels_ports_volumes_stopsignal_healthcheck(shared_pod, instructions):
    data = instructions["inspect"]
    config = data["Config"]
    labels = config["Labels"]
    assert labels["l1"] == "v1" and labels["l 2"] == "v 2"
    assert labels["org.opencontainers.image.title"] == "pod-test-busybox"  # inherited
    assert set(config["ExposedPorts"]) == {"80/tcp", "8080/tcp", "53/udp"}
    assert set(config["Volumes"]) == {"/data"}
    assert config["StopSignal"] == "SIGUSR1"
    health = data.get("Healthcheck") or config.get("Healthcheck")  # podman: top level
    assert health == {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 5_000_000_000,
        "Timeout": 3_000_000_000,
        "Retries": 2,
    }
    assert data["ManifestType"] == MT_DOCKER_MANIFEST


def test_copy_chown_chmod_globs_dirs_and_add_tar(shared_pod, instructions):
    image = instructions["id"]
    script = (
        "stat -c '%u:%g %a' /owned.txt; ls /globbed; find /tree -type f | sort; "
        "cat /unpacked/x/inside.txt /unpacked/y.txt"
    )
    out = run_out(shared_pod, image, script)
    assert out.splitlines() == [
        "1000:1000 640",
        "one.txt",
        "two.txt",
        "/tree/sub/deep.txt",
        "/tree/top.txt",
        "from the tarball",
        "y",
    ]
    assert run_out(shared_pod, image, "ls /unpacked").split() == ["x", "y.txt"]  # no files.tar.gz


def test_onbuild_runs_in_the_child_build(shared_pod, instructions, tmp_path):
    ctx = context(tmp_path, "FROM localhost/instructions\nRUN echo child-step\n")
    result = build(shared_pod, ctx)
    assert "child-step" in result.stdout
    child = image_id(result)
    ran = cat(shared_pod, child, "/tmp/onbuild.txt")
    assert re.fullmatch(r"[0-9a-f-]{36}", ran)
    parent = shared_pod("run", "--rm", "--entrypoint", "", instructions["id"],
                    "test", "-e", "/tmp/onbuild.txt")  # fmt: skip
    assert parent.returncode == 1  # a trigger does not run in the image that declares it
    # the trigger belongs to the parent's children only: a grandchild does not run it again
    grand = built(shared_pod, context(tmp_path, f"FROM {child}\nRUN echo grandchild\n", name="g"))
    assert cat(shared_pod, grand, "/tmp/onbuild.txt") == ran


def test_shell_instruction(pod, base, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base}
SHELL ["/bin/echo", "shell-was"]
RUN hello
SHELL ["/bin/sh", "-c"]
RUN echo back-to-sh
""")  # fmt: skip
    out = build(pod, ctx).stdout.splitlines()
    assert "shell-was hello" in out and "back-to-sh" in out


# --------------------------------------------------------------------------------------------
# RUN mounts, secrets, volumes, network, env


def test_cache_mount_is_shared_between_builds_and_not_in_the_image(pod, base, tmp_path):
    first = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=cache,target=/cache,id=shared-cache echo first-build > /cache/f
""", name="one")  # fmt: skip
    second = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=cache,target=/cache,id=shared-cache cat /cache/f > /seen && ls /cache
""", name="two")  # fmt: skip
    built(pod, first)
    image = built(pod, second)
    assert cat(pod, image, "/seen") == "first-build"
    assert pod("run", "--rm", image, "test", "-e", "/cache").returncode == 1  # as podman


def _cache_lock(pod, cache_id: str) -> Path:
    digest = hashlib.sha256(cache_id.encode()).hexdigest()
    return pod.root / "build-mounts" / f"{digest}.lock"


def test_cache_mount_owner_mode_and_sharing(pod, base, tmp_path):
    import fcntl

    ctx = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=cache,target=/c,id=owned,uid=1000,gid=1001,mode=0710,sharing=locked \\
    stat -c "%u %g %a" /c > /owner && echo kept > /c/f
""")  # fmt: skip
    image = built(pod, ctx, "--network", "none")
    assert cat(pod, image, "/owner") == "1000 1001 710"
    lock = _cache_lock(pod, "owned")
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        # private: a cache in use by another build is replaced by an empty one
        private = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=cache,target=/c,id=owned,sharing=private ls /c > /seen; echo done
""", name="private")  # fmt: skip
        assert cat(pod, built(pod, private, "--network", "none"), "/seen") == ""
        # locked: the build waits for the holder
        threading.Timer(1.5, lambda: fcntl.flock(held, fcntl.LOCK_UN)).start()
        locked = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=cache,target=/c,id=owned,sharing=locked cat /c/f > /seen
""", name="locked")  # fmt: skip
        started = time.monotonic()
        image = built(pod, locked, "--network", "none")
        assert time.monotonic() - started >= 1.4
    assert cat(pod, image, "/seen") == "kept"


def test_cache_mount_id_cannot_leave_the_store(pod, base, test_images, tmp_path):
    hostile = test_images.hostile
    hostile.reset()
    deep = "../" * 40 + str(hostile.sentinel_dir).lstrip("/")
    marker = hostile.escape_marker
    for i, cache_id in enumerate([f"../../{marker}", f"../../../../{marker}", deep,
                                  str(hostile.sentinel_dir)]):  # fmt: skip
        ctx = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=cache,target=/cache,id={cache_id} \\
    echo pwned > /cache/cache-pwned && touch /cache/{marker}
""", name=f"ctx{i}")  # fmt: skip
        result = pod("build", ctx, timeout=BUILD_TIMEOUT)
        assert result.returncode in (0, 125), result.stderr
        assert "Traceback" not in result.stderr
        hostile.assert_untouched()
    assert hostile.find_escapes(tmp_path, ignore_under=[pod.root]) == []
    outside = [p for p in tmp_path.rglob("cache-pwned") if not p.is_relative_to(pod.root)]
    assert outside == []


def test_bind_mount_from_the_context_is_read_only_and_not_in_the_image(pod, base, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=bind,source=data,target=/ctxdata cat /ctxdata/file > /from-bind; \\
    touch /ctxdata/new 2>/dev/null && echo bind-writable || echo bind-readonly
""", {"data/file": "context data\n"})  # fmt: skip
    result = build(pod, ctx)
    assert "bind-readonly" in result.stdout.splitlines()
    assert not (ctx / "data" / "new").exists()
    image = image_id(result)
    assert cat(pod, image, "/from-bind") == "context data"
    assert pod("run", "--rm", image, "test", "-e", "/ctxdata").returncode == 1  # as podman


def test_tmpfs_mount(pod, base, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=tmpfs,target=/scratch echo x > /scratch/f && \\
    grep " /scratch " /proc/mounts | cut -d" " -f3 > /fstype
""")  # fmt: skip
    image = built(pod, ctx)
    assert cat(pod, image, "/fstype") == "tmpfs"
    assert pod("run", "--rm", image, "test", "-e", "/scratch").returncode == 1  # as podman


def test_secret_is_readable_in_run_but_not_in_the_image(pod, base, tmp_path):
    secret_value = "s3cr3t-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]
    secret = tmp_path / "secret.txt"
    secret.write_text(secret_value)
    ctx = context(tmp_path, f"""\
FROM {base}
RUN --mount=type=secret,id=mysecret test -f /run/secrets/mysecret \\
    && sha256sum /run/secrets/mysecret | cut -d" " -f1 > /sum && echo secret-ok
""")  # fmt: skip
    result = build(pod, "--secret", f"id=mysecret,src={secret}", ctx)
    assert "secret-ok" in result.stdout.splitlines()
    assert secret_value not in result.stdout + result.stderr
    image = image_id(result)
    assert cat(pod, image, "/sum") == hashlib.sha256(secret_value.encode()).hexdigest()
    # not even an empty mount point is left (podman 4.3 leaves none)
    assert pod("run", "--rm", image, "test", "-e", "/run/secrets/mysecret").returncode == 1
    assert layer_files_contain(pod, secret_value.encode()) == []
    # without --secret the mount is absent (optional, as in podman): `test -f` fails the RUN
    missing = pod("build", "--no-cache", ctx, timeout=BUILD_TIMEOUT)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert pod("ps", "-a", "-q").stdout == ""


def test_volume_for_run_steps(pod, base, tmp_path):
    host_dir = write_tree(tmp_path / "hostdir", {"file": "from the host\n"})
    ctx = context(tmp_path, f"""\
FROM {base}
RUN cat /mnt/host/file > /from-volume && echo written-by-run > /mnt/host/out
""")  # fmt: skip
    image = built(pod, ctx, "--volume", f"{host_dir}:/mnt/host")
    assert cat(pod, image, "/from-volume") == "from the host"
    assert (host_dir / "out").read_text() == "written-by-run\n"
    assert pod("run", "--rm", image, "test", "-e", "/mnt/host/file").returncode != 0


def test_network_none_for_run(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN cat /proc/net/dev > /netdev\n")
    image = built(pod, ctx, "--network", "none")
    names = [line.split(":")[0].strip() for line in cat(pod, image, "/netdev").splitlines()[2:]]
    assert names == ["lo"]


def test_env_label_annotation_flags(pod, base, test_images, tmp_path):
    ctx = context(tmp_path, f'FROM {base}\nRUN echo "flag-env=$FLAG_ENV"\n')
    target = f"{test_images.host}/built/flags:1"
    result = build(pod, "--env", "FLAG_ENV=fromflag", "--label", "lab=val",
                   "--annotation", "ann=aval", "-t", target, ctx)  # fmt: skip
    # as podman 4.3: --env sets the image's environment, not that of the RUN steps
    assert "flag-env=" in result.stdout.splitlines()
    data = inspect(pod, image_id(result))
    assert "FLAG_ENV=fromflag" in data["Config"]["Env"]
    assert run_out(pod, image_id(result), "sh", "-c", "echo $FLAG_ENV") == "fromflag\n"
    assert data["Config"]["Labels"]["lab"] == "val"
    pod("push", "-q", target, check=True)
    manifest = served_manifest(test_images.host, "built/flags", "1").json()
    assert manifest.get("annotations", {}).get("ann") == "aval"


def test_build_context_flag(pod, base, tmp_path):
    extra = write_tree(tmp_path / "extra", {"e.txt": "from the named context\n"})
    ctx = context(tmp_path, f"FROM {base}\nCOPY --from=other e.txt /e.txt\n")
    image = built(pod, ctx, "--build-context", f"other={extra}")
    assert cat(pod, image, "/e.txt") == "from the named context"


def test_add_url_with_checksum(pod, base, tmp_path):
    payload = b"served over http\n"
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/payload.txt"
    try:
        good = context(tmp_path, f"FROM {base}\nADD --checksum={digest} {url} /fetched.txt\n",
                       name="good")  # fmt: skip
        image = built(pod, good)
        assert cat(pod, image, "/fetched.txt") == "served over http"
        wrong = "sha256:" + "0" * 64
        bad = context(tmp_path, f"FROM {base}\nADD --checksum={wrong} {url} /fetched.txt\n",
                      name="bad")  # fmt: skip
        result = pod("build", bad, timeout=BUILD_TIMEOUT)
        assert result.returncode == 125
        assert "checksum" in one_error_line(result).lower()
    finally:
        server.shutdown()


def test_runtime_runc_runs_the_run_steps(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN echo via-runtime > /rt.txt\n")
    image = built(pod, ctx, "--runtime", "runc")
    assert cat(pod, image, "/rt.txt") == "via-runtime"
    # a wrapper that logs its calls and execs runc proves the RUN went through it
    log = tmp_path / "runtime.log"
    wrapper = tmp_path / "runc-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec runc "$@"\n')
    wrapper.chmod(0o755)
    again = built(pod, ctx, "--no-cache", "--runtime", str(wrapper))
    assert cat(pod, again, "/rt.txt") == "via-runtime"
    assert log.exists() and log.read_text().strip(), "the RUN step did not use --runtime"


def test_platform(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN true\n")
    image = built(pod, ctx, "--platform", f"linux/{native_arch()}")
    assert inspect(pod, image)["Architecture"] == native_arch()
    other = "s390x" if native_arch() != "s390x" else "amd64"
    bad = pod("build", "--platform", f"linux/{other}", ctx, timeout=BUILD_TIMEOUT)
    assert bad.returncode == 125
    assert other in one_error_line(bad)


def test_pull_policies(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN true\n")
    never = pod("build", "--pull=never", ctx, timeout=BUILD_TIMEOUT)
    assert never.returncode == 125
    assert base.split("/")[-1].split(":")[0] in one_error_line(never)
    assert pod("images", "-q").stdout == ""
    built(pod, ctx, "--pull=missing")
    assert pod("image", "exists", base).returncode == 0
    built(pod, ctx, "--pull=never")
    always = build(pod, "--pull=always", ctx)
    assert image_id(always)


# --------------------------------------------------------------------------------------------
# formats, squash, reproducibility, push/pull


def test_format_docker_and_oci(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN echo x > /x\n")
    docker = built(pod, ctx, "--format", "docker")
    assert inspect(pod, docker)["ManifestType"] == MT_DOCKER_MANIFEST
    # the format is part of the cache key: the same steps in OCI format are another image
    oci = built(pod, ctx, "--format", "oci")
    assert oci != docker
    assert inspect(pod, oci)["ManifestType"] == MT_OCI_MANIFEST


def test_squash_makes_one_new_layer(pod, base, test_images, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base}
RUN echo 1 > /one
COPY f.txt /f.txt
RUN echo 3 > /three && rm /one
""", {"f.txt": "f\n"})  # fmt: skip
    base_layers = len(test_images.busybox.diff_ids)
    layered = built(pod, ctx)
    assert len(inspect(pod, layered)["RootFS"]["Layers"]) == base_layers + 3
    squashed = built(pod, ctx, "--squash")
    assert len(inspect(pod, squashed)["RootFS"]["Layers"]) == base_layers + 1
    assert run_out(pod, squashed, "sh", "-c", "cat /f.txt /three; ls /one 2>&1 || true") == (
        "f\n3\nls: /one: No such file or directory\n"
    )


def reproducible_containerfile(base: str) -> str:
    return f"""\
FROM {base}
COPY f.txt /f.txt
RUN mkdir /made && echo made > /made/file && touch /made/now
ENV R=1
"""


def test_timestamp_builds_are_reproducible_across_stores(pod, base, tmp_path):
    ctx = context(tmp_path, reproducible_containerfile(base), {"f.txt": "same\n"})
    first = built(pod, ctx, "--timestamp", "0", "--no-cache")
    (ctx / "f.txt").touch()  # a new mtime, same content
    second = built(pod, ctx, "--timestamp", "0", "--no-cache")
    assert first == second
    data = inspect(pod, first)
    assert data["Created"].startswith("1970-01-01T00:00:00")
    with isolated_pod(tmp_path / "second-store", pod.insecure) as other:
        third = built(other, ctx, "--timestamp", "0")
        assert third == first
        assert inspect(other, third)["Digest"] == data["Digest"]


def test_source_date_epoch_builds_are_reproducible(pod, base, tmp_path):
    ctx = context(tmp_path, reproducible_containerfile(base), {"f.txt": "same\n"})
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    first = built(pod, ctx, "--no-cache", env=env)
    (ctx / "f.txt").touch()
    second = built(pod, ctx, "--no-cache", env=env)
    assert first == second
    assert inspect(pod, first)["Created"].startswith("2023-11-14T22:13:20")
    later = built(pod, ctx, "--no-cache", env={"SOURCE_DATE_EPOCH": "1700000001"})
    assert later != first


def test_build_push_pull_run_in_another_store(pod, base, test_images, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base}
COPY msg.txt /msg.txt
RUN echo "built $(cat /msg.txt)" > /out.txt
CMD ["cat", "/out.txt"]
""", {"msg.txt": "and pushed"})  # fmt: skip
    target = f"{test_images.host}/built/app:1"
    image = built(pod, ctx, "-t", target)
    expected = run_out(pod, target)
    assert expected == "built and pushed\n"
    pushed = pod("push", target)
    assert pushed.returncode == 0, pushed.stderr
    with isolated_pod(tmp_path / "puller", pod.insecure) as other:
        pulled = other("pull", "-q", target, check=True).stdout.strip()
        assert pulled == image
        assert run_out(other, target) == expected


# --------------------------------------------------------------------------------------------
# errors and hostile input


@pytest.mark.parametrize("bad_line", ["ENV ONLYNAME", "FROBNICATE x", "COPY onlyone"])
def test_syntax_error_names_the_line_and_leaves_nothing(pod, base, tmp_path, bad_line):
    pod("pull", "-q", base, check=True)
    images_before = pod("images", "-q", "--no-trunc").stdout
    ctx = context(tmp_path, f"# a comment\nFROM {base}\nRUN echo fine-step\n{bad_line}\n")
    result = pod("build", "-t", "broken", ctx, timeout=BUILD_TIMEOUT)
    assert result.returncode == 125, result.stdout + result.stderr
    line = one_error_line(result)
    assert re.search(r"Containerfile:4\b", line), line
    assert "fine-step" not in result.stdout  # found before anything ran
    assert pod("images", "-q", "--no-trunc").stdout == images_before
    assert pod("ps", "-a", "-q").stdout == ""
    assert mounts_under(pod.root) == []
    assert pod("image", "exists", "localhost/broken").returncode == 1


def test_failing_run_exits_with_its_status_and_leaves_no_container(pod, base, tmp_path):
    ctx = context(tmp_path, f"FROM {base}\nRUN echo before-fail\nRUN exit 3\nRUN echo never\n")
    result = pod("build", "-t", "failing", ctx, timeout=BUILD_TIMEOUT)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "before-fail" in result.stdout and "never" not in result.stdout
    line = one_error_line(result)
    assert line.startswith('Error: building at STEP "RUN exit 3"'), line
    assert line.endswith("exit status 3"), line
    assert pod("ps", "-a", "-q").stdout == ""
    assert mounts_under(pod.root) == []
    assert pod("image", "exists", "localhost/failing").returncode == 1
    false = pod("build", context(tmp_path, f"FROM {base}\nRUN false\n", name="f"),
                timeout=BUILD_TIMEOUT)  # fmt: skip
    assert false.returncode == 1
    assert one_error_line(false) == (
        'Error: building at STEP "RUN false": while running runtime: exit status 1'
    )


def test_copy_missing_source_is_125(pod, base, tmp_path):
    result = pod("build", context(tmp_path, f"FROM {base}\nCOPY nothere /x\n"),
                 timeout=BUILD_TIMEOUT)  # fmt: skip
    assert result.returncode == 125
    assert "nothere" in one_error_line(result)
    assert pod("ps", "-a", "-q").stdout == ""


def test_copy_cannot_leave_the_context(pod, base, tmp_path):
    ctx = context(tmp_path, f"""\
FROM {base}
COPY ../../etc/passwd /dotdot-passwd
COPY hostetc/passwd /link-passwd
COPY . /ctx
""", {"etc/passwd": "decoy passwd\n"})  # fmt: skip
    (ctx / "hostetc").symlink_to("/etc")
    image = built(pod, ctx)
    # `..` and the link resolve inside the context (as podman: the context is the root)
    assert cat(pod, image, "/dotdot-passwd") == "decoy passwd"
    assert cat(pod, image, "/link-passwd") == "decoy passwd"
    assert run_out(pod, image, "readlink", "/ctx/hostetc") == "/etc\n"  # a link, not a copy
    files = run_out(pod, image, "find", "/ctx", "-type", "f").split()
    assert sorted(files) == ["/ctx/Containerfile", "/ctx/etc/passwd"]
    # a name only the host's /etc has is not found: an error, not the host's file
    assert Path("/etc/os-release").is_file()
    only_host = context(tmp_path, f"FROM {base}\nCOPY hostetc/os-release /stolen\n", name="host")
    (only_host / "hostetc").symlink_to("/etc")
    result = pod("build", only_host, timeout=BUILD_TIMEOUT)
    assert result.returncode == 125, result.stdout
    assert "os-release" in one_error_line(result)
    assert layer_files_contain(pod, Path("/etc/os-release").read_bytes()) == []


def test_add_tar_with_dotdot_entries_stays_inside(pod, base, test_images, tmp_path):
    hostile = test_images.hostile
    hostile.reset()
    sentinel = str(hostile.sentinel_dir)
    deep = "../" * 40 + sentinel.lstrip("/")
    marker = hostile.escape_marker
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add_file(name: str, text: str) -> None:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add_file("ok.txt", "ok\n")
        add_file(f"../../{marker}", "two up\n")
        add_file(f"../../../../{marker}", "four up\n")
        add_file(f"{deep}/add-pwned", "pwned via ../\n")
        add_file(f"{sentinel}/abs-pwned", "pwned via an absolute name\n")
        link = tarfile.TarInfo("lnk")
        link.type, link.linkname = tarfile.SYMTYPE, sentinel
        tar.addfile(link)
        add_file("lnk/through-link", "pwned through a symlink\n")
        hard = tarfile.TarInfo("hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, f"{deep}/victim"
        tar.addfile(hard)
    ctx = context(tmp_path, f"FROM {base}\nADD evil.tar /dest/\n", {"evil.tar": buf.getvalue()})
    result = pod("build", ctx, timeout=BUILD_TIMEOUT)
    assert "Traceback" not in result.stderr
    hostile.assert_untouched()
    assert hostile.find_escapes(tmp_path, ignore_under=[pod.root]) == []
    if result.returncode == 0:
        assert cat(pod, image_id(result), "/dest/ok.txt") == "ok"
    else:
        assert result.returncode == 125
        one_error_line(result)


# --------------------------------------------------------------------------------------------
# commit


@pytest.fixture
def changed_container(pod, busybox):
    pod("run", "--name", "changed", busybox, "sh", "-c", "echo data > /data.txt", check=True)
    return "changed"


def test_commit_with_changes_message_author(pod, changed_container):
    result = pod("commit", "-c", 'CMD ["cat", "/data.txt"]', "-c", "ENV FOO=bar",
                 "-m", "my message", "-a", "Me <me@example.com>", changed_container,
                 "committed")  # fmt: skip
    assert result.returncode == 0, result.stderr
    committed = image_id(result)
    data = inspect(pod, "localhost/committed")
    assert data["Id"] == committed
    assert data["Config"]["Cmd"] == ["cat", "/data.txt"]
    assert "FOO=bar" in data["Config"]["Env"]
    assert "POD_TEST_IMAGE=busybox" in data["Config"]["Env"]  # the base's config is kept
    assert data["Author"] == "Me <me@example.com>"
    assert "my message" in (data["Comment"], data["History"][-1].get("comment"))
    assert run_out(pod, "localhost/committed") == "data\n"


def test_commit_quiet_and_squash(pod, changed_container, test_images):
    quiet = pod("commit", "-q", changed_container, "q1")
    assert quiet.returncode == 0, quiet.stderr
    assert HEX64.fullmatch(quiet.stdout.strip()) and quiet.stdout.count("\n") == 1
    base_layers = len(test_images.busybox.diff_ids)
    assert len(inspect(pod, "localhost/q1")["RootFS"]["Layers"]) == base_layers + 1
    squashed = pod("commit", "-q", "--squash", changed_container, "sq1")
    assert squashed.returncode == 0, squashed.stderr
    assert len(inspect(pod, "localhost/sq1")["RootFS"]["Layers"]) == 1
    assert run_out(pod, "localhost/sq1", "cat", "/data.txt") == "data\n"
    assert run_out(pod, "localhost/sq1", "cat", "/etc/passwd").startswith("root:x:0:0:")


def test_commit_pause_of_a_running_container(pod, busybox):
    started = pod("run", "-d", "--name", "live", busybox, "sh", "-c",
                  "echo live > /live.txt; sleep 60", check=True)  # fmt: skip
    cid = started.stdout.strip()
    poll(lambda: pod("exec", "live", "test", "-e", "/live.txt").returncode == 0, 20, 0.1)
    result = pod("commit", "-p", "-q", "live", "fromlive")
    assert result.returncode == 0, result.stderr
    assert run_out(pod, "localhost/fromlive", "cat", "/live.txt") == "live\n"
    state = pod("inspect", "--format", "{{.ID}} {{.State.Status}}", "live", check=True).stdout
    assert state == f"{cid} running\n"  # paused only for the commit


def test_commit_errors(pod, changed_container):
    missing = pod("commit", "nosuchcontainer", "x")
    assert missing.returncode == 125
    assert "nosuchcontainer" in one_error_line(missing)
    bad = pod("commit", "-c", "FROBNICATE 1", changed_container, "y")
    assert bad.returncode == 125
    one_error_line(bad)
    assert pod("image", "exists", "localhost/y").returncode == 1


def test_commit_without_a_name_and_build_from_it(pod, changed_container, tmp_path):
    result = pod("commit", "-q", changed_container)
    assert result.returncode == 0, result.stderr
    committed = result.stdout.strip()
    ctx = context(tmp_path, f"FROM {committed}\nRUN cat /data.txt > /copied.txt\n")
    assert cat(pod, built(pod, ctx), "/copied.txt") == "data"


def test_a_killed_build_is_cleaned_up_by_the_next(pod, base, tmp_path):
    import signal
    import subprocess

    ctx = context(tmp_path, f"FROM {base}\nRUN echo started; sleep 60\n")
    proc = pod.popen("build", "--network", "none", ctx, stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "started":
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()
    assert pod("ps", "-a", "--external", "-q").stdout.strip() != ""  # its RUN container
    quick = context(tmp_path, f"FROM {base}\nRUN true\n", name="quick")
    built(pod, quick, "--network", "none")
    assert pod("ps", "-a", "--external", "-q").stdout.strip() == ""
    steps_dir = pod.root / "build"
    assert not steps_dir.exists() or not any(steps_dir.iterdir())
