"""`pod build`: runs a parsed Containerfile stage by stage into an image in the store.

Each step either changes only the config (ENV, LABEL, ...) or makes a layer: RUN in a real
container (pod.builder.run_step), COPY/ADD/WORKDIR through the file worker (pod.builder.fs_worker).
Every step has a cache key (its parent's key + the expanded instruction + for COPY/ADD the
sources' content); with the cache on, a step whose key is in store.build_cache is not run again.
Entries keep the time a step was made, so a fully cached rebuild gives the same image ID, and
--timestamp / SOURCE_DATE_EPOCH pin every time, so two builds of the same inputs do too.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from pod import events
from pod.builder import config_steps, words
from pod.builder import containerfile as cf
from pod.builder.context import BuildContext, IgnoreMatcher, load_ignore_patterns
from pod.builder.options import BuildOptions
from pod.builder.run_step import RunRequest, run_step
from pod.builder.session import StageResult, StageRun
from pod.builder.working import WorkingImage, step_key
from pod.config import Settings
from pod.errors import BuildStepError, PodError
from pod.image import manifest as mf
from pod.image import reference
from pod.image.writer import ImageLayer, write_image
from pod.reporter import Reporter
from pod.store import build_cache, layers, trees
from pod.store.blobs import BlobStore
from pod.store.build_cache import CacheEntry, StepLayer
from pod.store.images import ImageRecord
from pod.store.layout import ContainerPaths, Layout
from pod.store.lock import locked
from pod.util.humanize import created_time

_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
PROXY_ARGS = frozenset(_PROXIES) | {name.lower() for name in _PROXIES}


def _platform_args() -> dict[str, str]:
    """BuildKit's automatic platform ARGs (pod builds for the host platform only)."""
    host = mf.host_platform()
    text = f"{host.os}/{host.architecture}" + (f"/{host.variant}" if host.variant else "")
    values = {"PLATFORM": text, "OS": host.os, "ARCH": host.architecture}
    values["VARIANT"] = host.variant or ""
    return {
        f"{side}{name}": value for side in ("TARGET", "BUILD") for name, value in values.items()
    }


class Builder:
    def __init__(self, settings: Settings, options: BuildOptions, reporter: Reporter) -> None:
        self.settings = settings
        self.options = options
        self.reporter = reporter  # `build -q`: a reporter that shows no steps
        self.layout = Layout(settings.root, settings.runroot)
        self.file = cf.parse(options.containerfile_text, options.containerfile_name)
        self.escape = self.file.escape
        self.cache = build_cache.load(self.layout) if options.cache_enabled else {}
        self.used_args: set[str] = set()
        self.results: list[StageResult | None] = [None] * len(self.file.stages)
        self.ignore_patterns = load_ignore_patterns(
            options.context, options.containerfile_path, options.ignore_file
        )
        self.context = BuildContext(options.context, IgnoreMatcher(self.ignore_patterns))
        self.global_args = {**_platform_args()}
        self.last_created = ""

    # --- output ------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.reporter.step(text)

    # --- the whole build ---------------------------------------------------------------------
    def build(self) -> ImageRecord:
        self.check_platform(None)
        for instr in self.file.meta_args:
            self._declare_arg(instr, self.global_args, self.global_args)
        wanted = self._stages_needed()
        several = len(wanted) > 1
        for position, index in enumerate(wanted):
            label = f"[{position + 1}/{len(wanted)}] " if several else ""
            self.results[index] = self._run_stage(index, label, last=index == wanted[-1])
        final = self.results[wanted[-1]]
        assert final is not None
        unused = sorted(
            name
            for name in self.options.build_args
            if name not in self.used_args and name not in PROXY_ARGS
        )
        if unused:
            self.reporter.notice(
                f"[Warning] one or more build args were not consumed: [{' '.join(unused)}]"
            )
        return self._commit(final, label if several else "")

    def _stages_needed(self) -> list[int]:
        """The target stage and the stages it uses (FROM, COPY --from, RUN --mount from=)."""
        target = len(self.file.stages) - 1
        if self.options.target is not None:
            names = [stage.name for stage in self.file.stages]
            if self.options.target.lower() not in names:
                raise PodError(f'the target "{self.options.target}" was not found in the file')
            target = names.index(self.options.target.lower())
        needed = {target}
        pending = [target]
        while pending:
            stage = self.file.stages[pending.pop()]
            refs = [words.expand(stage.base, self.global_args, self.escape)]
            for instr in stage.instructions:
                refs += [value for name, value in instr.flags if name == "from"]
                refs += [
                    part.partition("=")[2]
                    for name, value in instr.flags
                    if name == "mount"
                    for part in value.split(",")
                    if part.startswith("from=")
                ]
            for ref in refs:
                found = self.stage_index(ref, stage.index)
                if found is not None and found not in needed:
                    needed.add(found)
                    pending.append(found)
        return sorted(needed)

    def stage_index(self, text: str, before: int) -> int | None:
        """An earlier stage named or numbered `text`, else None (then it is an image)."""
        for stage in self.file.stages[:before]:
            if stage.name is not None and stage.name == text.lower():
                return stage.index
        if text.isdigit() and int(text) < before:
            return int(text)
        return None

    def check_platform(self, text: str | None) -> None:
        wanted = text or None
        host = str(mf.host_platform())
        if wanted and wanted not in (
            host,
            f"{mf.host_platform().os}/{mf.host_platform().architecture}",
        ):
            raise PodError(
                f'pod builds for the host platform ({host}) only: "{wanted}" is not supported'
            )

    # --- a stage -----------------------------------------------------------------------------
    def _run_stage(self, index: int, label: str, last: bool) -> StageResult:
        stage = self.file.stages[index]
        total = 1 + len(stage.instructions)
        self.say(f"{label}STEP 1/{total}: {stage.from_instruction.source}")
        self.check_platform(
            words.expand(stage.platform, self.global_args, self.escape) if stage.platform else None
        )
        work = self._base(words.expand(stage.base, self.global_args, self.escape), index)
        base_layers = len(work.layers)
        state = StageRun(index, label, work)
        triggers = list(work.section.pop("OnBuild", None) or [])
        for trigger in triggers:
            instr = cf.parse(f"FROM scratch\n{trigger}\n", "ONBUILD").stages[0].instructions[0]
            self._step(state, instr, final=False)
        for number, instr in enumerate(stage.instructions, start=2):
            self.say(f"{label}STEP {number}/{total}: {instr.source}")
            self._step(state, instr, final=last and number == total)
        return StageResult(stage.name, state.work, base_layers)

    def _base(self, text: str, index: int) -> WorkingImage:
        earlier = self.stage_index(text, index)
        if earlier is not None:
            result = self.results[earlier]
            assert result is not None
            return result.work.copy()
        if text == "scratch":
            work = WorkingImage.scratch()
            work.set_env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            return work
        return WorkingImage.from_image(self.layout, self.image(text))

    def image(self, text: str) -> ImageRecord:
        from pod.container.create import find_or_pull

        try:
            return find_or_pull(
                self.settings,
                self.layout,
                text,
                self.options.pull,
                self.reporter,
                access=self.options.access,
            )
        finally:
            self.reporter.close()

    # --- variables ---------------------------------------------------------------------------
    def _declare_arg(self, instr: cf.Instruction, scope: dict[str, str], env: dict[str, str]):
        for name, default in words.arg_pairs(instr.text, self.escape):
            if name in self.options.build_args:
                scope[name] = self.options.build_args[name]
                self.used_args.add(name)
            elif default is not None:
                scope[name] = words.expand(default, {**env, **scope}, self.escape)
            elif name in self.global_args:
                scope[name] = self.global_args[name]

    def variables(self, state: StageRun) -> dict[str, str]:
        """What $VAR means in an instruction: the stage's ARGs, overridden by ENV."""
        return {**state.args, **state.work.env()}

    def _run_env(self, state: StageRun) -> list[str]:
        """The ARGs a RUN sees as environment variables (ENV wins), and proxy build args."""
        env = state.work.env()
        pairs = {k: v for k, v in state.args.items() if k not in env}
        for name in PROXY_ARGS & self.options.build_args.keys():
            pairs.setdefault(name, self.options.build_args[name])
        return [f"{k}={v}" for k, v in sorted(pairs.items())]

    # --- one step ----------------------------------------------------------------------------
    def _step(self, state: StageRun, instr: cf.Instruction, final: bool) -> None:
        """One instruction; an error names the step, as podman's do."""
        try:
            self._apply(state, instr)
        except PodError as err:
            raise BuildStepError(
                f'building at STEP "{instr.source}": {err}', err.exit_code
            ) from None
        if not final:
            self.say(f"--> {state.work.key[:11]}")

    def _apply(self, state: StageRun, instr: cf.Instruction) -> None:
        keyword = instr.keyword
        if keyword in config_steps.APPLY and keyword != "WORKDIR":
            payload = config_steps.APPLY[keyword](
                state.work, instr, self.variables(state), self.escape
            )
            self._metadata(state, instr, payload)
        else:
            getattr(self, f"_do_{keyword.lower()}")(state, instr)

    def _cached(self, key: str) -> CacheEntry | None:
        entry = self.cache.get(key)
        if entry is None or not self.options.cache_enabled:
            return None
        ttl = self.options.cache_ttl
        if ttl is not None and time.time() - entry.saved > ttl:  # --cache-ttl
            return None
        if entry.layer and not (
            layers.layer_exists(self.layout, entry.layer.chain_id)
            and BlobStore(self.layout).has(entry.layer.digest)
        ):
            return None
        return entry

    def _record(self, key: str, layer: ImageLayer | None) -> CacheEntry:
        """Remember what a step made; under the store lock, where image removal sweeps."""
        step_layer = (
            StepLayer(layer.chain_id, layer.diff_id, layer.digest, layer.blob_size, layer.size)
            if layer
            else None
        )
        entry = CacheEntry(created_time(self.options.timestamp), step_layer, time.time())
        with locked(self.layout.store_lock):
            if layer and not (
                layers.layer_exists(self.layout, layer.chain_id)
                and BlobStore(self.layout).has(layer.digest)
            ):
                raise PodError("a layer of this build was removed by another process: build again")
            build_cache.save_entry(self.layout, key, entry)
        self.cache[key] = entry
        return entry

    def _finish(self, state: StageRun, key: str, entry: CacheEntry, created_by: str) -> None:
        work = state.work
        if entry.layer:
            layer = entry.layer
            work.layers.append(
                ImageLayer(
                    layer.chain_id,
                    layer.diff_id,
                    layer.digest,
                    mf.OCI_LAYER_GZIP,
                    layer.blob_size,
                    layer.size,
                )
            )
        work.add_history(entry.created, created_by, empty=entry.layer is None)
        work.key = key
        self.last_created = entry.created

    def _metadata(self, state: StageRun, instr: cf.Instruction, *payload: object) -> None:
        """A step that changes only the config: cached only for its time (same image ID)."""
        key = step_key(state.work.key, instr.keyword, *payload)
        entry = self._cached(key)
        if entry is not None:
            self.say(f"--> Using cache {key}")
        else:
            entry = self._record(key, None)
        self._finish(state, key, entry, f"/bin/sh -c #(nop) {instr.source}")

    def _layer_step(self, state: StageRun, key: str, created_by: str, make) -> None:
        entry = self._cached(key)
        if entry is not None:
            self.say(f"--> Using cache {key}")
        else:
            entry = self._record(key, make())
        self._finish(state, key, entry, created_by)

    # --- metadata instructions ---------------------------------------------------------------
    def _do_arg(self, state: StageRun, instr: cf.Instruction) -> None:
        self._declare_arg(instr, state.args, self.variables(state))
        self._metadata(state, instr, sorted(state.args.items()))

    # --- instructions that make layers -------------------------------------------------------
    def _do_workdir(self, state: StageRun, instr: cf.Instruction) -> None:
        from pod.container.user import LayerView

        path = config_steps.workdir(state.work, instr, self.variables(state), self.escape)
        if LayerView(state.work.layer_dirs(self.layout)).exists(path):
            self._metadata(state, instr, path)
            return
        key = step_key(state.work.key, "WORKDIR", path)
        ops = [{"op": "mkdir", "path": path, "owner": None}]
        self._layer_step(
            state,
            key,
            f"/bin/sh -c #(nop) {instr.source}",
            lambda: self.file_step(state.work, ops),
        )

    def _do_run(self, state: StageRun, instr: cf.Instruction) -> None:
        argv = _run_argv(instr, state.work.shell)
        env = self._run_env(state)
        mounts, mount_key = self._run_mounts(state, instr)
        network = next((value for name, value in instr.flags if name == "network"), None)
        key = step_key(state.work.key, "RUN", argv, env, mount_key, network, self.options.timestamp)
        created_by = f"/bin/sh -c {instr.text}"

        def run() -> ImageLayer | None:
            from pod.builder.run_mounts import claim

            with contextlib.ExitStack() as stack:
                request = RunRequest(argv, env, claim(self, stack, mounts), network)
                return run_step(self.settings, state.work, request, self.options, self.reporter)

        self._layer_step(state, key, created_by, run)

    def _do_copy(self, state: StageRun, instr: cf.Instruction) -> None:
        self._copy_or_add(state, instr, add=False)

    def _do_add(self, state: StageRun, instr: cf.Instruction) -> None:
        self._copy_or_add(state, instr, add=True)

    def _copy_or_add(self, state: StageRun, instr: cf.Instruction, add: bool) -> None:
        from pod.builder import copy_step

        with copy_step.plan(self, state, instr, add=add) as plan:
            key = step_key(state.work.key, instr.keyword, plan.key_parts, self.options.timestamp)
            created_by = f"/bin/sh -c #(nop) {instr.keyword} {plan.describe}"
            self._layer_step(state, key, created_by, lambda: plan.run(self, state.work))

    def file_step(
        self, work: WorkingImage, ops: list[dict], source_layers: list[str] | None = None
    ) -> ImageLayer | None:
        """Run file operations on the stage's rootfs in the worker; the change becomes a layer."""
        from pod.image.layer_commit import commit_upper
        from pod.util.userns import run_in_userns, run_worker

        directory = _scratch_dir(self.layout)
        try:
            request = {
                "layers": [str(p) for p in work.layer_dirs(self.layout)],
                "directory": str(directory),
                "rootless": self.settings.rootless,
                "source_layers": source_layers,
                "ops": ops,
            }
            if self.settings.rootless:
                run_in_userns("pod.builder.fs_worker", request)
            else:
                run_worker("pod.builder.fs_worker", request)
            return commit_upper(
                self.layout,
                ContainerPaths(directory / "target").upper,
                work.layers,
                rootless=self.settings.rootless,
                timestamp=self.options.timestamp,
            )
        finally:
            with contextlib.suppress(OSError, PodError):
                trees.remove_trees([directory], rootless=self.settings.rootless)

    # --- RUN --mount -------------------------------------------------------------------------
    def _run_mounts(self, state: StageRun, instr: cf.Instruction) -> tuple[list, list]:
        from pod.builder import run_mounts

        specs = [value for name, value in instr.flags if name == "mount"]
        return run_mounts.resolve(self, state, specs)

    # --- the image ---------------------------------------------------------------------------
    def _squashed(self, final: StageResult) -> list[ImageLayer]:
        """--squash: the stage's new layers as one; --squash-all: every layer as one."""
        from pod.image.layer_commit import squash, squashed_history

        work = final.work
        base = [] if self.options.squash_all else work.layers[: final.base_layers]
        merged = squash(
            self.layout,
            work.layers[len(base) :],
            base,
            rootless=self.settings.rootless,
            timestamp=self.options.timestamp,
        )
        if merged is None:
            return work.layers
        work.config["history"] = squashed_history(work.config.get("history", []), len(base))
        return [*base, merged]

    def _commit(self, final: StageResult, label: str) -> ImageRecord:
        work = final.work
        names = [reference.qualify_local(tag) for tag in self.options.tags]
        self.say(f"{label}COMMIT {self.options.tags[0] if self.options.tags else ''}".rstrip())
        for item in self.options.env:
            key, _, value = item.partition("=")
            work.set_env(key, value)
        if self.options.labels:
            work.section["Labels"] = {
                **(work.section.get("Labels") or {}),
                **self.options.labels,
            }
        image_layers = work.layers
        if self.options.squash or self.options.squash_all:
            image_layers = self._squashed(final)
        config = dict(work.config)
        config["created"] = (
            created_time(self.options.timestamp)
            if self.options.timestamp is not None
            else self.last_created
        ) or created_time(None)
        if not config["config"]:
            config.pop("config")
        record = write_image(
            self.layout,
            image_layers,
            config,
            names=names,
            image_format=self.options.image_format,
            annotations=self.options.annotations,
        )
        # libpod's newImageBuildCompleteEvent: the image's ID as its Name, and no ID
        events.image_event(self.layout.runroot, "build", name=record.id)
        self.say(f"--> {record.id[:11]}")
        for name in names:
            self.say(f"Successfully tagged {name}")
        return record


def _run_argv(instr: cf.Instruction, shell: list[str]) -> list[str]:
    """The command a RUN runs; heredocs go to the shell as the script they are."""
    if instr.json_args is not None:
        return list(instr.json_args)
    if not instr.heredocs:
        return [*shell, instr.text]
    script = instr.text
    markers_only = all(
        word.lstrip("<-").strip("'\"") in {doc.name for doc in instr.heredocs}
        for word in instr.text.split()
        if word.startswith("<<")
    ) and all(word.startswith("<<") for word in instr.text.split())
    if markers_only and len(instr.heredocs) == 1:
        return [*shell, instr.heredocs[0].content]
    for doc in instr.heredocs:
        script += "\n" + doc.content + doc.name
    return [*shell, script]


def _scratch_dir(layout: Layout) -> Path:
    """A step's working directory, named for its process so stale ones can be found."""
    root = layout.builds_root
    root.mkdir(parents=True, exist_ok=True)
    directory = root / f"{os.getpid()}-{os.urandom(6).hex()}"
    directory.mkdir()
    return directory


def remove_build_leftovers(settings: Settings) -> None:
    """What builds that were killed left: RUN containers, step dirs and layer blobs (each
    named for, or labelled with, its build's process, which is gone)."""
    from pod.builder.run_step import BUILD_PID_LABEL
    from pod.container.remove import remove_container
    from pod.store.containers import ContainerStore

    layout, rootless = Layout(settings.root, settings.runroot), settings.rootless
    for record in ContainerStore(layout).list():
        pid = record.labels.get(BUILD_PID_LABEL, "") if record.builder else ""
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            with contextlib.suppress(PodError, OSError):
                remove_container(settings, record.id, force=True, timeout=0)
    BlobStore(layout).remove_stale_scratch()
    root = layout.builds_root
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(root):
            pid = entry.name.partition("-")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                with contextlib.suppress(OSError, PodError):
                    trees.remove_trees([Path(entry.path)], rootless=rootless)
