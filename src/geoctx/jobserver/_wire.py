"""What the job server and its clients share: the private directory, the
peer check, the handshake and the frames the server sends.

The handshake, on a connection whose peer runs as this user::

    server -> client   a random challenge (32 bytes)
    client -> server   its own challenge, and HMAC(key, "client" + the server's)
    server -> client   HMAC(key, "server" + the client's challenge + its pid),
                       and its pid (the peer's pid is that of the process that
                       made the socket listen: the one that started the server)

Only then does the client send its request (script, arguments, directory,
environment) and its standard streams. Each side has proved it knows the
run's key without sending it; a side that fails is dropped. After the
request the server sends 5-byte frames: the job started (in process N),
a heartbeat every :data:`BEAT_S` seconds while it runs, its exit status,
or a refusal (then the client runs the script itself).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import stat
import struct
import tempfile

CHALLENGE = 32
PROOF = hashlib.sha256().digest_size
#: A client whose handshake and request are not complete within this
#: many seconds is dropped by the server.
CLIENT_TIMEOUT_S = 5.0
#: A client waits this long for each step of the handshake of a ready
#: server before it runs the job itself.
HANDSHAKE_S = 10.0
#: How long a client waits for a server that is still importing.
READY_TIMEOUT_S = 300.0
#: The server sends a running job's client a heartbeat this often ...
BEAT_S = 1.0
#: ... and a client that hears nothing for this long fails its job.
HANG_S = 30.0
#: The largest request (its JSON) the server reads.
MAX_REQUEST = 4 << 20

LENGTH = struct.Struct("!I")
PID = struct.Struct("!i")
_FRAME = struct.Struct("!ci")
FRAME_SIZE = _FRAME.size
STARTED, BEAT, STATUS, REFUSED = b"P", b"H", b"S", b"R"
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def proof(key: bytes, role: bytes, challenge: bytes) -> bytes:
    """The answer to ``challenge`` of the side named ``role``."""
    return hmac.new(key, role + challenge, hashlib.sha256).digest()


def verify(key: bytes, role: bytes, challenge: bytes, answer: bytes) -> bool:
    return hmac.compare_digest(answer, proof(key, role, challenge))


def peer(conn: socket.socket) -> tuple[int, int]:
    """The pid and uid of the process at the other end of ``conn`` (as the
    kernel saw it when the connection was made; Linux ``SO_PEERCRED``)."""
    pid, uid, _ = _PEERCRED.unpack(
        conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    )
    return pid, uid


def frame(kind: bytes, value: int = 0) -> bytes:
    return _FRAME.pack(kind, value)


def unframe(data: bytes) -> tuple[bytes, int]:
    return _FRAME.unpack(data)


def private_dir() -> str:
    """A new directory only this user can enter (``mkdtemp``: mode 0700,
    a random name, created or failed atomically). It is made in
    ``$XDG_RUNTIME_DIR`` if that is a real directory (not a symlink) that
    this user owns and no one else can enter, else in the temporary
    directory."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not (base and _own_private_dir(base)):
        base = None
    return tempfile.mkdtemp(prefix="geoctx-jobserver-", dir=base)


def _own_private_dir(path: str) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & 0o077
        and os.access(path, os.W_OK | os.X_OK)
    )


def recv_exact(conn: socket.socket, n: int) -> bytes | None:
    """``n`` bytes from ``conn``, or None if it closed first (timeouts
    raise, as ``conn``'s own)."""
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def open_nofollow(path: str, flags: int = os.O_WRONLY | os.O_TRUNC) -> int:
    """Open ``path`` for writing, refusing to follow a symlink there."""
    return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
