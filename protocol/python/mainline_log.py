"""mainline_log - the job protocol (docs/protocol.md) for Python trainers.

Standard library only (Python 3.11). A trainer that `mainline run` starts writes its events
through the one `run` object this module makes at import:

    from mainline_log import run
    run.start(total_steps=200)
    run.train(step, loss=loss, lr=lr)
    run.val(step, nll=nll)
    run.save_atomic("checkpoints/step-200.pt", lambda f: torch.save(state, f))
    run.checkpoint(step, "checkpoints/step-200.pt")
    run.done()

Each event is one JSON object on one line, written with a single os.write() of the whole line
and its newline to metrics.jsonl opened with O_APPEND: the orchestrator reads only complete
lines, so it never sees half an event. NaN and infinities are written as null, as the built-in
trainer writes them (JSON has no NaN). What this is not: a logger for humans (print for that)
or a checkpoint format (save whatever you like through save_atomic).

Outside mainline (no MAINLINE_* variables) it writes ./metrics.jsonl, so a trainer can be run
by hand the same way.
"""
import json
import math
import os
import signal
import sys
from typing import NamedTuple

EXIT_TIME_LIMIT = 5  # protocol/job.h: checkpointed and stopped before a time limit


class Checkpoint(NamedTuple):
    """A checkpoint recorded in metrics.jsonl: its step and absolute path."""
    step: int
    path: str


def _clean(v):
    """v made writable as JSON: non-finite floats become None, number-like objects
    (a 0-d tensor, numpy scalars) become floats, containers are cleaned inside."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item"):
        return _clean(v.item())
    return _clean(float(v))


class Run:
    """The run this process is: its directory, config and metrics file (from the
    MAINLINE_* environment), and the events it writes."""

    def __init__(self, env=os.environ):
        self.dir = os.path.abspath(env.get("MAINLINE_RUN_DIR") or ".")
        self.metrics_path = env.get("MAINLINE_METRICS") or os.path.join(self.dir, "metrics.jsonl")
        config_path = env.get("MAINLINE_CONFIG") or os.path.join(self.dir, "config.json")
        self.config = {}
        if os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as f:
                self.config = json.load(f)
        self.params = self.config.get("params", {})
        self.resume = env.get("MAINLINE_RESUME") == "1"
        self.attempt = int(env.get("MAINLINE_ATTEMPT") or 1)
        self.threads = int(env.get("MAINLINE_THREADS") or 1)
        self.stop_requested = False
        self._fd = None

    # ---- resume ----

    def last_checkpoint(self):
        """The newest checkpoint metrics.jsonl records whose file is still there, as a
        Checkpoint, or None. A line is written only after its file is complete (save it
        with save_atomic), so a recorded checkpoint is a complete one; a last line cut
        short by a kill is skipped."""
        best = None
        try:
            with open(self.metrics_path, "rb") as f:
                lines = f.read().split(b"\n")[:-1]  # complete lines only
        except FileNotFoundError:
            return None
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if not (isinstance(ev, dict) and ev.get("event") == "checkpoint"):
                continue
            step, path = ev.get("step"), ev.get("path")
            if not isinstance(step, int) or not isinstance(path, str):
                continue
            path = os.path.join(self.dir, path)
            if os.path.exists(path) and (best is None or step >= best.step):
                best = Checkpoint(step, path)
        return best

    def resume_step(self):
        """The step to continue from: the last checkpoint's when MAINLINE_RESUME=1 and
        there is one, else 0."""
        ck = self.last_checkpoint() if self.resume else None
        return ck.step if ck else 0

    # ---- events ----

    def event(self, name, **fields):
        """Append {"event": name, **fields} as one line, in one os.write()."""
        obj = {"event": name}
        obj.update(_clean(fields))
        line = (json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n").encode()
        if self._fd is None:
            self._open()
        n = os.write(self._fd, line)
        if n != len(line):  # only on a full disk: finish the line rather than leave it torn
            os.write(self._fd, line[n:])

    def start(self, total_steps=None, **extra):
        """The start event: total_steps (for progress and ETA) and resumed_from (the
        step this attempt continues from; resume_step() unless given)."""
        extra.setdefault("resumed_from", self.resume_step())
        self.event("start", **_given(total_steps=total_steps), **extra)

    def train(self, step, loss=None, **metrics):
        """A train event: each number becomes a metrics row named as its field."""
        self.event("train", step=int(step), **_given(loss=loss), **metrics)

    def val(self, step, nll=None, **metrics):
        """A val event: rows named val_<field> (val_nll: mean NLL in nats per unit)."""
        self.event("val", step=int(step), **_given(nll=nll), **metrics)

    def checkpoint(self, step, path, **fields):
        """Record a checkpoint already complete on disk. path is relative to the run
        directory or absolute inside it; one outside is refused with ValueError (the
        orchestrator would not record it). bytes is added for a file."""
        rel = self.relative(path)
        full = os.path.join(self.dir, rel)
        if not os.path.exists(full):
            raise FileNotFoundError(f"checkpoint '{path}' is not on disk: save it first")
        if os.path.isfile(full):
            fields.setdefault("bytes", os.path.getsize(full))
        self.event("checkpoint", step=int(step), path=rel, **fields)

    def done(self, **fields):
        """The done event, the last line before exit 0."""
        self.event("done", **fields)
        self.close()

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ---- files ----

    def relative(self, path):
        """path (relative to the run directory, or absolute) as a path relative to it;
        ValueError when it leads outside, by the text as the orchestrator checks it."""
        p = os.path.normpath(os.path.join(self.dir, path))
        if p != self.dir and not p.startswith(self.dir.rstrip("/") + "/"):
            raise ValueError(f"checkpoint path '{path}' is outside the run directory "
                             f"{self.dir}: the orchestrator would refuse it")
        return os.path.relpath(p, self.dir)

    def save_atomic(self, path, write_fn):
        """Save a file so it is never seen half-written: write_fn(f) writes into a
        temporary file (binary) in the same directory, which is fsynced, renamed over
        path, and the directory fsynced. Returns the absolute path."""
        full = os.path.join(self.dir, path)
        d = os.path.dirname(full)
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, f".{os.path.basename(full)}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                write_fn(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, full)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return full

    # ---- the time limit (SIGUSR1) ----

    def handle_time_limit(self):
        """Catch SIGUSR1 (a time limit is near) and only note it: stop_requested becomes
        True. Check it between optimizer steps; when set, save a checkpoint of the step
        reached (unless it is on disk already) and call stop_for_time_limit(step)."""
        def note(signum, frame):
            self.stop_requested = True
        signal.signal(signal.SIGUSR1, note)

    def stop_for_time_limit(self, step):
        """Write {"event":"stopped","reason":"time_limit","step":step} and exit 5: the
        orchestrator starts the run again with MAINLINE_RESUME=1."""
        self.event("stopped", reason="time_limit", step=int(step))
        self.close()
        sys.exit(EXIT_TIME_LIMIT)

    def _open(self):
        self._fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # a line cut short by a kill stays one malformed line, not the start of ours
        with open(self.metrics_path, "rb") as f:
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    os.write(self._fd, b"\n")


def _given(**kw):
    return {k: v for k, v in kw.items() if v is not None}


run = Run()
