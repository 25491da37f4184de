"""Image records: lookup rules, tags moving between images, removal bookkeeping."""

from pathlib import Path

import pytest

from pod.errors import NoSuchImageError, PodError
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout


def record(ident: str, *names: str) -> ImageRecord:
    return ImageRecord(
        id=ident * 64 if len(ident) == 1 else ident,
        manifest_digest="sha256:" + "0" * 64,
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        manifest_size=10,
        config_digest="sha256:" + (ident * 64 if len(ident) == 1 else ident),
        layer_digests=[],
        chain_ids=[],
        size=1,
        created="2024-01-01T00:00:00Z",
        names=list(names),
        repo_digests=[f"{n.rpartition(':')[0]}@sha256:{'0' * 64}" for n in names],
    )


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    images = ImageStore(Layout(tmp_path / "root", tmp_path / "run"))
    images.blobs.ensure()
    images.add(record("a", "docker.io/library/busybox:latest"))
    images.add(record("b", "127.0.0.1:5000/test/busybox:latest", "localhost/mine:1"))
    images.add(record("c", "quay.io/org/tool:2"))
    return images


@pytest.mark.parametrize(
    ("text", "ident"),
    [
        ("busybox", "a"),
        ("docker.io/library/busybox", "a"),
        ("library/busybox:latest", "a"),
        ("127.0.0.1:5000/test/busybox", "b"),
        ("test/busybox", "b"),
        ("mine:1", "b"),
        ("localhost/mine:1", "b"),
        ("tool:2", "c"),
        ("org/tool:2", "c"),
        ("ccc", "c"),
        ("sha256:" + "c" * 64, "c"),
        ("quay.io/org/tool@sha256:" + "0" * 64, "c"),
    ],
)
def test_lookup(store: ImageStore, text: str, ident: str) -> None:
    assert store.lookup(text).id == ident * 64


@pytest.mark.parametrize("text", ["tool", "mine", "nothere", "quay.io/org/tool:3", "dddd"])
def test_lookup_misses(store: ImageStore, text: str) -> None:
    with pytest.raises(NoSuchImageError, match="image not known"):
        store.lookup(text)


def test_ambiguous_prefix(tmp_path: Path) -> None:
    images = ImageStore(Layout(tmp_path / "r", tmp_path / "x"))
    images.blobs.ensure()
    images.add(record("ab" + "0" * 62, "quay.io/a:1"))
    images.add(record("ac" + "0" * 62, "quay.io/b:1"))
    with pytest.raises(PodError, match="ambiguous"):
        images.lookup("a")


def test_name_moves_to_new_image_leaving_the_old_dangling(store: ImageStore) -> None:
    store.add(record("d", "docker.io/library/busybox:latest"))
    old = store.lookup("a" * 64)
    assert old.dangling
    assert store.lookup("busybox").id == "d" * 64


def test_tag_untag_and_index_mirror(store: ImageStore) -> None:
    store.tag("busybox", "localhost/extra:latest")
    assert "localhost/extra:latest" in store.lookup("a" * 64).names
    names = {entry.name for entry in store.blobs.read_index()}
    assert "localhost/extra:latest" in names
    assert store.untag("a" * 64, ["localhost/extra:latest"]) == ["localhost/extra:latest"]
    with pytest.raises(NoSuchImageError):
        store.untag("a" * 64, ["localhost/nope:latest"])


def test_remove_one_name_keeps_the_image(store: ImageStore) -> None:
    untagged, deleted = store.remove("b" * 64, ["localhost/mine:1"])
    assert untagged == ["localhost/mine:1"] and not deleted
    untagged, deleted = store.remove("b" * 64, None)
    assert deleted and untagged == ["127.0.0.1:5000/test/busybox:latest"]
