"""Output directories that never lose a user's file.

Every command that writes a directory (`run`, `timeline`, `hexapod`, `compare`, `sweep`)
and every command that adds files to one (`report`) goes through this module:

- Each directory the tool writes holds a marker, `.ilizarov-output.json`: the command
  that wrote it, a run id, and a manifest of every file it wrote (size and SHA-256).
  An earlier output is recognised by this marker, never by a file name.
- `OutputDir(out, command).claim()` runs before any solving. It accepts a path that does
  not exist yet (its parent must be a directory the tool can write in), an empty
  directory, or an earlier output of the same command whose files are all still the
  ones the tool wrote. Anything else (a file, a symbolic link, a directory holding a
  file or folder the tool did not write or a file changed since) raises OutputDirError
  naming what is in the way; the command line turns it into exit status 2. The claim
  takes a lock beside the directory (fcntl.flock), so a second command into the same
  --out is refused while the first runs.
- `publish(fill)` writes everything into a staging directory beside `out` with a name of
  its own (`.OUT.ilizarov-partial-PID-RANDOM`), then swaps it in with renames while
  Ctrl-C and SIGTERM are held back: `out` holds either the previous complete output or
  the new one, never a mixture, and the staging directory is removed on any error or
  interrupt. Of the previous output only the files its manifest lists are deleted. If
  the directory gained files the tool did not write while the command ran, it is left
  as it is and the new output is written beside it (`OUT-2`, `OUT-3`, ...), with a note.
- `add_files(fill, names)` adds files to an earlier output in place (a report beside
  its run), refusing to replace a file of the same name that the tool did not write,
  and records them in the manifest.

Shared directories (`OutputDir(..., shared=True)`, the sweep store): many processes, on
many nodes of a cluster, open and write one directory at once. No lock is held from
`claim()` on (flock is not coherent across nodes on every cluster file system); the
directory is made by `create(fill)`, which renames a complete staging directory into
place only if nothing is there yet (another process's directory is never replaced: the
caller then checks the one it found), and short updates of shared files (the manifest,
a summary) hold `locked()`, a lock file inside the directory (sim.sharedfs.FileLock:
exclusive creation, a holder's heartbeat, recovery from a killed holder). Staging
directories of other processes are removed only once their process is known to be gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from sim import sharedfs

MARKER = ".ilizarov-output.json"
MARKER_VERSION = 1
STAGING_MARKER = ".ilizarov-staging"
STAGING_TAG = ".ilizarov-partial-"
OLD_TAG = ".ilizarov-old-"
LOCK_SUFFIX = ".ilizarov-lock"
SHARED_LOCK = ".ilizarov-lock"  # inside a shared directory
SHARED_LOCK_STALE_S = 120.0  # a lock file on another node untouched this long is broken
STALE_STAGING_S = 24 * 3600.0  # a shared directory's staging folder of unknown owner this old is removed

Allow = Callable[[str, bool], bool]  # (path relative to the directory, is a directory) -> the tool's own


class OutputDirError(ValueError):
    """An output directory that cannot be used; the message names what is in the way and
    what would be accepted."""


class OutputDirBusy(OutputDirError):
    """Another ilizarov command is writing into the same directory."""


# ----------------------------------------------------------------------------- signals
@contextlib.contextmanager
def signals_deferred():
    """Hold back SIGINT and SIGTERM for the duration (main thread only): a signal that
    arrives meanwhile is acted on (its handler called, or re-raised) on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        signal.signal(s, lambda n, _f: caught.append(n))
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        if caught:
            n = caught[0]
            h = old[n]
            if callable(h):
                h(n, None)
            elif h != signal.SIG_IGN:
                signal.raise_signal(n)


# ----------------------------------------------------------------------------- the manifest
def file_digest(path: Path) -> dict:
    """{"size": bytes, "sha256": hex} of a regular file."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": h.hexdigest()}


def read_manifest(directory: Path) -> dict | None:
    """The marker of an output this tool wrote, or None (no marker, or not one of ours)."""
    p = Path(directory) / MARKER
    if p.is_symlink() or not p.is_file():
        return None
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(m, dict) or m.get("ilizarov_output") != MARKER_VERSION or not isinstance(m.get("files"), dict)
            or not isinstance(m.get("command"), str)):
        return None
    return m


def write_manifest(directory: Path, manifest: dict) -> None:
    """Write the marker atomically (a temporary name, then a rename)."""
    directory = Path(directory)
    tmp = directory / f"{MARKER}.{os.getpid()}-{secrets.token_hex(3)}.tmp"
    try:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, directory / MARKER)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _tool_version() -> str:
    from sim.about import tool_version

    return tool_version()


def new_manifest(command: str) -> dict:
    return {"ilizarov_output": MARKER_VERSION, "command": command, "run_id": secrets.token_hex(8),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ilizarov_version": _tool_version(),
            "files": {}, "dirs": []}


def scan_written(directory: Path, manifest: dict) -> dict:
    """Record every file and folder under `directory` (all written by the tool) in the manifest."""
    directory = Path(directory)
    for root, dirs, files in os.walk(directory):
        rel_root = Path(root).relative_to(directory)
        for d in dirs:
            manifest["dirs"].append((rel_root / d).as_posix())
        for f in files:
            rel = (rel_root / f).as_posix()
            if rel in (MARKER, STAGING_MARKER):
                continue
            manifest["files"][rel] = file_digest(Path(root) / f)
    manifest["dirs"] = sorted(set(manifest["dirs"]))
    return manifest


def _staging_note(command: str) -> str:
    """The staging marker's text: what is being written, and by which process."""
    return f"ilizarov {command}: being written\n" + json.dumps(sharedfs.process_identity()) + "\n"


def staging_owner_gone(path: Path, max_age_s: float = STALE_STAGING_S) -> bool:
    """A staging directory whose writer is known to be gone (its process on this node has
    ended), or that nobody has written for `max_age_s` (a writer on another node)."""
    marker = path / STAGING_MARKER
    try:
        lines = marker.read_text(encoding="utf-8").splitlines()
        ident = json.loads(lines[1]) if len(lines) > 1 else None
    except (OSError, ValueError):
        ident = None
    if ident is not None and sharedfs.process_gone(ident):
        return True
    newest = _newest_change(path)
    return newest is not None and time.time() - newest > max_age_s


def _own_bookkeeping(rel: str) -> bool:
    """Files this module (and sim.sharedfs) makes for its own work in a directory: a
    shared directory's lock file, temporaries of the marker and the lock, clock probes."""
    name = rel.rsplit("/", 1)[-1]
    if name.startswith(sharedfs.CLOCK_PREFIX):
        return True
    if "/" in rel:
        return False
    return (name == SHARED_LOCK or name.startswith(f".{SHARED_LOCK}.") or
            (name.startswith(f"{MARKER}.") and name.endswith(".tmp")) or
            (name.startswith(f".{MARKER}.") and name.endswith(".tmp")))


def is_stale_staging(path: Path) -> bool:
    """A staging directory left by a killed ilizarov (recognised by its name and marker)."""
    return STAGING_TAG in path.name and not path.is_symlink() and (path / STAGING_MARKER).is_file()


def foreign_entries(directory: Path, manifest: dict | None, allow: Allow | None = None) -> list[str]:
    """What in `directory` the tool did not write, relative to it: a file or folder not in
    the manifest ('data/' for a folder), a symbolic link, a file changed since it was
    written. [] when everything there is the tool's own."""
    files = (manifest or {}).get("files", {})
    dirs = set((manifest or {}).get("dirs", []))
    for f in files:
        parent = Path(f).parent
        while parent != Path("."):
            dirs.add(parent.as_posix())
            parent = parent.parent
    found: list[str] = []

    def walk(sub: Path, prefix: str) -> None:
        with os.scandir(sub) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = prefix + e.name
            if e.is_symlink():
                found.append(f"{rel} (a symbolic link)")
            elif e.is_dir(follow_symlinks=False):
                if is_stale_staging(Path(e.path)):
                    continue
                if rel in dirs or (allow is not None and allow(rel, True)):
                    walk(Path(e.path), rel + "/")
                else:
                    found.append(rel + "/")
            elif not prefix and e.name == MARKER:
                continue
            elif _own_bookkeeping(rel) and not e.is_dir(follow_symlinks=False):
                continue
            elif rel in files:
                if not e.is_file(follow_symlinks=False):
                    found.append(f"{rel} (not a regular file)")
                elif file_digest(Path(e.path)) != files[rel]:
                    found.append(f"{rel} (changed since ilizarov wrote it)")
            elif allow is not None and e.is_file(follow_symlinks=False) and allow(rel, False):
                continue
            else:
                found.append(rel)

    walk(Path(directory), "")
    return found


def _listing(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _top_level(directory: Path) -> list[str]:
    out = []
    for e in sorted(os.scandir(directory), key=lambda e: e.name):
        out.append(e.name + ("/" if e.is_dir(follow_symlinks=False) else ""))
    return out


def _shown(p: Path) -> str:
    """A path as the user would write it: relative to the working directory when under it."""
    try:
        return str(Path(p).relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _nearest_existing(p: Path) -> Path:
    q = p
    while not os.path.lexists(q) and q.parent != q:
        q = q.parent
    return q


# ----------------------------------------------------------------------------- the directory
_ACTIVE: set["OutputDir"] = set()  # claimed and not yet released (every rank)


def abandon_all() -> None:
    """OutputDir.abandon for every directory still claimed (see there)."""
    for od in list(_ACTIVE):
        od.abandon()


def _newest_change(d: Path) -> float | None:
    """The last modification time of anything in a directory (None if it is gone)."""
    try:
        times = [d.stat().st_mtime]
        for root, dirs, files in os.walk(d):
            times += [os.stat(os.path.join(root, n)).st_mtime for n in dirs + files]
        return max(times)
    except OSError:
        return None


def wait_while_root_writes(grace_s: float = 5.0, idle_s: float = 15.0, limit_s: float = 900.0) -> None:
    """On a rank other than 0 that was interrupted: give rank 0 the time to finish what it
    is writing and end every rank itself. Returns after `grace_s` if no staging directory
    is being written, or once the one there has not changed for `idle_s` (rank 0 is then
    taken to wait in a collective this rank left)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        time.sleep(0.5)
        # a staging directory being written, or the previous output being removed after the swap
        # (under load that can outlast the grace: aborting then left it behind, CI of stop 24)
        stagings = [st for od in list(_ACTIVE) for st in (*od._stagings(), *od._old_copies())]
        if not stagings:
            if time.monotonic() - t0 >= grace_s:
                return
            continue
        newest = max((_newest_change(st) or 0.0) for st in stagings)
        if time.time() - newest >= idle_s:
            return


class OutputDir:
    """One output directory of one command: checked and locked by `claim()` (on MPI rank 0;
    errors on every rank), filled by `publish()` or `add_files()`, unlocked by `release()`.
    Use it as a context manager to release the lock on the way out."""

    def __init__(self, path, command: str, comm=None, allow: Allow | None = None, shared: bool = False):
        self.shown = str(path)
        self.shared = shared  # written by many processes at once (see the module's docstring)
        self.path = Path(os.path.abspath(path))
        self.command = command
        self.comm = comm
        self.allow = allow
        self.state: str | None = None  # "new", "empty" or "previous" once claimed
        self.manifest: dict | None = None
        self.final: Path | None = None
        self.note: str | None = None  # said when the output went beside --out
        self._lock_fd: int | None = None
        self._lock_file: Path | None = None
        self._known_lock: Path | None = None  # rank 0's lock file, known on every rank
        self._staging: Path | None = None  # the staging directory being written, known on every rank
        self._shared_lock: sharedfs.FileLock | None = None  # held inside locked() (shared directories)

    # -------------------------------------------------------------- MPI helpers
    def _comm(self):
        if self.comm is None:
            from mpi4py import MPI

            self.comm = MPI.COMM_WORLD
        return self.comm

    def _on_root(self, work: Callable[[], object]):
        """Run `work` on rank 0; its result, or its OutputDirError raised, on every rank."""
        comm = self._comm()
        result, error = None, None
        if comm.rank == 0:
            try:
                result = work()
            except OutputDirError as exc:
                error = exc
            except OSError as exc:
                error = OutputDirError(f"--out {self.shown}: {exc.strerror or exc} ({exc.filename or self.path})")
        if comm.size > 1:
            result, error = comm.bcast((result, error), root=0)
        if error is not None:
            raise error
        return result

    # -------------------------------------------------------------- claim
    def claim(self, wait: bool = False, existing_only: bool = False, accept: Iterable[str] | None = None) -> "OutputDir":
        """Check the directory and lock it (see the module's docstring). existing_only: it must
        be an earlier output (of a command in `accept`), e.g. a run directory for a report.
        wait: wait for another command's lock instead of refusing."""
        def work():
            self._check_path(existing_only)
            if self.shared:
                self._check_shared(existing_only, set(accept or (self.command,)))
                return self.state, self.manifest, None
            self._acquire(wait)
            try:
                self._check_contents(existing_only, set(accept or (self.command,)))
            except BaseException:
                self._release_lock()
                raise
            return self.state, self.manifest, self._lock_file

        with signals_deferred():  # no signal between taking the lock and knowing it is ours to release
            self.state, self.manifest, self._known_lock = self._on_root(work)
            _ACTIVE.add(self)
        return self

    def _check_path(self, existing_only: bool) -> None:
        p, shown = self.path, self.shown
        if not shown.strip():
            raise OutputDirError("--out '': an empty path; accepted: a directory name such as out/run1")
        if existing_only:  # a directory to add files to (a report into its run): links are fine
            if not p.is_dir():
                raise OutputDirError(f"{shown}: no such directory" if not os.path.lexists(p) else
                                     f"{shown}: not a directory")
            self.path = Path(os.path.realpath(p))
            return
        if os.path.islink(p):
            raise OutputDirError(f"--out {shown}: is a symbolic link (to {os.readlink(p)}); ilizarov does not write "
                                 "through links; accepted: the real directory, or a new path")
        if os.path.lexists(p) and not p.is_dir():
            raise OutputDirError(f"--out {shown}: exists and is a file, not a directory; accepted: a new path, an "
                                 f"empty directory or an earlier output of `ilizarov {self.command}`")
        if p.is_dir():
            where = p.parent
        else:
            where = _nearest_existing(p.parent)
            if not where.is_dir():
                raise OutputDirError(f"--out {shown}: {_shown(where)} is a file, not a directory, so nothing can be created "
                                     "under it; accepted: a path whose parents are directories")
        try:
            probe = tempfile.mkdtemp(prefix=".ilizarov-probe-", dir=where)
            os.rmdir(probe)
        except OSError as exc:
            raise OutputDirError(f"--out {shown}: cannot create anything in {_shown(where)} ({exc.strerror or exc}); "
                                 "accepted: a path in a directory you can write to") from None

    def _check_shared(self, existing_only: bool, accept: set[str]) -> None:
        """_check_contents for a shared directory: other processes may be updating its
        manifest and files right now, so a finding is checked again under `locked()`."""
        try:
            self._check_contents(existing_only, accept)
        except OutputDirError:
            if not self.path.is_dir() or read_manifest(self.path) is None:
                raise
            with self.locked():
                self._check_contents(existing_only, accept)

    def _lock_path(self) -> Path:
        parent = self.path.parent
        if parent.is_dir():
            return parent / f".{self.path.name}{LOCK_SUFFIX}"
        anc = _nearest_existing(parent)
        return anc / ("." + "+".join(self.path.relative_to(anc).parts) + LOCK_SUFFIX)

    def _acquire(self, wait: bool) -> None:
        if self._lock_fd is not None:
            return
        path = self._lock_path()
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputDirError(f"--out {self.shown}: cannot create its lock file {path} "
                                     f"({exc.strerror or exc}); accepted: a path in a directory you can write to") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                try:
                    holder = os.read(fd, 300).decode(errors="replace").strip() or "another process"
                finally:
                    os.close(fd)
                raise OutputDirBusy(f"--out {self.shown}: another ilizarov command is writing into it ({holder}); "
                                    "accepted: wait until it has finished, or choose another --out") from None
            except BaseException:
                os.close(fd)
                raise
            # the previous holder unlinks the file before unlocking: make sure ours is still the one there
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"`ilizarov {self.command}`, process {os.getpid()} on {socket.gethostname()}".encode())
        self._lock_fd, self._lock_file = fd, path

    def _release_lock(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._lock_file)
        os.close(self._lock_fd)
        self._lock_fd = self._lock_file = None

    def release(self) -> None:
        """Unlock (rank 0); safe to call more than once."""
        self._release_lock()
        _ACTIVE.discard(self)

    def _stagings(self) -> list[Path]:
        """Staging directories of this output being written (by any process: rank 0 may have
        made one this rank has not heard of yet)."""
        found = []
        for where, prefix in ((self.path.parent, f".{self.path.name}{STAGING_TAG}"), (self.path, STAGING_TAG)):
            with contextlib.suppress(OSError):
                found += [Path(e.path) for e in os.scandir(where) if e.name.startswith(prefix)]
        return [p for p in found if is_stale_staging(p)]

    def _old_copies(self) -> list[Path]:
        """The previous output renamed aside by the swap (`.OUT.ilizarov-old-*`) while rank 0
        removes it."""
        prefix = f".{self.path.name}{OLD_TAG}"
        with contextlib.suppress(OSError):
            return [Path(e.path) for e in os.scandir(self.path.parent) if e.name.startswith(prefix)]
        return []

    def abandon(self) -> None:
        """What rank 0 would have cleaned up, done from another rank before MPI_Abort ends
        them all (rank 0 may be stuck in a collective the interrupted ranks left): remove
        the staging directories and the lock file (we are the job that holds its lock)."""
        for st in self._stagings():
            shutil.rmtree(st, ignore_errors=True)
        if self._known_lock is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._known_lock)
        _ACTIVE.discard(self)

    def __enter__(self) -> "OutputDir":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: see abandon
            self._release_lock()
            return
        self.release()

    @contextlib.contextmanager
    def locked(self, wait: bool = True, purpose: str = ""):
        """Hold the lock for a short update (the sweep's shared files); rank 0 only. In a
        shared directory: its lock file (sim.sharedfs.FileLock, which names its `purpose`),
        held by one process at a time on any node; OutputDirBusy (its `purpose`: what the
        holder said it does) if another holds it and `wait` is False."""
        if self.shared:
            lock = sharedfs.FileLock(self.path / SHARED_LOCK, stale_after_s=SHARED_LOCK_STALE_S, purpose=purpose)
            try:
                with signals_deferred():
                    lock.acquire(wait=wait)
            except sharedfs.LockBusy as exc:
                busy = OutputDirBusy(f"--out {self.shown}: another ilizarov command is updating it ({exc}); "
                                     "accepted: wait until it has finished")
                busy.purpose = exc.purpose
                raise busy from None
            self._shared_lock = lock
            try:
                yield
            finally:
                self._shared_lock = None
                lock.release()
            return
        held = self._lock_fd is not None
        if not held:
            with signals_deferred():
                self._acquire(wait)
        try:
            yield
        finally:
            if not held:
                self._release_lock()

    def _remove_stale_staging(self) -> None:
        """Staging directories of killed runs into this --out (we hold its lock; in a
        shared directory, only those whose writer is known to be gone)."""
        parent = self.path.parent
        if not parent.is_dir():
            return

        def dead(path: Path) -> bool:
            return is_stale_staging(path) and (not self.shared or staging_owner_gone(path))

        prefix = f".{self.path.name}{STAGING_TAG}"
        for e in os.scandir(parent):
            if e.name.startswith(prefix) and dead(Path(e.path)):
                shutil.rmtree(e.path, ignore_errors=True)
        if self.path.is_dir():
            for e in os.scandir(self.path):
                if e.name.startswith(STAGING_TAG) and dead(Path(e.path)):
                    shutil.rmtree(e.path, ignore_errors=True)

    def _check_contents(self, existing_only: bool, accept: set[str]) -> None:
        p, shown = self.path, self.shown
        self._remove_stale_staging()
        accepted = (f"accepted: a new path, an empty directory, or an earlier output of `ilizarov {self.command}` "
                    f"(recognised by the {MARKER} it writes)")
        if not p.exists():
            self.state, self.manifest = "new", None
            return
        entries = os.listdir(p)
        if not entries and not existing_only:
            self.state, self.manifest = "empty", None
            return
        m = read_manifest(p)
        wanted = " or ".join(f"`ilizarov {c}`" for c in sorted(accept))
        if m is None:
            if existing_only:
                raise OutputDirError(f"{shown}: not a directory written by {wanted} (no {MARKER} in it; an output "
                                     "of an older version of ilizarov has none): run the command again")
            raise OutputDirError(f"--out {shown}: holds files that ilizarov did not write ({_listing(_top_level(p))}); "
                                 f"ilizarov never replaces them (an output of a version of ilizarov before the "
                                 f"{MARKER} marker counts as such: remove it yourself if you no longer need it); "
                                 f"{accepted}")
        if m["command"] not in accept:
            if existing_only:
                raise OutputDirError(f"{shown}: holds the output of `ilizarov {m['command']}`; accepted: the output "
                                     f"of {wanted}")
            raise OutputDirError(f"--out {shown}: holds the output of `ilizarov {m['command']}`, not of "
                                 f"`ilizarov {self.command}`; {accepted}")
        if not existing_only:
            foreign = foreign_entries(p, m, self.allow)
            if foreign:
                raise OutputDirError(f"--out {shown}: an earlier output of `ilizarov {self.command}`, but it also "
                                     f"holds what ilizarov did not write: {_listing(foreign)}; ilizarov replaces only "
                                     "its own files: move these out of it, or choose another --out")
        self.state, self.manifest = "previous", m

    # -------------------------------------------------------------- publish
    def publish(self, fill: Callable[[Path], None] | None, collective: Callable[[Path], None] | None = None,
                manifest_extra: dict | None = None) -> Path:
        """Run `collective(staging)` on every rank (parallel field files), then `fill(staging)`
        on rank 0, then swap the staging directory in for `out` (see the module's docstring).
        All or nothing: on any error or interrupt the staging directory is removed and `out`
        is left as it was. Returns the directory written (`out`, or beside it: see `note`)."""
        comm = self._comm()
        staging: Path | None = None
        made_parents: list[Path] = []  # removed again if nothing is published

        def make_staging():
            q = self.path.parent
            while not os.path.lexists(q) and q.parent != q:
                made_parents.append(q)
                q = q.parent
            self.path.parent.mkdir(parents=True, exist_ok=True)
            st = self.path.parent / f".{self.path.name}{STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}"
            st.mkdir()
            (st / STAGING_MARKER).write_text(_staging_note(self.command))
            return st

        try:
            with signals_deferred():  # no signal between making the staging directory and knowing its name
                staging = self._staging = self._on_root(make_staging)
            error = None
            if collective is not None:
                try:
                    with signals_deferred():  # acted on once the files are closed (then staging is removed)
                        collective(staging)
                except Exception as exc:  # noqa: BLE001 - reported on every rank below
                    error = exc
                if comm.size > 1:
                    said = comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
                    if error is None and any(said):
                        error = RuntimeError(next(x for x in said if x))
            final = None
            if comm.rank == 0 and error is None:
                try:
                    # VTK and the HDF5/GIF writers do not survive an exception raised inside them: a signal
                    # that arrives while the files are written is acted on after (then staging is removed)
                    with signals_deferred():
                        if fill is not None:
                            fill(staging)
                    manifest = new_manifest(self.command)
                    manifest.update(manifest_extra or {})
                    scan_written(staging, manifest)
                    (staging / STAGING_MARKER).unlink()
                    write_manifest(staging, manifest)
                    with signals_deferred():
                        final = self._swap_in(staging)
                        if final is not None:
                            staging = None
                except Exception as exc:  # noqa: BLE001
                    error = exc
            if comm.size > 1:
                final, error = comm.bcast((final, error), root=0)
            self._staging = None
            if error is not None:
                raise error
            self.final = final
            return final
        finally:
            if comm.rank == 0 and staging is not None and os.path.isdir(staging):
                shutil.rmtree(staging, ignore_errors=True)
                self._staging = None
                for q in made_parents:  # deepest first
                    with contextlib.suppress(OSError):
                        os.rmdir(q)

    def _replaceable(self) -> dict | None:
        """The manifest of what is at `out` now if the tool may replace it (None if not)."""
        p = self.path
        if os.path.islink(p) or not p.is_dir():
            return None
        m = read_manifest(p)
        if m is None or m["command"] != self.command or foreign_entries(p, m, self.allow):
            return None
        return m

    def create(self, fill: Callable[[Path], None], manifest_extra: dict | None = None) -> bool:
        """A shared directory: write it with `fill(staging)` and rename it into place if
        nothing is there yet (or an empty directory). True if this call made it; False if
        another process made it first (ours is removed; check theirs with claim())."""
        if not self.shared:
            raise RuntimeError("OutputDir.create is for shared directories; use publish")
        return self.publish(fill, manifest_extra=manifest_extra) is not None

    def _swap_in(self, staging: Path) -> Path | None:
        p = self.path
        if self.shared:  # never replace what another process made: None, and the caller looks at it
            try:
                os.rename(staging, p)  # onto nothing, or an empty directory, in one step
                return p
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                    return None
                raise
        for _attempt in range(3):
            if not os.path.lexists(p) or (p.is_dir() and not os.path.islink(p) and not os.listdir(p)):
                try:
                    os.rename(staging, p)  # replaces an empty directory in one step
                    return p
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    continue  # something appeared meanwhile: look again
            m = self._replaceable()
            if m is None:
                break
            old = p.parent / f".{p.name}{OLD_TAG}{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(p, old)
            try:
                os.rename(staging, p)
            except OSError:
                os.rename(old, p)
                raise
            self._remove_own(old, m)
            return p
        # `out` now holds what the tool did not write: leave it, write beside it
        for k in range(2, 10000):
            q = p.with_name(f"{p.name}-{k}")
            if os.path.lexists(q):
                continue
            try:
                os.rename(staging, q)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise
            self.note = (f"{self.shown} changed while ilizarov ran (it now holds files that ilizarov did not write), "
                         f"so it was left as it is and the new output was written beside it, to {q}")
            return q
        raise OutputDirError(f"--out {self.shown}: no free name beside it")

    def _remove_own(self, old: Path, m: dict) -> None:
        """Delete the files the manifest lists, then its folders; what is left (a file that
        slipped in while the swap ran) stays, in a visible folder beside `out`."""
        for rel in m.get("files", {}):
            f = old / rel
            if f.is_file() and not f.is_symlink():
                f.unlink()
        with contextlib.suppress(FileNotFoundError):
            (old / MARKER).unlink()
        for e in list(os.scandir(old)):
            if is_stale_staging(Path(e.path)):
                shutil.rmtree(e.path, ignore_errors=True)
        dirs = set(m.get("dirs", [])) | {Path(f).parent.as_posix() for f in m.get("files", {})}
        for rel in sorted(dirs - {"."}, key=lambda d: -d.count("/")):
            with contextlib.suppress(OSError):
                os.rmdir(old / rel)
        try:
            os.rmdir(old)
        except OSError:
            keep = old.with_name(f"{self.path.name}-leftover-{time.strftime('%Y%m%d-%H%M%S')}")
            os.rename(old, keep)
            self.note = f"files that appeared in {self.shown} while it was replaced were kept in {keep}"

    # -------------------------------------------------------------- add files in place
    def check_names(self, names: Iterable[str]) -> None:
        """OutputDirError if a file of one of these names is there and the tool did not write it."""
        files = (self.manifest or {}).get("files", {})
        bad = []
        for rel in names:
            f = self.path / rel
            if not os.path.lexists(f):
                continue
            if os.path.islink(f) or not f.is_file():
                bad.append(f"{rel} (not a regular file)")
            elif rel not in files:
                bad.append(rel)
            elif file_digest(f) != files[rel]:
                bad.append(f"{rel} (changed since ilizarov wrote it)")
        if bad:
            raise OutputDirError(f"{self.shown}: {_listing(bad)} would be replaced, but ilizarov did not write "
                                 f"{'it' if len(bad) == 1 else 'them'}; move {'it' if len(bad) == 1 else 'them'} "
                                 "out of the directory and try again")

    def add_files(self, fill: Callable[[Path], None], names: Iterable[str] = (), manifest_extra: dict | None = None
                  ) -> list[Path]:
        """Write files with `fill(staging)` (a staging folder inside the directory), then move
        them in and record them in the manifest. Names that would replace a file the tool
        did not write are refused, before `fill` (`names`: those expected) and after it.
        `manifest_extra`: keys to set in the manifest with them. Rank 0 only; the directory
        must be claimed (or `locked()`)."""
        self.manifest = read_manifest(self.path) or self.manifest
        self.check_names(names)
        staging = self.path / f"{STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with signals_deferred():
                staging.mkdir()
                (staging / STAGING_MARKER).write_text(_staging_note(self.command))
            with signals_deferred():  # see publish
                fill(staging)
            (staging / STAGING_MARKER).unlink()
            made = scan_written(staging, {"files": {}, "dirs": []})
            self.check_names(made["files"])
            manifest = dict(self.manifest or new_manifest(self.command))
            manifest["files"] = {**manifest.get("files", {}), **made["files"]}
            manifest["dirs"] = sorted(set(manifest.get("dirs", [])) | set(made["dirs"]))
            manifest.update(manifest_extra or {})
            with signals_deferred():
                write_manifest(self.path, manifest)  # first: a file listed but absent is harmless
                for d in made["dirs"]:
                    (self.path / d).mkdir(parents=True, exist_ok=True)
                for rel in made["files"]:
                    os.replace(staging / rel, self.path / rel)
            self.manifest = manifest
            return [self.path / rel for rel in made["files"]]
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def claim(out, command: str, comm=None, **kw) -> OutputDir:
    """OutputDir(out, command, comm).claim(**kw)."""
    return OutputDir(out, command, comm).claim(**kw)


__all__ = ["MARKER", "OutputDir", "OutputDirBusy", "OutputDirError", "abandon_all", "claim", "file_digest", "foreign_entries",
           "read_manifest", "signals_deferred", "write_manifest"]
