#!/usr/bin/env python3
"""
faults.py - the fault battery of issue 14: real sweeps, planned with `mainline plan` and
run with `mainline run`, each round with one fault at a moment drawn from a seed, then
`mainline run` again as a user would until it ends; after each round it counts what went
wrong. It is a test of the whole program from outside, not of any one module.

    python3 tests/faults/faults.py [--short] [--rounds N] [--seed S] [--only A,B] [--keep]

`make faults` runs the long battery (every scenario, 3 rounds), `make test` the short
one (tests/shell/t2008-faults-short.sh). FAULTS_SEED and FAULTS_ROUNDS set --seed and
--rounds; the seed is printed first, and the same seed draws the same sweeps, moments,
targets and bytes again (what a process is doing at that moment still depends on the
machine's load). BUILD and BINDIR name the build, as for tests/run-tests.sh.

The faults: kill -9 of the orchestrator, of a trainer's supervisor, of a trainer, of an
evaluator (the fake jobs of tests/fakes, and the built-in trainer and evaluator on
sweeps/models/tiny-base); the registry's disk full, the run directories' disk full (a
small tmpfs each, freed after a while; needs root to mount); the registry's write lock
held by an outside writer; pages of the registry overwritten between commands.

What is counted, per round (the table at the end; any bad figure makes the exit status 1):
  rows lost, duplicates  every metric field of every well-formed train/val line of a run's
      metrics.jsonl (docs/protocol.md), and of the files of its earlier attempts kept in
      attempt-K/, must be one row of `metrics`, keyed by the line's byte offset and the
      attempt; every line of a recorded evaluation's predictions.jsonl one row of
      `predictions`, and each evaluation one row of `evals`.
  double runs  job directories where two trainers (or two evaluators) were alive at once:
      every process below the battery is sampled every 20 ms from /proc (the battery is
      the subreaper of the jobs, so orphans stay below it).
  needless reruns  a run or evaluation `done` in the registry that a later `mainline run`
      gave a new attempt or state; a run whose files show a trainer starting after one
      had written its `done` line; an evaluation started again after an evaluator that
      had written its result, or that something other than the battery killed (the
      orchestrator, finding it alive).
  hangs  commands that needed their timeout (then killed).
  bad ends  a run or evaluation not `done` or `failed` with a reason after the last
      command; one failed for the registry's sake (locked, full, I/O); jobs still running
      after the last command; PRAGMA integrity_check not ok; a corrupt registry not refused
      with exit status 1 and a message naming `.recover`, or changed by the command.
"""
import argparse
import ctypes
import errno
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('BUILD', 'build')
BINDIR = os.environ.get('BINDIR', 'bin')
MAINLINE = os.environ.get('MAINLINE') or os.path.join(TOP, BINDIR, 'mainline')
FAKES = os.path.join(TOP, BUILD, 'tests', 'fakes')
SWEEPS = os.path.join(TOP, 'sweeps')

RUN_TIMEOUT = 90      # seconds for one `mainline run`
CMD_TIMEOUT = 30      # plan, and each command on a corrupt registry
QUIET_TIMEOUT = 30    # for the jobs left after the last command to end by themselves

# /proc/PID/stat names (15 characters at most) of the processes the battery watches.
KIND_OF_COMM = {
    'fake_trainer': 'trainer', 'mainline-train': 'trainer',
    'fake_evaluator': 'evaluator', 'mainline-eval': 'evaluator',
    'mainline-superv': 'supervisor', 'mainline': 'orchestrator',
}

FIGURES = ['faults', 'rows', 'lost', 'dup', 'double', 'needless', 'hangs', 'bad']
BAD_FIGURES = ['lost', 'dup', 'double', 'needless', 'hangs', 'bad']

# A failure that is the registry's, not the job's: the job was fine.
REGISTRY_REASON = re.compile(r'database is locked|database table is locked|busy|'
                             r'disk is full|disk I/O|malformed|SQLITE|registry', re.I)


# ---- processes ----

def read_stat(pid):
    """(comm, state, ppid, start) of a process, or None when it is gone."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            text = f.read().decode(errors='replace')
    except OSError:
        return None
    head, _, tail = text.rpartition(')')
    fields = tail.split()
    return head[head.find('(') + 1:], fields[0], int(fields[1]), int(fields[19])


def children(pid):
    kids = []
    try:
        for task in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{task}/children') as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def descendants(pid):
    out, todo = [], children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def become_subreaper():
    """Orphaned jobs (their orchestrator or supervisor killed) are reparented to this
    process instead of init, so every process of a round stays below it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:    # PR_SET_CHILD_SUBREAPER
        sys.exit('faults.py: cannot become a subreaper (prctl)')


class Proc:
    def __init__(self, pid, start, kind, ppid, cwd, argv, now):
        self.pid, self.start, self.kind, self.ppid = pid, start, kind, ppid
        self.cwd, self.argv = cwd, argv
        self.first = self.last = now
        self.alive = True
        self.status = None    # wait status, when its parent died first and the battery reaped it


class Watch(threading.Thread):
    """Samples every process below the battery every 20 ms: which trainers, evaluators
    and supervisors are alive, in which directory, from when to when. Reaps the orphans
    reparented to the battery (never the commands it started itself: their exit status
    belongs to subprocess)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.procs = {}           # (pid, start) -> Proc
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.me = os.getpid()
        self.error = None

    def run(self):
        try:
            while not self.done.is_set():
                self.sample()
                self.done.wait(0.02)
        except Exception:   # the battery would go blind: it says so and fails
            self.error = traceback.format_exc()

    def sample(self):
        now = time.monotonic()
        alive = set()
        for pid in descendants(self.me):
            st = read_stat(pid)
            if not st:
                continue
            comm, state, ppid, start = st
            if state in 'ZX':
                if ppid == self.me and (comm.startswith('mainline-') or
                                        comm.startswith('fake_')):
                    try:
                        got, status = os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        continue
                    with self.lock:
                        p = self.procs.get((pid, start))
                        if got == pid and p:
                            p.status = status
                continue
            kind = KIND_OF_COMM.get(comm)
            if not kind:
                continue
            key = (pid, start)
            with self.lock:
                p = self.procs.get(key)
                if p is None or p.kind != kind:   # new, or exec'd into a job
                    try:
                        cwd = os.readlink(f'/proc/{pid}/cwd')
                        with open(f'/proc/{pid}/cmdline', 'rb') as f:
                            argv = f.read().decode(errors='replace').split('\0')
                    except OSError:
                        continue
                    p = self.procs[key] = Proc(pid, start, kind, ppid, cwd, argv, now)
                p.last = now
                alive.add(key)
        with self.lock:
            for key, p in self.procs.items():
                p.alive = key in alive

    def live(self, kind, under):
        with self.lock:
            return sorted((p for p in self.procs.values()
                           if p.alive and p.kind == kind and p.cwd.startswith(under)),
                          key=lambda p: (p.cwd, p.start, p.pid))

    def since(self, t0, under):
        with self.lock:
            return [p for p in self.procs.values()
                    if p.last >= t0 and p.cwd.startswith(under)]


def kill_proc(p):
    """kill -9 a watched process, only if it is still that process."""
    st = read_stat(p.pid)
    if not st or st[3] != p.start or st[1] in 'ZX':
        return False
    try:
        os.kill(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


# ---- the registry, read from outside ----

def db_connect(path):
    db = sqlite3.connect(path, timeout=30)
    db.row_factory = sqlite3.Row
    return db


def integrity(path, immutable=False):
    """PRAGMA integrity_check's complaints (`immutable`: without touching the file, not
    even its -shm). SQLite 3.40.1 (Debian 12) reports 'NULL value in metrics.step' for
    every row of the WITHOUT ROWID table `metrics`, whose step is not in the primary
    key, even when nothing is wrong (step is NOT NULL): those lines are dropped."""
    if immutable:
        db = sqlite3.connect(f'file:{path}?immutable=1', uri=True)
    else:
        db = sqlite3.connect(path, timeout=30)
    db.text_factory = lambda b: b.decode(errors='replace')   # names from corrupt pages
    try:
        lines = [r[0] for r in db.execute('PRAGMA integrity_check')]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:   # an error naming garbage
        return [f'integrity_check: {e}']
    finally:
        db.close()
    return [l for l in lines if l != 'ok' and l != 'NULL value in metrics.step']


def snapshot(path):
    """State and attempt of every run and evaluation."""
    db = db_connect(path)
    try:
        runs = {r['run_id']: (r['state'], r['attempt'])
                for r in db.execute('SELECT run_id, state, attempt FROM runs')}
        evals = {eval_name(r['run_id'], r['step']): (r['state'], r['attempt'])
                 for r in db.execute('SELECT r.run_id, e.step, e.state, e.attempt '
                                     'FROM eval_jobs e LEFT JOIN runs r ON r.id = e.run')}
    finally:
        db.close()
    return runs, evals


def eval_name(run_id, step):
    return f'{run_id} eval@{step}' if run_id else 'baseline eval'


def jsonl(path):
    """(offset, object) of each complete line of a JSONL file that is a JSON object."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return
    off = 0
    while off < len(data):
        end = data.find(b'\n', off)
        line = data[off:] if end < 0 else data[off:end]
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            yield off, obj
        if end < 0:
            break
        off = end + 1


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def metric_keys(off, obj):
    """The (offset, name) rows a protocol line becomes (exec/ingest.c, map_line)."""
    prefix = {'train': '', 'val': 'val_', 'eval': 'eval_'}.get(obj.get('event'))
    step = obj.get('step')
    if prefix is None or not is_int(step) or step < 0:
        return []
    return [(off, k if k.startswith(prefix) else prefix + k) for k, v in obj.items()
            if k != 'step' and (is_int(v) or isinstance(v, float)) and v == v
            and abs(v) != float('inf')]


# ---- sweeps ----

FAKE_SWEEP = """\
sweep: {name}
base_model: {sweeps}/models/tiny-base/model.safetensors
datasets: {{train: {sweeps}/data/arith-train.jsonl, valid: {sweeps}/data/arith-valid.jsonl,
           bench: {sweeps}/data/arith-test.jsonl}}
trainer: {{command: [{fakes}/fake_trainer, '{{run_dir}}'], resume: true}}
evaluator: {{command: [{fakes}/fake_evaluator, --sleep-ms, "{eval_ms}", '{{out_dir}}']}}
defaults: {{lr: 1.0e-4, x_steps: {steps}, x_sleep_ms: {sleep_ms}}}
grid: {{seed: [{seeds}]}}
evaluation: {{dataset: bench, baseline: true}}
selection: {{checkpoint: min(val_nll)}}
retries: 1
"""

BUILTIN_SWEEP = """\
sweep: {name}
base_model: {sweeps}/models/tiny-base/model.safetensors
datasets: {{train: {sweeps}/data/arith-train.jsonl, valid: {sweeps}/data/arith-valid.jsonl,
           bench: {sweeps}/data/arith-test.jsonl}}
conditions:
  attn: {{adapter: lora, targets: [q_proj, v_proj]}}
  mlp:  {{adapter: lora, targets: [gate_proj, up_proj, down_proj]}}
defaults: {{rank: 4, alpha: 8, lr: 0.01, batch_size: 8, max_steps: {steps}, train_rows: 96,
           valid_rows: 16, eval_at: [{{every: 4}}], report_every: 2}}
grid: {{condition: [attn, mlp], seed: [{seeds}]}}
evaluation: {{dataset: bench, max_new_tokens: 48, extract: regex,
             pattern: "#### (-?[0-9.,]+)", baseline: true, limit: {limit}}}
selection: {{checkpoint: min(val_nll)}}
retries: 1
"""


class Work:
    """What a sweep will do, to draw moments by its progress rather than by the clock
    (the machine's load changes the clock): train lines its runs write in all, its
    evaluations, and about how long one evaluator lives."""

    def __init__(self, desc, train_lines, evals, eval_life):
        self.desc, self.train_lines, self.evals, self.eval_life = \
            desc, train_lines, evals, eval_life


def fake_sweep(rng, short):
    """A sweep of the fake trainer and evaluator: runs that overlap (-j 2), each
    evaluated at its best checkpoint, and the baseline. Returns its YAML and Work."""
    n = rng.randint(5, 7) if short else rng.randint(6, 12)
    steps = rng.randint(6, 9) if short else rng.randint(8, 14)
    sleep_ms = rng.randint(50, 80) if short else rng.randint(60, 120)
    eval_ms = rng.randint(200, 400) if short else rng.randint(300, 600)
    text = FAKE_SWEEP.format(name='f', sweeps=SWEEPS, fakes=FAKES, eval_ms=eval_ms,
                             steps=steps, sleep_ms=sleep_ms,
                             seeds=', '.join(str(i) for i in range(n)))
    return text, Work(f'{n} fake runs x {steps} steps of {sleep_ms} ms', n * steps, n + 1,
                      eval_ms / 1000)


def builtin_sweep(rng, short):
    """The built-in trainer and evaluator on tiny-base, LoRA on two conditions."""
    seeds = rng.randint(1, 2) if short else rng.randint(2, 3)
    steps = rng.randint(8, 12) if short else rng.randint(12, 24)
    limit = rng.choice([32, 48])
    text = BUILTIN_SWEEP.format(name='b', sweeps=SWEEPS, steps=steps, limit=limit,
                                seeds=', '.join(str(i) for i in range(seeds)))
    # report_every: 2 writes a train line every second step
    return text, Work(f'{2 * seeds} built-in runs x {steps} steps', 2 * seeds * (steps // 2),
                      2 * seeds + 1, 0.1)


# ---- a round ----

class Round:
    def __init__(self, battery, scen, index):
        self.b = battery
        self.scen = scen
        self.seed = f'{battery.seed}/{scen.name}/{index}'
        self.rng = random.Random(self.seed)
        self.dir = os.path.realpath(os.path.join(battery.work, f'{scen.name}-{index}'))
        os.makedirs(self.dir)
        self.log = open(os.path.join(self.dir, 'round.log'), 'w')
        self.fig = dict.fromkeys(FIGURES, 0)
        self.problems = []
        self.what = []               # what happened, for the round's line
        self.killed = set()          # (pid, start) of the processes the battery killed
        self.needless = set()        # (kind, name) of the jobs executed again needlessly
        self.mounts = []
        self.registry = os.path.join(self.dir, 'mainline.db')
        self.global_args = []
        self.t0 = time.monotonic()

    def problem(self, figure, text, n=1):
        self.fig[figure] += n
        self.problems.append(text)

    def note(self, text):
        self.what.append(text)
        print(f'  {text}', file=self.log, flush=True)

    # -- commands --

    def start(self, args, name):
        out = open(os.path.join(self.dir, f'{name}.out'), 'w')
        err = open(os.path.join(self.dir, f'{name}.err'), 'w')
        env = dict(os.environ)
        env.pop('MAINLINE_REGISTRY', None)
        env.pop('OPENBLAS_VERBOSE', None)
        argv = [MAINLINE] + self.global_args + args
        print(f'$ {" ".join(argv)}  > {name}.out', file=self.log, flush=True)
        p = subprocess.Popen(argv, cwd=self.dir, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, env=env)
        out.close()
        err.close()
        p.name = name
        p.started = time.monotonic()
        return p

    def finish(self, p, timeout):
        """The exit status of a started command, or None when it needed its timeout."""
        left = timeout - (time.monotonic() - p.started)
        try:
            rc = p.wait(max(left, 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.problem('hangs', f'{p.name}: no end after {timeout} s (killed)')
            return None
        print(f'  exit {rc} after {time.monotonic() - p.started:.1f} s', file=self.log,
              flush=True)
        return rc

    def command(self, args, name, timeout):
        return self.finish(self.start(args, name), timeout)

    def text(self, name, stream='err'):
        with open(os.path.join(self.dir, f'{name}.{stream}'), errors='replace') as f:
            return f.read()

    # -- the round --

    def run(self):
        s = self.scen
        sweep_text, self.work = s.sweep(self.rng, self.b.short)
        self.sweep_desc = self.work.desc
        self.sweep = 'b' if s.sweep is builtin_sweep else 'f'
        s.prepare(self)
        with open(os.path.join(self.dir, 's.yaml'), 'w') as f:
            f.write(sweep_text)
        rc = self.command(['plan', 's.yaml'], 'plan', CMD_TIMEOUT)
        if rc != 0:
            self.problem('bad', f'mainline plan exited {rc}')
            return
        first = self.start(['run', self.sweep, '-j', '2', '-q'], 'run1')
        s.fault(self, first)
        if first.returncode is None:
            self.finish(first, RUN_TIMEOUT)
        if not s.corrupts:
            self.reruns()
        self.quiesce()
        self.check()

    def reruns(self):
        """`mainline run` again, as a user would, until it ends: at once if it says all
        is done, else while it changes something (three times at most)."""
        for k in range(2, 5):
            before = snapshot(self.registry)
            rc = self.command(['run', self.sweep, '-j', '2', '-q'], f'run{k}', RUN_TIMEOUT)
            after = snapshot(self.registry)
            self.needless_by_registry(before, after)
            if rc == 0 or after == before:
                break

    def needless_by_registry(self, before, after):
        for kind, b, a in (('run', before[0], after[0]), ('evaluation', before[1], after[1])):
            for key, (state, attempt) in b.items():
                if state == 'done' and a.get(key, (state, attempt)) != (state, attempt):
                    self.needless.add((kind, key))

    def quiesce(self):
        """Jobs still alive after the last command: wait for them a while, then kill."""
        deadline = time.monotonic() + QUIET_TIMEOUT
        while time.monotonic() < deadline:
            left = [p for k in ('trainer', 'evaluator', 'supervisor')
                    for p in self.b.watch.live(k, self.dir)]
            if not left:
                return
            time.sleep(0.1)
        for p in left:
            kill_proc(p)
        self.problem('bad', 'jobs still running after the last command: ' +
                     ', '.join(f'{p.kind} {p.pid} in {os.path.relpath(p.cwd, self.dir)}'
                               for p in left), len(left))
        time.sleep(0.2)

    # -- checks --

    def check(self):
        self.procs = self.b.watch.since(self.t0, self.dir)
        self.check_processes(self.procs)
        if self.scen.corrupts:
            return
        for text in integrity(self.registry)[:5]:
            self.problem('bad', f'integrity_check: {text}')
        db = db_connect(self.registry)
        try:
            self.check_runs(db)
            self.check_evals(db)
        finally:
            db.close()
        self.fig['needless'] += len(self.needless)
        for kind, key in sorted(self.needless, key=str):
            self.problems.append(f'needless rerun of {kind} {key}')

    def check_processes(self, procs):
        """Two trainers (or evaluators) alive in one directory at once, not counting a
        job's own children."""
        by_dir = {}
        for p in procs:
            if p.kind in ('trainer', 'evaluator'):
                by_dir.setdefault((p.kind, p.cwd), []).append(p)
        for (kind, cwd), ps in sorted(by_dir.items()):
            # A job's own children are not a second job: LeakSanitizer's tracer under
            # ASan (a clone of the process, same name), a trainer's worker processes.
            pids = {p.pid for p in ps}
            ps = [p for p in ps if p.ppid not in pids]
            ps.sort(key=lambda p: p.first)
            rel = os.path.relpath(cwd, self.dir)
            if any(b.first <= a.last for i, a in enumerate(ps) for b in ps[i + 1:]):
                self.problem('double', f'two {kind}s alive at once in {rel}: pids ' +
                             ' '.join(str(p.pid) for p in ps))

    def check_runs(self, db):
        for r in db.execute('SELECT id, run_id, state, attempt, base_attempt, run_dir, '
                            'fail_reason FROM runs'):
            self.check_end('run', r['run_id'], r['state'], r['fail_reason'])
            if not r['run_dir'] or not os.path.isdir(r['run_dir']):
                continue
            # A run's metrics files, oldest first: attempt-K/ holds the lines of the
            # attempts up to K since the one before it started over; the run directory's
            # own file, the attempts after the last K. A row's attempt says its file.
            gens = sorted(int(d[8:]) for d in os.listdir(r['run_dir'])
                          if re.fullmatch(r'attempt-[0-9]+', d))
            files = [(k, os.path.join(r['run_dir'], f'attempt-{k}')) for k in gens]
            files.append((None, r['run_dir']))
            expected, events = set(), []
            for k, d in files:
                for off, obj in jsonl(os.path.join(d, 'metrics.jsonl')):
                    events.append(obj.get('event'))
                    expected.update((k,) + key for key in metric_keys(off, obj))
            if 'done' in events and 'start' in events[events.index('done'):]:
                self.needless.add(('run', r['run_id']))
            present = {}
            for attempt, off, name, n in db.execute(
                    'SELECT attempt, src_offset, name, count(*) FROM metrics WHERE run = ? '
                    'GROUP BY attempt, src_offset, name', (r['id'],)):
                k = next((k for k in gens if k >= attempt), None)
                present[(k, off, name)] = present.get((k, off, name), 0) + n
            self.count_rows(r['run_id'] + ' metrics', expected, present)

    def check_evals(self, db):
        for e in db.execute('SELECT e.id, e.run, e.step, e.state, e.dir, e.fail_reason, '
                            "coalesce(r.run_id, 'baseline') AS name FROM eval_jobs e "
                            'LEFT JOIN runs r ON r.id = e.run'):
            name = eval_name(e['run'] and e['name'], e['step'])
            self.check_end('evaluation', name, e['state'], e['fail_reason'])
            if e['dir'] and os.path.isdir(e['dir']) and self.eval_redone(e['dir']):
                self.needless.add(('evaluation', name))
            if e['state'] != 'done':
                continue
            evals = db.execute('SELECT id FROM evals WHERE run IS ? AND checkpoint_step IS ?',
                               (e['run'], e['step'])).fetchall()
            self.count_rows(name, {('evals',)}, {('evals',): len(evals)})
            if len(evals) != 1 or not e['dir']:
                continue
            lines = {(o.get('id'),) for _, o in
                     jsonl(os.path.join(e['dir'], 'predictions.jsonl'))}
            present = {(row[0],): row[1] for row in db.execute(
                'SELECT example_id, count(*) FROM predictions WHERE eval = ? '
                'GROUP BY example_id', (evals[0][0],))}
            self.count_rows(name + ' predictions', lines, present)

    def eval_redone(self, d):
        """Whether an evaluation was started again needlessly: an earlier attempt's
        evaluator (kept in attempt-K/) had written its result, or was killed, but not by
        the battery: by the orchestrator (its exit.json says a signal; or its supervisor
        died with it, and the battery, its subreaper, saw the signal)."""
        d = os.path.realpath(d)
        for a in os.listdir(d):
            if re.fullmatch(r'attempt-[0-9]+', a) and any(
                    o.get('event') == 'eval' for _, o in jsonl(os.path.join(d, a,
                                                                            'metrics.jsonl'))):
                return True
        ours = [p for p in self.procs if p.kind == 'evaluator' and p.cwd == d]
        if any((p.pid, p.start) in self.killed for p in ours):
            return False
        if any(p.status is not None and os.WIFSIGNALED(p.status) for p in ours):
            return True
        for a in os.listdir(d):
            if not re.fullmatch(r'attempt-[0-9]+', a):
                continue
            try:
                with open(os.path.join(d, a, 'exit.json')) as f:
                    if 'signal' in json.load(f):
                        return True
            except (OSError, ValueError):
                pass
        return False

    def count_rows(self, what, expected, present):
        self.fig['rows'] += len(expected)
        lost = len(expected - set(present))
        dup = sum(n - 1 for n in present.values()) + len(set(present) - expected)
        if lost:
            self.problem('lost', f'{what}: {lost} of {len(expected)} rows not in the registry',
                         lost)
        if dup:
            self.problem('dup', f'{what}: {dup} rows more than its lines', dup)

    def check_end(self, kind, name, state, reason):
        if state == 'done':
            return
        if state != 'failed' or not reason:
            self.problem('bad', f'{kind} {name} left {state}' +
                         (f' ({reason})' if reason else ''))
        elif REGISTRY_REASON.search(reason):
            self.problem('bad', f'{kind} {name} failed for the registry: {reason}')
        else:
            self.note(f'{kind} {name} failed: {reason}')

    # -- mounts --

    def mount(self, name, size):
        d = os.path.join(self.dir, name)
        os.makedirs(d)
        if subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', d],
                          stderr=subprocess.DEVNULL).returncode != 0:
            raise Skip('cannot mount a small tmpfs here (needs root)')
        self.mounts.append(d)
        return d

    def cleanup(self):
        for p in self.b.watch.live('orchestrator', self.dir):
            kill_proc(p)
        for k in ('trainer', 'evaluator', 'supervisor'):
            for p in self.b.watch.live(k, self.dir):
                kill_proc(p)
        for d in self.mounts:
            if self.problems:   # what the small disk held, to look at after
                shutil.copytree(d, d + '.kept', symlinks=True,
                                ignore=shutil.ignore_patterns('filler'))
            for _ in range(50):
                if subprocess.run(['umount', d], stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                subprocess.run(['umount', '-l', d])
        self.log.close()


class Skip(Exception):
    pass


# ---- the faults ----

def train_lines(r):
    """The train lines the round's runs have written so far."""
    n = 0
    for d in os.listdir(os.path.join(r.dir, 'runs', r.sweep)) \
            if os.path.isdir(os.path.join(r.dir, 'runs', r.sweep)) else []:
        try:
            with open(os.path.join(r.dir, 'runs', r.sweep, d, 'metrics.jsonl'), 'rb') as f:
                n += f.read().count(b'"event":"train"')
        except OSError:
            pass
    return n


def evaluators_started(r):
    return sum(1 for p in r.b.watch.since(r.t0, r.dir)
               if p.kind == 'evaluator' and p.first >= r.t0)


def wait_moment(r, first, phase='all'):
    """Wait for a moment drawn by the sweep's progress: when its runs have written a
    fraction of their train lines (`train`), a while after the k-th evaluator starts
    (`eval`), or either (`all`: training three times in four). Returns what it was."""
    if phase == 'all':
        phase = 'train' if r.rng.random() < 0.75 else 'eval'
    if phase == 'train':
        frac = r.rng.uniform(0.05, 0.95)
        want = max(1, round(frac * r.work.train_lines))
        what = f'at {frac:.0%} of the training'
        done = lambda: train_lines(r) >= want
    else:
        k = r.rng.randint(1, r.work.evals)
        after = r.rng.uniform(0, 0.5) * r.work.eval_life
        what = f'{after:.2f} s into evaluation {k} of {r.work.evals}'
        done = lambda: evaluators_started(r) >= k
    while not done() and first.poll() is None:
        time.sleep(0.01)
    if phase == 'eval':
        time.sleep(after)
    return what


PHASE_OF_KIND = {'trainer': 'train', 'supervisor': 'train', 'evaluator': 'eval',
                 'orchestrator': 'all'}


def supervised_command(argv):
    """The program a mainline-supervise argv runs: the word after its `--`
    (`mainline-supervise [--checkpoints] STATUS_FILE -- COMMAND...`), or ''."""
    return argv[argv.index('--') + 1] if '--' in argv[:-1] else ''


def kill_one(r, first, kind, count=True):
    """kill -9 one process of `kind` at a random moment (the first one to appear after
    it when none is alive then); `count` it as the round's fault."""
    at = wait_moment(r, first, PHASE_OF_KIND[kind])
    t = time.monotonic() - first.started
    deadline = time.monotonic() + 15
    gone = set()
    while True:
        if kind == 'orchestrator':
            live = [p for p in r.b.watch.live('orchestrator', r.dir) if p.pid == first.pid]
        else:
            live = r.b.watch.live(kind, r.dir)
        if kind == 'supervisor':   # a trainer's supervisor (not its child before exec)
            live = [p for p in live if os.path.basename(supervised_command(p.argv))
                    in ('fake_trainer', 'mainline-train')
                    and p.ppid not in {q.pid for q in live}]
        live = [p for p in live if (p.pid, p.start) not in gone]
        if live:
            p = live[r.rng.randrange(len(live))]
            if kill_proc(p):
                break
            gone.add((p.pid, p.start))   # it ended before the kill: another one
            continue
        if first.poll() is not None or time.monotonic() > deadline:
            r.note(f'no {kind} alive from {at} ({t:.2f} s) on: nothing killed')
            return None
        time.sleep(0.01)
    r.killed.add((p.pid, p.start))
    r.fig['faults'] += count
    r.note(f'kill -9 {kind} {p.pid} ({os.path.relpath(p.cwd, r.dir)}) {at} '
           f'({time.monotonic() - first.started:.2f} s)')
    return p


class Scenario:
    corrupts = False
    sweep = staticmethod(fake_sweep)

    def __init__(self, name, short=False):
        self.name, self.short = name, short

    def prepare(self, r):
        pass


class Kill(Scenario):
    def __init__(self, name, kind, sweep=fake_sweep, short=False):
        super().__init__(name, short)
        self.kind = kind
        self.sweep = sweep

    def fault(self, r, first):
        kill_one(r, first, self.kind)
        if self.kind == 'orchestrator':
            first.wait()
            time.sleep(r.rng.uniform(0, 1.0))   # the user notices, and runs it again


def fill(d, leave_kib):
    """Fill the file system of d but for leave_kib KiB."""
    st = os.statvfs(d)
    free = st.f_bavail * st.f_frsize - leave_kib * 1024
    with open(os.path.join(d, 'filler'), 'wb') as f:
        while free > 0:
            try:
                free -= f.write(b'\0' * min(free, 1 << 20))
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    break
                raise


class DiskFull(Scenario):
    """The registry's file system (`what` registry) or the run directories' (`runs`)
    fills at a random moment and is freed a few seconds later."""

    def __init__(self, name, what, short=False):
        super().__init__(name, short)
        self.what = what

    def prepare(self, r):
        if self.what == 'registry':
            # The registry on the small disk; its runs/ (beside it) on the big one.
            disk = r.disk = r.mount('disk', '16m')
            os.makedirs(os.path.join(r.dir, 'runs'))
            os.symlink(os.path.join(r.dir, 'runs'), os.path.join(disk, 'runs'))
            r.registry = os.path.join(disk, 'mainline.db')
            r.global_args = ['--registry', r.registry]
        else:
            disk = r.disk = r.mount('disk', '4m')
            os.makedirs(os.path.join(disk, 'runs'))
            os.symlink(os.path.join(disk, 'runs'), os.path.join(r.dir, 'runs'))

    def fault(self, r, first):
        at = wait_moment(r, first)
        leave = r.rng.choice([0, 4, 16])
        hold = r.rng.uniform(0.5, 2) if r.b.short else r.rng.uniform(1, 4)
        if first.poll() is not None:
            r.note(f'the run ended before the moment ({at}): no fault')
            return
        fill(r.disk, leave)
        r.fig['faults'] += 1
        r.note(f'{self.what} disk full (but {leave} KiB) {at} '
               f'({time.monotonic() - first.started:.2f} s) for {hold:.1f} s')
        time.sleep(hold)
        os.unlink(os.path.join(r.disk, 'filler'))


LOCK_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
db.execute('BEGIN IMMEDIATE')
print('held', flush=True)
time.sleep(float(sys.argv[2]))
db.execute('COMMIT')
"""


class LockHeld(Scenario):
    """An outside writer takes the registry's write lock (BEGIN IMMEDIATE) at a random
    moment and holds it 5-25 s (5-8 s in the short battery), then commits."""

    def fault(self, r, first):
        at = wait_moment(r, first)
        hold = r.rng.uniform(5, 8) if r.b.short else r.rng.uniform(5, 25)
        if first.poll() is not None:
            r.note(f'the run ended before the moment ({at}): no fault')
            return
        holder = subprocess.Popen([sys.executable, '-c', LOCK_HOLDER, r.registry, str(hold)],
                                  stdout=subprocess.PIPE, text=True)
        if holder.stdout.readline().strip() == 'held':
            r.fig['faults'] += 1
            r.note(f'registry write lock held {at} '
                   f'({time.monotonic() - first.started:.2f} s) for {hold:.1f} s')
        try:
            holder.wait(hold + 60)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
            r.note('the lock holder did not end')


class Corrupt(Scenario):
    """Pages of the registry overwritten between commands: after a whole run, or after
    kill -9 of the orchestrator (its jobs left to end). Each command must refuse: exit
    status 1, a message naming `.recover`, in bounded time, the file unchanged."""
    corrupts = True
    COMMANDS = [['run', 'f', '-q'], ['status', 'f'], ['runs']]

    def fault(self, r, first):
        if r.rng.random() < 0.5:
            kill_one(r, first, 'orchestrator', count=False)
            first.wait()
            deadline = time.monotonic() + QUIET_TIMEOUT
            # Its supervisors too: one it started just before the kill may not have
            # started its evaluator yet (slow under ASan), which would then start after
            # the pages are overwritten, though no command ran on the corrupt registry.
            while any(r.b.watch.live(k, r.dir) for k in ('trainer', 'evaluator', 'supervisor')) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        elif r.finish(first, RUN_TIMEOUT) is None:
            return
        subprocess.run(['sqlite3', r.registry, 'PRAGMA wal_checkpoint(TRUNCATE)'],
                       stdout=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
        pages = self.corrupt(r)
        if not pages:
            r.note('no overwrite made integrity_check complain: no fault')
            return
        r.fig['faults'] += 1
        r.note(f'overwrote bytes of registry pages {pages}')
        files = self.files(r)
        started = time.monotonic()
        for i, args in enumerate(r.rng.sample(self.COMMANDS, len(self.COMMANDS))):
            name = f'corrupt{i + 1}'
            rc = r.command(args, name, CMD_TIMEOUT)   # a hang is counted there
            said = r.text(name, 'err') + r.text(name, 'out')
            wrong = []
            if rc is not None and rc != 1:
                wrong.append(f'exit {rc}, not 1')
            if rc is not None and '.recover' not in said:
                wrong.append(f'no mention of .recover ({said.strip()[:100]!r})')
            if self.files(r) != files:
                wrong.append('the file changed')
                files = self.files(r)
            if wrong:
                r.problem('bad', f'mainline {" ".join(args)} on a corrupt registry: ' +
                          '; '.join(wrong))
        started_jobs = [p for p in r.b.watch.since(started, r.dir)
                        if p.first >= started and p.kind in ('trainer', 'evaluator')]
        if started_jobs:
            r.problem('bad', f'{len(started_jobs)} jobs started on a corrupt registry')

    def files(self, r):
        out = {}
        for suffix in ('', '-wal'):
            try:
                with open(r.registry + suffix, 'rb') as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            if data or not suffix:
                out[suffix] = hashlib.sha256(data).hexdigest()
        return out

    def corrupt(self, r):
        """Overwrite 64-512 bytes in 1-3 pages (never page 1, the header) until
        integrity_check complains, else the header of a b-tree page; returns the pages,
        or [] when it never did."""
        with open(r.registry, 'rb') as f:
            head = f.read(100)
        page = int.from_bytes(head[16:18], 'big')
        page = 65536 if page == 1 else page
        n = os.path.getsize(r.registry) // page
        done = []
        for _ in range(8):
            for p in r.rng.sample(range(2, n + 1), min(r.rng.randint(1, 3), n - 1)):
                length = r.rng.randint(64, 512)
                off = r.rng.randrange(0, page - length)
                with open(r.registry, 'r+b') as f:
                    f.seek((p - 1) * page + off)
                    f.write(r.rng.randbytes(length))
                done.append(p)
            if integrity(r.registry, immutable=True):
                return sorted(set(done))
        # Random bytes can land where nothing reads them (the free space of a page, a
        # free page): then break the header of a b-tree page (its type byte at offset 0:
        # 2, 5, 10 or 13), which every integrity_check reads.
        for p in r.rng.sample(range(2, n + 1), n - 1):
            with open(r.registry, 'r+b') as f:
                f.seek((p - 1) * page)
                if f.read(1) not in (b'\x02', b'\x05', b'\x0a', b'\x0d'):
                    continue
                f.seek((p - 1) * page)
                f.write(b'\xff' * 8)
            done.append(p)
            if integrity(r.registry, immutable=True):
                return sorted(set(done))
        return []


SCENARIOS = [
    Kill('orchestrator-kill', 'orchestrator', short=True),
    Kill('supervisor-kill', 'supervisor', short=True),
    Kill('trainer-kill', 'trainer', short=True),
    Kill('evaluator-kill', 'evaluator'),
    Kill('builtin-orchestrator-kill', 'orchestrator', builtin_sweep),
    Kill('builtin-supervisor-kill', 'supervisor', builtin_sweep),
    Kill('builtin-trainer-kill', 'trainer', builtin_sweep),
    Kill('builtin-evaluator-kill', 'evaluator', builtin_sweep),
    DiskFull('registry-disk-full', 'registry', short=True),
    DiskFull('runs-disk-full', 'runs'),
    LockHeld('registry-lock', short=True),
    Corrupt('corrupt-pages', short=True),
]


# ---- the battery ----

class Battery:
    def __init__(self, args):
        self.seed = args.seed
        self.short = args.short
        self.rounds = args.rounds
        self.work = args.dir or tempfile.mkdtemp(prefix='mainline-faults.',
                                                 dir=os.environ.get('TMPDIR', '/tmp'))
        os.makedirs(self.work, exist_ok=True)
        self.watch = Watch()

    def run(self, scenarios):
        become_subreaper()
        self.watch.start()
        rows = []
        t0 = time.monotonic()
        for s in scenarios:
            total = dict.fromkeys(FIGURES, 0)
            n = 0
            for i in range(1, self.rounds + 1):
                r = Round(self, s, i)
                try:
                    r.run()
                except Skip as e:
                    print(f'skip: {s.name}: {e}')
                    r.cleanup()
                    break
                except Exception:   # the battery's own fault: counted, so it fails
                    r.problem('bad', 'the battery failed: ' + traceback.format_exc())
                finally:
                    if not r.log.closed:
                        r.cleanup()
                if self.watch.error:
                    sys.exit('faults.py: the process watch failed:\n' + self.watch.error)
                n += 1
                for k in FIGURES:
                    total[k] += r.fig[k]
                self.report_round(r, time.monotonic() - r.t0)
            if n:
                rows.append((s.name, n, total))
        self.watch.done.set()
        return rows, time.monotonic() - t0

    def report_round(self, r, secs):
        f = r.fig
        print(f'{r.scen.name} #{r.seed.rsplit("/", 1)[1]} ({r.sweep_desc}, {secs:.0f} s): '
              + '; '.join(r.what[:3] or ['-']), flush=True)
        bad = {k: f[k] for k in BAD_FIGURES if f[k]}
        if bad:
            print('    ' + ', '.join(f'{k} {v}' for k, v in bad.items()))
            for p in r.problems[:8]:
                print(f'    - {p}')
            if len(r.problems) > 8:
                print(f'    - ... {len(r.problems) - 8} more in {r.dir}/round.log')
        with open(os.path.join(r.dir, 'problems.txt'), 'w') as out:
            out.write(''.join(p + '\n' for p in r.problems))


def table(rows):
    head = ['scenario', 'rounds', 'kills/faults', 'rows checked', 'rows lost', 'duplicates',
            'double runs', 'needless reruns', 'hangs', 'bad ends']
    lines = ['| ' + ' | '.join(head) + ' |',
             '|---|' + '---:|' * (len(head) - 1)]
    total = dict.fromkeys(FIGURES, 0)
    n = 0
    for name, rounds, f in rows:
        lines.append(f'| {name} | {rounds} | ' + ' | '.join(f'{f[k]:,}' for k in FIGURES) +
                     ' |')
        n += rounds
        for k in FIGURES:
            total[k] += f[k]
    lines.append(f'| total | {n} | ' + ' | '.join(f'{total[k]:,}' for k in FIGURES) + ' |')
    return '\n'.join(lines), total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--short', action='store_true',
                    help='the short battery of make test: a few scenarios, small sweeps')
    ap.add_argument('--rounds', type=int, default=int(os.environ.get('FAULTS_ROUNDS', 0)),
                    help='rounds per scenario (FAULTS_ROUNDS; 3, or 1 with --short)')
    ap.add_argument('--seed', type=int, default=os.environ.get('FAULTS_SEED'),
                    help='the seed of every random choice (FAULTS_SEED; else drawn)')
    ap.add_argument('--only', help='comma-separated scenario names')
    ap.add_argument('--dir', help='where the rounds run (kept); else a temporary directory')
    ap.add_argument('--keep', action='store_true', help='keep the rounds\' directories')
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1000000)
    args.seed = int(args.seed)
    args.rounds = args.rounds or (1 if args.short else 3)
    scenarios = [s for s in SCENARIOS if s.short or not args.short]
    if args.only:
        names = args.only.split(',')
        unknown = set(names) - {s.name for s in SCENARIOS}
        if unknown:
            ap.error(f'no scenario {", ".join(sorted(unknown))}; there are: ' +
                     ', '.join(s.name for s in SCENARIOS))
        scenarios = [s for s in SCENARIOS if s.name in names]
    for prog in (MAINLINE, os.path.join(FAKES, 'fake_trainer'),
                 os.path.join(FAKES, 'fake_evaluator')):
        if not os.access(prog, os.X_OK):
            sys.exit(f'faults.py: no {prog} (make all unit-tests, or set BUILD and BINDIR)')
    b = Battery(args)
    print(f'fault battery: seed {args.seed} (FAULTS_SEED={args.seed} draws the same moments), '
          f'{args.rounds} round(s) of {len(scenarios)} scenario(s), in {b.work}', flush=True)
    rows, secs = b.run(scenarios)
    text, total = table(rows)
    print()
    print(text)
    bad = ', '.join(f'{k} {total[k]}' for k in BAD_FIGURES if total[k])
    print(f'\n{secs:.0f} s; seed {args.seed}; ' +
          (f'found: {bad}; the rounds are kept in {b.work}' if bad else
           'nothing lost, doubled, rerun, hung or left wrong'))
    if not bad and not args.keep and not args.dir:
        shutil.rmtree(b.work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
