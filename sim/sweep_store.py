"""The sweep store: a directory that any number of processes, on any number of nodes,
fill with the cases of one sweep at the same time.

    DIR/.ilizarov-output.json   the marker and manifest (sim.outdir)
    DIR/sweep.json              the expanded sweep, its fingerprint and its design
    DIR/cases/<id>.json         the record of a case: written once, never replaced
    DIR/claims/<id>.<k>         the k-th start of a case: who started it, when
    DIR/owners/<token>.json     one per process that ran cases: who, where, and (by its
                                modification time, touched every few seconds) that it lives
    DIR/index/<token>-r<rank>.jsonl
                                one line per recorded case (its summary row), appended by
                                the one process that owns the file
    DIR/summary.csv, summary.parquet
                                every recorded case, one row each

Starting: the store is made in a staging directory and renamed into place only if no
store is there (sim.outdir, shared mode): tasks that start together either make it or
find it whole. Claiming: a case is started by creating `claims/<id>.1` exclusively
(sim.sharedfs.create_exclusive, a hard link: atomic on NFS and cluster file systems);
whoever fails to create it leaves the case alone while that claim's owner lives. An owner
is dead when its process on this node is gone (one that runs there is alive, whatever
its heartbeat), when it was an earlier run of this process's own Slurm task (requeued
after preemption or a node failure: Slurm has ended that run), when it ended (a clean exit, Ctrl-C or
SIGTERM from a preempting scheduler mark its owner file ended), or when its owner file,
on another node, has not been touched for `claim_timeout_s` by the file server's clock.
A dead owner's unrecorded case is taken over by creating `claims/<id>.<k+1>`, again
exclusively, so one process wins. Recording: the record is created exclusively too, so
even a process that was frozen past the timeout and finishes late cannot replace it (its
result is discarded and said so in its index). Summarising: each recorded case has one
line in the index, so a summary of 10^5 cases reads 10^5 short lines instead of 10^5
records; records without a line (a process killed between the two) are read and given
one. The summary is rewritten under the store's lock file (sim.outdir, shared mode);
a process whose cases are already in the newest summary skips it.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from sim import sharedfs

STORE_VERSION = 2
DEFAULT_CLAIM_TIMEOUT_S = 600.0  # a claim whose owner on another node has been silent this long is taken over

_CASE = r"case\d{5}-[0-9a-f]{8}"
RECORD = re.compile(rf"({_CASE})\.json")
CLAIM = re.compile(rf"({_CASE})\.(\d+)")
OWNER = re.compile(r"[0-9a-f]{16}\.json")
SEGMENT = re.compile(r"[0-9a-f]{16}-r\d+\.jsonl")
_TEMP = re.compile(r"\.(.+)\.[0-9a-f]{16}\.tmp")  # sim.sharedfs temporaries
_OLD_TEMP = re.compile(rf"\.{_CASE}\.json\.\d+\.tmp")  # version 1
FOLDERS = ("cases", "claims", "owners", "index")
_PATTERNS = {"cases": RECORD, "claims": CLAIM, "owners": OWNER, "index": SEGMENT}


class StoreError(ValueError):
    """A store that cannot be used as asked; the message says why and what is accepted."""


def store_entry(rel: str, is_dir: bool) -> bool:
    """The store's own files that its manifest does not list (sim.outdir's `allow`)."""
    if is_dir:
        return rel in FOLDERS
    folder, _, name = rel.partition("/")
    if folder not in _PATTERNS or "/" in name:
        return False
    pattern = _PATTERNS[folder]
    if pattern.fullmatch(name) or rel == "index/summary-wanted":
        return True
    tmp = _TEMP.fullmatch(name)
    if tmp and (pattern.fullmatch(tmp.group(1)) or f"{folder}/{tmp.group(1)}" == "index/summary-wanted"):
        return True
    return folder == "cases" and bool(_OLD_TEMP.fullmatch(name))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}" + \
        time.strftime("%z", time.localtime(t))


class SweepStore:
    """One process's view of a store (see the module's docstring). The process that farms
    cases out (`start()`..`finish()`) claims them; any process may write records and
    index lines (`rank` names its index file)."""

    def __init__(self, out, claim_timeout_s: float | None = None, owner: str | None = None, rank: int = 0):
        self.out = Path(os.path.abspath(out))
        self.claim_timeout_s = float(claim_timeout_s or DEFAULT_CLAIM_TIMEOUT_S)
        self.heartbeat_s = max(0.2, min(30.0, self.claim_timeout_s / 10))
        self.owner = owner
        self.rank = rank
        self.identity = sharedfs.process_identity()
        self._beat: sharedfs.Heartbeat | None = None
        self._segment = None
        self._segment_name: str | None = None
        self._segment_lock = threading.Lock()
        self._now: tuple[float, float] | None = None  # (server time, monotonic) of the last look at the clock

    # ------------------------------------------------------------------ paths
    def record_path(self, case_id: str) -> Path:
        return self.out / "cases" / f"{case_id}.json"

    def claim_path(self, case_id: str, attempt: int) -> Path:
        return self.out / "claims" / f"{case_id}.{attempt}"

    def owner_path(self, owner: str) -> Path:
        return self.out / "owners" / f"{owner}.json"

    def make_folders(self) -> None:
        for f in FOLDERS:
            (self.out / f).mkdir(exist_ok=True)

    def remove_temporaries(self, older_than_s: float = 3600.0) -> int:
        """Remove the temporaries of killed writers (a live writer's lives for milliseconds:
        only those older than `older_than_s` by the server's clock go); how many."""
        removed = 0
        now = None
        for folder in FOLDERS:
            try:
                entries = [e for e in os.scandir(self.out / folder) if e.name.startswith(".")]
            except FileNotFoundError:
                continue
            for e in entries:
                if not (_TEMP.fullmatch(e.name) or _OLD_TEMP.fullmatch(e.name)):
                    continue
                now = now if now is not None else sharedfs.server_now(self.out)
                try:
                    if now - e.stat(follow_symlinks=False).st_mtime > older_than_s:
                        os.unlink(e.path)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    # ------------------------------------------------------------------ the owner
    def start(self) -> str:
        """Register this process as an owner of claims (a file in owners/, kept fresh by a
        heartbeat thread); returns its token."""
        self.make_folders()
        while True:
            tok = sharedfs.token()
            body = {"owner": tok, "process": self.identity, "started": time.time(), "ended": None}
            if sharedfs.create_exclusive(self.owner_path(tok), json.dumps(body)):
                break
        self.owner = tok
        self._owner_body = body
        self._beat = sharedfs.Heartbeat(self.heartbeat_s, self.owner_path(tok)).start()
        return tok

    def finish(self, how: str = "done") -> None:
        """This process claims nothing more: its owner file says it ended (`how`), so its
        claims of unrecorded cases are free at once; closes its index file."""
        if self._beat is not None:
            self._beat.stop()
            self._beat = None
            body = dict(self._owner_body, ended=time.time(), how=how)
            try:
                sharedfs.replace_atomically(self.owner_path(self.owner), json.dumps(body))
            except OSError:
                pass  # the heartbeat has stopped: the claims go stale after the timeout instead
        self.close_index()

    # ------------------------------------------------------------------ claims
    def _server_now(self) -> float:
        """The file server's clock (re-read at most every second)."""
        mono = time.monotonic()
        if self._now is None or mono - self._now[1] > 1.0:
            self._now = (sharedfs.server_now(self.out / "claims"), mono)
        return self._now[0] + (mono - self._now[1])

    def claim_holder(self, case_id: str, attempt: int) -> tuple[bool, str]:
        """(alive, who) for the claim `attempt` of a case: whether its owner still runs it."""
        path = self.claim_path(case_id, attempt)
        claim = sharedfs.read_json(path)
        if claim is None:  # being written by a file system without hard links, or gone
            mtime = sharedfs.fresh_mtime(path)
            return (mtime is not None and self._server_now() - mtime < self.claim_timeout_s), "an unreadable claim"
        owner = claim.get("owner")
        if owner == self.owner:
            return True, "this process"
        proc = claim.get("process", {})
        who = f"process {proc.get('pid', '?')} on {proc.get('host', '?')}"
        body = sharedfs.read_json(self.owner_path(str(owner)))
        if body is None:
            return False, who + " (no owner file)"
        if body.get("ended"):
            return False, who + f" (ended: {body.get('how', 'done')})"
        if sharedfs.earlier_incarnation(body.get("process", {})):
            return False, who + " (an earlier run of this Slurm task, since requeued)"
        if sharedfs.on_this_node(body.get("process", {})):  # seen directly: alive however old its heartbeat
            if sharedfs.process_gone(body["process"]):
                return False, who + " (no longer running)"
            return True, who
        beat = sharedfs.fresh_mtime(self.owner_path(str(owner)))
        if beat is None:
            return False, who + " (no owner file)"
        silent = self._server_now() - beat
        if silent > self.claim_timeout_s:
            return False, who + f" (silent for {silent:.0f} s)"
        return True, who

    def latest_claim(self, case_id: str) -> int:
        """The number of the newest claim of a case (0 if none)."""
        k = 0
        while os.path.lexists(self.claim_path(case_id, k + 1)):
            k += 1
        return k

    def claim(self, case_id: str) -> tuple[str, int]:
        """Try to start a case: ("claimed", attempt) if this process may run it now,
        ("recorded", k) if it is recorded, ("busy", k) if a live process runs it."""
        k = 1
        while True:
            body = {"case": case_id, "attempt": k, "owner": self.owner, "process": self.identity,
                    "claimed": time.time()}
            # not synced: after a crash of this node an empty claim counts as stale once its age passes the timeout
            if sharedfs.create_exclusive(self.claim_path(case_id, k), json.dumps(body), durable=False):
                if self.recorded(case_id):  # recorded by the one we took over from, just before
                    return "recorded", k
                return "claimed", k
            while os.path.lexists(self.claim_path(case_id, k + 1)):
                k += 1
            if self.recorded(case_id):
                return "recorded", k
            alive, _who = self.claim_holder(case_id, k)
            if alive:
                return "busy", k
            k += 1  # its owner is dead: take it over with the next claim (one process wins)

    # ------------------------------------------------------------------ records
    def recorded(self, case_id: str) -> bool:
        return os.path.lexists(self.record_path(case_id))

    def recorded_ids(self) -> set[str]:
        """The ids of the recorded cases (one listing of cases/, no record read)."""
        try:
            with os.scandir(self.out / "cases") as it:
                return {m.group(1) for e in it if (m := RECORD.fullmatch(e.name))}
        except FileNotFoundError:
            return set()

    def write_record(self, rec: dict, row: dict) -> bool:
        """Record a case (created exclusively: never replaced) and append its summary row to
        this process's index. False (and a 'duplicate' line in the index) if the case was
        recorded by another process meanwhile: this result is then discarded."""
        text = json.dumps(rec, indent=1, default=float)
        if sharedfs.create_exclusive(self.record_path(rec["id"]), text):
            self.append_index(dict(row, source="run"))
            return True
        self.append_index({"id": rec["id"], "index": rec.get("index"), "attempt": rec.get("attempt"),
                           "owner": self.owner, "source": "duplicate", "finished": time.time()})
        return False

    # ------------------------------------------------------------------ the index
    def _segment_path(self) -> Path:
        if self._segment_name is None:  # a process that claims nothing still gets an index file of its own
            self._segment_name = f"{self.owner or sharedfs.token()}-r{self.rank}.jsonl"
        return self.out / "index" / self._segment_name

    def append_index(self, row: dict) -> None:
        """One line in this process's own index file (no other process writes to it, so no
        append is ever shared between NFS clients), handed to the file system before
        returning (not synced: a line lost in a crash, or not yet visible on another node,
        is made again from its record by `rows()`)."""
        line = json.dumps(row, default=float, separators=(",", ":")) + "\n"
        with self._segment_lock:
            if self._segment is None:
                (self.out / "index").mkdir(exist_ok=True)
                self._segment = open(self._segment_path(), "a", encoding="utf-8")
            self._segment.write(line)
            self._segment.flush()

    def close_index(self) -> None:
        with self._segment_lock:
            if self._segment is not None:
                self._segment.close()
                self._segment = None

    def index_lines(self) -> Iterable[dict]:
        """Every whole line of every index file (a line cut short by a killed writer is skipped)."""
        try:
            names = sorted(e.name for e in os.scandir(self.out / "index") if SEGMENT.fullmatch(e.name))
        except FileNotFoundError:
            return
        for name in names:
            try:
                text = (self.out / "index" / name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            whole = text[:text.rfind("\n") + 1]  # a last line without its end is being written (or was cut)
            try:  # all lines at once: one parse of a JSON list is faster than one per line
                lines = json.loads("[" + whole[:-1].replace("\n", ",") + "]") if whole else []
            except ValueError:  # a line damaged by a crash: line by line, skipping it
                lines = []
                for line in whole.split("\n")[:-1]:
                    try:
                        lines.append(json.loads(line))
                    except ValueError:
                        continue
            for row in lines:
                if isinstance(row, dict) and "id" in row:
                    yield row

    def index_rows(self) -> list[dict]:
        """rows(), without adding lines to the index (a reader that writes nothing)."""
        return self.rows(add_missing=False)

    def rows(self, add_missing: bool = True) -> list[dict]:
        """The summary row of every recorded case, in case order: from the index, plus the
        records that have no line there yet (read, and given one in this process's index
        when `add_missing`)."""
        found: dict[str, dict] = {}
        for row in self.index_lines():
            if row.get("source") == "duplicate":
                continue
            if row["id"] not in found or row.get("source") == "run":
                found[row["id"]] = row
        recorded = self.recorded_ids()
        for case_id in sorted(recorded - found.keys()):
            rec = sharedfs.read_json(self.record_path(case_id))
            if rec is None or rec.get("id") != case_id:
                continue
            row = dict(summary_row(rec), source="record")
            found[case_id] = row
            if add_missing:
                self.append_index(row)
        rows = [r for i, r in found.items() if i in recorded]
        return sorted(rows, key=lambda r: (r.get("index", 0), r["id"]))


def summary_arrow(store: "SweepStore", add_missing: bool = True):
    """The summary of every recorded case as a pyarrow table (id, status, index,
    parameters, metrics, time_s, attempt, error...; nested as in the index), read by
    pyarrow's JSON reader: the same rows as `store.rows()`, several times faster at 10^5
    cases. None if the index does not fit one table (values of mixed kinds in a column,
    a damaged line): the caller then uses `rows()`."""
    import io

    import pyarrow as pa
    import pyarrow.json as pa_json

    tables = []
    try:
        names = sorted(e.name for e in os.scandir(store.out / "index") if SEGMENT.fullmatch(e.name))
    except FileNotFoundError:
        names = []
    try:
        for name in names:
            try:
                data = (store.out / "index" / name).read_bytes()
            except OSError:
                continue
            data = data[:data.rfind(b"\n") + 1]  # a last line without its end is being written (or was cut)
            if data:
                tables.append(pa_json.read_json(io.BytesIO(data)))
        recorded = store.recorded_ids()
        table = pa.concat_tables(tables, promote_options="permissive") if tables else None
        if table is not None and "id" in table.column_names:
            ids = table.column("id").to_pylist()
            sources = (table.column("source").to_pylist() if "source" in table.column_names
                       else [None] * len(ids))
            chosen: dict[str, int] = {}
            for k, (cid, src) in enumerate(zip(ids, sources)):
                if cid is None or src == "duplicate" or cid not in recorded:
                    continue
                if cid not in chosen or src == "run":
                    chosen[cid] = k
            table = table.take(pa.array(sorted(chosen.values()), type=pa.int64()))
            found = set(chosen)
        else:
            table, found = None, set()
        extra = []
        for case_id in sorted(recorded - found):  # records without an index line (a launcher killed in between)
            rec = sharedfs.read_json(store.record_path(case_id))
            if rec is None or rec.get("id") != case_id:
                continue
            row = dict(summary_row(rec), source="record")
            extra.append(row)
            if add_missing:
                store.append_index(row)
        if extra:
            more = pa.Table.from_pylist(extra)
            table = more if table is None else pa.concat_tables([table, more], promote_options="permissive")
        if table is None:
            return None
        if "index" in table.column_names:
            table = table.sort_by([("index", "ascending"), ("id", "ascending")])
        return table
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, KeyError):
        return None


def summary_row(rec: dict) -> dict:
    """The index line of a record: what the summary and the report need, not the full results."""
    keys = ("id", "index", "status", "parameters", "metrics", "time_s", "error", "attempt", "started", "finished",
            "owner", "world_rank", "ranks", "model")
    row = {k: rec[k] for k in keys if k in rec}
    row.setdefault("metrics", {})
    return row


def record_times(started: float, finished: float) -> dict[str, Any]:
    return {"started": started, "finished": finished, "started_at": _iso(started)}


__all__ = ["DEFAULT_CLAIM_TIMEOUT_S", "STORE_VERSION", "StoreError", "SweepStore", "store_entry", "summary_arrow",
           "summary_row"]
