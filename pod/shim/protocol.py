"""The attach protocol between a container's supervisor and its clients, and the log format.

Imported by the long-lived supervisor, so it imports only C-implemented standard modules.

The attach socket (pod.store.layout: a SOCK_STREAM unix socket, reached through an fd of its
directory) takes any number of clients. Every frame is 1 type byte, a 4-byte big-endian payload
length, then the payload:
  client → shim: START b"S" (empty), START_DETACHED b"s" (empty: a start no client attaches
                 to, `pod start` of an initialized container), STDIN b"I" (data),
                 STDIN_EOF b"E" (empty), RESIZE b"R" (rows, cols: 2 bytes each, big-endian),
                 SIGNAL b"K" (4 bytes),
                 FINISHER b"F" (empty: "I wait for the end: let me finish the container"),
                 FINISHED b"D" (empty when done; else what went wrong, and the shim does it)
  shim → client: STDOUT b"1" (data), STDERR b"2" (data; with a tty everything is STDOUT),
                 FINISH b"Z" (to the last FINISHER when the container exited for good: 4 bytes
                 signed exit code, then the engine error's text, if any),
                 EXIT b"X" (4 bytes, signed; an engine error's text comes just before, as STDERR)
A client that waits for the container's end anyway (`pod run`, `start -a`) has the modules the
end of a run needs loaded: it records the exit, deletes, unmounts and removes (--rm) itself, so
the small supervisor never loads them on the path a user waits on.
A container waits for a START when a client is to attach first (`pod run`, `start -a`: the
client's lifeline undoes it should the client die first) or after `pod init` (no lifeline: it
waits for whichever `pod start` comes). Output produced before the first client attached is
kept (up to 1 MiB) for that client; a -d container's output before an attach is in the log only.
"""

import posix
import time

START = b"S"
START_DETACHED = b"s"
STDIN = b"I"
STDIN_EOF = b"E"
RESIZE = b"R"
SIGNAL = b"K"
STDOUT = b"1"
STDERR = b"2"
EXIT = b"X"
FINISHER = b"F"
FINISH = b"Z"
FINISHED = b"D"
HEADER_SIZE = 5
MAX_CLIENT_FRAME = 1 << 20


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def parse_frames(buffer: bytearray, limit: int) -> list:
    """Take every complete (type, payload) frame off the front of `buffer`; ValueError for an
    oversized one."""
    frames = []
    while len(buffer) >= HEADER_SIZE:
        size = int.from_bytes(buffer[1:HEADER_SIZE], "big")
        if size > limit:
            raise ValueError(f"attach frame of {size} bytes")
        if len(buffer) < HEADER_SIZE + size:
            break
        frames.append((bytes(buffer[:1]), bytes(buffer[HEADER_SIZE : HEADER_SIZE + size])))
        del buffer[: HEADER_SIZE + size]
    return frames


def exit_code_of(status: int) -> int:
    """A wait status as the shell reports it: the exit code, or 128+N when killed by signal N."""
    code = posix.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def log_lines(stream: bytes, data: bytes, now_ns: int, utc_offset: int) -> bytes:
    """k8s-file log entries: `<RFC 3339 nano time> <stream> F|P <line>`, P for a partial line.

    `utc_offset` (seconds east of UTC) is the local zone's when the supervisor started: the
    stamps name the right instants whatever happens to the zone later, and the supervisor
    never loads the zone database (it costs memory for the container's whole life)."""
    seconds, nanos = divmod(now_ns, 1_000_000_000)
    t = time.gmtime(seconds + utc_offset)
    minutes = abs(utc_offset) // 60
    zone = f"{'-' if utc_offset < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"
    stamp = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
    prefix = f"{stamp}{t.tm_sec:02d}.{nanos:09d}{zone} ".encode() + stream + b" "
    lines = data.split(b"\n")
    out = [prefix + b"F " + line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(prefix + b"P " + lines[-1] + b"\n")
    return b"".join(out)
