"""Running a parse tree against data, following Go's text/template/exec.go.

Fields are looked up as Go looks them up on the structs podman renders: a dict key, an attribute
by its Go name (`CreatedAt`) or its snake_case form (`created_at`), a zero-argument method called;
a missing struct field is an error and a missing GoMap key prints `<no value>`. Errors carry Go's
position and wording (`template: format:1:2: executing "format" at <.X>: ...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pod.errors import PodError
from pod.format.functions import FUNCS, ArgError, FuncError, truth
from pod.format.headers import HeaderRow, HeaderText
from pod.format.nodes import (
    Action,
    Bool,
    Break,
    Chain,
    Cmd,
    Continue,
    Control,
    Dot,
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
from pod.format.structs import GoFields, GoStruct, lookup
from pod.format.values import (
    NO_VALUE,
    GoMap,
    go_quote,
    go_string,
    go_type,
    is_int,
    is_list,
    sort_key,
)

_MISSING: Any = object()  # "no final pipeline argument", Go's missingVal


def _is_basic(value: Any) -> bool:
    """Values with no fields of their own (Go's builtin kinds)."""
    return value is None or isinstance(value, (str, bytes, int, float, list, tuple, Mapping))


def _print_value(value: Any) -> str:
    """What `{{pipeline}}` prints: a nil or missing value prints as `<no value>`."""
    if value is None:
        return "<no value>"
    pointer_string = getattr(value, "__go_pointer_str__", None)
    if pointer_string is not None:  # text/template takes an addressable field's address
        return pointer_string()  # for a String method with a pointer receiver
    return go_string(value)


class _BreakLoop(Exception):
    """{{break}} unwinding to its range."""


class _ContinueLoop(Exception):
    """{{continue}} unwinding to its range."""


_SNAKE_RE = r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"


def _attribute(obj: Any, name: str) -> tuple[bool, Any]:
    """An object's attribute by Go name, then by its snake_case form; private names are hidden.

    A GoStruct answers to its Go names only, embedded structs included (pod.format.structs)."""
    if isinstance(obj, GoStruct):
        return lookup(obj, name)
    if name.startswith("_"):
        return False, None
    for attr in (name, re.sub(_SNAKE_RE, "_", name).lower()):
        try:
            return True, getattr(obj, attr)
        except AttributeError:
            continue
    return False, None


class Execution:
    """One execution of a template: the output, the variable stack and the node being run.

    name and text are the template's, for the position and name Go's errors show.
    """

    def __init__(self, name: str, text: str, data: Any) -> None:
        self.name = name
        self.text = text
        self.out: list[str] = []
        self.vars: list[list[Any]] = [["$", data]]
        self.node: Node | None = None

    def error(self, msg: str) -> PodError:
        name = self.name
        if self.node is None:
            return PodError(f"template: {name}: {msg}")
        before = self.text[: self.node.pos]
        line = before.count("\n") + 1
        col = len(before[before.rfind("\n") + 1 :].encode())
        where = f"{name}:{line}:{col}"
        return PodError(f"template: {where}: executing {go_quote(name)} at <{self.node}>: {msg}")

    def at(self, node: Node) -> None:
        self.node = node

    # variables

    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for slot in reversed(self.vars):
            if slot[0] == name:
                slot[1] = value
                return
        raise self.error(f"undefined variable: {name}")

    def var(self, name: str) -> Any:
        for slot in reversed(self.vars):
            if slot[0] == name:
                return slot[1]
        raise self.error(f"undefined variable: {name}")

    # walking

    def walk(self, dot: Any, nodes: list[Node]) -> None:
        for node in nodes:
            self.walk_node(dot, node)

    def walk_node(self, dot: Any, node: Node) -> None:
        self.at(node)
        if isinstance(node, Text):
            self.out.append(node.text)
        elif isinstance(node, Action):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append(_print_value(value))
        elif isinstance(node, Control):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, Break):
            raise _BreakLoop
        elif isinstance(node, Continue):
            raise _ContinueLoop

    def walk_if_or_with(self, dot: Any, node: Control) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, node: Control) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            inner = self.mark()
            ran = False
            for index, elem in self.range_items(value, node):
                ran = True
                self.set_loop_vars(node.pipe, index, elem)
                try:
                    self.walk(elem, node.body)
                except _ContinueLoop:
                    pass
                except _BreakLoop:
                    break
                finally:
                    self.pop(inner)
            if not ran and node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            self.pop(mark)

    def range_items(self, value: Any, node: Control) -> Iterator[tuple[Any, Any]]:
        self.at(node)
        if value is None or value is NO_VALUE:
            return iter(())
        if isinstance(value, HeaderText):
            return iter([(0, value)])
        if is_list(value):
            return enumerate(value)
        if isinstance(value, Mapping):
            return ((k, value[k]) for k in sorted(value, key=sort_key))
        if is_int(value):
            if len(node.pipe.decl) > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable")
            return ((i, i) for i in range(value))
        raise self.error(f"range can't iterate over {go_string(value)}")

    def set_loop_vars(self, pipe: Pipe, index: Any, elem: Any) -> None:
        """One variable gets the element; two get the index (or key) and the element."""
        if not pipe.decl:
            return
        if pipe.is_assign:
            names = pipe.decl
            if len(names) == 1:
                self.set_var(names[0], elem)
            else:
                self.set_var(names[0], index)
                self.set_var(names[1], elem)
            return
        self.vars[-1][1] = elem
        if len(pipe.decl) > 1:
            self.vars[-2][1] = index

    # evaluation

    def eval_pipeline(self, dot: Any, pipe: Pipe) -> Any:
        value = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.push(name, value)
        return value

    def eval_command(self, dot: Any, cmd: Cmd, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, Field):
            self.at(first)
            return self.eval_field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, Var):
            return self.eval_variable(dot, first, cmd.args, final)
        if isinstance(first, Chain):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, Ident):
            return self.eval_function(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, Pipe):
            return self.eval_pipeline(dot, first)
        if isinstance(first, Nil):
            raise self.error("nil is not a command")
        return self.constant(dot, first)

    def constant(self, dot: Any, node: Node) -> Any:
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Bool):
            return node.value
        if isinstance(node, Number):
            return node.value
        if isinstance(node, String):
            return node.value
        return None

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def eval_variable(self, dot: Any, node: Var, args: list[Node], final: Any) -> Any:
        self.at(node)
        value = self.var(node.idents[0])
        if len(node.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.idents[1:], args, final)

    def eval_chain(self, dot: Any, node: Chain, args: list[Node], final: Any) -> Any:
        if isinstance(node.node, Nil):
            raise self.error(f"indirection through explicit nil in {node}")
        value = self.eval_arg(dot, node.node)
        return self.eval_field_chain(dot, value, node, node.fields, args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: Node,
        idents: Sequence[str],
        args: list[Node],
        final: Any,
    ) -> Any:
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, [node], _MISSING, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: Any, name: str, node: Node, args: list[Node], final: Any, receiver: Any
    ) -> Any:
        """`.name` of a value: a struct field, a map key, or a method call."""
        if receiver is NO_VALUE:
            return NO_VALUE
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, HeaderRow):
            return receiver.header(name)
        if isinstance(receiver, HeaderText) and not receiver.row.strict:
            return receiver.row.header(name)  # a strict row's headers are strings, as Go's
        has_args = len(args) > 1 or final is not _MISSING
        if isinstance(receiver, GoFields):
            found, value = receiver.go_field(name)
            if found:
                if has_args:
                    raise self.error(f"{name} has arguments but cannot be invoked as function")
                return value
        elif isinstance(receiver, Mapping):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if isinstance(receiver, GoMap):
                return NO_VALUE
        elif not _is_basic(receiver):
            found, value = _attribute(receiver, name)
            if found and callable(value) and not isinstance(value, type):
                return self.call(dot, value, name, node, args, final)
            if found:
                if has_args:
                    raise self.error(f"{name} has arguments but cannot be invoked as function")
                return value
        raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")

    def eval_arg(self, dot: Any, node: Node) -> Any:
        self.at(node)
        if isinstance(node, Field):
            return self.eval_field_chain(dot, dot, node, node.idents, [node], _MISSING)
        if isinstance(node, Var):
            return self.eval_variable(dot, node, [node], _MISSING)
        if isinstance(node, Chain):
            return self.eval_chain(dot, node, [node], _MISSING)
        if isinstance(node, Pipe):
            return self.eval_pipeline(dot, node)
        if isinstance(node, Ident):
            return self.eval_function(dot, node, [node], _MISSING)
        return self.constant(dot, node)

    def eval_function(self, dot: Any, node: Ident, args: list[Node], final: Any) -> Any:
        self.at(node)
        func = FUNCS[node.name]
        count = len(args) - 1 + (final is not _MISSING)
        if count < func.nargs or (count > func.nargs and not func.variadic):
            want = f"at least {func.nargs}" if func.variadic else str(func.nargs)
            raise self.error(f"wrong number of args for {node.name}: want {want} got {count}")
        if func.impl is None:
            return self.eval_and_or(dot, node.name, args[1:], final)
        return self.call(dot, func.impl, node.name, node, args, final)

    def eval_and_or(self, dot: Any, name: str, args: list[Node], final: Any) -> Any:
        """`and`/`or` stop at the first operand that decides the result, as Go 1.18+ does."""
        value: Any = None
        for arg in args:
            value = self.eval_arg(dot, arg)
            if truth(value) == (name == "or"):
                return value
        return final if final is not _MISSING else value

    def call(
        self,
        dot: Any,
        func: Callable[..., Any],
        name: str,
        node: Node,
        args: list[Node],
        final: Any,
    ) -> Any:
        argv = [self.eval_arg(dot, a) for a in args[1:]]
        if final is not _MISSING:
            argv.append(final)
        argv = [None if a is NO_VALUE else a for a in argv]
        self.at(node)
        try:
            return func(*argv)
        except FuncError as exc:
            raise self.error(f"error calling {name}: {exc}") from None
        except ArgError as exc:
            raise self.error(str(exc)) from None
        except TypeError as exc:
            if func in {f.impl for f in FUNCS.values()}:
                raise
            raise self.error(f"error calling {name}: {exc}") from None
