"""A compiled Go template: parse once with compile_template, render it for every record.

Text is taken as is; podman's `table`/`json` conventions and its normalization of shell escapes
live in pod.format.report.
"""

from __future__ import annotations

from typing import Any

from pod.format.executor import Execution
from pod.format.lexer import Lexer
from pod.format.nodes import Node
from pod.format.parser import Parser
from pod.util.records import dataclass, field


@dataclass(frozen=True, eq=False)
class Template:
    """A parsed Go template: parse once with compile_template, render for every record."""

    name: str
    text: str
    root: list[Node] = field(repr=False)

    def render(self, data: Any) -> str:
        """Execute against a dict, list, dataclass or object; errors raise PodError (exit 125)."""
        run = Execution(self.name, self.text, data)
        run.walk(data, self.root)
        return "".join(run.out)


def compile_template(text: str, name: str = "format") -> Template:
    """Parse Go template text as is (no podman normalization); name appears in error messages."""
    toks = Lexer(name, text).run()
    return Template(name, text, Parser(name, toks).parse())
