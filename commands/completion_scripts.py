"""bash, zsh and fish completion scripts for pod, generated from the CLI's own command tree.

Walks the click tree typer builds (commands, subcommands, flags, which flags take a value, each
command's one-line help) and renders three scripts that complete those names statically, and
container, image and volume names dynamically by running `pod` itself at completion time (`pod
ps -a --format '{{.Names}}'`, `pod images ...`, `pod volume ls -q`, passing on --root/--runroot).
`pod completion SHELL` prints them; completions/ holds the same text, checked in (a test
compares). With descriptions (podman's default) the subcommands are listed with their help.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from pod.util.records import dataclass, field

SHELLS = ("bash", "zsh", "fish")
KINDS = ("container", "image", "volume")


@dataclass
class Node:
    """One command or group: `path` is e.g. ("image", "rm"); `args` one kind per positional
    argument ("container", "image", "volume", "any" or "-"), the last one repeated when it is
    variadic (`variadic`)."""

    path: tuple[str, ...]
    help: str
    subcommands: list[Node] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    value_options: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    variadic: bool = False

    @property
    def key(self) -> str:
        return " ".join(("pod", *self.path))


def _argument_kind(param: TyperArgument) -> str:
    """What names an argument takes, from its name and metavar, else from its help text
    (`inspect`'s NAME... is "Containers, images, volumes": any of the three)."""
    text = f"{param.name} {param.metavar or ''}".lower()
    found = [kind for kind in KINDS if kind in text]
    if not found:
        found = [kind for kind in KINDS if kind in (getattr(param, "help", "") or "").lower()]
    if len(found) == len(KINDS):
        return "any"
    return found[0] if len(found) == 1 else "-"


def _short_help(command: Any) -> str:
    text = command.short_help or (command.help or "").strip().split("\n")[0]
    return text.strip().rstrip(".")


def _node(command: Any, path: tuple[str, ...]) -> Node:
    node = Node(path, _short_help(command))
    for param in command.params:
        if isinstance(param, TyperOption):
            names = [*param.opts, *param.secondary_opts]
            if param.is_flag or param.count:
                node.flags += names
            else:
                node.value_options += names
        elif isinstance(param, TyperArgument):
            node.args.append(_argument_kind(param))
            node.variadic = param.nargs == -1
    if "--help" not in node.flags:
        node.flags.append("--help")
    if isinstance(command, TyperGroup):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if not sub.hidden:
                node.subcommands.append(_node(sub, (*path, name)))
    node.flags.sort()
    node.value_options.sort()
    return node


def command_tree() -> Node:
    """Every command of the CLI (all command modules imported: this is no fast path)."""
    from pod.commands import build_app

    return _node(typer.main.get_command(build_app()), ())


def walk(node: Node) -> list[Node]:
    return [node] + [n for sub in node.subcommands for n in walk(sub)]


def _subcommand_names(node: Node) -> str:
    return " ".join(sub.path[-1] for sub in node.subcommands)


def _flag_names(node: Node) -> str:
    return " ".join(node.flags)


def _value_option_names(node: Node) -> str:
    return " ".join(node.value_options)


def _args_spec(node: Node) -> str:
    """`container*` / `image -*`: one kind per argument, `*` marking the repeated last one."""
    kinds = list(node.args)
    if kinds and node.variadic:
        kinds[-1] += "*"
    return " ".join(kinds)


def _header(shell: str, descriptions: bool) -> list[str]:
    command = f"pod completion {shell}" + ("" if descriptions else " --no-desc")
    return [
        f"# {shell} completion for pod, generated from its commands by `{command}`.",
        "# Do not edit: in pod's source tree, `python completions/generate.py` regenerates",
        "# the checked-in copies in completions/.",
        "",
    ]


def _choose(template: str, descriptions: bool, parts: dict[str, tuple[str, str]]) -> str:
    """`template` with each `@name@` line replaced by its text with or without descriptions."""
    for name, (described, plain) in parts.items():
        template = template.replace(f"@{name}@\n", described if descriptions else plain)
    return template


def _sh_quote(text: str) -> str:
    """One bash or zsh word with nothing expanded in it."""
    return "'" + text.replace("'", "'\\''") + "'"


def _bash_table(name: str, nodes: list[Node], value: Callable[[Node], str]) -> list[str]:
    """An associative array from command path ("pod image rm") to `value(node)`."""
    lines = [f"declare -gA {name}=("]
    for node in nodes:
        text = value(node)
        if text:
            lines.append(f"    [{_sh_quote(node.key)}]={_sh_quote(text)}")
    return lines + [")"]


def _zsh_table(name: str, nodes: list[Node], value: Callable[[Node], str]) -> list[str]:
    """As _bash_table, in the key-value pairs every zsh reads."""
    lines = [f"typeset -gA {name}", f"{name}=("]
    for node in nodes:
        text = value(node)
        if text:
            lines.append(f"    {_sh_quote(node.key)} {_sh_quote(text)}")
    return lines + [")"]


# --- bash -------------------------------------------------------------------------------------

BASH_LOGIC = r"""
_pod_names() {
    # Names of one kind from the store the command line points at (--root/--runroot passed on).
    local kind=$1; shift
    case $kind in
        container) pod "$@" ps -a --format '{{.Names}}' 2>/dev/null ;;
        image) pod "$@" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null \
                   | grep -v '^<none>:<none>$' ;;
        volume) pod "$@" volume ls -q 2>/dev/null ;;
        any) _pod_names container "$@"; _pod_names image "$@"; _pod_names volume "$@" ;;
    esac
}
@describe-function@
_pod() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local key=pod word i positional=0
    local -a store=()
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* ]]; then
            if [[ $word != *=* && " ${_pod_value_options[$key]} " == *" $word "* ]]; then
                if [[ $key == pod && ($word == --root || $word == --runroot) ]]; then
                    store+=("$word" "${COMP_WORDS[i+1]}")
                fi
                ((i++))
            fi
        elif ((positional == 0)) && [[ " ${_pod_subcommands[$key]} " == *" $word "* ]]; then
            key="$key $word"
        else
            ((positional++))
        fi
    done
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    if ((COMP_CWORD > 1)) && [[ $prev == -* && $prev != *=* \
            && " ${_pod_value_options[$key]} " == *" $prev "* ]]; then
        if [[ $prev == --root || $prev == --runroot || $prev == --authfile || $prev == --file \
                || $prev == --cidfile || $prev == --env-file || $prev == --cert-dir ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_pod_flags[$key]} ${_pod_value_options[$key]}" -- "$cur"))
        return 0
    fi
    if [[ -n ${_pod_subcommands[$key]} ]] && ((positional == 0)); then
        COMPREPLY=($(compgen -W "${_pod_subcommands[$key]}" -- "$cur"))
@describe-call@
        return 0
    fi
    local -a kinds
    read -ra kinds <<< "${_pod_args[$key]}"
    local kind=-
    if ((positional < ${#kinds[@]})); then
        kind=${kinds[positional]}
    elif ((${#kinds[@]} > 0)) && [[ ${kinds[-1]} == *\* ]]; then
        kind=${kinds[-1]}
    fi
    kind=${kind%\*}
    if [[ $kind != - ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_pod_names "$kind" "${store[@]}")" -- "$cur"))
    fi
    return 0
}

complete -F _pod pod
"""

# More than one candidate: each becomes "name  (help)", names aligned and the help cut to the
# terminal's width. bash inserts what the candidates share, which never reaches past a name;
# a single candidate stays the bare name, so that is what gets inserted.
BASH_DESCRIBE = r"""
_pod_describe() {
    local key=$1 word help i longest=0
    ((${#COMPREPLY[@]} > 1)) || return 0
    for word in "${COMPREPLY[@]}"; do
        ((${#word} > longest)) && longest=${#word}
    done
    local room=$((${COLUMNS:-80} - longest - 4))
    ((room > 8)) || return 0
    for i in "${!COMPREPLY[@]}"; do
        word=${COMPREPLY[i]}
        help=${_pod_help[$key $word]}
        [[ -n $help ]] || continue
        ((${#help} > room)) && help="${help:0:room-1}…"
        printf -v 'COMPREPLY[i]' '%-*s  (%s)' "$longest" "$word" "$help"
    done
}
"""


def bash_script(tree: Node, descriptions: bool = True) -> str:
    nodes = walk(tree)
    tables = [
        *_bash_table("_pod_subcommands", nodes, _subcommand_names),
        *_bash_table("_pod_flags", nodes, _flag_names),
        *_bash_table("_pod_value_options", nodes, _value_option_names),
        *_bash_table("_pod_args", nodes, _args_spec),
    ]
    if descriptions:
        tables += _bash_table("_pod_help", nodes[1:], lambda n: n.help)
    logic = _choose(BASH_LOGIC, descriptions, {
        "describe-function": (BASH_DESCRIBE, ""),
        "describe-call": ('        _pod_describe "$key"\n', ""),
    })  # fmt: skip
    return "\n".join([*_header("bash", descriptions), *tables]) + "\n" + logic


# --- zsh --------------------------------------------------------------------------------------

ZSH_LOGIC = r"""
_pod_names() {
    local kind=$1; shift
    case $kind in
        container) pod "$@" ps -a --format '{{.Names}}' 2>/dev/null ;;
        image) pod "$@" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null \
                   | grep -v '^<none>:<none>$' ;;
        volume) pod "$@" volume ls -q 2>/dev/null ;;
        any) _pod_names container "$@"; _pod_names image "$@"; _pod_names volume "$@" ;;
    esac
}

_pod() {
    local key=pod word prev cur=${words[CURRENT]}
    local -i i positional=0
    local -a store kinds described
    for ((i = 2; i < CURRENT; i++)); do
        word=${words[i]}
        if [[ $word == -* ]]; then
            if [[ $word != *=* && " ${_pod_value_options[$key]} " == *" $word "* ]]; then
                if [[ $key == pod && ($word == --root || $word == --runroot) ]]; then
                    store+=("$word" "${words[i+1]}")
                fi
                ((i++))
            fi
        elif ((positional == 0)) && [[ " ${_pod_subcommands[$key]} " == *" $word "* ]]; then
            key="$key $word"
        else
            ((positional++))
        fi
    done
    prev=${words[CURRENT-1]}
    if ((CURRENT > 2)) && [[ $prev == -* && $prev != *=* \
            && " ${_pod_value_options[$key]} " == *" $prev "* ]]; then
        _files
        return
    fi
    if [[ $cur == -* ]]; then
        compadd -- ${=_pod_flags[$key]} ${=_pod_value_options[$key]}
        return
    fi
    if [[ -n ${_pod_subcommands[$key]} ]] && ((positional == 0)); then
@subcommands@
        return
    fi
    kinds=(${=_pod_args[$key]})
    local kind=-
    if ((positional < ${#kinds})); then
        kind=${kinds[positional+1]}
    elif ((${#kinds} > 0)) && [[ ${kinds[-1]} == *\* ]]; then
        kind=${kinds[-1]}
    fi
    kind=${kind%\*}
    if [[ $kind != - ]]; then
        compadd -- ${(f)"$(_pod_names $kind $store)"}
    fi
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _pod "$@"  # autoloaded from $fpath as the _pod completion function
else
    compdef _pod pod  # sourced
fi
"""

ZSH_DESCRIBED = """\
        described=()
        for word in ${=_pod_subcommands[$key]}; do
            described+=("$word:${_pod_help[$key $word]}")
        done
        _describe -t commands 'pod command' described
"""
ZSH_PLAIN = "        compadd -- ${=_pod_subcommands[$key]}\n"


def zsh_script(tree: Node, descriptions: bool = True) -> str:
    nodes = walk(tree)
    tables = [
        *_zsh_table("_pod_subcommands", nodes, _subcommand_names),
        *_zsh_table("_pod_flags", nodes, _flag_names),
        *_zsh_table("_pod_value_options", nodes, _value_option_names),
        *_zsh_table("_pod_args", nodes, _args_spec),
    ]
    if descriptions:  # _describe takes "name:help": a colon in the help is escaped
        help_text = lambda n: n.help.replace(":", "\\:") or " "  # noqa: E731
        tables += _zsh_table("_pod_help", nodes[1:], help_text)
    logic = _choose(ZSH_LOGIC, descriptions, {"subcommands": (ZSH_DESCRIBED, ZSH_PLAIN)})
    return "\n".join(["#compdef pod", *_header("zsh", descriptions), *tables]) + "\n" + logic


# --- fish -------------------------------------------------------------------------------------

FISH_LOGIC = r"""
# Prints the command path typed so far ("pod image rm"), then how many arguments follow it.
function __pod_parse
    set -l key pod
    set -l positional 0
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for word in $words
        if test $skip -eq 1
            set skip 0
        else if string match -q -- '-*' $word
            if not string match -q -- '*=*' $word
                and contains -- $word (string split -n ' ' -- (__pod_table value_options $key))
                set skip 1
            end
        else if test $positional -eq 0
            and contains -- $word (string split -n ' ' -- (__pod_table subcommands $key))
            set key "$key $word"
        else
            set positional (math $positional + 1)
        end
    end
    echo $key
    echo $positional
end

function __pod_store --description 'the --root/--runroot given on the command line'
    set -l words (commandline -opc)
    for i in (seq (count $words))
        if contains -- $words[$i] --root --runroot
            and test $i -lt (count $words)
            echo $words[$i]
            echo $words[(math $i + 1)]
        end
    end
end

function __pod_names
    set -l store (__pod_store)
    switch $argv[1]
        case container
            pod $store ps -a --format '{{.Names}}' 2>/dev/null
        case image
            pod $store images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null \
                | string match -v '<none>:<none>'
        case volume
            pod $store volume ls -q 2>/dev/null
        case any
            __pod_names container
            __pod_names image
            __pod_names volume
    end
end

function __pod_complete
    set -l parsed (__pod_parse)
    set -l key $parsed[1]
    set -l position $parsed[2]
    if string match -q -- '-*' (commandline -ct)
        string split -n ' ' -- (__pod_table flags $key) (__pod_table value_options $key)
        return
    end
    set -l subcommands (string split -n ' ' -- (__pod_table subcommands $key))
    if test (count $subcommands) -gt 0
        if test $position -eq 0
@subcommands@
        end
        return
    end
    set -l kinds (string split -n ' ' -- (__pod_table args $key))
    set -l kind -
    if test $position -lt (count $kinds)
        set kind $kinds[(math $position + 1)]
    else if test (count $kinds) -gt 0
        and string match -q -- '*\*' $kinds[-1]
        set kind $kinds[-1]
    end
    set kind (string trim -r -c '*' -- $kind)
    if test "$kind" != -
        __pod_names $kind
    end
end

complete -c pod -f -a '(__pod_complete)'
"""

FISH_DESCRIBED = """\
            for word in $subcommands
                printf '%s\\t%s\\n' $word (__pod_table help "$key $word")
            end
"""
FISH_PLAIN = "            printf '%s\\n' $subcommands\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_script(tree: Node, descriptions: bool = True) -> str:
    nodes = walk(tree)
    tables: dict[str, tuple[list[Node], Callable[[Node], str]]] = {
        "subcommands": (nodes, _subcommand_names),
        "flags": (nodes, _flag_names),
        "value_options": (nodes, _value_option_names),
        "args": (nodes, _args_spec),
    }
    if descriptions:
        tables["help"] = (nodes[1:], lambda n: n.help)
    lines = [
        *_header("fish", descriptions),
        "function __pod_table --description 'generated tables: __pod_table TABLE KEY'",
        "    switch $argv[1]",
    ]
    for table, (rows, value) in tables.items():
        lines += [f"        case {table}", "            switch $argv[2]"]
        for node in rows:
            text = value(node)
            if text:
                lines += [
                    f"                case {_fish_quote(node.key)}",
                    f"                    echo {_fish_quote(text)}",
                ]
        lines.append("            end")
    lines += ["    end", "end"]
    logic = _choose(FISH_LOGIC, descriptions, {"subcommands": (FISH_DESCRIBED, FISH_PLAIN)})
    return "\n".join(lines) + "\n" + logic


RENDERERS: dict[str, Callable[[Node, bool], str]] = {
    "bash": bash_script,
    "zsh": zsh_script,
    "fish": fish_script,
}


def script(shell: str, descriptions: bool = True, tree: Node | None = None) -> str:
    """The completion script for `shell` (one of SHELLS) of the whole CLI, or of `tree`."""
    return RENDERERS[shell](tree or command_tree(), descriptions)
