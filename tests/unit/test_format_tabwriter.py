"""--format's table layout: Go's text/tabwriter, cell for cell, with podman's settings.

Expected strings are what Go's text/tabwriter prints for the same input and settings.
"""

from __future__ import annotations

import pytest

from pod.format import tabulate, tabwrite


def test_tabulate_podman_images():
    rows = [["REPOSITORY", "TAG"], ["docker.io/library/busybox", "latest"]]
    assert tabulate(rows) == ("REPOSITORY                 TAG\ndocker.io/library/busybox  latest\n")


def test_tabulate_applies_minimum_width():
    assert tabulate([["ID", "NAME"], ["a", "b"]]) == "ID          NAME\na           b\n"


def test_tabwriter_podman_default_writer():
    text = "a46001bfea3a4172b46c173101208244\tRandom\tuuid"
    assert tabwrite(text) == "a46001bfea3a4172b46c173101208244  Random      uuid"


@pytest.mark.parametrize(
    ("minwidth", "padding", "padchar", "src", "want"),
    [
        (4, 1, ":", "Hello\tWorld", "Hello:World"),
        (4, 1, ":", "Be\tGood", "Be::Good"),
        (8, 1, ".", "", ""),
        (8, 1, ".", "\n\n\n", "\n\n\n"),
        (8, 1, ".", "a\nb\nc", "a\nb\nc"),
        (8, 1, ".", "\t", ""),
        (8, 1, ".", "*\t*", "*.......*"),
        (8, 1, ".", "*\t*\n", "*.......*\n"),
        (8, 1, ".", "*\t*\t", "*.......*"),
        (8, 1, ".", "\t\n", "........\n"),
        (8, 1, ".", "a) foo", "a) foo"),
        (8, 1, " ", "b) foo\tbar", "b) foo  bar"),
        (8, 1, ".", "c) foo\tbar\t", "c) foo..bar"),
        (8, 1, ".", "d) foo\tbar\n", "d) foo..bar\n"),
        (8, 1, ".", "e) foo\tbar\t\n", "e) foo..bar.....\n"),
        (8, 1, "*", "Hello, world!\n", "Hello, world!\n"),
        (1, 0, ".", "1\t2\t3\t4\n11\t222\t3333\t44444\n", "1.2..3...4\n11222333344444\n"),
        (1, 0, ".", "1\t2\t3\t4\f11\t222\t3333\t44444\n", "1234\n11222333344444\n"),
        (5, 0, ".", "1\t2\t3\t4\n", "1....2....3....4\n"),
        (5, 0, ".", "1\t2\t3\t4\t\n", "1....2....3....4....\n"),
        (4, 0, ".", "a\t\tb", "a.......b"),
        (
            8,
            1,
            ".",
            "本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n",
            "本.......b.......c\naa......本本本.....cccc....ddddd\naaa.....bbbb\n",
        ),
        (
            2,
            0,
            " ",
            "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
            "a  b  c\naa bbbcccc\naaabbbb\n",
        ),
        (
            8,
            1,
            "_",
            "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
            "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n",
        ),
    ],
)
def test_tabwriter_matches_go(minwidth, padding, padchar, src, want):
    assert tabwrite(src, minwidth, 0, padding, padchar) == want


def test_tabwriter_columns_are_blocks_of_consecutive_lines():
    src = (
        "4444\t日本語\t22\t1\t333\n"
        "999999999\t22\n"
        "7\t22\n"
        "\t\t\t88888888\n"
        "\n"
        "666666\t666666\t666666\t4444\n"
        "1\t1\t999999999\t0000000000\n"
    )
    want = (
        "4444------日本語-22--1---333\n"
        "999999999-22\n"
        "7---------22\n"
        "------------------88888888\n"
        "\n"
        "666666-666666-666666----4444\n"
        "1------1------999999999-0000000000\n"
    )
    assert tabwrite(src, 4, 0, 1, "-") == want


def test_tabwriter_tab_padding():
    src = "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n"
    assert tabwrite(src, 100, 100, 0, "\t") == src
