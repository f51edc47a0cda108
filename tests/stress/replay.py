#!/usr/bin/env python3
"""Replay test of the whole `inotifywait -m -r` event stream.

Each round builds a small tree t/ (and out/, prep/ beside it), starts the
watcher under test on it as

    $IW -m -r --format '%w%0%f%0%e%0%c%0' --no-newline t

runs a seeded random workload on the tree as fast as it can, then replays
the printed events into a model of the tree, starting from the tree as it
was when the watcher started. Every event must make sense at the point
where it is replayed, and the model must end equal to the real tree.

The workload: one writer, or two writer processes in the subtrees t/w1 and
t/w2, each doing OPS random operations: mkdir -p chains; files created,
written, appended to, renamed (in place and across directories), removed;
directories renamed with their contents at any depth (never into their own
subtree), moved out to out/ (some straight back in elsewhere), trees built
in prep/ and moved in, rm -rf, cp -r; names with spaces and odd bytes. An
operation that fails (a name in use, say) is skipped. Each writer logs
what it did as bash commands in the round's directory (ops-w1.sh, ...).

The contract of `-m -r` that the model checks
----------------------------------------------
A record is four NUL-terminated fields: %w, %f, %e, %c (cookie, in hex).

* The path of an event is %w + %f, relative to the operand: %w starts with
  "t/" and names a watched directory, ending in "/"; for an event on the
  watched directory itself %f is empty. The parent directory of a named
  entry must exist in the model.
* CREATE: the entry must not exist yet; it is added (a directory if ISDIR,
  else a file). The contents of a new or moved-in directory are reported
  as CREATE events too (then MODIFY and CLOSE_WRITE for files), so a new
  tree is rebuilt from the stream alone.
* DELETE: the entry must exist (of the type ISDIR says); it is removed
  with its subtree.
* MOVED_FROM (cookie c): the entry must exist; it is detached with its
  subtree and kept aside under c. MOVED_TO with the same cookie attaches
  it at the new path. The destination must not exist, or be a file or an
  empty directory of the same type, which the rename replaces (rename(2)
  over an existing target is legal). A MOVED_TO with no MOVED_FROM before
  it was moved in from outside: a new entry is added (the contents of a
  moved-in directory follow as CREATE events). A directory moved over
  one of that name replaces it even if the stream told of contents
  there: a scan that ran after the rename saw the new one already. A detached entry that no
  MOVED_TO claims was moved out of the tree: it is gone.
* MODIFY, CLOSE_WRITE, OPEN, ACCESS, ATTRIB, CLOSE_NOWRITE: the entry
  must exist at that point, of the type ISDIR says (a wrong path shows
  here first); with an empty %f, the watched directory %w itself must
  exist. Two exceptions, as a descriptor can outlive its name: a close
  may name an entry deleted before it, even if the name was made again
  since (rm -rf closes a directory after it removed it; a scan closes
  one it read), under the path it has once the directories above it
  were renamed; and the reads of a directory (OPEN, ACCESS,
  CLOSE_NOWRITE) may name it, or what is below it, by the path a
  MOVED_FROM left, until that move's MOVED_TO comes and a few records
  after, or by its new path a few records before the MOVED_TO (a read
  that races a rename names the directory as it was when it began, and
  is queued when it ends), or by its old directory with its new name
  just before the rename's records (the kernel takes the two at
  different moments); for the same reason a read may name a path
  up to a few records after its DELETE (the watcher's own scan opened a
  directory as rm -rf removed it).
* DELETE_SELF, MOVE_SELF, IGNORED, UNMOUNT: no change and no check.
* Q_OVERFLOW anywhere: events were lost, the round cannot be checked. It
  is counted as skipped, not failed.
* Every directory is watched, for all events, under its right path: after
  the writers end and the watcher has printed the CREATE of
  t/.replay-probe-start, a probe lists each directory of the tree and creates
  .replay-probe in it; each listing must be reported by the directory's
  own watch (an OPEN with an empty %f), each new file as any other.
* At the end (after the sentinel t/.replay-end was reported, and the
  watcher was ended with SIGTERM, which writes everything queued), the
  model equals the real tree under t/: the same relative paths, each of
  the same type (directory or file).

Round r uses seed + r: the FAIL line that a failed round prints first
reruns it alone. The workload is the same on a rerun, its timing is not,
so a race may need a few reruns. --pause slows the writers down until the
watcher keeps up: a failure that stays is not a race. IW in the
environment names the binary under test (default: <repo>/inotifywait).

--fanotify watches with -S, and the workload moves no tree in (-S does
not tell what a moved-in tree holds). There a round need not be exact:
the kernel merges the queued events of one name and object (a directory
made and removed again is told removed before what happened in it), and a
directory there at the start is named by the path it has when an event
first names it (see FANOTIFY in inotifywait(1)). Such a round counts as
passed, not exact, and its first difference is printed. It fails only if
the watcher hangs (no record of the probe or the sentinel), ends before
SIGTERM, or writes an unexpected line on stderr.
Standard library only.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = 20.0                 # seconds any single wait may take
SENTINEL = b'.replay-end'
PROBE_START = b'.replay-probe-start'   # created before the probe
PROBE = b'.replay-probe'                # created in every directory
FORMAT = '%w%0%f%0%e%0%c%0'
MAX_DIRS = 120                  # per writer: watches are a shared budget
COPY_MAX = 40                   # entries of a tree cp -r may copy
MAX_DEPTH = 5                   # directory levels below a writer's base

# Names: a small pool, so that names collide often (renames over existing
# targets, mkdir -p through existing directories, re-created names), and
# names with spaces and odd bytes.
PLAIN = [b'a', b'b', b'c', b'd', b'e', b'f1', b'f2']
ODD = [b'a b', b'new\nline', b'tab\tx', b'\xff\xfe', b'-dash', b'q"uote',
       b"it's", b'*star']


def shq(b):
    """Quotes bytes for bash ($'...'), for the operation logs."""
    out = []
    for c in b:
        ch = chr(c)
        if c < 128 and (ch.isalnum() or ch in '/._-+,:=@%'):
            out.append(ch)
        elif ch == "'":
            out.append("\\'")
        elif ch == '\\':
            out.append('\\\\')
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append('\\x%02x' % c)
    return "$'" + ''.join(out) + "'"


def esc(b):
    """Bytes for a one-line message: printable ASCII as is, the rest escaped."""
    return ''.join(chr(c) if 32 <= c < 127 and c != 92 else
                   {9: '\\t', 10: '\\n', 92: '\\\\'}.get(c, '\\x%02x' % c) for c in b)


def join(a, b):
    return a + b'/' + b if a else b


def depth(rel):
    return rel.count(b'/') + 1 if rel else 0


def under(path, top):
    """path is top or inside it (relative bytes paths, b'' is the root)."""
    return top == b'' or path == top or path.startswith(top + b'/')


# ---------------------------------------------------------------------------
# The workload.

class Writer:
    """Random operations in one subtree. It keeps track of the directories
    and files below its base (paths relative to it, b'' is the base), in
    insertion-ordered dicts so that a seed always gives the same run; after
    an operation that failed, it reads the real tree again."""

    def __init__(self, rnd, root, base, tag):
        self.rnd = rnd
        self.root = root            # the round directory (bytes, absolute)
        self.base = base            # b't' or b't/w1' (relative to root)
        self.tag = tag              # unique names in out/ and prep/
        self.n = 0
        self.log = []               # bash commands, run from root
        self.outside = []           # (path in out/, levels) it moved out
        self.no_move_in = False     # no tree moved in (-S does not tell one)
        self.dirs = {}
        self.files = {}
        self.resync()

    def abs(self, rel):
        return os.path.join(self.root, self.base, rel) if rel else \
            os.path.join(self.root, self.base)

    def shown(self, rel):
        return join(self.base, rel)

    def resync(self):
        self.dirs = {b'': None}
        self.files = {}
        top = self.abs(b'')
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            rel = os.path.relpath(dirpath, top)
            rel = b'' if rel == b'.' else rel
            for d in dirnames:
                self.dirs[join(rel, d)] = None
            for f in sorted(filenames):
                self.files[join(rel, f)] = None

    def name(self):
        if self.rnd.random() < 0.25:
            return self.rnd.choice(ODD)
        return self.rnd.choice(PLAIN)

    def content(self):
        return bytes(self.rnd.choice(b'abcdefgh') for _ in
                     range(self.rnd.randint(1, 64)))

    def pick_dir(self, top_ok=True):
        dirs = [d for d in self.dirs if top_ok or d]
        return self.rnd.choice(dirs) if dirs else None

    def height(self, top):
        """Levels of directories below top."""
        return max(depth(d) for d in self.dirs if under(d, top)) - depth(top)

    def parents_for(self, top, levels):
        """Directories that can take a tree of that many levels, not inside top."""
        return [d for d in self.dirs if depth(d) + levels <= MAX_DEPTH and
                (top is None or not under(d, top))]

    def unique(self):
        self.n += 1
        return b'%s-%d' % (self.tag, self.n)

    def drop(self, top):
        """Forgets top and all below it."""
        for d in (self.dirs, self.files):
            for k in [k for k in d if k == top or k.startswith(top + b'/')]:
                del d[k]

    def move(self, src, dst):
        """Tracks rename(src, dst) of a directory."""
        self.drop(dst)
        for d in (self.dirs, self.files):
            items = list(d.items())
            d.clear()
            for k, v in items:
                if k == src or k.startswith(src + b'/'):
                    k = dst + k[len(src):]
                d[k] = v

    # The operations. Each returns nothing; an OSError is the caller's.

    def op_mkdir(self):
        parent = self.rnd.choice(self.parents_for(None, 1))
        path = parent
        for _ in range(self.rnd.randint(1, min(4, MAX_DEPTH - depth(parent)))):
            path = join(path, self.name())
        self.log.append(b'mkdir -p ' + shq(self.shown(path)).encode('latin-1'))
        os.makedirs(self.abs(path), exist_ok=True)
        while path != parent:
            self.dirs[path] = None
            path = os.path.dirname(path)

    def op_create(self):
        path = join(self.pick_dir(), self.name())
        data = self.content()
        self.log.append(b'printf %s ' + data + b' >' +
                        shq(self.shown(path)).encode('latin-1'))
        fd = os.open(self.abs(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        self.files[path] = None

    def op_write(self, append):
        if not self.files:
            return self.op_create()
        path = self.rnd.choice(list(self.files))
        data = self.content()
        self.log.append(b'printf %s ' + data + (b' >>' if append else b' >') +
                        shq(self.shown(path)).encode('latin-1'))
        flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
        fd = os.open(self.abs(path), flags)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def op_rename_file(self, across):
        if not self.files:
            return self.op_create()
        src = self.rnd.choice(list(self.files))
        parent = self.pick_dir() if across else os.path.dirname(src)
        dst = join(parent, self.name())
        if dst == src:
            return
        self.log.append(b'mv ' + shq(self.shown(src)).encode('latin-1') + b' ' +
                        shq(self.shown(dst)).encode('latin-1'))
        os.rename(self.abs(src), self.abs(dst))
        del self.files[src]
        self.files[dst] = None

    def op_rename_dir(self):
        src = self.pick_dir(top_ok=False)
        if src is None:
            return self.op_mkdir()
        # Never into its own subtree (the kernel refuses it anyway).
        parents = self.parents_for(src, 1 + self.height(src))
        if self.rnd.random() < 0.4 or not parents:
            parents = [os.path.dirname(src)]      # a rename in place
        dst = join(self.rnd.choice(parents), self.name())
        if dst == src:
            return
        self.log.append(b'mv ' + shq(self.shown(src)).encode('latin-1') + b' ' +
                        shq(self.shown(dst)).encode('latin-1'))
        os.rename(self.abs(src), self.abs(dst))
        self.move(src, dst)

    def op_move_out(self):
        src = self.pick_dir(top_ok=False)
        if src is None:
            return
        dst = b'out/' + self.unique()
        self.log.append(b'mv ' + shq(self.shown(src)).encode('latin-1') + b' ' + dst)
        os.rename(self.abs(src), os.path.join(self.root, dst))
        self.outside.append((dst, 1 + self.height(src)))
        self.drop(src)
        if self.rnd.random() < 0.3:
            self.op_move_back(-1)       # out and straight back in

    def op_move_back(self, which=None):
        """A directory moved out earlier comes back in, somewhere else."""
        if not self.outside:
            return self.op_move_out()
        k = self.rnd.randrange(len(self.outside)) if which is None else which
        src, levels = self.outside.pop(k)
        top = os.path.join(self.root, src)
        # Nothing looks inside it while it is out: events there would be
        # reported under its old path until the watcher unwatches it.
        parents = self.parents_for(None, levels)
        if not parents:
            self.outside.append((src, levels))
            return
        dst = join(self.rnd.choice(parents), self.name())
        self.log.append(b'mv ' + src + b' ' + shq(self.shown(dst)).encode('latin-1'))
        try:
            os.rename(top, self.abs(dst))
        except OSError:
            self.outside.append((src, levels))
            raise
        self.resync()

    def build(self, path, depth):
        """A prepared tree in prep/: a few levels, files, some empty."""
        os.mkdir(os.path.join(self.root, path))
        self.log.append(b'mkdir ' + shq(path).encode('latin-1'))
        for _ in range(self.rnd.randint(0, 3)):
            f = join(path, self.name())
            data = b'' if self.rnd.random() < 0.3 else self.content()
            if os.path.exists(os.path.join(self.root, f)):
                continue
            with open(os.path.join(self.root, f), 'wb') as fp:
                fp.write(data)
            self.log.append(b'printf %s ' + (data or b"''") + b' >' +
                            shq(f).encode('latin-1'))
        if depth > 1:
            for _ in range(self.rnd.randint(0, 2)):
                d = join(path, self.name())
                if not os.path.exists(os.path.join(self.root, d)):
                    self.build(d, depth - 1)

    def op_move_in(self):
        prep = b'prep/' + self.unique()
        levels = self.rnd.randint(1, 3)
        self.build(prep, levels)
        dst = join(self.rnd.choice(self.parents_for(None, levels)), self.name())
        self.log.append(b'mv ' + prep + b' ' + shq(self.shown(dst)).encode('latin-1'))
        os.rename(os.path.join(self.root, prep), self.abs(dst))
        self.resync()

    def op_rm(self):
        if not self.files:
            return
        path = self.rnd.choice(list(self.files))
        self.log.append(b'rm ' + shq(self.shown(path)).encode('latin-1'))
        os.unlink(self.abs(path))
        del self.files[path]

    def op_rmtree(self):
        src = self.pick_dir(top_ok=False)
        if src is None:
            return
        self.log.append(b'rm -rf ' + shq(self.shown(src)).encode('latin-1'))
        shutil.rmtree(self.abs(src))
        self.drop(src)

    def op_copytree(self):
        src = self.pick_dir(top_ok=False)
        if src is None:
            return
        size = sum(1 for d in (self.dirs, self.files) for k in d if under(k, src))
        if size > COPY_MAX:
            return
        parents = self.parents_for(src, 1 + self.height(src))
        if not parents:
            return
        dst = join(self.rnd.choice(parents), self.name())
        self.log.append(b'cp -r ' + shq(self.shown(src)).encode('latin-1') + b' ' +
                        shq(self.shown(dst)).encode('latin-1'))
        shutil.copytree(self.abs(src), self.abs(dst))
        self.resync()

    def one(self):
        """One random operation; growth stops while the tree is large."""
        big = len(self.dirs) > MAX_DIRS
        ops = [
            (3, self.op_mkdir, True),
            (4, self.op_create, False),
            (2, lambda: self.op_write(False), False),
            (2, lambda: self.op_write(True), False),
            (2, lambda: self.op_rename_file(False), False),
            (2, lambda: self.op_rename_file(True), False),
            (4, self.op_rename_dir, False),
            (1, self.op_move_out, False),
            (0 if self.no_move_in else 1, self.op_move_back, True),
            (0 if self.no_move_in else 1, self.op_move_in, True),
            (2, self.op_rm, False),
            (1 if not big else 4, self.op_rmtree, False),
            (1, self.op_copytree, True),
        ]
        ops = [(w, f) for w, f, grows in ops if not (big and grows)]
        x = self.rnd.uniform(0, sum(w for w, _ in ops))
        for w, f in ops:
            x -= w
            if x <= 0:
                break
        try:
            f()
        except OSError as e:
            # A target that exists, a name in use as the other type, ...
            self.log.append(b'# failed: ' + str(e).encode('utf-8', 'replace'))
            self.resync()

    def run(self, ops, pause):
        for _ in range(ops):
            self.one()
            if pause:
                time.sleep(pause)


def populate(root, base, seed):
    """A few directories and files, before the watcher starts."""
    w = Writer(random.Random('%s-init-%s' % (seed, base)), root, base, b'i')
    for _ in range(3):
        w.op_mkdir()
    for _ in range(5):
        try:
            w.op_create()
        except OSError:
            w.resync()


def run_writers(root, writers, ops, pause):
    """Runs the writers in child processes; returns a problem or None."""
    pids = []
    for k, w in enumerate(writers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                try:
                    w.run(ops, pause)
                finally:
                    with open(os.path.join(root, b'ops-w%d.sh' % (k + 1)), 'wb') as fp:
                        fp.write(b'\n'.join(w.log) + b'\n')
                code = 0
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        pids.append(pid)
    problem = None
    end = time.monotonic() + DEADLINE
    while pids:
        for pid in list(pids):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pids.remove(pid)
                if os.waitstatus_to_exitcode(status) != 0 and problem is None:
                    problem = 'a writer failed (status %d)' % \
                        os.waitstatus_to_exitcode(status)
        if pids and time.monotonic() > end:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            return 'the writers did not finish within %ds' % DEADLINE
        if pids:
            time.sleep(0.005)
    return problem


# ---------------------------------------------------------------------------
# The tree, real and modelled: a directory is a dict of name -> entry, a
# file is None.

def read_tree(top):
    tree = {}
    for name in os.listdir(top):
        p = os.path.join(top, name)
        tree[name] = read_tree(p) if os.path.isdir(p) and not os.path.islink(p) else None
    return tree


def flatten(tree, prefix=b'', out=None):
    out = {} if out is None else out
    for name, sub in tree.items():
        p = join(prefix, name)
        out[p] = 'dir' if sub is not None else 'file'
        if sub is not None:
            flatten(sub, p, out)
    return out


class Model:
    """Replays records into a tree; collects problems."""

    def __init__(self, tree):
        self.root = tree
        self.pending = {}           # cookie -> (name, entry) detached
        self.deleted = set()        # paths deleted, as renames moved them
        self.deleted_at = {}        # path -> the index of its DELETE
        self.pending_paths = {}     # cookie -> the path a MOVED_FROM left
        self.left_paths = {}        # path a move left -> its MOVED_TO's index
        self.problems = []          # (record index, text)
        self.records = []           # all of them, to look ahead

    def moved_in_soon(self, i, path):
        """Whether a MOVED_TO of path follows record i closely."""
        for w, f, e, _ in self.records[i + 1:i + 1 + RACE_RECORDS]:
            if w + f == path and b'MOVED_TO' in e:
                return True
        return False

    def renamed_soon(self, i, w, f):
        """Whether an entry of w is renamed to the name f just after record
        i: the kernel may take the directory and the name of a read that
        races a rename at different moments, so that the read names the
        old directory with the new name."""
        window = self.records[i + 1:i + 1 + 2 * RACE_RECORDS]
        cookies = {c for w2, _, e, c in window if w2 == w and b'MOVED_FROM' in e}
        return any(c in cookies and f2 == f and b'MOVED_TO' in e
                   for _, f2, e, c in window)

    def problem(self, i, text):
        self.problems.append((i, text))

    def find(self, parts):
        """(parent dict, name) for the path, or (None, None)."""
        d = self.root
        for p in parts[:-1]:
            d = d.get(p) if isinstance(d, dict) else None
            if not isinstance(d, dict):
                return None, None
        return d, parts[-1]

    def lookup_dir(self, parts):
        d = self.root
        for p in parts:
            d = d.get(p) if isinstance(d, dict) else None
            if not isinstance(d, dict):
                return None
        return d

    def replay(self, i, w, f, e, c):
        show = lambda: esc(w + f)
        if not w.startswith(b't/') or not w.endswith(b'/'):
            return self.problem(i, '%%w %s is not a directory of the tree' % esc(w))
        dparts = w[2:].split(b'/')[:-1]
        if b'' in dparts or b'/' in f:
            return self.problem(i, 'malformed path %s' % esc(w + f))
        isdir = 'ISDIR' in e
        if e & {'DELETE_SELF', 'MOVE_SELF', 'IGNORED', 'UNMOUNT'}:
            return
        # A directory read through a descriptor opened before its rename
        # is reported under its old path until the MOVED_TO is read.
        if e <= READING and any((w + f + b'/').startswith(p + b'/')
                                for p in self.pending_paths.values()):
            return
        if e <= READING and any((w + f + b'/').startswith(p + b'/')
                                for p, k in self.left_paths.items()
                                if i - k <= RACE_RECORDS):
            return
        if f == b'':
            if self.lookup_dir(dparts) is None:
                self.problem(i, '%s on directory %s, which does not exist in the '
                             'model' % (','.join(sorted(e)), show()))
            return
        parent, name = self.find(dparts + [f])
        if parent is None:
            return self.problem(i, '%s %s: the parent directory does not exist in '
                                'the model' % (','.join(sorted(e)), show()))
        have = name in parent
        kind = lambda x: 'directory' if x is not None else 'file'
        closing_deleted = e <= CLOSING and w + f in self.deleted
        if have and (parent[name] is not None) != isdir and \
                not e & {'CREATE', 'MOVED_TO'} and not closing_deleted:
            self.problem(i, '%s %s: the model has a %s there' % (
                ','.join(sorted(e)), show(), kind(parent[name])))
        if 'CREATE' in e:
            if have:
                self.problem(i, 'CREATE %s: it exists already' % show())
            parent[name] = {} if isdir else None
        elif 'DELETE' in e:
            if not have:
                self.problem(i, 'DELETE %s: it does not exist' % show())
            parent.pop(name, None)
            self.deleted.add(w + f)
            self.deleted_at[w + f] = i
        elif 'MOVED_FROM' in e:
            if not have:
                self.problem(i, 'MOVED_FROM %s: it does not exist' % show())
                return
            self.pending[c] = parent.pop(name)
            self.pending_paths[c] = w + f
        elif 'MOVED_TO' in e:
            left = self.pending_paths.pop(c, None)
            if left is not None:
                self.left_paths[left] = i
            if left is not None and isdir:
                # What was deleted below the directory moves with it.
                self.deleted = {w + f + d[len(left):]
                                if d.startswith(left + b'/') else d
                                for d in self.deleted}
            entry = self.pending.pop(c) if c in self.pending else \
                ({} if isdir else None)
            if (entry is not None) != isdir:
                self.problem(i, 'MOVED_TO %s: the entry moved is a %s' % (
                    show(), kind(entry)))
            if have:
                old = parent[name]
                # A directory moved over one of the same name replaces
                # it, whatever the stream told of the old one: a scan
                # that ran after the rename (of a new parent, or of the
                # directory replaced) saw the new one already, and told
                # what it holds; the stream tells it again after this.
                if (old is not None) != isdir:
                    self.problem(i, 'MOVED_TO %s: would replace a %s%s' % (
                        show(), 'non-empty ' if old else '', kind(old)))
            parent[name] = entry
        elif not have and not closing_deleted and \
                not (e <= READING and self.moved_in_soon(i, w + f)) and \
                not (e <= READING and self.renamed_soon(i, w, f)) and \
                not (e <= READING and
                     i - self.deleted_at.get(w + f, -RACE_RECORDS - 1) <= RACE_RECORDS):
            # A descriptor may be closed after its entry was deleted
            # (rm -rf closes a directory once it has removed it).
            self.problem(i, '%s %s: it does not exist' % (','.join(sorted(e)), show()))


CLOSING = {'CLOSE_NOWRITE', 'CLOSE_WRITE', 'CLOSE', 'ISDIR'}
# A rename queues its MOVED_TO once it is done: a read that raced it can
# name the new path a few records before.
RACE_RECORDS = 16
READING = {'OPEN', 'ACCESS', 'CLOSE_NOWRITE', 'CLOSE', 'ISDIR'}


def parse(data):
    """The records: lists of 4 fields. Raises ValueError if malformed."""
    fields = data.split(b'\0')
    if fields[-1] != b'':
        raise ValueError('the output does not end with a NUL '
                         '(%d bytes after the last one)' % len(fields[-1]))
    fields.pop()
    if len(fields) % 4:
        raise ValueError('%d fields, not a multiple of 4' % len(fields))
    return [fields[k:k + 4] for k in range(0, len(fields), 4)]


def fmt_record(i, r):
    w, f, e, c = r
    return '  #%d %s %s %s' % (i, esc(w + f), esc(e), esc(c))


# ---------------------------------------------------------------------------
# One round.

class RoundFailed(Exception):
    def __init__(self, first, details=()):
        super().__init__(first)
        self.first = first
        self.details = list(details)


class RoundInexact(RoundFailed):
    """Under -S: the stream does not rebuild the tree, as -S may not."""


def wait_for(cond, what, proc=None):
    end = time.monotonic() + DEADLINE
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise RoundFailed('the watcher exited (status %d) while waiting for %s'
                              % (proc.returncode, what))
        if time.monotonic() > end:
            raise RoundFailed('no %s within %ds' % (what, DEADLINE))
        time.sleep(0.01)


def record_seen(path, mark):
    """Whether the output file holds the record that starts with mark."""
    with open(path, 'rb') as fp:
        data = fp.read()
    k = data.find(mark)
    while k > 0 and data[k - 1] != 0:
        k = data.find(mark, k + 1)
    return k >= 0


def run_round(iw, seed, writers, ops, root, pause=0.0, fanotify=False):
    """Returns ('exact' or 'skipped', events replayed); raises RoundFailed,
    or under -S (fanotify) RoundInexact where the stream does not rebuild
    the tree (see the module's text): there a round fails only if the
    watcher hangs, ends or complains."""
    t = os.path.join(root, b't')
    os.mkdir(t)
    os.mkdir(os.path.join(root, b'out'))
    os.mkdir(os.path.join(root, b'prep'))
    bases = [b't'] if writers == 1 else [b't/w1', b't/w2']
    for base in bases:
        if base != b't':
            os.mkdir(os.path.join(root, base))
        populate(root, base, seed)
    model = Model(read_tree(t))
    # Made now, so that their first look at the tree is not in the stream.
    workers = [Writer(random.Random('%s-w%d' % (seed, k + 1)), root, base,
                      b'w%d' % (k + 1)) for k, base in enumerate(bases)]
    for w in workers:
        w.no_move_in = fanotify

    out_path = os.path.join(root, b'out.bin')
    err_path = os.path.join(root, b'err.txt')
    with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
        proc = subprocess.Popen([iw, '-m', '-r'] + (['-S'] if fanotify else []) +
                                ['--format', FORMAT, '--no-newline', 't'],
                                cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    try:
        def established():
            with open(err_path, 'rb') as fp:
                return b'Watches established.\n' in fp.read()
        wait_for(established, '"Watches established." on stderr', proc)

        problem = run_writers(root, workers, ops, pause)
        if problem:
            raise RoundFailed(problem)

        # The probe: every directory is listed and gets a new file, so
        # that one left unwatched, or watched without the full mask,
        # shows whatever the workload happened to do in it. It starts once
        # the watcher has caught up with the workload: a directory that a
        # scan still has to find would otherwise be listed before it is
        # watched.
        with open(os.path.join(t, PROBE_START), 'wb'):
            pass
        start_mark = b't/\0' + PROBE_START + b'\0CREATE\0'
        wait_for(lambda: record_seen(out_path, start_mark),
                 'CREATE record for t/' + PROBE_START.decode(), proc)
        for dirpath, dirnames, _ in os.walk(t):
            dirnames.sort()
            os.listdir(dirpath)
            with open(os.path.join(dirpath, PROBE), 'wb'):
                pass

        # The sentinel: once its CREATE is printed, so is all before it.
        with open(os.path.join(t, SENTINEL), 'wb'):
            pass
        mark = b't/\0' + SENTINEL + b'\0CREATE\0'

        wait_for(lambda: record_seen(out_path, mark),
                 'CREATE record for t/.replay-end', proc)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            raise RoundFailed('the watcher did not end within %ds of SIGTERM' % DEADLINE)
        if proc.returncode != -signal.SIGTERM:
            raise RoundFailed('the watcher exited with status %d after SIGTERM, '
                              'not by the signal' % proc.returncode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    with open(err_path, 'rb') as fp:
        errlines = [esc(l) for l in fp.read().split(b'\n') if l]
    expected = {'Setting up watches.  Beware: since -r was given, this may take a while!',
                'Watches established.', 'Event queue overflowed: events were lost.'}
    with open(out_path, 'rb') as fp:
        data = fp.read()
    try:
        records = parse(data)
    except ValueError as e:
        raise RoundFailed('unparsable output: %s' % e)
    if any(b'Q_OVERFLOW' in r[2] for r in records):
        return 'skipped', 0

    model.records = records
    for i, (w, f, e, c) in enumerate(records):
        model.replay(i, w, f, set(e.decode('ascii', 'replace').split(',')), c)
    # Unclaimed MOVED_FROMs were moves out of the tree: they are gone.
    real = read_tree(t)
    want = flatten(real)
    # Each directory was listed by the probe: its own watch reports that
    # (an OPEN with an empty %f) unless it is unwatched or lacks events.
    start = next((k for k, r in enumerate(records) if r[0] == b't/' and
                  r[1] == PROBE_START and r[2] == b'CREATE'), len(records))
    listed = {r[0][2:].rstrip(b'/') for r in records[start:]
              if r[1] == b'' and b'OPEN' in r[2].split(b',')}
    for p in [b''] + [p for p, kind in sorted(want.items()) if kind == 'dir']:
        if p not in listed:
            model.problem(len(records), 'directory t/%s is not watched for all events at '
                          'the end: its listing by the probe was not reported' % esc(p))
    got = flatten(model.root)
    diffs = []
    for p in sorted(set(want) | set(got)):
        if want.get(p) != got.get(p):
            diffs.append('  t/%s: tree has %s, model has %s' % (
                esc(p), want.get(p, 'nothing'), got.get(p, 'nothing')))
    odd = [l for l in errlines if l not in expected]
    if model.problems or diffs or odd:
        details = []
        if model.problems:
            i, text = model.problems[0]
            first = 'record #%d: %s' % (i, text)
            details.append('%d problems while replaying; the first ones:' % len(model.problems))
            details += ['  record #%d: %s' % p for p in model.problems[:5]]
            if i < len(records):
                details.append('records before and at #%d:' % i)
                details += [fmt_record(k, records[k]) for k in range(max(0, i - 12), i + 1)]
        elif diffs:
            first = 'the model differs from the tree in %d paths, first %s' % (
                len(diffs), diffs[0].strip())
        else:
            first = 'unexpected stderr: %s' % odd[0]
        if diffs:
            details.append('%d differences between the tree and the model; the first ones:'
                           % len(diffs))
            details += diffs[:10]
        if odd:
            details.append('unexpected stderr lines: ' + ' | '.join(odd[:5]))
        raise (RoundInexact if fanotify and not odd else RoundFailed)(first, details)
    return 'exact', len(records)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=None,
                    help='round r uses seed + r (default: a random seed, printed)')
    ap.add_argument('--rounds', type=int, default=30)
    ap.add_argument('--ops', type=int, default=500, help='operations per writer')
    ap.add_argument('--writers', type=int, choices=(1, 2), default=1)
    ap.add_argument('--keep', action='store_true', help='keep every round\'s directory')
    ap.add_argument('--keep-going', action='store_true',
                    help='go on after a failed round (the status is still 1)')
    ap.add_argument('--pause', type=float, default=0.0, metavar='SECONDS',
                    help='sleep after each operation (default 0); with a pause the '
                    'watcher keeps up, most races vanish, which tells a race from a '
                    'plain bug')
    ap.add_argument('--fanotify', action='store_true',
                    help='watch with -S; the workload moves no tree in, as -S does not '
                    'tell what a tree moved in holds')
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1, 1 << 31)
    iw = os.environ.get('IW') or os.path.join(TOP, 'inotifywait')
    print('replay: IW=%s seed=%d writers=%d ops=%d rounds=%d' % (
        iw, seed, a.writers, a.ops, a.rounds), flush=True)
    start = time.monotonic()
    passed = failed = skipped = inexact = events = 0
    for r in range(a.rounds):
        s = seed + r
        root = tempfile.mkdtemp(prefix='replay-%d-' % s).encode()
        try:
            outcome, n = run_round(iw, s, a.writers, a.ops, root, a.pause, a.fanotify)
        except RoundInexact as e:
            outcome, n = 'inexact', 0
            print('replay: round seed=%d not exact (-S): %s' % (s, e.first), flush=True)
        except RoundFailed as e:
            failed += 1
            opt = ' --pause %g' % a.pause if a.pause else ''
            opt += ' --fanotify' if a.fanotify else ''
            print('replay: FAIL seed=%d writers=%d ops=%d%s: %s; rerun: tests/stress/replay.py '
                  '--seed %d --writers %d --ops %d%s --rounds 1' % (
                      s, a.writers, a.ops, opt.replace(' --pause ', ' pause='), e.first,
                      s, a.writers, a.ops, opt), flush=True)
            for line in e.details:
                print(line)
            print('round directory kept: %s (out.bin, err.txt, ops-w*.sh)' % root.decode(),
                  flush=True)
            if a.keep_going:
                continue
            break
        events += n
        if outcome == 'skipped':
            skipped += 1
            print('replay: round seed=%d skipped: queue overflow' % s, flush=True)
        elif outcome == 'inexact':
            inexact += 1
        else:
            passed += 1
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    print('replay: %d rounds passed, %d failed, %d skipped (overflow), %s%d events replayed, '
          '%.1f s (seed=%d writers=%d ops=%d%s)' % (
              passed, failed, skipped,
              '%d passed not exact (-S) ' % inexact if a.fanotify else '',
              events, time.monotonic() - start, seed, a.writers, a.ops,
              ' -S' if a.fanotify else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
