"""Template text to tokens, following Go's text/template/parse/lex.go.

Splits a template into text and action tokens, applies the `{{- ` and ` -}}` trim markers, and
turns a lexing problem into a final error token, which the parser reports with Go's wording.
"""

from __future__ import annotations

from pod.format.values import go_quote
from pod.util.records import dataclass

_SPACE = " \t\r\n"


def _rune_name(ch: str) -> str:
    """Go's %#U: `U+0040 '@'`."""
    code = f"U+{ord(ch):04X}"
    return f"{code} '{ch}'" if ch.isprintable() else code


@dataclass(repr=False, eq=False)
class Token:
    """A lexed token: type, source text, offset and line."""

    typ: str
    val: str
    pos: int
    line: int

    def __str__(self) -> str:
        if self.typ == "eof":
            return "EOF"
        if self.typ == "error":
            return self.val
        if self.typ in _KEYWORDS.values() or self.typ == "dot":
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


_KEYWORDS = {
    "block": "block",
    "break": "break",
    "continue": "continue",
    "define": "define",
    "else": "else",
    "end": "end",
    "if": "if",
    "range": "range",
    "nil": "nil",
    "template": "template",
    "with": "with",
}


def _is_digit(ch: str) -> bool:
    return len(ch) == 1 and ch in "0123456789"


def _alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdecimal()


class _LexError(Exception):
    """A lexing problem at a position; it ends the token stream as an error token."""

    def __init__(self, pos: int, msg: str) -> None:
        super().__init__(msg)
        self.pos = pos
        self.msg = msg


class Lexer:
    """Splits a template into text and action tokens, applying `{{- ` and ` -}}` trims."""

    def __init__(self, name: str, src: str) -> None:
        self.name = name
        self.src = src
        self.toks: list[Token] = []
        self.depth = 0

    def line(self, pos: int) -> int:
        return self.src.count("\n", 0, pos) + 1

    def emit(self, typ: str, start: int, end: int) -> None:
        self.toks.append(Token(typ, self.src[start:end], start, self.line(start)))

    def run(self) -> list[Token]:
        """All tokens; a lexing error becomes the last token, for the parser to report in turn."""
        try:
            self.lex_all()
        except _LexError as exc:
            self.toks.append(Token("error", exc.msg, exc.pos, self.line(exc.pos)))
        return self.toks

    def lex_all(self) -> None:
        pos = 0
        while (i := self.src.find("{{", pos)) >= 0:
            trim = self.has_left_trim(i + 2)
            end = i
            while trim and end > pos and self.src[end - 1] in _SPACE:
                end -= 1
            if end > pos:
                self.emit("text", pos, end)
            pos = self.action(i, i + 2 + (2 if trim else 0))
        if pos < len(self.src):
            self.emit("text", pos, len(self.src))
        self.emit("eof", len(self.src), len(self.src))

    def has_left_trim(self, p: int) -> bool:
        return self.src[p : p + 1] == "-" and self.src[p + 1 : p + 2] in tuple(_SPACE)

    def at_right(self, p: int) -> tuple[bool, bool]:
        """Whether a right delimiter starts at p, and whether it carries a trim marker."""
        src = self.src
        if src[p : p + 1] in tuple(_SPACE) and src[p + 1 : p + 4] == "-}}":
            return True, True
        return src.startswith("}}", p), False

    def close(self, p: int) -> int:
        """Consume a right delimiter at p; return where the following text starts."""
        _, trim = self.at_right(p)
        p += 4 if trim else 2
        while trim and p < len(self.src) and self.src[p] in _SPACE:
            p += 1
        return p

    def action(self, delim: int, p: int) -> int:
        """Lex the action whose `{{` is at delim and whose content starts at p."""
        if self.src.startswith("/*", p):
            return self.comment(p)
        self.emit("left", delim, delim + 2)
        self.depth = 0
        while True:
            delim, _ = self.at_right(p)
            if delim:
                if self.depth:
                    raise _LexError(p, "unclosed left paren")
                self.emit("right", p, p + 2)
                return self.close(p)
            if p >= len(self.src):
                raise _LexError(p, "unclosed action")
            p = self.token(p)

    def comment(self, p: int) -> int:
        end = self.src.find("*/", p + 2)
        if end < 0:
            raise _LexError(p, "unclosed comment")
        if not self.at_right(end + 2)[0]:
            raise _LexError(end, "comment ends before closing delimiter")
        return self.close(end + 2)

    def token(self, p: int) -> int:
        """Lex one token inside an action starting at p; return the position after it."""
        ch = self.src[p]
        if ch in _SPACE:
            return self.space(p)
        simple = {"=": "assign", "|": "pipe", "(": "lparen", ")": "rparen"}
        if ch in simple:
            return self.simple(p, simple[ch])
        if ch == ":":
            if self.src[p + 1 : p + 2] != "=":
                raise _LexError(p, "expected :=")
            self.emit("declare", p, p + 2)
            return p + 2
        if ch in "\"`'":
            return self.quote(p, ch)
        if ch == "$":
            return self.field_or_var(p, "var")
        if ch == "." and not _is_digit(self.src[p + 1 : p + 2]):
            return self.field_or_var(p, "field")
        if ch in "+-." or _is_digit(ch):
            return self.number(p)
        if _alnum(ch):
            return self.identifier(p)
        if ch < "\x7f" and ch.isprintable():
            self.emit("char", p, p + 1)
            return p + 1
        raise _LexError(p, f"unrecognized character in action: {_rune_name(ch)}")

    def simple(self, p: int, typ: str) -> int:
        self.emit(typ, p, p + 1)
        if typ == "lparen":
            self.depth += 1
        elif typ == "rparen":
            self.depth -= 1
            if self.depth < 0:
                raise _LexError(p, "unexpected right paren")
        return p + 1

    def space(self, p: int) -> int:
        q = p
        while q < len(self.src) and self.src[q] in _SPACE:
            q += 1
        if self.src[q : q + 3] == "-}}":
            q -= 1  # leave the space that belongs to " -}}"
            if q == p:
                return q
        self.emit("space", p, q)
        return q

    def at_terminator(self, p: int) -> bool:
        if p >= len(self.src):
            return True
        return self.src[p] in _SPACE or self.src[p] in ".,|:()" or self.src.startswith("}}", p)

    def field_or_var(self, p: int, typ: str) -> int:
        q = p + 1
        if self.at_terminator(q):
            self.emit("dot" if typ == "field" else "var", p, q)
            return q
        while q < len(self.src) and _alnum(self.src[q]):
            q += 1
        if not self.at_terminator(q):
            raise _LexError(q, f"bad character {_rune_name(self.src[q])}")
        self.emit(typ, p, q)
        return q

    def identifier(self, p: int) -> int:
        q = p
        while q < len(self.src) and _alnum(self.src[q]):
            q += 1
        if not self.at_terminator(q):
            raise _LexError(q, f"bad character {_rune_name(self.src[q])}")
        word = self.src[p:q]
        typ = _KEYWORDS.get(word) or ("bool" if word in ("true", "false") else "ident")
        self.emit(typ, p, q)
        return q

    def number(self, p: int) -> int:
        q = self.scan_number(p)
        if q < len(self.src) and _alnum(self.src[q]):
            raise _LexError(p, f"bad number syntax: {go_quote(self.src[p : q + 1])}")
        self.emit("number", p, q)
        return q

    def skip(self, q: int, chars: str) -> int:
        while q < len(self.src) and self.src[q] in chars:
            q += 1
        return q

    def accept(self, q: int, chars: str) -> int:
        return q + 1 if q < len(self.src) and self.src[q] in chars else q

    def scan_number(self, p: int) -> int:
        """Go's scanNumber: sign, base prefix, digits, fraction, exponent, imaginary `i`."""
        q = self.accept(p, "+-")
        digits = "0123456789_"
        if self.src[q : q + 1] == "0" and self.src[q + 1 : q + 2] in ("x", "X", "o", "O", "b", "B"):
            bases = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}
            digits = bases[self.src[q + 1].lower()]
            q += 2
        q = self.skip(q, digits)
        if self.src[q : q + 1] == ".":
            q = self.skip(q + 1, digits)
        exponent = {11: "eE", 23: "pP"}.get(len(digits), "")
        if exponent and self.accept(q, exponent) > q:
            q = self.skip(self.accept(q + 1, "+-"), "0123456789_")
        return self.accept(q, "i")

    def quote(self, p: int, quote: str) -> int:
        names = {'"': "quoted string", "`": "raw quoted string", "'": "character constant"}
        q = p + 1
        while True:
            if q >= len(self.src) or (quote != "`" and self.src[q] == "\n"):
                raise _LexError(p, f"unterminated {names[quote]}")
            ch = self.src[q]
            if ch == "\\" and quote != "`":
                if q + 1 >= len(self.src) or self.src[q + 1] == "\n":
                    raise _LexError(p, f"unterminated {names[quote]}")
                q += 2
                continue
            q += 1
            if ch == quote:
                break
        typ = {'"': "string", "`": "raw", "'": "charconst"}[quote]
        self.emit(typ, p, q)
        return q
