#!/usr/bin/env python3
"""argdiff: a seeded random differential test of command-line arguments.

Generates random argument vectors for inotifywait and inotifywatch from a
small grammar (valid and invalid values mixed), runs each vector against our
binary and against the reference (inotify-tools 3.22.6 in /usr/bin), each in
a fresh directory of the same tiny layout, and compares stdout bytes, stderr
bytes, the exit status and the -o outfile.

    tests/stress/argdiff.py [--seed S] [--cases N] [--tool T] [--case K]

Binaries: IW and IWATCH (default: the repository's ./inotifywait and
./inotifywatch); the reference is /usr/bin/inotifywait and
/usr/bin/inotifywatch (REF_IW / REF_IWATCH to change it).  Both sides are
started with argv[0] = the bare tool name, so getopt's messages match.

Every case K of seed S is generated from its own random generator seeded
with "S:tool:K", so `--case K` reruns exactly that case.

Running one vector (both sides at once, each in its own directory):
  * parse errors simply end the program;
  * otherwise, once the watcher is ready (its "Watches established." or
    "Finished establishing watches..." line on stderr, or the kernel lists
    at least one inotify watch for it in /proc/PID/fdinfo and the count is
    the same over two polls 50 ms apart, or it has ended), one fixed
    action touches the tree (see act()), then we wait for the exit;
  * a harness `-t` keeps anything from waiting for ever: `-t 2` for
    inotifywait without -m, `-t 1` with -m and for inotifywatch, inserted
    after any generated -t (so a generated valid non-zero -t stays in
    force) and before any `--`;
  * a run still going 10 s after its start is a hang: killed, and a failure.

Known differences are not failures.  Each is tagged with the row of
docs/compat.md it comes from (see COMPAT below); the generator avoids some
outright (listed in AVOIDED), others are generated rarely and recognised
by the comparator, either from the outputs (precise) or from the case's
arguments (tag: any difference in such a case is put down to it).
Differences known and not fixed yet (PENDING, none now) are still
reported, as failures, but grouped as "known, being fixed";
`--pending-ok` stops them from failing the run.

Exit status: 0 when every case passed or was a known deliberate
difference, 1 otherwise.  Standard library only.
"""

import argparse
import concurrent.futures
import difflib
import os
import random
import re
import shlex
import shutil
import sys
import tempfile
import threading
import time
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = 10.0  # seconds a single run may take before it counts as a hang

TOOLS = {
    "inotifywait": {
        "env": "IW", "refenv": "REF_IW", "ref": "/usr/bin/inotifywait",
        "cases": 300, "ready": b"Watches established.\n",
    },
    "inotifywatch": {
        "env": "IWATCH", "refenv": "REF_IWATCH", "ref": "/usr/bin/inotifywatch",
        "cases": 150,
        "ready": b"Finished establishing watches, now collecting statistics.\n",
    },
}

# Deliberate differences, by the docs/compat.md row they come from.  A case
# whose outputs differ only in one of these is skipped, not failed.
COMPAT = {
    "help": "compat.md, both tools: `--help` (stdout, exit 0, our own words)",
    "version": "compat.md, both tools: `--version` (and the `--v`/`--ver` prefixes)",
    "empty-e": "compat.md, both tools: an empty name in an `-e` list",
    "pct-pct-T": "compat.md, inotifywait: `--format '%%T'` without `--timefmt`",
    "trailing-pct": "compat.md, inotifywait: `%` at the end of `--format` with `--no-newline`",
    "empty-T": "compat.md, inotifywait: `%T` whose `--timefmt` renders empty",
    "second-format": "compat.md, inotifywait: a second `--format`",
    "long-output": "compat.md, inotifywait: output longer than 4095 bytes per event",
    "d-access": "compat.md, inotifywatch: `-d access`",
    "d-move-close": "compat.md, inotifywatch: `-d move`, `-d close`",
    "d-empty": "compat.md, inotifywatch: `-d ''`, `-d modify,` (a key with an empty name)",
    "multi-bit-key": "compat.md, inotifywatch: a key naming several events",
    "d-then-a": "compat.md, inotifywatch: `-d X -d Y`, `-d X -a Y`",
    "fanotify": "compat.md, `-F` and `-S`: the fanotify back end",
}

# Deliberate differences the generator never produces, and why.
AVOIDED = {
    "compat.md, both tools: negative `-t`; values of 2^32 and more":
        "only 0..2, -0 and out-of-range (ERANGE) values are generated",
    "compat.md, inotifywait: `--csv` and a carriage return in a name":
        "no name in the tree or the operands holds a CR",
    "compat.md, inotifywait: `-d`":
        "-d is only generated without -o (the `-o must be specified` error)",
    "compat.md, inotifywait: `-s`":
        "never generated: it writes to the system log",
    "compat.md, reliability rows and the -r/filter rows":
        "the action creates no directory, moves nothing and ends long before -t",
}

# Differences known and not yet fixed: reported as failures, grouped
# ("known, being fixed"); --pending-ok keeps them from failing the run.
# None now: the order of ambiguous-option candidates, the --exclude
# warning after a getopt error, sort keys with an empty name and
# overlapping operands all match the reference.
PENDING = {}

# --------------------------------------------------------------------------
# The tree every run starts from (relative to its work directory W); the
# outfile directory ../o is outside W so writing it makes no events.

def make_tree(root, listfile):
    w = os.path.join(root, "w")
    os.makedirs(os.path.join(w, "d", "s"))
    os.makedirs(os.path.join(root, "o"))
    for name in ("f", "d/r"):
        with open(os.path.join(w, name), "w") as fh:
            fh.write("hello\n")
    os.symlink("d", os.path.join(w, "l"))
    os.symlink("f", os.path.join(w, "lf"))
    os.symlink("nowhere", os.path.join(w, "dang"))
    if listfile is not None:
        with open(os.path.join(w, "list"), "wb") as fh:
            fh.write(listfile)
    return w


def act(w):
    """The one fixed action.  Only files, never a directory (the scan of new
    directories is a deliberate difference), and no renames (cookies differ
    between runs).  No event happens twice on one watch with the same name:
    the kernel merges an event with an identical one still at the tail of
    its queue, which happens or not depending on when the watcher reads
    (and the -e mask decides which events end up next to each other)."""
    # CREATE, OPEN, MODIFY, CLOSE_WRITE of d/new
    fd = os.open(os.path.join(w, "d", "new"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x")
    os.close(fd)
    # OPEN, MODIFY, CLOSE_WRITE of f
    fd = os.open(os.path.join(w, "f"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"y")
    os.close(fd)
    # CREATE, OPEN, CLOSE_WRITE, ATTRIB of d/s/t
    fd = os.open(os.path.join(w, "d", "s", "t"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    os.utime(os.path.join(w, "d", "s", "t"), (1, 1))
    # DELETE of d/new
    os.unlink(os.path.join(w, "d", "new"))
    # OPEN, ACCESS, CLOSE_NOWRITE of d/r (one read that returns data: a
    # read that returns nothing makes no ACCESS)
    fd = os.open(os.path.join(w, "d", "r"), os.O_RDONLY)
    os.read(fd, 100)
    os.close(fd)


# --------------------------------------------------------------------------
# The grammar.  A case is a list of pieces; a piece is a few argv words and
# what they mean (kind k, value v), so that the case can be analysed without
# re-implementing getopt.

EVENTS = ["access", "modify", "attrib", "close_write", "close_nowrite", "open",
          "moved_from", "moved_to", "create", "delete", "delete_self",
          "move_self", "unmount", "q_overflow", "ignored", "close", "move",
          "isdir", "oneshot", "all_events"]
UNKNOWN_EVENTS = ["foo", "modfy", "close_writes", "all", "moved", "0x2",
                  " modify", "modify ", "isdir2", "ALL-EVENTS", "é"]
COLUMNS = ["access", "modify", "attrib", "close_write", "close_nowrite", "open",
           "moved_from", "moved_to", "move_self", "create", "delete",
           "delete_self", "unmount"]
VALID_RE = ["new", "^d/", "s/", "NEW", "x|new", r"\.txt$", "f$", "d/$", "^$",
            ".", "zzz", "[ns]/", "e+", r"^\./", "^f", "T"]
BAD_RE = ["(", "[a", "a{1", "\\", "a{2,1}", "[[:nope:]]", "(|", "*a"]
TIMEFMTS = ["%Y", "%%", "text", "Y=%Y", "%C", "%y", "%%Y", "%n", "%t", "a b", "%Y%%%C"]
OPERANDS = ["d", "d/", "./d", "d//", "d/s", "d/s/", "f", "./f", "missing",
            "l", "lf", "dang", ".", "{W}/d", "{W}/f", "d/../f", "-",
            "d/s/../..", "nodir/x"]
EXCLUDE_OPS = ["@d/s", "@d/s/", "@./d/s", "@missing", "@", "@d", ""]


class Piece:
    def __init__(self, args, k, v=None, short=False):
        self.args = list(args)  # the argv words
        self.k = k              # what it is (see analyse())
        self.v = v              # its value, if any
        self.short = short      # starts with a short option (`-x...`)

    def flag_only(self):
        """A lone cluster of short flags without a value, like -q or -qq,
        which may join the next short option's cluster (-q -m -> -qm)."""
        return (self.k in FLAG_KINDS and len(self.args) == 1 and
                re.fullmatch(r"-[A-Za-z]+", self.args[0]) is not None)


FLAG_KINDS = ("m", "q", "c", "r", "P", "z", "v", "ignored", "daemon", "bad")


def mixcase(r, s):
    x = r.random()
    if x < 0.5:
        return s
    if x < 0.7:
        return s.upper()
    return "".join(ch.upper() if r.random() < 0.5 else ch for ch in s)


def opt(r, short, long_, val, k, prefixes=()):
    """One option with a value, in one of its spellings."""
    forms = []
    if short:
        forms.append([short, val])
        if val != "":
            forms.append([short + val])
    forms += [[long_, val], [long_ + "=" + val]]
    forms += [[p, val] for p in prefixes]
    args = r.choice(forms)
    return Piece(args, k, val, short=args[0].startswith("-") and not args[0].startswith("--"))


def flag(r, spellings, k):
    a = r.choice(spellings)
    return Piece([a], k, short=not a.startswith("--"))


def gen_event_list(r, allow_empty=True):
    if r.random() < 0.04:
        return ""
    toks = []
    for _ in range(r.choice([1, 1, 1, 2, 2, 3])):
        x = r.random()
        if x < 0.82:
            toks.append(mixcase(r, r.choice(EVENTS)))
        elif x < 0.94 or not allow_empty:
            toks.append(r.choice(UNKNOWN_EVENTS))
        else:
            toks.append("")
    return ",".join(toks)


def gen_format(r):
    parts = []
    for _ in range(r.randint(1, 6)):
        x = r.random()
        if x < 0.45:
            parts.append(r.choice(["%w", "%f", "%e", "%c", "%T", "%0", "%n", "%%",
                                   "%w%f", "%,e"]))
        elif x < 0.6:
            parts.append("%" + r.choice(":;-/ E|.x_e") + "e")
        elif x < 0.7:
            parts.append(r.choice(["%x", "%q", "%z", "%%T", "%%e", "%ee", "%we", "%0e"]))
        elif x < 0.95:
            parts.append(r.choice(["abc", " ", "\\n", '"q"', "é", "\t", "-", ",", "[", "]"]))
        else:
            parts.append("L" * r.randint(100, 1500))
    fmt = "".join(parts)
    x = r.random()
    if x < 0.04:
        fmt = ""
    elif x < 0.08:
        fmt += "%"
    elif x < 0.10:
        fmt = "V" * 5000 + "%w%f"
    return fmt


def gen_timeout(r):
    if r.random() < 0.6:
        return r.choice(["1", "2", "+1", " 1", "01", "0", "00", "+0", "-0"])
    return r.choice(["1.5", "abc", "", "1 ", "99999999999999999999", "-", "0x1",
                     "1e3", "  ", "+", "--1", "1,5"])


def gen_regex(r):
    """One or two regex options (sometimes the same one twice)."""
    kinds = ["exclude", "excludei", "include", "includei"]
    out = []
    k1 = r.choice(kinds)
    n = r.choice([1, 1, 1, 2])
    for i in range(n):
        k = k1 if (i == 0 or r.random() < 0.6) else r.choice(kinds)
        val = r.choice(VALID_RE) if r.random() < 0.85 else r.choice(BAD_RE)
        out.append(opt(r, None, "--" + k, val, "re:" + k))
    return out


def gen_fromfile(r):
    """A --fromfile piece and the list file it reads (or None)."""
    lines = [r.choice(OPERANDS + EXCLUDE_OPS) for _ in range(r.randint(1, 3))]
    content = ("\n".join(lines) + ("\n" if r.random() < 0.8 else "")).encode()
    x = r.random()
    if x < 0.65:
        name = "list"
    elif x < 0.8:
        name = "-"
    else:
        name, content = "nolist", None
    return opt(r, None, "--fromfile", name, "ff", ["--fr", "--fromf"]), content


def gen_operands(r):
    ops = []
    for _ in range(r.choice([0, 1, 1, 1, 2, 2, 3])):
        x = r.random()
        if x < 0.8:
            ops.append(r.choice(OPERANDS))
        else:
            ops.append(r.choice(EXCLUDE_OPS))
    if r.random() < 0.05:  # the brief's favourite: repeated and nested
        ops = ["d", "d/s", "./d"]
    return [Piece([o], "op", o) for o in ops]


def gen_sort(r, which):
    x = r.random()
    if x < 0.15:
        key = mixcase(r, "total")
    elif x < 0.6:
        key = mixcase(r, r.choice(COLUMNS))
    elif x < 0.7:
        key = r.choice(["move", "close", "MOVE", "Close"])
    elif x < 0.8:
        key = r.choice(["foo", "totals", "isdir", "oneshot", "ignored", "q_overflow"])
    elif x < 0.9:
        key = r.choice(["modify,access", "all_events", "modify,", "", ",modify",
                        "access,access"])
    else:
        key = r.choice(["access", "ACCESS", "Access"])
    if which == "a":
        return opt(r, "-a", "--ascending", key, "sort:a", ["--asc"])
    return opt(r, "-d", "--descending", key, "sort:d", ["--desc"])


def gen_case(tool, seed, k):
    """The pieces of case k, plus the list file's content and stdin."""
    r = random.Random("%s:%s:%d" % (seed, tool, k))
    iw = tool == "inotifywait"
    pre = []
    listfile = None
    stdin = None

    def maybe(p):
        return r.random() < p

    # Plain flags.
    if iw:
        if maybe(0.35):
            pre.append(flag(r, ["-m", "--monitor", "--mon"], "m"))
        if maybe(0.3):
            pre.append(flag(r, ["-q", "--quiet"], "q"))
            if maybe(0.3):
                pre.append(flag(r, ["-q"], "q"))
        elif maybe(0.1):
            pre.append(flag(r, ["-qq"], "q"))
        if maybe(0.15):
            pre.append(flag(r, ["-c", "--csv"], "c"))
        if maybe(0.15):
            pre.append(flag(r, ["--no-newline", "--no-n"], "nonl"))
        if maybe(0.12):
            pre.append(opt(r, "-o", "--outfile", r.choice(["../o/out", "../o/out", "../o/no/out"]), "o"))
            if maybe(0.15):
                pre.append(opt(r, "-o", "--outfile", "../o/out2", "o"))
        elif maybe(0.04):
            pre.append(flag(r, ["-d", "--daemon"], "daemon"))
    else:
        if maybe(0.3):
            pre.append(flag(r, ["-z", "--zero"], "z"))
        if maybe(0.3):
            pre.append(flag(r, ["-v", "--verbose", "--verb"], "v"))
        if maybe(0.45):
            pre.append(gen_sort(r, r.choice("ad")))
            if maybe(0.12):
                pre.append(gen_sort(r, r.choice("ad")))
    if maybe(0.25):
        pre.append(flag(r, ["-r", "--recursive", "--rec"], "r"))
    if maybe(0.15):
        pre.append(flag(r, ["-P", "--no-dereference", "--no-d"], "P"))
    if maybe(0.06):
        pre.append(flag(r, ["-I", "-F", "-S", "--inotify", "--fanotify", "--filesystem"], "ignored"))

    # Options with values.
    for _ in range(r.choice([0, 1, 1, 1, 2])):
        pre.append(opt(r, "-e", "--event", gen_event_list(r), "e", ["--ev"]))
    if iw and maybe(0.4):
        fmt = gen_format(r)
        pre.append(opt(r, None, "--format", fmt, "fmt", ["--fo", "--form"]))
        if maybe(0.03):
            pre.append(opt(r, None, "--format", gen_format(r), "fmt"))
        if maybe(0.6 if "%T" in fmt else 0.1):
            tf = r.choice(TIMEFMTS) if r.random() < 0.93 else ""
            pre.append(opt(r, None, "--timefmt", tf, "tfmt", ["--timef"]))
    elif iw and maybe(0.04):
        pre.append(opt(r, None, "--timefmt", "%Y", "tfmt"))
    if maybe(0.3):
        pre += gen_regex(r)
    if maybe(0.3):
        tprefix = ["--timeo"] if iw else ["--ti", "--timeo"]
        pre.append(opt(r, "-t", "--timeout", gen_timeout(r), "t", tprefix))
    if maybe(0.15):
        p, listfile = gen_fromfile(r)
        pre.append(p)
        if p.v == "-":
            stdin, listfile = listfile, None
        if maybe(0.05):
            pre.append(opt(r, None, "--fromfile", "list", "ff"))
            listfile = listfile or b"d\n"

    # Mistakes and oddities.
    if maybe(0.12):
        if iw:
            bad = r.choice([["-x"], ["-n"], ["-a"], ["-z"], ["-v"], ["--bogus"],
                            ["--formatx", "x"], ["--quiet=1"], ["-f"], ["--filename"],
                            ["--monitor=yes"], ["-Z"]])
        else:
            bad = r.choice([["-q"], ["-m"], ["-c"], ["-o", "x"], ["-x"], ["--bogus"],
                            ["--format", "x"], ["--csv"], ["--zero=1"], ["-s"]])
        pre.append(Piece(bad, "bad", short=not bad[0].startswith("--")))
    if maybe(0.08):
        if iw:
            amb = r.choice([["--in", "x"], ["--ex", "x"], ["--f", "x"], ["--ti", "1"],
                            ["--no"], ["--e", "x"], ["--i", "x"], ["--t", "1"]])
        else:
            amb = r.choice([["--in", "x"], ["--ex", "x"], ["--f", "x"], ["--e", "x"],
                            ["--i", "x"]])
        pre.append(Piece(amb, "ambiguous"))
    if maybe(0.02):
        pre.append(Piece([r.choice(["-h", "--help", "--he"])], "help"))
    if maybe(0.02):
        pre.append(Piece([r.choice(["--version", "--vers", "--v", "--ve"])], "version"))

    # Operands, anywhere among the options (getopt permutes).
    pre += gen_operands(r)
    r.shuffle(pre)

    # `--`, after which everything is an operand, option-looking or not.
    post = []
    if maybe(0.08):
        post.append(Piece(["--"], "dd"))
        for _ in range(r.randint(0, 2)):
            o = r.choice(OPERANDS + ["-q", "-t", "--bogus", "-e"])
            post.append(Piece([o], "op", o))

    # An option whose value is missing, as the very last word.
    if maybe(0.04) and not post:
        pre.append(Piece([r.choice(["-e", "--event", "-t", "--timeout", "--exclude",
                                    "--fromfile"] + (["--format", "-o", "--timefmt"] if iw
                                                     else ["-a", "-d"]))], "missing-arg"))

    # -d only where it must fail (no -o); see AVOIDED.
    if any(p.k == "o" for p in pre):
        pre = [p for p in pre if p.k != "daemon"]
    return r, pre, post, listfile, stdin


BITS = dict(zip(EVENTS[:15], [1 << i for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                13, 14, 15)]))
BITS.update(close=0x18, move=0xC0, isdir=0x40000000, oneshot=0x80000000, all_events=0xFFF)


def event_bits(text):
    """An -e list (or sort key) as the reference reads it: the OR of its
    names, case-insensitive; 0 at the first empty name; None if a name
    before that is unknown."""
    bits = 0
    for tok in text.split(","):
        if tok == "":
            return 0
        if tok.lower() not in BITS:
            return None
        bits |= BITS[tok.lower()]
    return bits


def real_T(fmt):
    """Does the format hold a real %T directive (not %%T)?  And does it end
    in a lone '%'?"""
    i, has_t = 0, False
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 == len(fmt):
                return has_t, True
            if fmt[i + 1] == "T":
                has_t = True
            i += 2
        else:
            i += 1
    return has_t, False


def resolve(w, path, nofollow):
    """Where an operand leads, for the overlap check (None if nowhere)."""
    p = os.path.join(w, path.replace("{W}/", ""))
    if not os.path.lexists(p):
        return None
    return os.path.realpath(p) if not (nofollow and os.path.islink(p)) else os.path.abspath(p)


def analyse(tool, pre, post, listfile, stdin, template_w):
    """What the case means: its effective timeout, -m, and its known tags."""
    tags = set()
    kinds = [p.k for p in pre]
    fmts = [p.v for p in pre if p.k == "fmt"]
    tfmts = [p.v for p in pre if p.k == "tfmt"]
    if any(p.k == "e" and p.v != "" and "" in p.v.split(",") for p in pre):
        tags.add("empty-e")
    if "version" in kinds:
        tags.add("version")
    if tool == "inotifywatch" and any(p.k == "ambiguous" and p.args[0].startswith("--v")
                                      for p in pre):
        tags.add("version")
    if len(fmts) >= 2:
        tags.add("second-format")
    for fmt in fmts:
        has_t, lone = real_T(fmt)
        if "%T" in fmt and not has_t and not tfmts:
            tags.add("pct-pct-T")
        if lone and "nonl" in kinds:
            tags.add("trailing-pct")
        if has_t and "" in tfmts:
            tags.add("empty-T")
        if len(fmt) > 3800:
            tags.add("long-output")
    sorts = [p for p in pre if p.k.startswith("sort:")]
    for p in sorts:
        bits = event_bits(p.v)
        plain = p.v.lower()
        if p.k == "sort:d" and bits == 0x1:
            tags.add("d-access")
        if p.k == "sort:d" and plain in ("move", "close"):
            tags.add("d-move-close")
        elif bits is not None and bin(bits).count("1") >= 2 and \
                not (p.k == "sort:a" and plain in ("move", "close")):
            tags.add("multi-bit-key")
        if "" in plain.split(","):
            tags.add("d-empty" if p.k == "sort:d" else "sort-empty")
    if len(sorts) >= 2 and sorts[0].k == "sort:d":
        tags.add("d-then-a")
    # -F and -S watch through fanotify where the reference ignores them;
    # the last of -I, -F and -S counts.
    backends = [p.args[0] for p in pre if p.k == "ignored"]
    if backends and backends[-1] not in ("-I", "--inotify"):
        tags.add("fanotify")

    # Operands: the command line's and the list file's, minus @ and empty.
    ops = [p.v for p in pre + post if p.k == "op"]
    ffs = [p for p in pre if p.k == "ff"]
    if len(ffs) == 1:
        data = stdin if ffs[0].v == "-" else listfile if ffs[0].v == "list" else None
        if data:
            ops += data.decode().split("\n")
    ops = [o for o in ops if o and not o.startswith("@")]
    # Overlap: two operands reach the same inode, or, with -r, one
    # directory operand lies in another's tree.
    nofollow = "P" in kinds
    where = [x for x in (resolve(template_w, o, nofollow) for o in ops) if x]
    for i, a in enumerate(where):
        for b in where[i + 1:]:
            if a == b or ("r" in kinds and os.path.isdir(a) and os.path.isdir(b) and
                          (b.startswith(a + "/") or a.startswith(b + "/"))):
                tags.add("overlap")
    monitor = "m" in kinds
    timeouts = [i for i, p in enumerate(pre) if p.k == "t"]
    eff = None
    for i in timeouts:
        try:
            eff = int(pre[i].v.strip())
        except ValueError:
            eff = None
    return tags, monitor, timeouts, eff


def build_argv(tool, r, pre, post, monitor, timeouts, eff):
    """Insert the harness -t where needed, merge some short options, and
    flatten the pieces into argv words."""
    pieces = list(pre)
    if eff is None or eff == 0:
        val = "2" if tool == "inotifywait" and not monitor else "1"
        at = timeouts[-1] + 1 if timeouts else 0
        at = r.randint(at, len(pieces))
        if pieces and pieces[-1].k == "missing-arg" and at == len(pieces):
            at -= 1
        pieces.insert(at, Piece(["-t", val], "harness-t", val))
    argv = []
    merge = False
    for i, p in enumerate(pieces):
        words = list(p.args)
        if merge:  # the previous flag joins this short option's cluster
            words[0] = argv.pop() + words[0][1:]
        argv += words
        merge = (p.flag_only() and i + 1 < len(pieces) and pieces[i + 1].short and
                 re.match(r"-[A-Za-z]", pieces[i + 1].args[0]) is not None and
                 pieces[i + 1].k not in ("op", "missing-arg") and r.random() < 0.3)
    for p in post:
        argv += p.args
    return argv


def make_case(tool, seed, k, template_w):
    r, pre, post, listfile, stdin = gen_case(tool, seed, k)
    tags, monitor, timeouts, eff = analyse(tool, pre, post, listfile, stdin, template_w)
    argv = build_argv(tool, r, pre, post, monitor, timeouts, eff)
    return {"k": k, "argv": argv, "tags": tags, "listfile": listfile, "stdin": stdin,
            "keys": [p.v for p in pre if p.k.startswith("sort:")]}


# --------------------------------------------------------------------------
# Running.

def count_watches(pid):
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fdinfo" % pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd), "rb") as fh:
                    n += sum(1 for line in fh if line.startswith(b"inotify wd:"))
            except OSError:
                pass
    except OSError:
        pass
    return n


def run_one(tool, binary, case, root):
    """Run one side of a case in root; returns its normalised results."""
    w = os.path.join(root, "w")
    listfile, stdin = (None if x is None else x.replace(b"{W}", w.encode())
                       for x in (case["listfile"], case["stdin"]))
    make_tree(root, listfile)
    out, err = os.path.join(root, "o", "stdout"), os.path.join(root, "o", "stderr")
    argv = [a.replace("{W}", w) for a in case["argv"]]
    env = {k: v for k, v in os.environ.items() if k != "POSIXLY_CORRECT"}
    env.update(LC_ALL="C", TZ="UTC")
    if stdin is not None:
        with open(os.path.join(root, "o", "stdin"), "wb") as fh:
            fh.write(stdin)
        fin = open(os.path.join(root, "o", "stdin"), "rb")
    else:
        fin = open(os.devnull, "rb")
    start = time.monotonic()
    with fin, open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([tool] + argv, executable=binary, cwd=w, stdin=fin,
                                stdout=fo, stderr=fe, env=env, close_fds=True)
    ready_line = TOOLS[tool]["ready"]
    hang = False
    last = -1
    # Wait for readiness: the ready line, or a stable non-zero watch count.
    while proc.poll() is None:
        if time.monotonic() - start > DEADLINE:
            hang = True
            break
        with open(err, "rb") as fh:
            if ready_line in fh.read():
                break
        n = count_watches(proc.pid)
        if n >= 1 and n == last:
            break
        last = n
        time.sleep(0.05)
    if proc.poll() is None and not hang:
        act(w)
    while not hang and proc.poll() is None:
        if time.monotonic() - start > DEADLINE:
            hang = True
            break
        time.sleep(0.02)
    if hang:
        proc.kill()  # by its pid
    rc = proc.wait()
    res = {"rc": rc, "hang": hang, "secs": time.monotonic() - start}
    for name, path in (("stdout", out), ("stderr", err),
                       ("outfile", os.path.join(root, "o", "out"))):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            if name == "outfile":
                data = b"mode %o\n" % (os.stat(path).st_mode & 0o7777) + data
        except FileNotFoundError:
            data = None
        res[name] = normalise(data, w, root)
    return res


def normalise(data, w, root):
    """Only what must differ: the absolute temporary paths."""
    if data is None:
        return None
    return data.replace(w.encode(), b"<W>").replace(root.encode(), b"<ROOT>")


# --------------------------------------------------------------------------
# Comparing.

STREAMS = ("stdout", "stderr", "rc", "outfile")


def differing(a, b):
    return [s for s in STREAMS if a[s] != b[s]]


CANT_SORT = b"Can't sort by an event which isn't being watched for!\n"
PCT_T = b"%T is in --format string, but --timefmt was not specified.\n"


def only_stdout_differs(ours, ref):
    return ours["stderr"] == ref["stderr"] and ours["rc"] == ref["rc"]


def says(res, text, rc=1):
    """The run printed exactly TEXT on stderr, nothing on stdout, exit rc."""
    return res["stderr"] == text and res["stdout"] == b"" and res["rc"] == rc


def sort_key_error(case, res, text):
    """res shows TEXT (with %s = one of the case's -a/-d keys) and exit 1."""
    return any(says(res, (text % k).encode()) for k in case["keys"])


# Recognisers of deliberate differences that the case's tags make possible.
# Each checks that the outputs show that difference, not just any one.
VERIFY = {
    # ours prints its version and exits 0; inotifywatch's --v/--ve/--ver are
    # ambiguous (--verbose, --version) in ours.
    "version": lambda t, c, o, f:
    (o["stdout"] == t.encode() + b" 3.22.6.0\n" and o["stderr"] == b"" and o["rc"] == 0) or
    (re.match(rb"[a-z]+: option '--v[a-z]*' is ambiguous; possibilities:"
              rb"( '--verbose' '--version'| '--version' '--verbose')\n", o["stderr"] or b"")
     is not None and o["rc"] == 1),
    # the reference refuses a literal %%T without --timefmt.
    # (alone, or after a getopt message, as the checks run after it too).
    "pct-pct-T": lambda t, c, o, f: says(f, PCT_T) or (
        f["stderr"].endswith(PCT_T) and f["stderr"][:-len(PCT_T)] == o["stderr"] and
        f["rc"] == o["rc"] and f["stdout"] == o["stdout"]),
    # the reference prints nothing for an event; we print the line.
    "trailing-pct": lambda t, c, o, f: only_stdout_differs(o, f) and f["stdout"] == b"" and
    (f["outfile"] or b"mode 600\n").endswith(b"\n"),
    "empty-T": lambda t, c, o, f: only_stdout_differs(o, f) and f["stdout"] == b"",
    # the reference cuts the line.
    # (or, past 4096 bytes, refuses the format itself).
    "long-output": lambda t, c, o, f: only_stdout_differs(o, f) or (
        f["stderr"].endswith(b"Something is wrong with your format string.\n") and f["rc"] == 1),
    # the reference sorts by total: the same rows, another order.
    # The reference also skips the "not watched" check for it (its -d access
    # is a descending total), which ours makes as for any key.
    "d-access": lambda t, c, o, f: (only_stdout_differs(o, f) and
                                    sorted(o["stdout"].split(b"\n")) ==
                                    sorted(f["stdout"].split(b"\n"))) or
    (o["stderr"] in (CANT_SORT, f["stderr"] + CANT_SORT) and o["rc"] == 1),
    # the reference sorts by total smallest first, ours largest first: the
    # same rows, another order.
    "d-empty": lambda t, c, o, f: only_stdout_differs(o, f) and
    sorted(o["stdout"].split(b"\n")) == sorted(f["stdout"].split(b"\n")),
    # ours refuses these keys as -a does.
    "d-move-close": lambda t, c, o, f: any(says(o, x) for x in (
        b"Cannot sort by `move' event; please use `moved_from' or `moved_to'.\n",
        b"Cannot sort by `close' event; please use `close_write' or `close_nowrite'.\n")),
    "multi-bit-key": lambda t, c, o, f: sort_key_error(c, o, "'%s' is not a valid key for sorting!\n"),
    "d-then-a": lambda t, c, o, f: says(o, b"Please specify -a or -d once only!\n"),
}
# Deliberate differences that cannot be checked from the outputs (what is
# watched changes): any difference left in such a case is put down to them.
LOOSE = ("empty-e", "second-format", "fanotify")


def classify(tool, case, ours, ref):
    """None if equal; else ("compat"|"pending"|"fail", label, streams).

    In this order: a hang fails; --help is recognised from the outputs;
    the pending fixes recognised from the outputs (ambiguous-option order,
    the missing --exclude warning); the deliberate differences of the case's
    tags that the outputs confirm (VERIFY); the pending fixes of the case's
    tags (overlap, sort-empty); the LOOSE deliberate tags; else a failure."""
    diff = differing(ours, ref)
    if not diff:
        return None
    if ours["hang"] or ref["hang"]:
        return ("fail", "hang", diff)
    # Ours must never die of a signal (the reference does, in rows of compat.md).
    if ours["rc"] < 0:
        return ("fail", "crash", diff)
    # --help: the reference prints its help and exits 1; ours its own, exit 0.
    head = tool.encode() + b" 3.22.6"
    if (ref["stdout"] or b"").startswith(head) and ref["rc"] == 1 and \
            (ours["stdout"] or b"").startswith(head) and b"Events:" in ours["stdout"] and \
            ours["rc"] == 0 and ours["stderr"] == ref["stderr"]:
        return ("compat", "help", diff)
    labels = []
    verified = sorted(t for t in case["tags"] if t in VERIFY and VERIFY[t](tool, case, ours, ref))
    if verified:
        return ("compat", "+".join(verified), diff)
    pending = sorted(t for t in case["tags"] if t in PENDING)
    loose = sorted(t for t in case["tags"] if t in LOOSE)
    if pending:
        return ("pending", "+".join(labels + pending + loose), diff)
    if loose:
        return ("compat", "+".join(loose), diff)
    return ("fail", "", diff)


def visible(data):
    """Bytes as cat -A shows them, one string per line."""
    if data is None:
        return ["(no file)"]
    out = []
    for line in data.split(b"\n"):
        s = []
        for c in line:
            if c >= 128:
                s.append("M-")
                c -= 128
            if c < 32 and c != 9:
                s.append("^" + chr(c + 64))
            elif c == 9:
                s.append("^I")
            elif c == 127:
                s.append("^?")
            else:
                s.append(chr(c))
        out.append("".join(s) + "$")
    if out and out[-1] == "$":
        out.pop()  # the final newline
    else:
        out[-1] = out[-1][:-1] + " (no newline at end)"
    return out


def show_argv(argv):
    """The argv, shell-quoted; a run of over 40 copies of one character is
    shown as C{xN} (the rerun command regenerates it exactly)."""
    text = " ".join(shlex.quote(a) for a in argv)
    return re.sub(r"(.)\1{40,}", lambda m: "%s{x%d}" % (m.group(1), len(m.group(0))), text)


def short_diff(ours, ref, streams, limit=12):
    lines = []
    for s in streams:
        if s == "rc":
            lines.append("    status: ours %d, reference %d" % (ours["rc"], ref["rc"]))
            continue
        d = list(difflib.unified_diff(visible(ref[s]), visible(ours[s]),
                                      "reference " + s, "ours " + s, n=1, lineterm=""))
        for line in d[:limit]:
            line = re.sub(r"(.)\1{40,}", lambda m: "%s{x%d}" % (m.group(1), len(m.group(0))), line)
            lines.append("    " + (line if len(line) < 300 else line[:300] + "..."))
        if len(d) > limit:
            lines.append("    ... (%d more diff lines)" % (len(d) - limit))
    return lines


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", default=None, help="seed (default: fresh)")
    ap.add_argument("--cases", type=int, default=None,
                    help="cases per tool (default 300 inotifywait, 150 inotifywatch)")
    ap.add_argument("--tool", choices=sorted(TOOLS), action="append",
                    help="only this tool (repeatable; default both)")
    ap.add_argument("--case", type=int, default=None, help="rerun only case K")
    ap.add_argument("--jobs", type=int, default=8, help="cases run at once (default 8)")
    ap.add_argument("--pending-ok", action="store_true",
                    help="known differences being fixed do not fail the run")
    ap.add_argument("--show-known", action="store_true",
                    help="also list each case skipped as a deliberate difference")
    ap.add_argument("--list", action="store_true",
                    help="print the generated cases (argv and tags), run nothing")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else str(random.SystemRandom().randrange(10**9))
    tools = args.tool or ["inotifywait", "inotifywatch"]
    start = time.monotonic()

    bins = {}
    for t in tools:
        ours = os.path.abspath(os.environ.get(TOOLS[t]["env"]) or os.path.join(TOP, t))
        ref = os.environ.get(TOOLS[t]["refenv"]) or TOOLS[t]["ref"]
        for b in (ours, ref):
            if not os.access(b, os.X_OK):
                sys.exit("argdiff: %s is not an executable" % b)
        bins[t] = (ours, ref)

    tmp = tempfile.mkdtemp(prefix="argdiff.")
    template = os.path.join(tmp, "template")
    template_w = make_tree(template, None)
    jobs = []
    for t in tools:
        n = args.cases if args.cases is not None else TOOLS[t]["cases"]
        ks = [args.case] if args.case is not None else range(n)
        jobs += [(t, make_case(t, seed, k, template_w)) for k in ks]

    if args.list:
        for t, case in jobs:
            print("%s %d [%s] %s" % (t, case["k"], ",".join(sorted(case["tags"])),
                                     show_argv(case["argv"])))
        shutil.rmtree(tmp, ignore_errors=True)
        return

    def run_case(job):
        t, case = job
        base = os.path.join(tmp, "%s-%d" % (t, case["k"]))
        res = {}

        def side(name, binary):
            # The sides' directories are named 1 and 2: the regexes match
            # absolute paths too, and none of them can tell 1 from 2.
            res[name] = run_one(t, binary, case,
                                os.path.join(base, "1" if name == "ours" else "2"))

        th = threading.Thread(target=side, args=("ours", bins[t][0]))
        th.start()
        side("ref", bins[t][1])
        th.join()
        verdict = classify(t, case, res["ours"], res["ref"])
        shutil.rmtree(base, ignore_errors=True)
        return t, case, res["ours"], res["ref"], verdict

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(run_case, jobs))
    shutil.rmtree(tmp, ignore_errors=True)

    failed, pending, known = [], [], {}
    for t, case, ours, ref, verdict in results:
        if verdict is None:
            continue
        kind, label, streams = verdict
        what = "/".join("status" if s == "rc" else s for s in streams)
        line = ("seed=%s case=%d tool=%s: %s differs%s; rerun: tests/stress/argdiff.py --seed %s "
                "--case %d --tool %s; argv: %s" % (
                    seed, case["k"], t, what, " (%s)" % label if label in ("hang", "crash") else "", seed,
                    case["k"], t, show_argv(case["argv"])))
        if kind == "fail":
            failed.append((line, short_diff(ours, ref, streams)))
        elif kind == "pending":
            items = "; ".join(PENDING[x] if x in PENDING else "or deliberate: " + COMPAT[x]
                              for x in label.split("+"))
            pending.append(("(known, being fixed: %s) %s" % (items, line),
                            short_diff(ours, ref, streams, limit=6)))
        else:
            for x in label.split("+"):
                known.setdefault(COMPAT[x], []).append(line)

    for line, diff in failed:
        print("argdiff: FAIL " + line)
        print("\n".join(diff))
    if pending:
        print("argdiff: --- known, being fixed (%d) ---" % len(pending))
        for line, diff in pending:
            print("argdiff: FAIL " + line)
            print("\n".join(diff))
    for row, lines in sorted(known.items()):
        print("argdiff: skipped %d as a known deliberate difference: %s" % (len(lines), row))
        if args.show_known:
            for line in lines:
                print("argdiff:   " + line)
    nskip = sum(1 for r in results if r[4] and r[4][0] == "compat")
    npass = sum(1 for r in results if r[4] is None)
    print("argdiff: seed=%s: %d cases run, %d passed, %d failed (%d of them known, being fixed), "
          "%d skipped as known differences, %.1f seconds" % (
              seed, len(results), npass, len(failed) + len(pending), len(pending), nskip,
              time.monotonic() - start))
    bad = failed or (pending and not args.pending_ok)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
