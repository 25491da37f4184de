"""`pod images`: podman's ImageSummary records and the imageReporter its templates see.

A `--format` template on `podman images` runs against `imageReporter` (Repository, Tag and an
embedded ImageSummary, plus methods: `{{.ID}}` truncated, `{{.Created}}` "2 years ago",
`{{.Size}}` "2.14 MB"), one row per name; `--format json` writes the summaries with Created as
Unix seconds and CreatedAt in RFC 3339. Both are modelled here field for field.
"""

from __future__ import annotations

import time

from pod.format import GoMap, GoStruct, NilMap, NilSlice, gofield
from pod.image.defaults import defaults_from_config, image_config
from pod.image.inspect import storage_size
from pod.store.images import ImageRecord, ImageStore
from pod.util import records
from pod.util.gotime import GoTime
from pod.util.humanize import human_duration, human_size
from pod.util.records import InitVar, dataclass

SORT_KEYS = ("created", "id", "repository", "size", "tag")


@dataclass
class ImageSummary(GoStruct):
    """podman's entities.ImageSummary, in its field order."""

    GO_TYPE = "entities.ImageSummary"
    ID: str = gofield("Id")
    ParentId: str = ""  # noqa: N815 - podman's name
    RepoTags: list[str] = records.field(default_factory=NilSlice)
    RepoDigests: list[str] = records.field(default_factory=NilSlice)
    Created: int = 0
    Size: int = 0
    SharedSize: int = 0
    VirtualSize: int = 0
    Labels: GoMap = records.field(default_factory=NilMap)
    Containers: int = 0
    ReadOnly: bool = gofield(",omitempty", default=False)
    Dangling: bool = gofield(",omitempty", default=False)
    Names: list[str] = gofield(",omitempty", default_factory=NilSlice)
    Digest: str = gofield(",omitempty", default="")
    History: list[str] = gofield(",omitempty", default_factory=NilSlice)

    def Id(self) -> str:  # noqa: N802 - podman's method names are the template's
        return self.ID

    def IsReadOnly(self) -> bool:  # noqa: N802
        return self.ReadOnly

    def IsDangling(self) -> bool:  # noqa: N802
        return self.Dangling


@dataclass
class ImageReporter(GoStruct):
    """What an `images --format` template sees: podman's imageReporter, one per name."""

    GO_TYPE = "images.imageReporter"
    Repository: str = gofield("repository,omitempty")
    Tag: str = gofield("tag,omitempty")
    ImageSummary: ImageSummary = gofield(embedded=True)
    no_trunc: InitVar[bool] = False

    def __post_init__(self, no_trunc: bool) -> None:
        self._no_trunc = no_trunc

    def ID(self) -> str:  # noqa: N802
        ident = self.ImageSummary.ID
        return ident[:12] if not self._no_trunc and len(ident) >= 12 else "sha256:" + ident

    def Created(self) -> str:  # noqa: N802
        return human_duration(time.time() - self.ImageSummary.Created) + " ago"

    def Size(self) -> str:  # noqa: N802
        return human_size(self.ImageSummary.Size)

    def History(self) -> str:  # noqa: N802
        return ", ".join(self.ImageSummary.History)

    def CreatedAt(self) -> str:  # noqa: N802
        return str(GoTime(self.ImageSummary.Created * 1_000_000_000, utc=True))

    def CreatedSince(self) -> str:  # noqa: N802
        return self.Created()

    def CreatedTime(self) -> str:  # noqa: N802
        return self.CreatedAt()


@dataclass
class ImagesJSON(GoStruct):
    """`images --format json`'s element: the summary, RepoTags null, CreatedAt in RFC 3339."""

    ImageSummary: ImageSummary = gofield(embedded=True)
    Created: int = 0
    CreatedAt: str = ""


def summary(store: ImageStore, record: ImageRecord, containers: int = 0) -> ImageSummary:
    """podman's ImageSummary of one image (History: the names it has had, newest first)."""
    labels = defaults_from_config(image_config(store.blobs, record)).labels
    size = storage_size(store, record)
    names = list(record.names)
    return ImageSummary(
        ID=record.id,
        RepoTags=names,
        RepoDigests=list(record.repo_digests),
        Created=GoTime.parse(record.created).Unix() if record.created else 0,
        Size=size,
        VirtualSize=size,
        Labels=GoMap(labels) if labels else NilMap(),
        Containers=containers,
        Dangling=record.dangling,
        Names=names or NilSlice(),
        Digest=record.manifest_digest,
        History=names or NilSlice(),
    )


def images_json(item: ImageSummary) -> ImagesJSON:
    created = GoTime(item.Created * 1_000_000_000, utc=True)
    shown = records.replace(item, RepoTags=NilSlice())
    return ImagesJSON(shown, item.Created, created.rfc3339())


def reporters(summaries: list[ImageSummary], sort: str, no_trunc: bool) -> list[ImageReporter]:
    """podman's sortImages: a row per tagged name (`<none>` rows only for an untagged image),
    sorted by `sort` (created: newest first)."""
    rows = []
    for item in summaries:
        tagged = [_repo_tag(name) for name in item.RepoTags]
        named = [pair for pair in tagged if pair[1] != "<none>"]
        for repository, tag in named or tagged[:1] or [("<none>", "<none>")]:
            rows.append(ImageReporter(repository, tag, item, no_trunc))
    keys = {
        "id": lambda r: r.ID(),
        "repository": lambda r: r.Repository,
        "size": lambda r: r.ImageSummary.Size,
        "tag": lambda r: r.Tag,
    }
    if sort in keys:
        rows.sort(key=keys[sort])
    else:
        rows.sort(key=lambda r: r.ImageSummary.Created, reverse=True)
    return rows


def _repo_tag(name: str) -> tuple[str, str]:
    """A stored name as podman's tokenRepoTag splits it; a digest-only name has tag <none>."""
    if "@" in name:
        return name.partition("@")[0], "<none>"
    repository, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, "<none>"
    return repository, tag or "<none>"
