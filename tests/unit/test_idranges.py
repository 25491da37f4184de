"""--userns=auto's range carving (pod.container.idranges): containers/storage's rules."""

from __future__ import annotations

import pytest

from pod.container import idranges
from pod.errors import PodError
from pod.util.userns import IdMapLine


def test_first_container_gets_the_start_of_the_range():
    assert idranges.carve(1024, [(300000, 500000)], []) == (IdMapLine(0, 300000, 1024),)


def test_used_ranges_are_skipped_and_never_overlap():
    first = idranges.carve(1024, [(300000, 500000)], [])
    second = idranges.carve(500, [(300000, 500000)], first)
    assert second == (IdMapLine(0, 301024, 500),)
    third = idranges.carve(10, [(300000, 500000)], [*first, *second])
    assert third == (IdMapLine(0, 301524, 10),)


def test_a_freed_hole_is_reused_first():
    first, _second = IdMapLine(0, 300000, 1024), IdMapLine(0, 301024, 1024)
    assert idranges.carve(1024, [(300000, 500000)], [_second]) == (first,)


def test_a_range_may_span_several_free_intervals():
    lines = idranges.carve(100, [(1, 51), (1000, 2000)], [])
    assert lines == (IdMapLine(0, 1, 50), IdMapLine(50, 1000, 50))


def test_not_enough_ids_is_podmans_error():
    with pytest.raises(PodError, match="could not find enough available IDs"):
        idranges.carve(1024, [(300000, 300500)], [])
    with pytest.raises(PodError, match="could not find enough available IDs"):
        idranges.carve(1024, [], [])


def test_additional_mappings_are_kept_and_their_ids_left_out():
    extra = (IdMapLine(0, 5000, 1),)
    lines = idranges.carve(10, [(1, 100)], [], extra)
    assert lines == (IdMapLine(1, 1, 9), IdMapLine(0, 5000, 1))
    # a pinned host id inside the available range is not handed out twice
    pinned = idranges.carve(4, [(1, 100)], [], (IdMapLine(0, 1, 1),))
    assert pinned == (IdMapLine(1, 2, 3), IdMapLine(0, 1, 1))


def test_parse_auto_options():
    assert idranges.parse_auto("auto") == idranges.AutoOptions()
    parsed = idranges.parse_auto("auto:size=500,uidmapping=0:1000:1,gidmapping=0:2000:2")
    assert parsed == idranges.AutoOptions(500, (IdMapLine(0, 1000, 1),), (IdMapLine(0, 2000, 2),))
    with pytest.raises(PodError, match="CONTAINER_ID:HOST_ID:SIZE"):
        idranges.parse_auto("auto:uidmapping=0:1")


def test_size_defaults_to_1024_and_grows_for_the_images_users():
    passwd = "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
    assert idranges.auto_size(idranges.AutoOptions(), passwd, "") == 1024
    big = passwd + "app:x:5000:5001::/app:/bin/sh\n"
    assert idranges.auto_size(idranges.AutoOptions(), big, "") == 5002
    assert idranges.auto_size(idranges.AutoOptions(), passwd, "grp:x:70000:\n") == 70001
    assert idranges.auto_size(idranges.AutoOptions(size=5), big, "") == 5


def test_format_as_podmans_idmappings():
    assert idranges.format_map((IdMapLine(0, 300000, 1024),)) == ["0:300000:1024"]
