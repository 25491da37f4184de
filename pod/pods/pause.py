"""pod's own pause program, for infra containers where catatonit is not installed.

An infra container only holds its pod's namespaces: its process must sleep until it is told to
stop, and reap the orphans a shared PID namespace hands it. These are the 102 bytes of x86-64
code that do it, in a minimal static ELF (no libc, no image to pull). The assembly:

    _start:       rt_sigprocmask(SIG_BLOCK, &set, NULL, 8)
    wait_signal:  eax = rt_sigtimedwait(&set, NULL, NULL, 8)
                  if eax < 0: goto wait_signal              (interrupted)
                  if eax != SIGCHLD: exit_group(0)          (SIGHUP, SIGINT, SIGQUIT, SIGTERM)
    reap:         while wait4(-1, NULL, WNOHANG, NULL) > 0: pass
                  goto wait_signal
    set:          .quad 0x14007                             (HUP, INT, QUIT, TERM, CHLD)

Blocked signals reach even a PID namespace's init (the kernel drops only unhandled ones there),
so `stop` ends it at once, like catatonit -P.
"""

from __future__ import annotations

import platform
import struct

from pod.errors import PodError

_X86_64_CODE = bytes.fromhex(
    "b80e00000031ff488d3550000000"  # mov eax,14; xor edi,edi; lea rsi,[rip+set]
    "31d241ba080000000f05"  # xor edx,edx; mov r10d,8; syscall
    "b880000000488d3d3a000000"  # wait_signal: mov eax,128; lea rdi,[rip+set]
    "31f631d241ba080000000f05"  # xor esi,esi; xor edx,edx; mov r10d,8; syscall
    "85c078e483f811751c"  # test eax,eax; js wait_signal; cmp eax,17; jne leave
    "b83d000000bfffffffff31f6"  # reap: mov eax,61; mov edi,-1; xor esi,esi
    "ba010000004531d20f05"  # mov edx,1; xor r10d,r10d; syscall
    "85c07fe6ebc3"  # test eax,eax; jg reap; jmp wait_signal
    "b8e700000031ff0f05"  # leave: mov eax,231; xor edi,edi; syscall
    "0740010000000000"  # set: 0x14007
)
_LOAD_ADDRESS = 0x400000
_ELF_HEADER_SIZE = 64
_PROGRAM_HEADER_SIZE = 56


def _elf(machine: int, code: bytes) -> bytes:
    """A static executable: the ELF header, one loadable read+execute segment, the code."""
    start = _ELF_HEADER_SIZE + _PROGRAM_HEADER_SIZE
    size = start + len(code)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, SysV
    header += struct.pack(
        "<HHIQQQIHHHHHH",
        2,  # ET_EXEC
        machine,
        1,  # EV_CURRENT
        _LOAD_ADDRESS + start,  # entry point
        _ELF_HEADER_SIZE,  # program headers follow the ELF header
        0,  # no section headers
        0,
        _ELF_HEADER_SIZE,
        _PROGRAM_HEADER_SIZE,
        1,
        0,
        0,
        0,
    )
    segment = struct.pack(
        "<IIQQQQQQ",
        1,  # PT_LOAD
        5,  # PF_R | PF_X
        0,  # the whole file, from offset 0
        _LOAD_ADDRESS,
        _LOAD_ADDRESS,
        size,
        size,
        0x1000,
    )
    return header + segment + code


def pause_program(machine: str | None = None) -> bytes:
    """The pause executable for this machine (uname -m); other machines need catatonit."""
    machine = machine or platform.machine()
    if machine in ("x86_64", "amd64"):
        return _elf(0x3E, _X86_64_CODE)  # EM_X86_64
    raise PodError(
        f"no pause program for {machine}: install catatonit for the pods' infra containers"
    )
