"""Regenerate completions/pod.{bash,zsh,fish}: `python completions/generate.py [--check]`.

They are exactly what `pod completion SHELL` prints, checked in so that packagers (and the
Containerfile) can install them without running pod; a unit test fails when they are stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pod.commands import completion_scripts

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="Exit 1 if a file is stale.")
    args = parser.parse_args(argv)
    tree = completion_scripts.command_tree()
    stale = []
    for shell in completion_scripts.SHELLS:
        path = HERE / f"pod.{shell}"
        text = completion_scripts.script(shell, tree=tree)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        names = ", ".join(stale)
        print(f"out of date: {names}: run python completions/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
