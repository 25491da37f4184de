"""The parse tree of a template, following Go's text/template/parse/node.go.

The parser builds these records and the executor walks them; each prints as Go prints the node,
because Go's execution errors quote it (`executing "format" at <.Bogus>: ...`).
"""

from __future__ import annotations

from pod.util.records import dataclass


@dataclass(repr=False, eq=False)
class Node:
    """A parse-tree node; pos is its offset in the template, for error messages."""

    pos: int


@dataclass(repr=False, eq=False)
class Text(Node):
    """Literal text between actions."""

    text: str


@dataclass(repr=False, eq=False)
class Dot(Node):
    """`.`, the current data."""

    def __str__(self) -> str:
        return "."


@dataclass(repr=False, eq=False)
class Nil(Node):
    """The `nil` literal."""

    def __str__(self) -> str:
        return "nil"


@dataclass(repr=False, eq=False)
class Bool(Node):
    """A `true` / `false` literal."""

    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(repr=False, eq=False)
class Number(Node):
    """A number or character literal with its Go value."""

    text: str
    value: int | float

    def __str__(self) -> str:
        return self.text


@dataclass(repr=False, eq=False)
class String(Node):
    """A quoted or raw string literal."""

    quoted: str
    value: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(repr=False, eq=False)
class Field(Node):
    """`.A.B`: fields looked up from dot."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


@dataclass(repr=False, eq=False)
class Var(Node):
    """`$x.A`: a variable and optional fields."""

    idents: tuple[str, ...]  # idents[0] is the variable name with its `$`

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(repr=False, eq=False)
class Ident(Node):
    """A function name."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(repr=False, eq=False)
class Cmd(Node):
    """One pipeline stage: an operand or a function with its arguments."""

    args: list[Node]

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


@dataclass(repr=False, eq=False)
class Pipe(Node):
    """Commands joined by `|`, with optional `$x :=` declarations."""

    decl: list[str]
    is_assign: bool
    cmds: list[Cmd]

    def __str__(self) -> str:
        text = " | ".join(str(c) for c in self.cmds)
        if self.decl:
            op = " = " if self.is_assign else " := "
            text = ", ".join(self.decl) + op + text
        return text


@dataclass(repr=False, eq=False)
class Chain(Node):
    """`(pipeline).A.B`: fields of a computed value."""

    node: Node
    fields: tuple[str, ...]

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return base + "".join("." + f for f in self.fields)


@dataclass(repr=False, eq=False)
class Action(Node):
    """`{{pipeline}}`: evaluate and print (unless it declares variables)."""

    pipe: Pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(repr=False, eq=False)
class Control(Node):
    """if, range and with: a pipeline, a body and an optional else body."""

    kind: str
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] | None

    def __str__(self) -> str:
        return "{{" + self.kind + " " + str(self.pipe) + "}}"


@dataclass(repr=False, eq=False)
class Break(Node):
    """`{{break}}` in a range."""

    def __str__(self) -> str:
        return "{{break}}"


@dataclass(repr=False, eq=False)
class Continue(Node):
    """`{{continue}}` in a range."""

    def __str__(self) -> str:
        return "{{continue}}"


@dataclass(repr=False, eq=False)
class End(Node):
    """`{{end}}`, only seen by the parser."""

    def __str__(self) -> str:
        return "{{end}}"


@dataclass(repr=False, eq=False)
class Else(Node):
    """`{{else}}`, only seen by the parser."""

    def __str__(self) -> str:
        return "{{else}}"
