"""Finding coopd's socket the way coopctl does (Sources/CoopCtl/SocketLocator.swift)."""

from __future__ import annotations

import os
import socket
import stat
from typing import List, Mapping, Optional, Tuple


def candidates(explicit: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
               uid: Optional[int] = None) -> List[Tuple[str, str, bool]]:
    """(path, where it came from, must be trusted) in the order tried.

    An explicit path (the argument, else $COOP_SOCKET, else $COOPD_SOCKET) is the only one tried; otherwise the
    systemd path, then the per-user defaults, which are used only from a directory that is this user's alone.
    """
    env = os.environ if environ is None else environ
    uid = os.getuid() if uid is None else uid
    if explicit:
        return [(explicit, "socket_path", False)]
    for name in ("COOP_SOCKET", "COOPD_SOCKET"):
        if env.get(name):
            return [(env[name], f"${name}", False)]
    found = [("/run/coopd/coopd.sock", "systemd", False)]
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        found.append((xdg + "/coopd/coopd.sock", "$XDG_RUNTIME_DIR", True))
    if uid != 0:
        found.append((f"/tmp/coopd-{uid}/coopd.sock", "per-user default", True))
    seen: set = set()
    return [c for c in found if not (c[0] in seen or seen.add(c[0]))]


def untrusted(path: str, uid: int) -> Optional[str]:
    """Why a per-user socket could have been put there by someone else, or None.

    Its directory (and every directory above it up to a root-owned one) must be this user's and not writable
    by others, and the socket must be this user's: otherwise another local user could stand in for coopd.
    """
    directory = os.path.dirname(path) or "."
    if not os.path.exists(directory):
        return None  # left to the probe, which says "no such file"
    current = os.path.realpath(directory)
    first = True
    while True:
        info = os.lstat(current)
        if first and not stat.S_ISDIR(info.st_mode):
            return f"{current} is not a directory"
        if first and info.st_uid != uid:
            return f"{current} is owned by uid {info.st_uid}, not by uid {uid} that uses it"
        if not first and info.st_uid not in (0, uid):
            return f"above {directory}: {current} is owned by uid {info.st_uid}"
        sticky = not first and info.st_mode & stat.S_ISVTX
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
            return f"{current} is writable by other users (mode 0{info.st_mode & 0o7777:o})"
        if current == "/":
            break
        current, first = os.path.dirname(current), False
    try:
        owner = os.lstat(path).st_uid
    except FileNotFoundError:
        return None
    if owner != uid:
        return f"{path} is owned by uid {owner}, not {uid}"
    return None


def connect_to(path: str) -> Tuple[Optional[socket.socket], Optional[str]]:
    """A connected Unix stream socket to path, or None and why not (in coopctl's words)."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return None, "not a socket"
    except FileNotFoundError:
        return None, "no such file (coopd is not running here)"
    except OSError as error:
        return None, error.strerror or str(error)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return s, None
    except ConnectionRefusedError:
        reason = "connection refused (a stale socket file: nobody is listening)"
    except PermissionError:
        reason = "permission denied (the socket's mode or group keeps this user out; see coopd --socket-mode)"
    except OSError as error:
        reason = error.strerror or str(error)
    s.close()
    return None, reason


def probe(path: str) -> Optional[str]:
    """None when path accepts a Unix stream connection, else why not."""
    s, reason = connect_to(path)
    if s is not None:
        s.close()
    return reason


def connect(explicit: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> Tuple[socket.socket, str]:
    """A connection to the first candidate that accepts one, and its path; else ConnectionError naming every
    path tried and why. Connects once per candidate (no separate probe), so coopd sees one connection."""
    uid = os.getuid()
    tried = candidates(explicit, environ, uid)
    failures = []
    for path, origin, must_be_trusted in tried:
        reason = untrusted(path, uid) if must_be_trusted else None
        if reason:
            failures.append(f"  {path} ({origin}): not trusted: {reason}")
            continue
        s, reason = connect_to(path)
        if s is not None:
            return s, path
        failures.append(f"  {path} ({origin}): {reason}")
    hint = ("start coopd there, or point socket_path / COOP_SOCKET at its socket" if len(tried) == 1 else
            "start coopd (make run, or systemctl start coopd.socket), or give its socket with socket_path or COOP_SOCKET")
    raise ConnectionError("cannot reach coopd; tried:\n" + "\n".join(failures) + "\n" + hint)


def locate(explicit: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> str:
    """The path of the socket a Client would use (see connect)."""
    s, path = connect(explicit, environ)
    s.close()
    return path
