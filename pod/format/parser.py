"""Tokens to a parse tree, following Go's text/template/parse/parse.go.

Errors read as Go's (`template: format:1: unexpected "@" in operand`), because users compare them
with podman's. Functions are checked against FUNCS at parse time, as Go does.
"""

from __future__ import annotations

import re

from pod.errors import PodError
from pod.format.functions import FUNCS
from pod.format.lexer import Token
from pod.format.nodes import (
    Action,
    Bool,
    Break,
    Chain,
    Cmd,
    Continue,
    Control,
    Dot,
    Else,
    End,
    Field,
    Ident,
    Nil,
    Node,
    Number,
    Pipe,
    String,
    Text,
    Var,
)
from pod.format.values import go_quote

_OPERAND_START = {
    "bool",
    "charconst",
    "dot",
    "field",
    "ident",
    "number",
    "nil",
    "raw",
    "string",
    "var",
    "lparen",
}


class Parser:
    """Builds the node tree from tokens, following text/template/parse/parse.go."""

    def __init__(self, name: str, toks: list[Token]) -> None:
        self.name = name
        self.toks = toks
        self.i = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0

    def error(self, msg: str) -> PodError:
        line = self.toks[min(max(self.i - 1, 0), len(self.toks) - 1)].line
        return PodError(f"template: {self.name}:{line}: {msg}")

    def next(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def peek(self) -> Token:
        return self.toks[min(self.i, len(self.toks) - 1)]

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.typ == "space":
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        while self.peek().typ == "space":
            self.next()
        return self.peek()

    def backup(self) -> None:
        self.i -= 1

    def expect(self, typ: str, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ != typ:
            raise self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Token, context: str) -> PodError:
        if tok.typ != "error":
            return self.error(f"unexpected {tok} in {context}")
        extra = ""
        if self.action_line and self.action_line != tok.line:
            extra = f" in action started at {self.name}:{self.action_line}"
            if tok.val.endswith(" action"):
                extra = extra[len(" in action") :]
        return self.error(tok.val + extra)

    def parse(self) -> list[Node]:
        root: list[Node] = []
        while self.peek().typ != "eof":
            node = self.text_or_action()
            if isinstance(node, (End, Else)):
                raise self.error(f"unexpected {node}")
            root.append(node)
        return root

    def item_list(self) -> tuple[list[Node], Node]:
        nodes: list[Node] = []
        while self.peek_non_space().typ != "eof":
            node = self.text_or_action()
            if isinstance(node, (End, Else)):
                return nodes, node
            nodes.append(node)
        raise self.error("unexpected EOF")

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == "text":
            return Text(tok.pos, tok.val)
        if tok.typ == "left":
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ in ("if", "range", "with"):
            return self.control(tok.typ)
        if tok.typ == "else":
            return self.else_control()
        if tok.typ == "end":
            return End(self.expect("right", "end").pos)
        if tok.typ in ("break", "continue"):
            return self.loop_control(tok)
        if tok.typ in ("define", "template", "block"):
            raise self.error(f"{{{{{tok.val}}}}} is not supported in --format templates")
        self.backup()
        return Action(self.peek().pos, self.pipeline("command", "right"))

    def loop_control(self, tok: Token) -> Node:
        if self.next_non_space().typ != "right":
            raise self.unexpected(self.toks[self.i - 1], f"{{{{{tok.val}}}}}")
        if not self.range_depth:
            raise self.error(f"{{{{{tok.val}}}}} outside {{{{range}}}}")
        return Break(tok.pos) if tok.typ == "break" else Continue(tok.pos)

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ in ("if", "with"):
            return Else(peek.pos)
        return Else(self.expect("right", "else").pos)

    def control(self, kind: str) -> Control:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(kind, "right")
            loop = int(kind == "range")
            self.range_depth += loop
            body, nxt = self.item_list()
            self.range_depth -= loop
            return Control(pipe.pos, kind, pipe, body, self.else_part(kind, nxt))
        finally:
            del self.vars[mark:]

    def else_part(self, kind: str, nxt: Node) -> list[Node] | None:
        """The else body; `{{else if}}` / `{{else with}}` nest and share the one `{{end}}`."""
        if isinstance(nxt, End):
            return None
        if kind in ("if", "with") and self.peek().typ == kind:
            self.next()
            return [self.control(kind)]
        body, end = self.item_list()
        if not isinstance(end, End):
            raise self.error(f"expected end; found {end}")
        return body

    def declarations(self, pipe: Pipe, context: str) -> None:
        while (v := self.peek_non_space()).typ == "var":
            start = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt.typ in ("assign", "declare"):
                pipe.is_assign = nxt.typ == "assign"
                self.next()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
                return
            if nxt.typ == "char" and nxt.val == ",":
                self.next()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in ("var", "right", "rparen"):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            self.i = start
            return

    def pipeline(self, context: str, end: str) -> Pipe:
        pipe = Pipe(self.peek_non_space().pos, [], False, [])
        self.declarations(pipe, context)
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ not in _OPERAND_START:
                raise self.unexpected(tok, context)
            self.backup()
            pipe.cmds.append(self.command())

    def check_pipeline(self, pipe: Pipe, context: str) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], (Bool, Dot, Nil, Number, String)):
                raise self.error(f"non executable command in pipeline stage {stage}")

    def command(self) -> Cmd:
        cmd = Cmd(self.peek_non_space().pos, [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == "space":
                continue
            if tok.typ in ("right", "rparen"):
                self.backup()
            elif tok.typ != "pipe":
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().typ != "field":
            return node
        pos, fields = self.peek().pos, []
        while self.peek().typ == "field":
            fields.append(self.next().val[1:])
        if isinstance(node, Field):
            return Field(pos, node.idents + tuple(fields))
        if isinstance(node, Var):
            return Var(pos, node.idents + tuple(fields))
        if isinstance(node, (Bool, String, Number, Nil, Dot)):
            raise self.error(f"unexpected . after term {go_quote(str(node))}")
        return Chain(pos, node, tuple(fields))

    def term(self) -> Node | None:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == "ident":
            if tok.val not in FUNCS:
                raise self.error(f"function {go_quote(tok.val)} not defined")
            return Ident(tok.pos, tok.val)
        if typ == "dot":
            return Dot(tok.pos)
        if typ == "nil":
            return Nil(tok.pos)
        if typ == "var":
            if tok.val not in self.vars:
                raise self.error(f"undefined variable {go_quote(tok.val)}")
            return Var(tok.pos, (tok.val,))
        if typ == "field":
            return Field(tok.pos, (tok.val[1:],))
        if typ == "bool":
            return Bool(tok.pos, tok.val == "true")
        if typ in ("number", "charconst"):
            return Number(tok.pos, tok.val, self.number_value(tok))
        if typ == "lparen":
            return self.pipeline("parenthesized pipeline", "rparen")
        if typ in ("string", "raw"):
            return String(tok.pos, tok.val, self.unquote(tok.val))
        self.backup()
        return None

    def number_value(self, tok: Token) -> int | float:
        """A number or character constant's value: an int when it is one, else a float."""
        text = tok.val
        if tok.typ == "charconst":
            value = self.unquote('"' + text[1:-1].replace('"', '\\"') + '"')
            if len(value) != 1:
                raise self.error(f"malformed character constant: {text}")
            return ord(value)
        if text.endswith("i"):
            raise self.error(f"complex numbers are not supported: {text}")
        digits = text.replace("_", "")
        octal = re.fullmatch(r"([+-]?)(0[0-7]+)", digits)
        if octal:
            return int(octal.group(1) + octal.group(2), 8)
        try:
            return int(digits, 0)
        except ValueError:
            pass
        try:
            if "x" in digits.lower():
                return float.fromhex(digits)
            return float(digits)
        except ValueError:
            raise self.error(f"illegal number syntax: {go_quote(text)}") from None

    def unquote(self, quoted: str) -> str:
        """strconv.Unquote for "..." and `...` literals."""
        if quoted[0] == "`":
            return quoted[1:-1]
        try:
            return _unescape(quoted[1:-1])
        except ValueError:
            raise self.error("invalid syntax") from None


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_SIMPLE_ESCAPES.update({"\\": "\\", '"': '"', "'": "'"})
_ESCAPE_RE = r"(?s)\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)"


def _unescape(body: str) -> str:
    """Go string escapes: \\n, \\t, \\xNN, \\NNN, \\uNNNN, \\UNNNNNNNN; anything else is invalid."""

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[esc]
        if esc[0] in "xuU":
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567" and len(esc) == 3:
            return chr(int(esc, 8))
        raise ValueError(esc)

    return re.sub(_ESCAPE_RE, one, body)
