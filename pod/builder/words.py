"""Docker's shell-word processing for Containerfile instructions (moby's shell lexer).

The builder, not a shell, expands variables in FROM, ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL,
USER, VOLUME, WORKDIR and ARG. The rules here are Docker's (quotes, the escape character, `$VAR`,
`${VAR:-word}` and the other modifiers, including Docker's quirks) so that a Containerfile means
the same under `pod build` as under `docker build`.

Docker splits an instruction into words *before* expanding variables, so a value with spaces
that comes out of a variable stays one word (`COPY $SRC /dst` copies one path even if SRC has
spaces). EXPOSE is the one exception: its words are split again after expansion (`resplit`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pod.errors import BuildSyntaxError
from pod.util.records import dataclass, field

__all__ = [
    "arg_pairs",
    "expand",
    "expand_words",
    "key_values",
    "split_key_values",
    "split_words",
]

# Go's unicode.IsSpace minus the few exotic separators Python adds (\x1c-\x1f).
_KV_SEPARATOR = r"[\t\v\f\r ]+"
# Shell special parameters ($@, $*, $#, ...): a one-character name, which Docker looks up.
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


@dataclass
class _Lexer:
    """One pass over a word: expands variables and removes quotes, as moby's shellWord does.

    `pieces` records, for each bit of output, whether it may be split on whitespace afterwards
    (unquoted literal text and unquoted expansions) or is kept whole (quoted or escaped text);
    only EXPOSE needs that distinction.
    """

    text: str
    env: Mapping[str, str]
    escape: str
    quotes: bool = True
    pos: int = 0
    pieces: list[tuple[str, bool]] = field(default_factory=list)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def run(self, stop: str = "", raw_escapes: bool = False) -> list[tuple[str, bool]]:
        """Process up to `stop` (consumed) or the end; raw_escapes keeps escape chars (patterns)."""
        pieces: list[tuple[str, bool]] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                self.pos += 1
                return pieces
            if ch == "$":
                pieces.append((self.dollar(), True))
            elif ch == "'" and self.quotes:
                pieces.append((self.single_quoted(), False))
            elif ch == '"' and self.quotes:
                pieces.append((self.double_quoted(raw_escapes), False))
            elif ch == "<" and self.text.startswith("<<", self.pos):
                # moby keeps `<<` and the blanks after it in one word (heredoc detection).
                end = self.pos + 2
                while end < len(self.text) and self.text[end] in " \t\r":
                    end += 1
                pieces.append((self.text[self.pos : end], False))
                self.pos = end
            elif ch == self.escape:
                self.pos += 1
                if raw_escapes:
                    pieces.append((ch, False))
                if self.pos >= len(self.text):
                    break  # an escape at the very end is dropped
                pieces.append((self.take(), False))
            else:
                self.pos += 1
                pieces.append((ch, True))
        if stop:
            raise BuildSyntaxError(f"unexpected end of statement while looking for matching {stop}")
        return pieces

    def single_quoted(self) -> str:
        self.pos += 1
        end = self.text.find("'", self.pos)
        if end == -1:
            raise BuildSyntaxError(
                "unexpected end of statement while looking for matching single-quote"
            )
        value = self.text[self.pos : end]
        self.pos = end + 1
        return value

    def double_quoted(self, raw_escapes: bool) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise BuildSyntaxError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if ch == '"':
                self.pos += 1
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.pos += 1
            if ch == self.escape and self.peek() in ('"', "$", self.escape):
                # Only these can be escaped inside double quotes; elsewhere the escape is literal.
                if raw_escapes:
                    out.append(ch)
                out.append(self.take())
                continue
            if ch == self.escape and not self.peek():
                continue  # dropped; the loop then reports the missing quote
            out.append(ch)

    def name(self) -> str:
        """A variable name: letters, digits and _, a run of digits, or one special parameter."""
        start = self.pos
        ch = self.peek()
        if ch.isdecimal():
            while self.peek().isdecimal():
                self.pos += 1
            return self.text[start : self.pos]
        if ch and ch in _SPECIAL_PARAMS:
            self.pos += 1
            return ch
        while (ch := self.peek()) and (ch.isalpha() or ch.isdecimal() or ch == "_"):
            self.pos += 1
        return self.text[start : self.pos]

    def word_until(self, stop: str, raw_escapes: bool, missing: str) -> str:
        try:
            return "".join(text for text, _ in self.run(stop, raw_escapes))
        except BuildSyntaxError:
            if self.pos >= len(self.text):
                raise BuildSyntaxError(missing) from None
            raise

    def dollar(self) -> str:
        self.pos += 1
        if self.peek() != "{":
            name = self.name()
            return self.env.get(name, "") if name else "$"
        self.pos += 1
        first = self.peek()
        if not first:
            raise BuildSyntaxError("syntax error: missing '}'")
        if first in "{}:":
            raise BuildSyntaxError("syntax error: bad substitution")
        name = self.name()
        op = self.take()
        if op == "}":
            return self.env.get(name, "")
        if not op:
            raise BuildSyntaxError("syntax error: missing '}'")
        if op == "/":
            return self.substitute(name)
        null_is_unset = op == ":"
        if null_is_unset:
            op = self.take()
            if not op:
                raise BuildSyntaxError("syntax error: missing '}'")
            if op not in "-+?":
                raise BuildSyntaxError(f"unsupported modifier (:{op}) in substitution")
        if op not in "-+?#%":
            raise BuildSyntaxError(f"unsupported modifier ({op}) in substitution")
        word = self.word_until("}", op in "#%", "syntax error: missing '}'")
        set_ = name in self.env
        value = self.env.get(name, "")
        missing = not set_ or (null_is_unset and value == "")
        if op == "-":
            return word if missing else value
        if op == "+":
            return "" if missing else word
        if op == "?":
            if not set_:
                raise BuildSyntaxError(f"{name}: {word or 'is not allowed to be unset'}")
            if missing:
                raise BuildSyntaxError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        # ${VAR#pat} ${VAR##pat} ${VAR%pat} ${VAR%%pat}: shortest / longest prefix or suffix.
        greedy = word.startswith(op)
        if greedy:
            word = word[1:]
        if op == "#":
            return _trim_prefix(word, value, greedy)
        return _trim_prefix(_reverse_pattern(word), value[::-1], greedy)[::-1]

    def substitute(self, name: str) -> str:
        """${VAR/pattern/replacement} (first match) and ${VAR//pattern/replacement} (all)."""
        replace_all = self.peek() == "/"
        if replace_all:
            self.pos += 1
        pattern = self.word_until("/", True, "syntax error: missing '/' in ${}")
        replacement = self.word_until("}", True, "syntax error: missing '}'")
        value = self.env.get(name, "")
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        return regex.sub(lambda _: replacement, value, count=0 if replace_all else 1)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell pattern (`*`, `?`, backslash escapes; no brackets) as a regular expression."""
    out = ["^"] if anchored else []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            star = ".*" if greedy else ".*?"
            if not out or out[-1] != star:  # `**` is `*`; repeating it only slows re down
                out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            if i < len(pattern) and pattern[i] in "}/":
                continue  # escaped only to get past the ${...} syntax; not part of the pattern
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt not in ("*", "?", "\\"):
                raise BuildSyntaxError(
                    f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'"
                )
            out.append(re.escape(nxt))
            i += 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _pattern_regex(pattern, greedy=greedy, anchored=True).match(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping `\\x` escapes in order, to trim a suffix as a reversed prefix."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        step = 2 if pattern[i] == "\\" and i + 1 < len(pattern) else 1
        tokens.append(pattern[i : i + step])
        i += step
    return "".join(reversed(tokens))


def _process(
    text: str, env: Mapping[str, str], escape: str, quotes: bool = True
) -> list[tuple[str, bool]]:
    try:
        return _Lexer(text, env, escape, quotes).run()
    except BuildSyntaxError as exc:
        raise BuildSyntaxError(f'failed to process "{text}": {exc}') from None


def _check_escape(escape: str) -> None:
    if escape not in ("\\", "`"):
        raise ValueError(f"escape must be \\ or `, not {escape!r}")


def expand(text: str, env: Mapping[str, str], escape: str = "\\", *, quotes: bool = True) -> str:
    """One word with quotes removed and variables expanded; whitespace is kept as it is.

    `quotes=False` leaves quote characters alone (escapes and variables are still processed):
    that is how Docker expands the body of an unquoted COPY/ADD heredoc, with escape `\\`.
    """
    _check_escape(escape)
    return "".join(piece for piece, _ in _process(text, env, escape, quotes))


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on whitespace outside quotes and escapes, keeping quotes and escapes in the words.

    This is Docker's first pass for ENV, LABEL and ARG (moby's parseWords); each word is
    expanded later on its own. An escape character at the very end is dropped.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if not quote and ch.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            continue
        in_word = True
        if ch == escape and quote != "'":  # kept with the character it escapes
            if i < len(text):
                current += [ch, text[i]]
                i += 1
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        current.append(ch)
    if in_word:
        words.append("".join(current))
    return words


def expand_words(
    text: str, env: Mapping[str, str], escape: str = "\\", *, resplit: bool = False
) -> list[str]:
    """Split into words on unquoted whitespace, then expand each word.

    As in Docker, a word is split before it is expanded: `""` stays an (empty) word and spaces
    that come out of a variable do not split it. `resplit=True` is Docker's EXPOSE behaviour
    (moby's ProcessWords): unquoted expansions are split on whitespace and empty words dropped.
    """
    _check_escape(escape)
    words: list[str] = []
    for raw in split_words(text, escape):
        pieces = _process(raw, env, escape)
        if not resplit:
            words.append("".join(piece for piece, _ in pieces))
            continue
        current = ""
        for piece, splittable in pieces:
            if not splittable:
                current += piece
                continue
            for ch in piece:
                if not ch.isspace():
                    current += ch
                elif current:
                    words.append(current)
                    current = ""
        if current:
            words.append(current)
    return words


def split_key_values(
    text: str, escape: str = "\\", *, legacy: bool, instruction: str = "ENV"
) -> list[tuple[str, str]]:
    """Unexpanded `key=value` pairs of ENV or LABEL, with Docker's checks and messages.

    With `legacy`, a first word without `=` selects the old form `ENV key the value`: the key
    is that word and the value the rest of the text as written.
    """
    words = split_words(text, escape)
    if not words:
        raise BuildSyntaxError(f"{instruction} requires at least one argument")
    if "=" not in words[0] and legacy:
        parts = re.split(_KV_SEPARATOR, text.strip(), maxsplit=1)
        if len(parts) < 2:
            raise BuildSyntaxError(f"{instruction} must have two arguments")
        return [(parts[0], parts[1])]
    pairs: list[tuple[str, str]] = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            raise BuildSyntaxError(
                f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value'
            )
        if not key:
            raise BuildSyntaxError(f"{instruction} names can not be blank")
        pairs.append((key, value))
    return pairs


def key_values(
    text: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    legacy: bool,
    instruction: str = "ENV",
) -> list[tuple[str, str]]:
    """ENV / LABEL pairs, keys and values expanded.

    Every pair is expanded with `env` as given, i.e. as it was before the instruction: Docker's
    `ENV A=1 B=$A` sets B to the *old* A. The caller applies the pairs afterwards.
    """
    _check_escape(escape)
    pairs = []
    for raw_key, raw_value in split_key_values(
        text, escape, legacy=legacy, instruction=instruction
    ):
        key = expand(raw_key, env, escape)
        if not key:
            raise BuildSyntaxError(f"{instruction} names can not be blank")
        pairs.append((key, expand(raw_value, env, escape)))
    return pairs


def arg_pairs(text: str, escape: str = "\\") -> list[tuple[str, str | None]]:
    """ARG's `name` / `name=default` words, unexpanded; None means no default was given.

    Not expanded here because Docker expands each default in turn with the env as updated by
    the ARGs before it (`ARG A=1 B=$A` gives B=1), and a --build-arg value replaces the default
    without being expanded at all.
    """
    words = split_words(text, escape)
    if not words:
        raise BuildSyntaxError("ARG requires at least one argument")
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq and not key:
            raise BuildSyntaxError("ARG names can not be blank")
        pairs.append((key, value if eq else None))
    return pairs
