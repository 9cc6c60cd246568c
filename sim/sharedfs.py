"""Files that many processes, on many nodes, write at once on a shared file system.

A sweep run as a Slurm job array has tens to thousands of tasks starting in the same
second on NFS, Lustre, GPFS or BeeGFS. What this module relies on, and what it does not:

Relied on (true of NFSv3 and later, Lustre, GPFS, BeeGFS and local file systems):
- creating a hard link (link(2)) is atomic at the file server and fails with EEXIST if
  the name exists: `create_exclusive` writes a file under a name of its own, then links
  it to the wanted name, so the file appears whole, exactly once, or not at all (the
  method the Linux open(2) manual gives for NFS; O_CREAT|O_EXCL is used only where a file
  system has no hard links);
- rename(2) within one directory is atomic (`replace_atomically`, directories made in a
  staging folder and renamed into place);
- close-to-open consistency: a file opened after its writer closed it shows what was
  written, and open() revalidates the cached attributes (`fresh_mtime`).

Not relied on: fcntl/flock locks (node-local on Lustre mounted with `localflock`, and on
BeeGFS without global locks; absent on Lustre without `flock`); O_APPEND (not atomic
between NFS clients: every appending file here has one writer); clocks agreeing between
nodes (ages are measured against the file server's clock, `server_now`); negative
lookups being fresh (a decision that matters is always an exclusive create).

A process is told dead at once on its own node (same host, boot and PID namespace, and
the process id gone or reused), or when it was an earlier run of the very Slurm task that
is now running again (requeued: same array task, lower restart count); otherwise, on
another node, only by a heartbeat that stopped for longer than a timeout.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path

# link(2) not offered by the file system: fall back to O_CREAT|O_EXCL
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}
CLOCK_PREFIX = ".ilizarov-clock-"


# ----------------------------------------------------------------------------- who we are
def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """The start time of a process in clock ticks since boot (Linux), None if unknown."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def process_identity() -> dict:
    """This process as other processes can recognise it: host, boot, PID namespace, pid and
    the pid's start time (the last three tell a live process from a reused pid), plus the
    Slurm job and array task when there is one."""
    ident = {"host": socket.gethostname(), "boot_id": _read("/proc/sys/kernel/random/boot_id"),
             "pid_ns": _pid_namespace(), "pid": os.getpid(), "start_ticks": _start_ticks(os.getpid())}
    slurm = {k: os.environ[v] for k, v in (("job", "SLURM_JOB_ID"), ("array_job", "SLURM_ARRAY_JOB_ID"),
                                           ("array_task", "SLURM_ARRAY_TASK_ID"), ("restarts", "SLURM_RESTART_COUNT"))
             if v in os.environ}
    if slurm:
        ident["slurm"] = slurm
    return ident


def on_this_node(ident: dict) -> bool:
    """Whether `ident` (process_identity of some process) is a process whose liveness this
    process can see: same host, boot and PID namespace."""
    if not isinstance(ident, dict):
        return False
    here = process_identity()
    return all(ident.get(k) == here[k] and here[k] is not None for k in ("host", "boot_id", "pid_ns"))


def process_gone(ident: dict) -> bool:
    """True only if `ident` (process_identity of some process) names a process of this
    node, boot and PID namespace that no longer runs (its pid is gone, or now belongs to a
    process started later). False when that cannot be told from here (another node)."""
    if not on_this_node(ident):
        return False
    pid = ident.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    ticks = _start_ticks(pid)
    return ticks is not None and ident.get("start_ticks") is not None and ticks != ident["start_ticks"]


def earlier_incarnation(ident: dict) -> bool:
    """True if `ident` (process_identity of some process) was an earlier run of this very
    Slurm task, which Slurm has since requeued (preemption with requeue, `scontrol
    requeue`, a node failure): the same array task (or job, outside an array) with a
    lower SLURM_RESTART_COUNT. Slurm starts a requeued task only after its earlier run has
    ended, so that run is gone, on whichever node it was (a node cut off from the network
    rather than dead may still run it: its late result is then refused by the exclusive
    creation of records, never recorded twice). False whenever it cannot be told."""
    theirs = ident.get("slurm") if isinstance(ident, dict) else None
    ours = process_identity().get("slurm")
    if not isinstance(theirs, dict) or not ours:
        return False
    key = ("array_job", "array_task") if "array_job" in ours else ("job",)
    if any(ours.get(k) is None or theirs.get(k) != ours.get(k) for k in key):
        return False
    try:
        return int(theirs.get("restarts", 0)) < int(ours.get("restarts", 0))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- files
def token() -> str:
    return secrets.token_hex(8)


def _write_new(path: Path, data: bytes, durable: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def create_exclusive(path, data: bytes | str, durable: bool = True) -> bool:
    """Create `path` holding `data`, atomically and only if no file of that name exists:
    True if this call created it, False if the name was taken. The file is written under
    a temporary name of its own and hard-linked to `path` (atomic on NFS and cluster file
    systems), so a reader sees it whole or not at all; the temporary is always removed.
    `durable`: synced to disk before it gets its name (a crash of the node cannot leave
    it named but empty); leave it off for files whose loss a reader tolerates."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    tmp = path.with_name(f".{path.name}.{token()}.tmp")
    try:
        _write_new(tmp, data, durable)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            # NFS: a retried LINK whose first reply was lost says EEXIST though it worked
            with contextlib.suppress(OSError):
                if os.stat(tmp).st_nlink == 2:
                    return True
            return False
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
        try:  # no hard links here: an exclusive create (atomic on NFSv3+), then the contents
            _write_new(path, data, durable)
            return True
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def replace_atomically(path, data: bytes | str) -> None:
    """Write `data` under a temporary name beside `path`, then rename it over `path`: a
    reader sees the old file or the new one, never a part (the temporary is removed on any
    error or interrupt)."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    tmp = path.with_name(f".{path.name}.{token()}.tmp")
    try:
        _write_new(tmp, data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_json(path) -> dict | None:
    """A JSON object from a file, or None if it is absent or not (yet) a whole JSON object."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fresh_mtime(path) -> float | None:
    """The modification time of `path` as the file server has it now (opening the file
    revalidates the attributes an NFS client caches); None if it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)


def server_now(directory) -> float:
    """The file server's clock, read as the modification time of a file made in
    `directory` (then removed): ages of other processes' files are measured against it,
    so clocks that differ between nodes do not matter."""
    probe = Path(directory) / f"{CLOCK_PREFIX}{token()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return time.time()
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)


def touch(path) -> bool:
    """Set the modification time of `path` to now (the server's time on NFS); False if gone."""
    try:
        os.utime(path)
        return True
    except OSError:
        return False


class Heartbeat:
    """A daemon thread that touches some files every `interval_s` seconds while it runs:
    the files' ages then tell other nodes that this process is alive."""

    def __init__(self, interval_s: float, *paths):
        self.interval_s = interval_s
        self.paths = list(paths)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ilizarov-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for p in list(self.paths):
                touch(p)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


# ----------------------------------------------------------------------------- a lock
class LockBusy(RuntimeError):
    """The lock is held by another live process (and we were not to wait); `purpose`: what
    the holder said it does."""

    def __init__(self, message: str, purpose: str = ""):
        super().__init__(message)
        self.purpose = purpose


class FileLock:
    """A lock that works across the nodes of a cluster: a lock file created with
    `create_exclusive` (no fcntl/flock), naming its holder (process_identity) and kept
    fresh by a heartbeat while held. A lock whose holder is gone (on this node), or whose
    file has not been touched for `stale_after_s` by the server's clock (another node), is
    broken: renamed aside under a name of our own, checked to be the one judged stale (and
    put back if it is not), then removed.

    Limit: a holder that is frozen (SIGSTOP, a suspended job) for longer than
    `stale_after_s` loses its lock without knowing it; `still_held()` lets it check just
    before it commits (this narrows the window to the time of one rename)."""

    def __init__(self, path, stale_after_s: float = 120.0, heartbeat_s: float | None = None, purpose: str = ""):
        self.path = Path(path)
        self.purpose = purpose  # what the holder does (written in the lock file, for those who find it busy)
        self.stale_after_s = float(stale_after_s)
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else max(0.5, min(10.0, self.stale_after_s / 6))
        self.token: str | None = None
        self._beat: Heartbeat | None = None

    def holder(self) -> dict | None:
        return read_json(self.path)

    def _stale(self, held: dict | None) -> bool:
        if held is not None and on_this_node(held.get("process", {})):
            return process_gone(held["process"])
        mtime = fresh_mtime(self.path)
        if mtime is None:
            return False  # gone meanwhile: just try again
        return server_now(self.path.parent) - mtime > self.stale_after_s

    def _break(self, held: dict | None) -> None:
        aside = self.path.with_name(f".{self.path.name}.broken-{token()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            got = read_json(aside)
            if (got or {}).get("token") != (held or {}).get("token"):  # a fresh lock taken meanwhile: give it back
                with contextlib.suppress(OSError):
                    os.link(aside, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(aside)

    def acquire(self, wait: bool = True, timeout_s: float | None = None) -> "FileLock":
        """Take the lock; LockBusy if another live process holds it and `wait` is False (or
        `timeout_s` passed)."""
        t0 = time.monotonic()
        nap = 0.02
        while True:
            tok = token()
            body = json.dumps({"token": tok, "process": process_identity(), "taken": time.time(),
                               "purpose": self.purpose})
            if create_exclusive(self.path, body):
                self.token = tok
                self._beat = Heartbeat(self.heartbeat_s, self.path).start()
                return self
            held = self.holder()
            if self._stale(held):
                self._break(held)
                continue
            if not wait or (timeout_s is not None and time.monotonic() - t0 > timeout_s):
                who = held.get("process", {}) if held else {}
                raise LockBusy(f"held by process {who.get('pid', '?')} on {who.get('host', '?')}",
                               (held or {}).get("purpose", ""))
            time.sleep(nap * (0.5 + secrets.randbelow(1000) / 1000))
            nap = min(0.5, nap * 1.5)

    def still_held(self) -> bool:
        return self.token is not None and (self.holder() or {}).get("token") == self.token

    def release(self) -> None:
        if self._beat is not None:
            self._beat.stop()
            self._beat = None
        if self.token is not None and self.still_held():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        self.token = None

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


__all__ = ["CLOCK_PREFIX", "FileLock", "Heartbeat", "LockBusy", "create_exclusive", "earlier_incarnation", "fresh_mtime",
           "on_this_node",
           "process_gone",
           "process_identity", "read_json", "replace_atomically", "server_now", "token", "touch"]
