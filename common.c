/*
 * The parts inotifywait and inotifywatch share, in this order:
 *
 *   diagnostics and memory	msg, die, xmalloc
 *   event names		event_list_parse, event_mask_format
 *   options and operands	options_next, path_list_build
 *   output buffer		outbuf_add, outbuf_flush, pipe_open_nonblocking
 *   time, signals, waiting	signals_catch, wait_events, the pacer
 *   the watch table		struct watcher; the wd index, the tree
 *				of names, watch_path
 *   watching			watcher_new and watcher_free, node_watch,
 *				the walk of a tree, watcher_add
 *   the kernel's queue		queue_read, queue_fill
 *   scans			the listings (scanned_*), scan_dir, walk_new
 *   following the tree		tree_add_dir, tree_move, tree_follow
 *   reading events		queue_decode, events_drain
 *   the fanotify back end	-F and -S: fan_start, fan_add, fan_drain
 *   the run			watches_establish, watcher_run
 *
 * The tools see the watcher only through common.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* -------- Diagnostics and memory ------------------------------------ */

static int use_syslog;      /* errors go to syslog */
static int notes_to_syslog; /* notes go to syslog */

/* With errors_too unset, errors stay on stderr: -d before it detaches. */
void
msg_syslog(const char *ident, int errors_too)
{
	openlog(ident, LOG_CONS | LOG_PID | LOG_NDELAY, LOG_DAEMON);
	notes_to_syslog = 1;
	use_syslog = errors_too;
}

static void
vmsg(int to_syslog, const char *fmt, va_list ap)
{
	if (to_syslog) {
		vsyslog(LOG_INFO, fmt, ap);
		return;
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(use_syslog, fmt, ap);
	va_end(ap);
}

void
msg_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(notes_to_syslog, fmt, ap);
	va_end(ap);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(use_syslog, fmt, ap);
	va_end(ap);
	exit(EXIT_ERROR);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		die("Out of memory");
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		die("Out of memory");
	return p;
}

char *
xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}

/* Room for one more of the n items at p (*cap of them): doubles. */
static void *
xgrow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(p, *cap * size);
}

/*
 * Memory a passing need took (the set-up's walk, a burst's buffer) is
 * free again: it goes back to the system instead of staying resident.
 */
static void
memory_release(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* -------- Event names ----------------------------------------------- */

/*
 * Event names, in the order a mask is printed. CLOSE and MOVE are only
 * accepted on input; CLOSE is also printed after either close bit, as
 * the reference does.
 */
static const struct {
	const char *name;
	uint32_t mask;
} event_names[] = {
	{ "ACCESS", IN_ACCESS },
	{ "MODIFY", IN_MODIFY },
	{ "ATTRIB", IN_ATTRIB },
	{ "CLOSE_WRITE", IN_CLOSE_WRITE },
	{ "CLOSE_NOWRITE", IN_CLOSE_NOWRITE },
	{ "OPEN", IN_OPEN },
	{ "MOVED_FROM", IN_MOVED_FROM },
	{ "MOVED_TO", IN_MOVED_TO },
	{ "CREATE", IN_CREATE },
	{ "DELETE", IN_DELETE },
	{ "DELETE_SELF", IN_DELETE_SELF },
	{ "UNMOUNT", IN_UNMOUNT },
	{ "Q_OVERFLOW", IN_Q_OVERFLOW },
	{ "IGNORED", IN_IGNORED },
	{ "CLOSE", IN_CLOSE },
	{ "MOVE_SELF", IN_MOVE_SELF },
	{ "ISDIR", IN_ISDIR },
	{ "ONESHOT", IN_ONESHOT },
	{ "MOVE", IN_MOVE },
	{ "ALL_EVENTS", IN_ALL_EVENTS },
};
#define N_PRINTED 18 /* the entries above MOVE are printed */

/*
 * The events part of both tools' --help: one TAB before each name, which
 * bash-completion reads.
 */
const char help_events[] =
    "\taccess\t\tcontents read\n"
    "\tmodify\t\tcontents written\n"
    "\tattrib\t\tmetadata changed (permissions, times, links, ...)\n"
    "\tclose_write\tclosed after being open for writing\n"
    "\tclose_nowrite\tclosed after being open read-only\n"
    "\tclose\t\tclosed, either way\n"
    "\topen\t\topened\n"
    "\tmoved_to\tmoved into a watched directory\n"
    "\tmoved_from\tmoved out of a watched directory\n"
    "\tmove\t\tmoved into or out of a watched directory\n"
    "\tmove_self\ta watched file or directory was moved\n"
    "\tcreate\t\tcreated in a watched directory\n"
    "\tdelete\t\tdeleted from a watched directory\n"
    "\tdelete_self\ta watched file or directory was deleted\n"
    "\tunmount\t\tthe file system holding it was unmounted\n";

/*
 * Parses a comma-separated list of event names, any case. Empty names
 * are skipped (the reference turned the whole list into "all events").
 * Returns -1 if a name is unknown.
 */
int
event_list_parse(const char *list, uint32_t *mask)
{
	const char *p = list;

	*mask = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; len > 0 &&
		     i < sizeof(event_names) / sizeof(event_names[0]);
		     i++)
			if (strlen(event_names[i].name) == len &&
			    strncasecmp(p, event_names[i].name, len) == 0)
				break;
		if (len > 0) {
			if (i == sizeof(event_names) / sizeof(event_names[0]))
				return -1;
			*mask |= event_names[i].mask;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Writes the names of the events in mask, separated by sep; returns the length. */
size_t
event_mask_format(uint32_t mask, char sep, char *buf)
{
	size_t len = 0;
	int i;

	for (i = 0; i < N_PRINTED; i++) {
		size_t n;

		if ((mask & event_names[i].mask) == 0)
			continue;
		if (len > 0)
			buf[len++] = sep;
		n = strlen(event_names[i].name);
		memcpy(buf + len, event_names[i].name, n);
		len += n;
	}
	if (len == 0)
		len = (size_t)snprintf(buf, EVENT_TEXT_MAX, "0x%08x", mask);
	buf[len] = '\0';
	return len;
}

/* -------- Options and operands -------------------------------------- */

/*
 * -t: a whole number of seconds. The texts are the reference's; unlike
 * it, a negative value is refused rather than wrapped to 136 years.
 */
static void
timeout_parse(const char *arg, unsigned long *seconds)
{
	char *end;
	long v;

	if (*arg == '\0')
		die("The provided value is not a valid timeout value.\n"
		    "Please specify a long int value.");
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0)
		die("Something went wrong with the timeout value you "
		    "provided.\n%s",
		    strerror(errno));
	if (*end != '\0' || v < 0)
		die("'%s' is not a valid timeout value.\n"
		    "Please specify a long int value.",
		    arg);
	*seconds = (unsigned long)v;
}

/* Handles an option both tools share; returns 0 if c is not one. */
static int
common_opt(struct common_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'e': {
		uint32_t mask;

		if (event_list_parse(arg, &mask) < 0)
			die("'%s' is not a valid event!  Run with the "
			    "'--help' option to see a list of events.",
			    arg);
		o->events |= mask;
		break;
	}
	case 'r':
		o->recursive = 1;
		break;
	case 'P':
		o->no_dereference = 1;
		break;
	case 't':
		timeout_parse(arg, &o->timeout);
		break;
	case 'I':
		o->fanotify = 0;
		break;
	case 'F':
	case 'S':
		o->fanotify = 1;
		break;
	case OPT_FROMFILE:
		if (o->fromfile != NULL)
			die("Multiple --fromfile options given.");
		o->fromfile = arg;
		break;
	case OPT_EXCLUDE:
	case OPT_EXCLUDEI:
		o->exclude = arg;
		o->exclude_icase = c == OPT_EXCLUDEI;
		if (c == OPT_EXCLUDE)
			o->n_exclude++;
		else
			o->n_excludei++;
		break;
	case OPT_PRUNE:
		if (o->nprune == PRUNE_MAX)
			die("--prune: at most %d patterns; join more into one "
			    "with `|'.",
			    PRUNE_MAX);
		o->prune[o->nprune++] = arg;
		break;
	case OPT_INCLUDE:
	case OPT_INCLUDEI:
		o->include = arg;
		o->include_icase = c == OPT_INCLUDEI;
		if (c == OPT_INCLUDE)
			o->n_include++;
		else
			o->n_includei++;
		break;
	default:
		return 0;
	}
	return 1;
}

/* Only one pattern can filter events. */
void
common_opts_check(const struct common_opts *o)
{
	if (o->n_exclude > 0 && o->n_excludei > 0)
		die("--exclude and --excludei cannot both be specified.");
	if (o->n_include > 0 && o->n_includei > 0)
		die("--include and --includei cannot both be specified.");
	if (o->exclude != NULL && o->include != NULL)
		die("include and exclude regexp cannot both be specified.");
}

/* Prints out and exits: 0, or 1 if it could not be written. */
static void
exit_printed(const char *out, const char *more)
{
	fputs(out, stdout);
	fputs(more, stdout);
	exit(fflush(stdout) == 0 ? EXIT_EVENT : EXIT_ERROR);
}

int
options_next(const struct tool *t, int argc, char **argv, struct common_opts *o)
{
	const char *base = strrchr(argv[0], '/');
	char version[64];
	int c;

	/* As fsnotifywait or fsnotifywatch (inotify-tools 4.x): -F unless -I. */
	base = base != NULL ? base + 1 : argv[0];
	if (optind <= 1 && strncmp(base, "fsnotify", 8) == 0)
		o->fanotify = 1;
	while (!o->bad &&
	    (c = getopt_long(argc, argv, t->short_opts, t->long_opts, NULL)) !=
		-1) {
		if (common_opt(o, c, optarg))
			continue;
		switch (c) {
		case 'h':
			exit_printed(t->help, help_events);
			break;
		case OPT_VERSION:
			snprintf(version, sizeof(version), "%s %s\n", t->name,
			    VERSION);
			exit_printed(version, "");
			break;
		case '?':
		case ':':
			o->bad = 1;
			break;
		default:
			return c;
		}
	}
	return -1;
}

static void
list_push(char ***list, size_t *n, const char *s)
{
	if ((*n & (*n - 1)) == 0)
		*list = xrealloc(*list, (*n ? *n * 2 : 16) * sizeof(**list));
	(*list)[(*n)++] = xstrdup(s);
}

static void
path_list_add(struct path_list *pl, const char *arg)
{
	if (arg[0] == '\0' || strcmp(arg, "@") == 0)
		return;
	if (arg[0] == '@')
		list_push(&pl->excludes, &pl->nexcludes, arg + 1);
	else
		list_push(&pl->paths, &pl->npaths, arg);
}

/*
 * --fromfile: one path a line, kept byte for byte but for the newline.
 * A file that cannot be opened is reported and the command line used.
 */
static void
path_list_read(struct path_list *pl, const char *file)
{
	FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (fp == NULL) {
		msg("Couldn't open %s: %s", file, strerror(errno));
		return;
	}
	while ((len = getline(&line, &cap, fp)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		path_list_add(pl, line);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
}

void
path_list_build(struct path_list *pl, const char *fromfile, char **argv,
    int argc)
{
	int i;

	memset(pl, 0, sizeof(*pl));
	if (fromfile != NULL)
		path_list_read(pl, fromfile);
	for (i = 0; i < argc; i++)
		path_list_add(pl, argv[i]);
	if (pl->npaths == 0)
		die("No files specified to watch!");
}

static void
list_free(char **list, size_t n)
{
	while (n > 0)
		free(list[--n]);
	free(list);
}

void
path_list_free(struct path_list *pl)
{
	list_free(pl->paths, pl->npaths);
	list_free(pl->excludes, pl->nexcludes);
	memset(pl, 0, sizeof(*pl));
}

/* -------- Output buffer --------------------------------------------- */

void
outbuf_reserve(struct outbuf *ob, size_t extra)
{
	if (ob->cap - ob->len > extra)
		return;
	while (ob->cap - ob->len <= extra)
		ob->cap = ob->cap ? ob->cap * 2 : 4096;
	ob->data = xrealloc(ob->data, ob->cap);
}

void
outbuf_add(struct outbuf *ob, const void *p, size_t n)
{
	if (n == 0 && ob->data != NULL)
		return;
	outbuf_reserve(ob, n);
	if (n == 0) {
		ob->data[ob->len] = '\0';
		return;
	}
	memcpy(ob->data + ob->len, p, n);
	ob->len += n;
	ob->data[ob->len] = '\0';
}

void
outbuf_addc(struct outbuf *ob, char c)
{
	outbuf_reserve(ob, 1);
	ob->data[ob->len++] = c;
	ob->data[ob->len] = '\0';
}

void
outbuf_adds(struct outbuf *ob, const char *s)
{
	outbuf_add(ob, s, strlen(s));
}

/* Cuts a path being built back to the length it had. */
static void
path_cut(struct outbuf *path, size_t len)
{
	path->len = len;
	path->data[len] = '\0';
}

/*
 * Writes all that is buffered; -1 with errno set if fd refused it, or
 * ETIMEDOUT if fd (non-blocking) took nothing for idle_ms (-1: no limit).
 */
int
outbuf_flush(struct outbuf *ob, int fd, int idle_ms)
{
	size_t off = 0;

	while (off < ob->len) {
		ssize_t n = write(fd, ob->data + off, ob->len - off);

		if (n < 0) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			if (poll(&p, 1, idle_ms) == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		off += (size_t)n;
	}
	ob->len = 0;
	return 0;
}

/*
 * A descriptor of our own, without blocking, for the pipe fd writes to;
 * -1 when fd is no pipe or it cannot be opened. O_NONBLOCK belongs to the
 * open file, which other processes may share, so the pipe is opened anew.
 */
int
pipe_open_nonblocking(int fd)
{
	char path[64];
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

/* -------- Time, signals, waiting ------------------------------------ */

/* Time on the monotonic clock. Deadlines are in milliseconds, -1: none. */
static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long
now_ms(void)
{
	return now_ns() / 1000000;
}

/* The poll(2) timeout for a deadline; -1 when there is none. */
static int
poll_timeout(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static volatile sig_atomic_t signal_stop; /* the signal that ends us, or 0 */
static volatile sig_atomic_t signal_dump; /* SIGUSR1 came */
static sigset_t wait_mask;                /* the signal mask while waiting */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		signal_dump = 1;
	else
		signal_stop = sig;
}

/*
 * With SIGNALS_KEEP_IGNORED, a signal ignored when we started stays
 * ignored, as nohup(1) and a shell's background jobs expect of a program
 * that does not otherwise catch it.
 */
void
signals_catch(int flags)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	size_t i,
	    n = sizeof(sigs) / sizeof(sigs[0]) - (flags & SIGNALS_USR1 ? 0 : 1);
	int keep_ignored = flags & SIGNALS_KEEP_IGNORED;
	struct sigaction sa, old;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < n; i++) {
		if (keep_ignored && sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	for (i = 0; i < n; i++)
		sigdelset(&wait_mask, sigs[i]);
}

/* Ends the program as the signal that stopped it would have. */
void
signal_exit(void)
{
	sigset_t set;
	int sig = signal_stop;

	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	exit(128 + sig);
}

/* poll(2) until the deadline, letting the caught signals in meanwhile. */
static int
wait_events(struct pollfd *pfd, int n, long long deadline)
{
	int ms = poll_timeout(deadline);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int r = ppoll(pfd, (nfds_t)n, ms < 0 ? NULL : &ts, &wait_mask);

	if (r < 0 && errno != EINTR)
		die("Couldn't wait for events: %s", strerror(errno));
	return r;
}

/*
 * Pacing. A read of two records or more within STREAM_GAP_NS of the last
 * read starts a stream, whose first pause is PAUSE_MIN_NS. While a read
 * after a pause holds fewer than STREAM_BATCH records, the pause doubles,
 * up to PAUSE_MAX_NS, the most a line waits for the sake of batching;
 * while it holds more than four times that, it halves. Nothing read after
 * the longest pause ends the stream.
 */
#define STREAM_GAP_NS 1000000LL
#define STREAM_BATCH  ((size_t)128)
#define PAUSE_MIN_NS  100000LL
#define PAUSE_MAX_NS  10000000LL

/*
 * While events stream in, a wake-up for each costs more than the events
 * themselves: the wait before the next read becomes a pause in which the
 * queue does not wake us, so that one wake-up takes many events. The
 * pause grows with the stream, to 10 ms at most; an event that comes alone,
 * or alone answers the last line written, is read at once.
 */
struct pacer {
	long long pause_ns; /* the next wait's pause; 0: no stream */
	long long last_ns;  /* when the last read was */
	size_t seen;        /* the reader's record count then */
};

static void
pacer_init(struct pacer *p)
{
	memset(p, 0, sizeof(*p));
	/* The pauses are short: the kernel's default slack would double them. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
}

/* Called after each read of the queue with the reader's record count. */
static void
pacer_after_read(struct pacer *p, size_t records)
{
	long long t = now_ns();
	size_t got = records - p->seen;

	if (p->pause_ns == 0) {
		if (got >= 2 && t - p->last_ns < STREAM_GAP_NS)
			p->pause_ns = PAUSE_MIN_NS;
	} else if (got == 0 && p->pause_ns >= PAUSE_MAX_NS)
		p->pause_ns = 0;
	else if (got < STREAM_BATCH)
		p->pause_ns = p->pause_ns < PAUSE_MAX_NS / 2 ? 2 * p->pause_ns :
							       PAUSE_MAX_NS;
	else if (got > 4 * STREAM_BATCH && p->pause_ns > PAUSE_MIN_NS)
		p->pause_ns /= 2;
	p->last_ns = t;
	p->seen = records;
}

/*
 * The pause of a stream, cut short by the deadline (-1: none) or a signal.
 * The queue is not polled: merely in the poll set, it would still wake us
 * for each event. The output is, for nothing but its reader going away
 * (out->revents), which a stream of events none of which is printed
 * would otherwise hide.
 */
static void
wait_pause(const struct pacer *p, long long deadline, struct pollfd *out)
{
	long long ns = p->pause_ns;
	int ms = poll_timeout(deadline);
	struct timespec ts;

	if (ms >= 0 && (long long)ms * 1000000LL < ns)
		ns = (long long)ms * 1000000LL;
	ts.tv_sec = ns / 1000000000LL;
	ts.tv_nsec = ns % 1000000000LL;
	out->events = 0;
	if (ppoll(out, 1, &ts, &wait_mask) < 0 && errno != EINTR)
		die("Couldn't wait between reads: %s", strerror(errno));
}

/* -------- The watch table ------------------------------------------- */

/*
 * Events the recursive bookkeeping needs to see. A rename queues the
 * moved directory's MOVE_SELF after its MOVED_TO: a MOVE_SELF that comes
 * while its MOVED_FROM waits says that the directory left the tree.
 */
#define EVENT_TREE (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF)
/* What a watch reports of itself, even once it left the tree. */
#define EVENT_SELF (IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT)

/*
 * One watch. It knows its parent and its own name, so its path is
 * derived when it is printed and a rename touches one entry. A top-level
 * watch holds the whole name it was given.
 */
struct watch {
	int wd;     /* the kernel's, -1 before it gave one */
	int parent; /* index, -1 at the top */
	int first_child, next_sibling;
	unsigned int name : 28; /* offset in the table's names */
	unsigned int held : 1;  /* the kernel holds it: wd is live */
	unsigned int
	    gone : 1; /* deleted or moved away: no longer found by name */
	unsigned int freed : 1; /* the slot is free */
	/* fanotify: deleted, its queued events still to come */
	unsigned int dying : 1;
};

/*
 * The wd of a node that names a directory watched under another node, an
 * earlier operand's: it stays, not held, as long as the walk of its own
 * operand put watched subdirectories below it, which go by its name.
 */
#define WD_ALIAS (-2)

/* The names arena's size limit: offsets have 28 bits. */
#define NAMES_MAX ((size_t)1 << 28)

/*
 * The names live in one arena, so a watch costs its struct, its name and
 * its share of the wd index; the arena is compacted when half of it is
 * names of freed watches. A pointer into it lasts until the next node.
 */
struct watch_table {
	struct watch *w;
	size_t n, cap;
	int *free_slots;
	size_t nfree;
	int *hash; /* wd -> index + 1; 0 = empty slot */
	size_t hash_cap, hash_used;
	size_t live; /* watches the kernel holds for us */
	char *names;
	size_t names_len, names_cap, names_waste;
};

/* Renames that may be under way at once (two processes' interleave). */
#define PENDING_MAX 32

/*
 * A directory that moved away from under a watch, awaiting its MOVED_TO.
 * The kernel queues a rename's MOVED_FROM, its MOVED_TO (if the new
 * parent is watched) and the directory's own MOVE_SELF, in that order,
 * but not at once: a renamer preempted between them leaves the queue
 * empty after the MOVED_FROM. So the MOVE_SELF, not an empty queue, says
 * that no MOVED_TO is coming: the directory left the tree.
 */
struct pending_move {
	uint32_t cookie;
	int watch;
	int from_told; /* its MOVED_FROM was handed out */
};

/*
 * A scanned entry's mask bit (no event has it): a directory the scan
 * listed but found gone before it could read it, so it was told empty.
 */
#define SCANNED_UNREAD IN_ONESHOT

/* An entry a scan of a new directory reported, with the events it made up. */
struct scanned {
	int watch;        /* -1 once it no longer counts */
	uint32_t listing; /* which listing of the watch */
	/* A marker's: records read before and after its listing was read. */
	uint64_t before, after;
	uint32_t mask;
	uint32_t hash;
	char *name;
};

/* A new directory put off until the renames before it are read. */
struct later {
	int parent, parent_wd;
	int tries;
	int moved_in; /* maybe over a directory of that name */
	int named_wd; /* the watch that had the name, or -1 */
	char *name;
};

/* A moved-in directory whose contents are still to be told. */
struct owed {
	int watch, wd;
};

struct watcher {
	int fd;           /* the inotify descriptor */
	uint32_t mask;    /* what each watch asks the kernel for */
	int recursive;    /* operands with all below them */
	int follow_tree;  /* watch new dirs, track renames */
	int keep_dropped; /* keep dropped watches: their counts matter */
	struct watch_table table;
	char **excludes;
	size_t nexcludes;
	regex_t regex;
	int have_regex, regex_keeps;
	regex_t *prune; /* --prune: subdirectories left unwatched */
	size_t nprune;
	struct outbuf prune_path;                 /* the path prune looks at */
	struct outbuf scratch;                    /* derived paths */
	struct pending_move pending[PENDING_MAX]; /* renames under way */
	size_t npending;
	char *q; /* records read, not yet handed out */
	size_t q_head, q_len, q_cap;
	uint64_t q_records;      /* records ever put in q */
	int q_short;             /* q's last read left the kernel's empty */
	struct scanned *scanned; /* entries reported by a scan */
	size_t nscanned, scanned_cap;
	size_t *scanned_index; /* hash slots: entry + 1 */
	size_t scanned_slots;
	uint32_t listings; /* listings begun so far */
	size_t scans;      /* new directories scanned so far */
	size_t records;    /* kernel records read so far */
	uint64_t *aliases; /* other names of watched dirs */
	size_t naliases;
	int proc_ok;         /* /proc/self/fd leads to open files */
	struct later *later; /* new directories put off */
	size_t nlater;
	struct owed *owed; /* contents to tell, put off */
	size_t nowed;
	uint32_t want;   /* the events asked for */
	int fan_wanted;  /* -F or -S: fanotify, where it serves */
	struct fan *fan; /* the fanotify back end, or NULL */
};

/* The wd index: open addressing with linear probing. */

static size_t
hash_slot(const struct watch_table *t, int wd)
{
	return (size_t)((unsigned)wd * 2654435761u) & (t->hash_cap - 1);
}

static int
hash_find(const struct watch_table *t, int wd)
{
	size_t i;

	if (t->hash_cap == 0)
		return -1;
	for (i = hash_slot(t, wd); t->hash[i] != 0;
	     i = (i + 1) & (t->hash_cap - 1))
		if (t->w[t->hash[i] - 1].wd == wd)
			return t->hash[i] - 1;
	return -1;
}

/* Puts index idx in its slot; the index has room. */
static void
hash_place(struct watch_table *t, int idx)
{
	size_t i;

	for (i = hash_slot(t, t->w[idx].wd); t->hash[i] != 0;
	     i = (i + 1) & (t->hash_cap - 1))
		;
	t->hash[i] = idx + 1;
	t->hash_used++;
}

static void
hash_grow(struct watch_table *t)
{
	int *old = t->hash;
	size_t i, old_cap = t->hash_cap;

	t->hash_cap = old_cap ? old_cap * 2 : 64;
	t->hash = xmalloc(t->hash_cap * sizeof(*t->hash));
	memset(t->hash, 0, t->hash_cap * sizeof(*t->hash));
	t->hash_used = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i] != 0)
			hash_place(t, old[i] - 1);
	free(old);
}

static void
hash_insert(struct watch_table *t, int idx)
{
	/* At most 3/4 full: probes stay short, and the index small. */
	if ((t->hash_used + 1) * 4 > t->hash_cap * 3)
		hash_grow(t);
	hash_place(t, idx);
}

/* Removes by shifting back the entries after it, so no tombstones pile up. */
static void
hash_remove(struct watch_table *t, int wd)
{
	size_t i, j, k;

	if (t->hash_cap == 0)
		return;
	for (i = hash_slot(t, wd); t->hash[i] != 0;
	     i = (i + 1) & (t->hash_cap - 1))
		if (t->w[t->hash[i] - 1].wd == wd)
			break;
	if (t->hash[i] == 0)
		return;
	t->hash[i] = 0;
	t->hash_used--;
	for (j = (i + 1) & (t->hash_cap - 1); t->hash[j] != 0;
	     j = (j + 1) & (t->hash_cap - 1)) {
		k = hash_slot(t, t->w[t->hash[j] - 1].wd);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			t->hash[i] = t->hash[j];
			t->hash[j] = 0;
			i = j;
		}
	}
}

/* The watch tree. */

static uint32_t
names_add(struct watch_table *t, const char *name, size_t len)
{
	uint32_t off;

	if (t->names_cap - t->names_len <= len) {
		while (t->names_cap - t->names_len <= len)
			t->names_cap = t->names_cap ? t->names_cap * 2 : 4096;
		t->names = xrealloc(t->names, t->names_cap);
	}
	if (t->names_len + len + 1 > NAMES_MAX)
		die("Out of memory");
	off = (uint32_t)t->names_len;
	memcpy(t->names + off, name, len);
	t->names[off + len] = '\0';
	t->names_len += len + 1;
	return off;
}

/* Drops the names of freed watches once they are half of the arena. */
static void
names_compact(struct watch_table *t)
{
	char *old = t->names;
	size_t i;

	if (t->names_waste < 65536 || t->names_waste * 2 < t->names_len)
		return;
	t->names = NULL;
	t->names_len = t->names_cap = t->names_waste = 0;
	for (i = 0; i < t->n; i++)
		if (!t->w[i].freed)
			t->w[i].name = names_add(t, old + t->w[i].name,
			    strlen(old + t->w[i].name));
	free(old);
}

static int
node_new(struct watcher *wt, int parent, const char *name, size_t len)
{
	struct watch_table *t = &wt->table;
	struct watch *w;
	int idx;

	if (t->nfree > 0) {
		idx = t->free_slots[--t->nfree];
	} else {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->w = xrealloc(t->w, t->cap * sizeof(*t->w));
		}
		idx = (int)t->n++;
	}
	w = &t->w[idx];
	memset(w, 0, sizeof(*w));
	w->wd = -1;
	w->parent = parent;
	w->first_child = -1;
	w->next_sibling = -1;
	w->name = names_add(t, name, len);
	if (parent >= 0) {
		w->next_sibling = t->w[parent].first_child;
		t->w[parent].first_child = idx;
	}
	return idx;
}

static void
node_unlink(struct watch_table *t, int idx)
{
	int parent = t->w[idx].parent;
	int *link;

	if (parent < 0)
		return;
	for (link = &t->w[parent].first_child; *link != idx;
	     link = &t->w[*link].next_sibling)
		;
	*link = t->w[idx].next_sibling;
	t->w[idx].parent = -1;
}

/*
 * Frees a watch the kernel no longer holds, once no child needs its name,
 * and then any parent left in the same state.
 */
static void
node_release(struct watcher *wt, int idx)
{
	struct watch_table *t = &wt->table;

	while (idx >= 0) {
		struct watch *w = &t->w[idx];
		int parent = w->parent;

		/* A parent that is not gone is still being walked. */
		if (w->held || !w->gone || w->first_child >= 0 ||
		    (wt->keep_dropped && w->wd >= 0))
			break;
		node_unlink(t, idx);
		t->names_waste += strlen(t->names + w->name) + 1;
		w->freed = 1;
		if (t->nfree == t->n || (t->nfree & (t->nfree - 1)) == 0)
			t->free_slots = xrealloc(t->free_slots,
			    (t->nfree ? t->nfree * 2 : 16) *
				sizeof(*t->free_slots));
		t->free_slots[t->nfree++] = idx;
		idx = parent;
	}
	names_compact(t);
}

/* The kernel dropped the watch (IN_IGNORED) or never gave it. */
static void
node_drop(struct watcher *wt, int idx)
{
	struct watch *w = &wt->table.w[idx];

	if (w->held) {
		hash_remove(&wt->table, w->wd);
		w->held = 0;
		wt->table.live--;
	}
	w->gone = 1;
	node_release(wt, idx);
}

static int
node_child(const struct watch_table *t, int parent, const char *name)
{
	int c;

	for (c = t->w[parent].first_child; c >= 0; c = t->w[c].next_sibling)
		if (!t->w[c].gone && strcmp(t->names + t->w[c].name, name) == 0)
			return c;
	return -1;
}

/*
 * The path of a watch: its parent's path, its name and a slash. Points
 * into a scratch buffer that the next call overwrites.
 */
static void
path_append(struct watcher *wt, int idx)
{
	const struct watch *w = &wt->table.w[idx];

	if (w->parent >= 0) {
		path_append(wt, w->parent);
		outbuf_adds(&wt->scratch, wt->table.names + w->name);
		outbuf_addc(&wt->scratch, '/');
	} else {
		outbuf_adds(&wt->scratch, wt->table.names + w->name);
	}
}

const char *
watch_path(struct watcher *wt, int idx, size_t *len)
{
	if (wt == NULL) {
		if (len != NULL)
			*len = 0;
		return "";
	}
	wt->scratch.len = 0;
	outbuf_reserve(&wt->scratch, 256);
	wt->scratch.data[0] = '\0';
	if (idx >= 0)
		path_append(wt, idx);
	if (len != NULL)
		*len = wt->scratch.len;
	return wt->scratch.data;
}

size_t
watcher_slots(const struct watcher *wt)
{
	return wt->table.n;
}

/* Watches the kernel gave a descriptor come in the order it gave them. */
int
watch_rank(const struct watcher *wt, int idx)
{
	return wt->table.w[idx].wd;
}

static int
hash_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The names watched under: one a watch, and the other names it was reached by. */
size_t
watcher_names(struct watcher *wt)
{
	size_t i, distinct = 0;

	if (wt->naliases > 0)
		qsort(wt->aliases, wt->naliases, sizeof(*wt->aliases),
		    hash_cmp);
	for (i = 0; i < wt->naliases; i++)
		if (i == 0 || wt->aliases[i] != wt->aliases[i - 1])
			distinct++;
	return wt->table.live + distinct;
}

/*
 * A directory reached again under another name. The reference counts
 * each name it registered as a watch (inotifywatch -v's total), so the
 * distinct other names are counted too, kept as hashes.
 */
static void
alias_note(struct watcher *wt, int known, int idx)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i, len;
	char *first = xstrdup(watch_path(wt, known, NULL));
	const char *p = watch_path(wt, idx, &len);
	int same = strcmp(first, p) == 0;

	free(first);
	if (same)
		return;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	if ((wt->naliases & (wt->naliases - 1)) == 0)
		wt->aliases = xrealloc(wt->aliases,
		    (wt->naliases ? wt->naliases * 2 : 16) *
			sizeof(*wt->aliases));
	wt->aliases[wt->naliases++] = h;
}

/* -------- Watching -------------------------------------------------- */

static void
watcher_prune_free(struct watcher *wt)
{
	size_t i;

	for (i = 0; i < wt->nprune; i++)
		regfree(&wt->prune[i]);
	free(wt->prune);
	free(wt->prune_path.data);
}

void
watch_settings_init(struct watch_settings *ws, const struct common_opts *o)
{
	memset(ws, 0, sizeof(*ws));
	ws->events = o->events;
	ws->recursive = o->recursive;
	ws->no_dereference = o->no_dereference;
	ws->regex = o->exclude ? o->exclude : o->include;
	ws->regex_keeps = o->include != NULL;
	ws->regex_icase = o->exclude ? o->exclude_icase : o->include_icase;
	ws->prune = o->prune;
	ws->nprune = o->nprune;
	ws->fanotify = o->fanotify;
}

struct watcher *
watcher_new(const struct watch_settings *ws)
{
	struct watcher *wt = xmalloc(sizeof(*wt));

	memset(wt, 0, sizeof(*wt));
	/* A bad pattern ends the program before anything else is held. */
	if (ws->regex != NULL &&
	    regcomp(&wt->regex, ws->regex,
		REG_EXTENDED | REG_NOSUB | (ws->regex_icase ? REG_ICASE : 0)) !=
		0) {
		free(wt);
		die("Error in `%s' regular expression.",
		    ws->regex_keeps ? "include" : "exclude");
	}
	if (ws->nprune > 0)
		wt->prune = xmalloc(ws->nprune * sizeof(*wt->prune));
	for (; wt->nprune < ws->nprune; wt->nprune++)
		if (regcomp(&wt->prune[wt->nprune], ws->prune[wt->nprune],
			REG_EXTENDED | REG_NOSUB) != 0) {
			const char *bad = ws->prune[wt->nprune];

			watcher_prune_free(wt);
			free(wt);
			die("Error in `prune' regular expression: %s", bad);
		}
	wt->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (wt->fd < 0) {
		int e = errno;

		msg("Couldn't initialize inotify: %s", strerror(e));
		if (e == EMFILE)
			msg("Try increasing the value of "
			    "/proc/sys/fs/inotify/max_user_instances");
		exit(EXIT_ERROR);
	}
	wt->proc_ok = access("/proc/self/fd", F_OK) == 0;
	wt->mask = ws->events ? ws->events : IN_ALL_EVENTS;
	wt->want = wt->mask;
	wt->mask |= ws->unasked;
	wt->fan_wanted = ws->fanotify;
	if (ws->no_dereference)
		wt->mask |= IN_DONT_FOLLOW;
	wt->recursive = ws->recursive;
	wt->follow_tree = ws->follow_tree;
	if (wt->follow_tree)
		wt->mask |= EVENT_TREE;
	wt->keep_dropped = ws->keep_dropped;
	if (ws->regex != NULL) {
		wt->have_regex = 1;
		wt->regex_keeps = ws->regex_keeps;
	}
	return wt;
}

/* --exclude and --include look at the watch's path followed by the name. */
static int
event_filtered(struct watcher *wt, const struct event *ev)
{
	int match;

	if (!wt->have_regex)
		return 0;
	watch_path(wt, ev->watch, NULL);
	outbuf_adds(&wt->scratch, ev->name);
	match = regexec(&wt->regex, wt->scratch.data, 0, NULL, 0) == 0;
	return wt->regex_keeps ? !match : match;
}

static void scanned_clear(struct watcher *wt);
static void fan_free(struct fan *f);
static int fan_add(struct watcher *wt, const char *path);

void
watcher_free(struct watcher *wt)
{
	close(wt->fd);
	if (wt->fan != NULL)
		fan_free(wt->fan);
	free(wt->table.names);
	free(wt->table.w);
	free(wt->table.free_slots);
	free(wt->table.hash);
	if (wt->have_regex)
		regfree(&wt->regex);
	watcher_prune_free(wt);
	free(wt->scratch.data);
	free(wt->q);
	scanned_clear(wt);
	free(wt->scanned);
	free(wt->scanned_index);
	free(wt->aliases);
	while (wt->nlater > 0)
		free(wt->later[--wt->nlater].name);
	free(wt->later);
	free(wt->owed);
	free(wt);
}

/*
 * Asks the kernel to watch path for node idx. A directory that is
 * watched already (the same inode reached again, through another
 * operand or a link) keeps its first name, as the reference's does: the
 * new node goes, and EEXIST says so. The set-up asks with the mask every
 * watch has, and learns the name the directory goes by; a scan asks
 * with a narrower mask, which must not replace the one in force, so it
 * lets the kernel refuse (IN_MASK_CREATE, Linux 4.18).
 */
static int
node_watch(struct watcher *wt, int idx, const char *path, uint32_t mask)
{
	static uint32_t mask_create = IN_MASK_CREATE;
	struct watch_table *t = &wt->table;
	int wd, known;

	if (mask == wt->mask) {
		wd = inotify_add_watch(wt->fd, path, mask);
	} else {
		wd = inotify_add_watch(wt->fd, path, mask | mask_create);
		if (wd < 0 && errno == EINVAL && mask_create != 0) {
			mask_create = 0; /* an older kernel */
			wd = inotify_add_watch(wt->fd, path, mask);
		}
	}
	if (wd < 0 && errno == EEXIST) {
		node_drop(wt, idx);
		return EEXIST;
	}
	if (wd < 0)
		return errno;
	if ((known = hash_find(t, wd)) >= 0) {
		alias_note(wt, known, idx);
		t->w[idx].wd = WD_ALIAS;
		node_drop(wt, idx);
		return EEXIST;
	}
	t->w[idx].wd = wd;
	t->w[idx].held = 1;
	t->w[idx].gone = 0;
	t->live++;
	hash_insert(t, idx);
	return 0;
}

/*
 * The path that leads to the directory open as fd whatever its name is
 * now: its /proc/self/fd link; where there is no /proc, path, its name
 * as this program last knew it.
 */
static const char *
fd_path(const struct watcher *wt, char *buf, size_t size, int fd,
    const char *path)
{
	if (!wt->proc_ok)
		return path;
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return buf;
}

/* The mask for fd_path: the /proc link is the one thing to follow. */
static uint32_t
fd_watch_mask(const struct watcher *wt, uint32_t mask)
{
	return wt->proc_ok ? mask & ~IN_DONT_FOLLOW : mask;
}

/*
 * Which of our watches path leads to, or -1. The asking adds nothing to
 * a watch, and a watch set only to ask (a directory not ours) reports
 * nothing and is taken back at once.
 */
static int
watch_asked(struct watcher *wt, const char *path)
{
	int wd = inotify_add_watch(wt->fd, path, IN_MASK_ADD | IN_UNMOUNT);

	if (wd >= 0 && hash_find(&wt->table, wd) < 0) {
		inotify_rm_watch(wt->fd, wd);
		return -1;
	}
	return wd;
}

/* Which of our watches the directory open as fd is, or -1. */
static int
watch_of_fd(struct watcher *wt, int fd, const char *path)
{
	char buf[64];

	return watch_asked(wt, fd_path(wt, buf, sizeof(buf), fd, path));
}

/* node_watch for the directory open as fd (its path is path). */
static int
node_watch_fd(struct watcher *wt, int idx, int fd, const char *path,
    uint32_t mask)
{
	char buf[64];

	return node_watch(wt, idx, fd_path(wt, buf, sizeof(buf), fd, path),
	    fd_watch_mask(wt, mask));
}

/* Watch idx, of the directory open as fd, gets the whole mask. */
static void
node_remask(struct watcher *wt, int idx, int fd)
{
	char buf[64];
	int wd = inotify_add_watch(wt->fd,
	    fd_path(wt, buf, sizeof(buf), fd, watch_path(wt, idx, NULL)),
	    fd_watch_mask(wt, wt->mask));

	/* Renamed meanwhile (no /proc), and the path leads elsewhere. */
	if (wd >= 0 && wd != wt->table.w[idx].wd &&
	    hash_find(&wt->table, wd) < 0)
		inotify_rm_watch(wt->fd, wd);
}

/*
 * Whether the directory dir (a path below an operand) is left unwatched.
 * An @PATH exclusion matches a directory whose path, without its final
 * slash, equals the operand without one final slash. A --prune pattern
 * matches its path as %w prints it, with one final slash.
 */
static int
excluded(struct watcher *wt, const char *dir, size_t len)
{
	size_t i;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (wt->nprune > 0) {
		wt->prune_path.len = 0;
		outbuf_add(&wt->prune_path, dir, len);
		outbuf_addc(&wt->prune_path, '/');
		for (i = 0; i < wt->nprune; i++)
			if (regexec(&wt->prune[i], wt->prune_path.data, 0, NULL,
				0) == 0)
				return 1;
	}
	for (i = 0; i < wt->nexcludes; i++) {
		const char *x = wt->excludes[i];
		size_t xlen = strlen(x);

		if (xlen > 1 && x[xlen - 1] == '/')
			xlen--;
		if (xlen == len && memcmp(x, dir, len) == 0)
			return 1;
	}
	return 0;
}

/* Whether the entry name (len bytes) of watch parent is left unwatched. */
static int
child_excluded(struct watcher *wt, int parent, const char *name, size_t len)
{
	watch_path(wt, parent, NULL);
	outbuf_add(&wt->scratch, name, len);
	return excluded(wt, wt->scratch.data, wt->scratch.len);
}

/*
 * File systems whose directories count their subdirectories in their
 * link count, so that a directory with two links has none: ext2-4, xfs,
 * tmpfs. Not btrfs, whose directories always have one.
 */
static int
links_count_subdirs(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case 0xEF53:     /* ext2, ext3, ext4 */
	case 0x58465342: /* xfs */
	case 0x01021994: /* tmpfs */
		return 1;
	}
	return 0;
}

/*
 * The subdirectories in one read of the open directory fd, appended to
 * names each as a flag byte ('L' for a leaf, one known to have no
 * subdirectories, else 'D'), its name and a NUL. Symbolic links are
 * never followed. The type comes from the directory itself; a leaf is
 * known by its link count, on the device leaf_dev only (see
 * links_count_subdirs). Returns the bytes read, 0 at the end, or -1.
 */
static ssize_t
subdirs_batch(int fd, struct outbuf *names, int leaf_ok, dev_t leaf_dev)
{
	char buf[32768] __attribute__((aligned(8)));
	ssize_t off, n = getdents64(fd, buf, sizeof(buf));

	for (off = 0; off < n;) {
		struct dirent64 *de = (struct dirent64 *)(void *)(buf + off);
		const char *name = de->d_name;
		unsigned char type = de->d_type;
		char flag = 'D';
		struct stat st;

		off += de->d_reclen;
		if (name[0] == '.' &&
		    (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
			continue;
		if (type == DT_UNKNOWN || (type == DT_DIR && leaf_ok)) {
			if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
			if (type == DT_DIR && leaf_ok && st.st_nlink == 2 &&
			    st.st_dev == leaf_dev)
				flag = 'L';
		}
		if (type != DT_DIR)
			continue;
		outbuf_addc(names, flag);
		outbuf_add(names, name, strlen(name) + 1);
	}
	return n;
}

/* All the subdirectories of path, as subdirs_batch lists them. */
static int
subdirs_read(const char *path, struct outbuf *names, int leaf_ok,
    dev_t leaf_dev)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return errno;
	names->len = 0;
	while ((n = subdirs_batch(fd, names, leaf_ok, leaf_dev)) > 0)
		;
	err = n < 0 ? errno : 0;
	close(fd);
	return err;
}

/* The watch limit in force: the smaller of the system's and the namespace's. */
static long
watch_limit(void)
{
	static const char *const files[] = {
		"/proc/sys/fs/inotify/max_user_watches",
		"/proc/sys/user/max_inotify_watches",
	};
	long limit = -1;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *fp = fopen(files[i], "r");
		long v;

		if (fp == NULL)
			continue;
		if (fscanf(fp, "%ld", &v) == 1 && (limit < 0 || v < limit))
			limit = v;
		fclose(fp);
	}
	return limit;
}

/* How many directories there are in the tree at path, itself included. */
static size_t
dirs_count(struct outbuf *path)
{
	struct outbuf names = { 0 };
	size_t off, n = 1;

	if (subdirs_read(path->data, &names, 0, 0) != 0)
		return n;
	for (off = 0; off < names.len; off += strlen(names.data + off) + 1) {
		size_t plen = path->len;

		off++; /* the leaf flag */
		outbuf_addc(path, '/');
		outbuf_adds(path, names.data + off);
		n += dirs_count(path);
		path_cut(path, plen);
	}
	free(names.data);
	return n;
}

/*
 * The fanotify group -F and -S use: events name their directory, the
 * entry and the object by handles (Linux 5.17).
 */
#define FAN_INIT_FLAGS \
	(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME_TARGET | FAN_CLOEXEC)

/* Whether this process may take a fanotify file-system mark on path's. */
static int
fanotify_usable(const char *path)
{
	int fd = fanotify_init(FAN_INIT_FLAGS, O_RDONLY);
	int ok;

	if (fd < 0)
		return 0;
	ok = fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CREATE,
		 AT_FDCWD, path) == 0;
	close(fd);
	return ok;
}

/*
 * The reference's two lines, then what the user needs to act: the limit,
 * what this run wanted, and the setting that raises it.
 */
static void
err_watch_limit(const char *path, const struct path_list *pl, int recursive)
{
	long limit = watch_limit();
	size_t i, wanted = 0;

	msg("Failed to watch %s; upper limit on inotify watches reached!",
	    path);
	msg("Please increase the amount of inotify watches allowed per user "
	    "via `/proc/sys/fs/inotify/max_user_watches'.");
	for (i = 0; i < pl->npaths; i++) {
		struct outbuf p = { 0 };

		outbuf_adds(&p, pl->paths[i]);
		wanted += recursive ? dirs_count(&p) : 1;
		free(p.data);
	}
	msg("The limit is %ld watches per user (watches of other programs "
	    "count too); this needs %zu. Raise it with: sysctl "
	    "fs.inotify.max_user_watches=%ld",
	    limit, wanted, (limit + (long)wanted + 1023) / 1024 * 1024 * 2);
	if (fanotify_usable(path))
		msg("Or watch with -S: fanotify marks the whole file system at "
		    "once, with no watch limit.");
}

/* Reads a directory through, for the events that makes, and no more. */
static void
dir_read(const char *path)
{
	struct outbuf names = { 0 };

	subdirs_read(path, &names, 0, 0);
	free(names.data);
}

/*
 * A directory below a watched one could not be watched. One that is
 * closed to us or vanished since it was listed is reported and skipped;
 * anything else (the watch limit) fails the whole walk.
 */
static int
subdir_failed(struct watcher *wt, int idx, const char *path, int err)
{
	node_drop(wt, idx);
	if (err != EACCES && err != ENOENT && err != ELOOP && err != ENOTDIR &&
	    err != ENAMETOOLONG)
		return err;
	msg("Skipping %s: %s", path, strerror(err));
	return 0;
}

/* A directory, as the kernel knows it. */
struct dir_id {
	dev_t dev;
	ino_t ino;
};

static int
dir_id_cmp(const void *a, const void *b)
{
	const struct dir_id *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/*
 * The directories our watches hold now, sorted, from the inotify fd's
 * /proc fdinfo; *n gets how many. NULL where it cannot be read.
 */
static struct dir_id *
held_dirs_read(const struct watcher *wt, size_t *n)
{
	char path[64], line[512];
	struct dir_id *ids = NULL;
	size_t cap = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", wt->fd);
	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	*n = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long long ino;
		unsigned int sdev;

		if (sscanf(line, "inotify wd:%*d ino:%llx sdev:%x", &ino,
			&sdev) != 2)
			continue;
		ids = xgrow(ids, *n, &cap, sizeof(*ids));
		/* The kernel's own dev_t: 12 bits of major, 20 of minor. */
		ids[*n].dev = makedev(sdev >> 20, sdev & 0xfffff);
		ids[(*n)++].ino = (ino_t)ino;
	}
	fclose(fp);
	if (ids == NULL)
		ids = xmalloc(sizeof(*ids));
	qsort(ids, *n, sizeof(*ids), dir_id_cmp);
	return ids;
}

/* The walk of one operand's tree: what holds for all of it. */
struct walk {
	int leaf_ok; /* link counts tell leaves on leaf_dev */
	dev_t leaf_dev;
	int depth; /* directories held open above this one */
	/*
	 * Earlier operands hold watches, maybe of these: the directories
	 * they hold (held), or, where /proc cannot say, ask the kernel.
	 */
	int overlap;
	struct dir_id *held;
	size_t nheld;
};

/*
 * Whether an earlier operand watches the directory open as fd. Asking
 * the kernel sets a watch and takes it back, which queues an IGNORED:
 * only where /proc has no list of our watches.
 */
static int
walk_watched(struct watcher *wt, const struct walk *wk, int fd,
    const char *path)
{
	struct dir_id id;
	struct stat st;

	if (!wk->overlap)
		return 0;
	if (wk->held == NULL)
		return watch_of_fd(wt, fd, path) >= 0;
	if (fstat(fd, &st) < 0)
		return 0;
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	return bsearch(&id, wk->held, wk->nheld, sizeof(id), dir_id_cmp) !=
	    NULL;
}

/*
 * Below this depth a directory stays open while its subdirectories are
 * walked, as the reference's walk does: when an earlier operand watches
 * them already, their events come in the reference's order. Deeper, the
 * names are read first, so that a deep tree holds few descriptors.
 */
#define WALK_OPEN_DEPTH 64

static int walk(struct watcher *wt, struct walk *wk, struct outbuf *path,
    int idx, int leaf);

/* Watches each subdirectory in names, with all below it. */
static int
walk_subdirs(struct watcher *wt, struct walk *wk, struct outbuf *path, int idx,
    int watched, const struct outbuf *names)
{
	size_t off, plen = path->len;
	int err = 0;

	for (off = 0; err == 0 && off < names->len;
	     off += strlen(names->data + off) + 1) {
		/*
		 * The reference reads every subdirectory, and a watch on
		 * this one (an earlier operand's) reports that reading.
		 */
		int child_leaf = names->data[off++] == 'L' && !watched;
		const char *name = names->data + off;
		int child;

		outbuf_adds(path, name);
		if (!excluded(wt, path->data, path->len)) {
			outbuf_addc(path, '/');
			child = node_new(wt, idx, name, strlen(name));
			err = walk(wt, wk, path, child, child_leaf);
			if (err != 0)
				err = subdir_failed(wt, child, path->data, err);
		}
		path_cut(path, plen);
	}
	return err;
}

/*
 * Watches the directory path (ending in '/') for node idx and every
 * directory below it. Subdirectories are watched first, as the
 * reference does, so that the walk's own reads of them are not reported
 * and watch descriptors come in the same order. Returns 0 or an errno.
 */
static int
walk(struct watcher *wt, struct walk *wk, struct outbuf *path, int idx,
    int leaf)
{
	struct outbuf names = { 0 };
	int fd = -1, err = 0, watched = 0;
	ssize_t n;

	if (!leaf) {
		fd = open(path->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		watched = walk_watched(wt, wk, fd, path->data);
	}
	wk->depth++;
	while (fd >= 0 && err == 0) {
		names.len = 0;
		n = subdirs_batch(fd, &names, wk->leaf_ok, wk->leaf_dev);
		if (n < 0)
			err = errno;
		if (n <= 0)
			break;
		if (wk->depth >= WALK_OPEN_DEPTH) {
			while ((n = subdirs_batch(fd, &names, wk->leaf_ok,
				    wk->leaf_dev)) > 0)
				;
			close(fd);
			fd = -1;
			if (n < 0)
				err = errno;
		}
		if (err == 0)
			err = walk_subdirs(wt, wk, path, idx, watched, &names);
	}
	wk->depth--;
	if (fd >= 0)
		close(fd);
	free(names.data);
	if (err != 0)
		return err;
	err = node_watch(wt, idx, path->data, wt->mask);
	/*
	 * Watched already, through an earlier operand: the reference read
	 * it, and its watch reported that; so do we, for the same events.
	 */
	if (err == EEXIST && leaf)
		dir_read(path->data);
	return err == EEXIST ? 0 : err;
}

/*
 * Watches one operand. A directory's name gets a trailing slash, as the
 * reference prints it; under -r a directory is watched with all below it.
 * Returns 0 or an errno.
 */
int
watcher_add(struct watcher *wt, const char *path)
{
	struct outbuf name = { 0 };
	struct stat st;
	size_t len = strlen(path);
	int idx, err;

	if (wt->fan != NULL)
		return fan_add(wt, path);
	outbuf_adds(&name, path);
	if (wt->recursive) {
		struct walk wk = { 0 };

		wk.overlap = wt->table.live > 0;
		if (wk.overlap)
			wk.held = held_dirs_read(wt, &wk.nheld);
		if (path[len - 1] != '/')
			outbuf_addc(&name, '/');
		idx = node_new(wt, -1, name.data, name.len);
		wk.leaf_ok = stat(path, &st) == 0 && links_count_subdirs(path);
		wk.leaf_dev = wk.leaf_ok ? st.st_dev : 0;
		err = walk(wt, &wk, &name, idx, 0);
		free(wk.held);
		if (err != ENOTDIR) {
			if (err != 0)
				node_drop(wt, idx);
			free(name.data);
			return err;
		}
		node_drop(wt, idx);
		name.len = len;
		name.data[len] = '\0';
	}
	if (path[len - 1] != '/' && lstat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		outbuf_addc(&name, '/');
	idx = node_new(wt, -1, name.data, name.len);
	err = node_watch(wt, idx, path, wt->mask);
	if (err != 0 && err != EEXIST)
		node_drop(wt, idx);
	free(name.data);
	return err == EEXIST ? 0 : err;
}

/* -------- The kernel's queue ---------------------------------------- */

/* Room for at least one event with the longest name, and many more. */
#define EVENT_BUF_SIZE ((size_t)64 * 1024)

/*
 * The queue of records read from the kernel and not yet handed out. A
 * scan reads all the kernel holds before and after it lists a directory,
 * so that each record's place in the stream says whether it happened
 * before the listing (and the listing shows it), after it, or, in the
 * moment between the two reads, maybe either.
 */
#define QUEUE_FILL_MAX ((size_t)8 * 1024 * 1024)

/* The whole records in buf[0..n); *bytes gets their length. */
static size_t
records_count(const char *buf, size_t n, size_t *bytes)
{
	size_t off = 0, count = 0;
	struct inotify_event ie;

	while (n - off >= sizeof(ie)) {
		memcpy(&ie, buf + off, sizeof(ie));
		if (ie.len > n - off - sizeof(ie))
			break;
		off += sizeof(ie) + ie.len;
		count++;
	}
	*bytes = off;
	return count;
}

static void
queue_reserve(struct watcher *wt, size_t extra)
{
	if (wt->q_head == wt->q_len) {
		wt->q_head = wt->q_len = 0;
		/* A burst's queue goes back once it is read. */
		if (wt->q_cap > 4 * EVENT_BUF_SIZE && extra <= EVENT_BUF_SIZE) {
			free(wt->q);
			wt->q = NULL;
			wt->q_cap = 0;
		}
	}
	if (wt->q_cap - wt->q_len >= extra)
		return;
	while (wt->q_cap - wt->q_len < extra)
		wt->q_cap = wt->q_cap ? wt->q_cap * 2 : EVENT_BUF_SIZE;
	wt->q = xrealloc(wt->q, wt->q_cap);
}

/* One read(2) of the kernel's queue into q: its length, or -1. */
static ssize_t
queue_read(struct watcher *wt)
{
	ssize_t n;
	size_t bytes;

	queue_reserve(wt, EVENT_BUF_SIZE);
	n = read(wt->fd, wt->q + wt->q_len, EVENT_BUF_SIZE);
	if (n <= 0)
		return n;
	wt->q_records += records_count(wt->q + wt->q_len, (size_t)n, &bytes);
	wt->q_len += bytes;
	wt->q_short = (size_t)n <
	    EVENT_BUF_SIZE - sizeof(struct inotify_event) - NAME_MAX - 1;
	return n;
}

/*
 * Reads all the kernel has queued. Returns 0 if it stopped short, at
 * QUEUE_FILL_MAX: the places of what it left are not known.
 */
static int
queue_fill(struct watcher *wt)
{
	while (wt->q_len - wt->q_head < QUEUE_FILL_MAX)
		if (queue_read(wt) <= 0)
			return 1;
	return 0;
}

/* -------- Scans ----------------------------------------------------- */

/*
 * Scanning a new directory. Its watch is placed before it is read, so
 * nothing created afterwards is missed, and what was already there is
 * reported as the events that made it. While the scan reads the tree its
 * watches leave out the events that reading itself makes; the full mask
 * is put back once the whole new tree is watched.
 */
#define EVENT_READING (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE)

/* What scanned_stale finds an event to be. */
enum { SCAN_NEW, SCAN_TOLD, SCAN_BEFORE };

/*
 * The scans' listings, until the queue is next read empty. Each listed
 * directory has a marker (its watch, the name "") holding the number of
 * its latest listing; its entries belong to one listing, so a directory
 * listed again is checked against the new listing alone. A hash index
 * keeps a lookup constant-time: every event read while a scan's window is
 * open is checked, and a big new tree lists thousands of entries.
 */
static uint32_t
scanned_hash(int watch, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)watch;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static void
scanned_index_put(struct watcher *wt, size_t entry)
{
	size_t mask = wt->scanned_slots - 1;
	size_t i = wt->scanned[entry].hash & mask;

	while (wt->scanned_index[i] != 0)
		i = (i + 1) & mask;
	wt->scanned_index[i] = entry + 1;
}

static void
scanned_add(struct watcher *wt, int watch, uint32_t listing, const char *name,
    uint32_t mask)
{
	struct scanned *e;
	size_t i;

	if (wt->nscanned == wt->scanned_cap) {
		wt->scanned_cap = wt->scanned_cap ? wt->scanned_cap * 2 : 16;
		wt->scanned = xrealloc(wt->scanned,
		    wt->scanned_cap * sizeof(*wt->scanned));
	}
	e = &wt->scanned[wt->nscanned];
	e->watch = watch;
	e->listing = listing;
	e->mask = mask;
	e->hash = scanned_hash(watch, name);
	e->name = xstrdup(name);
	if (2 * (wt->nscanned + 1) > wt->scanned_slots) {
		free(wt->scanned_index);
		wt->scanned_slots =
		    wt->scanned_slots ? wt->scanned_slots * 2 : 64;
		wt->scanned_index =
		    xmalloc(wt->scanned_slots * sizeof(*wt->scanned_index));
		memset(wt->scanned_index, 0,
		    wt->scanned_slots * sizeof(*wt->scanned_index));
		for (i = 0; i < wt->nscanned; i++)
			scanned_index_put(wt, i);
	}
	scanned_index_put(wt, wt->nscanned++);
}

/* The live entry of watch named name, in any listing if marker, or NULL. */
static struct scanned *
scanned_lookup(const struct watcher *wt, int watch, const char *name,
    uint32_t listing, int marker)
{
	size_t mask = wt->scanned_slots - 1;
	uint32_t h = scanned_hash(watch, name);
	size_t i;

	if (wt->nscanned == 0)
		return NULL;
	for (i = h & mask; wt->scanned_index[i] != 0; i = (i + 1) & mask) {
		struct scanned *e = &wt->scanned[wt->scanned_index[i] - 1];

		if (e->hash == h && e->watch == watch &&
		    (marker || e->listing == listing) &&
		    strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

/* The marker of the latest listing of watch, or NULL if none is open. */
static struct scanned *
scanned_marker(const struct watcher *wt, int watch)
{
	return scanned_lookup(wt, watch, "", 0, 1);
}

/* The entry named name in the latest listing of watch, or NULL. */
static struct scanned *
scanned_find(const struct watcher *wt, int watch, const char *name)
{
	const struct scanned *m = scanned_marker(wt, watch);

	return m == NULL ? NULL :
			   scanned_lookup(wt, watch, name, m->listing, 0);
}

/*
 * A listing of watch begins: the events queued before it are checked
 * against it, and what an earlier listing saw is out of date.
 */
static uint32_t
scanned_listing(struct watcher *wt, int watch)
{
	struct scanned *m;
	uint64_t before = queue_fill(wt) ? wt->q_records : 0;

	if ((m = scanned_marker(wt, watch)) == NULL) {
		scanned_add(wt, watch, 0, "", 0);
		m = scanned_marker(wt, watch);
	}
	m->listing = ++wt->listings;
	m->before = before;
	m->after = UINT64_MAX;
	return m->listing;
}

/*
 * The listing of watch has been read: what is queued from here on
 * happened after it, unless the queue was too long to read whole.
 */
static void
scanned_listed(struct watcher *wt, int watch)
{
	int whole = queue_fill(wt);
	struct scanned *m = scanned_marker(wt, watch);

	if (m != NULL && whole && m->before > 0)
		m->after = wt->q_records;
}

/* An entry no longer counts: its name was deleted, or its watch freed. */
static void
scanned_kill(struct scanned *e)
{
	if (e != NULL)
		e->watch = -1;
}

/*
 * Whether a directory, or one above it, is missing from a listing of its
 * parent, as kept up to date since: it had left before that listing, and
 * its events are older.
 */
static int
scanned_unlisted(const struct watcher *wt, int idx)
{
	const struct watch_table *t = &wt->table;
	const struct scanned *e;
	int parent;

	for (; (parent = t->w[idx].parent) >= 0; idx = parent) {
		if (scanned_marker(wt, parent) == NULL)
			continue;
		e = scanned_find(wt, parent, t->names + t->w[idx].name);
		/* Listed as something else, a file of that name: not it. */
		if (e == NULL ||
		    (e->mask & (IN_CREATE | IN_ISDIR)) == IN_CREATE)
			return 1;
	}
	return 0;
}

static int pending_find(const struct watcher *wt, uint32_t cookie);

/*
 * Whether a MOVED_TO renames a watched directory over the one of that
 * name a scan listed: the listing came before the rename, and the move
 * is news, not a repeat.
 */
static int
moved_over_listed(const struct watcher *wt, const struct event *ev)
{
	int i;

	if ((ev->mask & (IN_MOVED_TO | IN_ISDIR)) != (IN_MOVED_TO | IN_ISDIR) ||
	    (i = pending_find(wt, ev->cookie)) < 0)
		return 0;
	return wt->pending[i].watch !=
	    node_child(&wt->table, ev->watch, ev->name);
}

/*
 * Whether a kernel event at place in the stream, on a directory a scan
 * just read, only tells what the scan told already (SCAN_TOLD), or
 * happened before it looked (SCAN_BEFORE). The watch is placed before
 * the directory is read: what was queued before the listing is in it.
 * An entry the scan reported is not created again; one it did not see,
 * and no event has made since, is not modified, moved or deleted; a
 * directory it did not see has no events at all.
 */
static int
scanned_stale(struct watcher *wt, const struct event *ev, uint64_t place)
{
	const struct scanned *m;
	struct scanned *e;
	int after;

	if (wt->nscanned == 0 || ev->watch < 0)
		return SCAN_NEW;
	if (scanned_unlisted(wt, ev->watch))
		return (ev->mask & (EVENT_SELF | IN_MOVE_SELF)) ? SCAN_NEW :
								  SCAN_BEFORE;
	if ((m = scanned_marker(wt, ev->watch)) == NULL)
		return SCAN_NEW;
	if (place < m->before)
		return (ev->mask & (EVENT_SELF | IN_MOVE_SELF)) ? SCAN_NEW :
								  SCAN_BEFORE;
	if (ev->name[0] == '\0')
		return SCAN_NEW;
	/*
	 * Later: the entries are kept up to date, for a rename or a
	 * creation is queued once it is done, and a listing may see it
	 * first. Between the two reads, the entries decide all.
	 */
	after = place >= m->after;
	e = scanned_find(wt, ev->watch, ev->name);
	if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		if (e != NULL && (e->mask & IN_CREATE) &&
		    !moved_over_listed(wt, ev))
			return SCAN_TOLD;
		if (e == NULL)
			scanned_add(wt, ev->watch, m->listing, ev->name, 0);
		return SCAN_NEW;
	}
	/* Not listed, or listed as another type: what was there before. */
	if (e == NULL ||
	    ((e->mask & IN_CREATE) && ((e->mask ^ ev->mask) & IN_ISDIR)))
		return after ? SCAN_NEW : SCAN_BEFORE;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		scanned_kill(e); /* a new one of that name is new */
		return SCAN_NEW;
	}
	return !after && (e->mask & ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)) ?
	    SCAN_TOLD :
	    SCAN_NEW;
}

static void
scanned_clear(struct watcher *wt)
{
	size_t i;

	if (wt->nscanned == 0)
		return;
	for (i = 0; i < wt->nscanned; i++)
		free(wt->scanned[i].name);
	wt->nscanned = 0;
	if (wt->scanned_slots > 4096) {
		free(wt->scanned_index); /* a big scan's, not kept */
		wt->scanned_index = NULL;
		wt->scanned_slots = 0;
	} else {
		memset(wt->scanned_index, 0,
		    wt->scanned_slots * sizeof(*wt->scanned_index));
	}
}

/* Reports one entry found by a scan as the events that made it. */
static void
scan_report(struct watcher *wt, int watch, uint32_t listing, const char *name,
    const struct stat *st, event_fn fn, void *arg)
{
	static const uint32_t file_events[] = { IN_CREATE, IN_MODIFY,
		IN_CLOSE_WRITE };
	struct event ev = { watch, 0, 0, name };
	uint32_t all = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (i > 0 && !S_ISREG(st->st_mode))
			break;
		if (i == 1 && st->st_size == 0)
			continue;
		ev.mask =
		    file_events[i] | (S_ISDIR(st->st_mode) ? IN_ISDIR : 0);
		all |= ev.mask;
		if (!event_filtered(wt, &ev))
			fn(wt, &ev, arg);
	}
	scanned_add(wt, watch, listing, name, all);
}

/*
 * The directory name the scan of watch idx listed was gone before it was
 * read: told empty. A watch that went by another name then (its rename
 * is still in the queue) is found by that rename.
 */
static void
scanned_unread(struct watcher *wt, int idx, const char *name)
{
	struct scanned *e = scanned_find(wt, idx, name);

	if (e != NULL)
		e->mask |= SCANNED_UNREAD;
}

/* walk_new's answer when the name an event gave left before the open. */
#define WALK_NAME_LEFT (-1)

static int walk_new(struct watcher *wt, int at, const char *name,
    struct outbuf *path, int idx, event_fn fn, void *arg);
static int name_leaves_later(const struct watcher *wt, int parent,
    const char *name);
static void tree_move(struct watcher *wt, int idx, int parent,
    const char *name);

/*
 * Renames under way: the directories whose MOVED_FROM came and whose
 * MOVED_TO has not yet. Two processes' renames may interleave.
 */
static int
pending_find(const struct watcher *wt, uint32_t cookie)
{
	size_t i;

	for (i = 0; i < wt->npending; i++)
		if (wt->pending[i].cookie == cookie)
			return (int)i;
	return -1;
}

/* The directory is accounted for: no longer awaiting its MOVED_TO. */
static void
pending_forget(struct watcher *wt, int idx)
{
	size_t i;

	for (i = 0; i < wt->npending; i++)
		if (wt->pending[i].watch == idx) {
			wt->pending[i] = wt->pending[--wt->npending];
			return;
		}
}

/* Whether watch a is watch b or one of its ancestors. */
static int
node_above(const struct watch_table *t, int a, int b)
{
	for (; b >= 0; b = t->w[b].parent)
		if (b == a)
			return 1;
	return 0;
}

/*
 * A scan met a directory that is watched already, under another node:
 * it moved here before this part of the tree was watched, and the queue
 * has yet to tell where from. It is here now: its node moves here, with
 * all below it (the rename's events, once read, find nothing to do).
 * A node taken for gone (another directory took its name, and its own
 * rename is still in the queue) is found again: the kernel still holds
 * its watch, so it was neither deleted nor unwatched. Returns its node,
 * or -1 if it is no such directory.
 */
static int
node_adopt(struct watcher *wt, int fd, const char *path, int parent,
    const char *name)
{
	struct watch_table *t = &wt->table;
	int wd = watch_of_fd(wt, fd, path);
	int ex = wd >= 0 ? hash_find(t, wd) : -1;

	if (ex < 0 || t->w[ex].parent < 0 || node_above(t, ex, parent))
		return -1;
	pending_forget(wt, ex);
	tree_move(wt, ex, parent, name);
	t->w[ex].gone = 0;
	return ex;
}

static int scan_dir(struct watcher *wt, int fd, struct outbuf *path, int idx,
    event_fn fn, void *arg);

/*
 * Directories whose contents the stream owes: moved in by a rename whose
 * MOVED_FROM was not told, so that what they hold is told after the
 * MOVED_TO, but gone from their path by then (the queue is behind the
 * file system). They are read once the queue is read to its end, under
 * the path they have then; until then nothing in them is told, for the
 * stream has not told what they hold.
 */
static int
owed_find(const struct watcher *wt, int idx)
{
	size_t i;

	for (i = 0; i < wt->nowed; i++)
		if (wt->owed[i].watch == idx &&
		    wt->owed[i].wd == wt->table.w[idx].wd)
			return (int)i;
	return -1;
}

static void
owed_add(struct watcher *wt, int idx)
{
	if (owed_find(wt, idx) >= 0)
		return;
	if ((wt->nowed & (wt->nowed - 1)) == 0)
		wt->owed = xrealloc(wt->owed,
		    (wt->nowed ? wt->nowed * 2 : 16) * sizeof(*wt->owed));
	wt->owed[wt->nowed].watch = idx;
	wt->owed[wt->nowed++].wd = wt->table.w[idx].wd;
}

/* What directory idx holds is being told. */
static void
owed_paid(struct watcher *wt, int idx)
{
	int i;

	if (wt->nowed > 0 && (i = owed_find(wt, idx)) >= 0)
		wt->owed[i] = wt->owed[--wt->nowed];
}

/* Whether the contents of directory idx, or of one above it, are owed. */
static int
owed_within(const struct watcher *wt, int idx)
{
	if (wt->nowed == 0)
		return 0;
	for (; idx >= 0; idx = wt->table.w[idx].parent)
		if (owed_find(wt, idx) >= 0)
			return 1;
	return 0;
}

/* Whether an event is about something in a directory whose contents are owed. */
static int
owed_hides(const struct watcher *wt, const struct event *ev)
{
	if (wt->nowed == 0 || ev->watch < 0)
		return 0;
	return owed_within(wt,
	    ev->name[0] != '\0' ? ev->watch : wt->table.w[ev->watch].parent);
}

/*
 * A directory watched as node child was listed by a scan, which then
 * found it gone from that name and told it empty: what it holds is owed,
 * told once the queue is read, where the queue says it went (if it is
 * still in the tree). Until then what its watches queued is not told.
 */
static void
scan_lost(struct watcher *wt, int child)
{
	if (child >= 0)
		owed_add(wt, child);
}

/*
 * Scans the subdirectory name of the directory fd, watched already as
 * node child, and says so; *err gets what the scan answered. Says not if
 * the name leads to another directory now (one renamed over it): the
 * node's is on its way out, no longer found by name, and path is left
 * as it was.
 */
static int
scan_child(struct watcher *wt, int fd, const char *name, struct outbuf *path,
    int child, int *err, event_fn fn, void *arg)
{
	int cfd =
	    openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int same;

	/* Gone since the listing: its own event is queued. */
	if (cfd < 0) {
		scan_lost(wt, child);
		return 1;
	}
	outbuf_addc(path, '/');
	same = watch_of_fd(wt, cfd, path->data) == wt->table.w[child].wd;
	if (same) {
		*err = scan_dir(wt, cfd, path, child, fn, arg);
	} else {
		wt->table.w[child].gone = 1;
		path_cut(path, path->len - 1);
	}
	close(cfd);
	return same;
}

/* Reads the directory fd the scan just watched; reports and descends. */
/* What a listing says an entry is: 'D' a directory, 'F' not, 'U' unknown. */
static char
listed_kind(unsigned char d_type)
{
	if (d_type == DT_DIR)
		return 'D';
	return d_type == DT_UNKNOWN ? 'U' : 'F';
}

static int
scan_dir(struct watcher *wt, int fd, struct outbuf *path, int idx, event_fn fn,
    void *arg)
{
	struct outbuf names = { 0 };
	struct dirent *de;
	size_t off;
	uint32_t listing;
	int dfd = dup(fd), err = 0;
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);

	owed_paid(wt, idx); /* told now, or never */
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return errno;
	}
	listing = scanned_listing(wt, idx); /* its events are checked */
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			outbuf_addc(&names, listed_kind(de->d_type));
			outbuf_add(&names, de->d_name, strlen(de->d_name) + 1);
		}
	closedir(d);
	scanned_listed(wt, idx);
	for (off = 0; err == 0 && off < names.len;
	     off += strlen(names.data + off) + 1) {
		char type = names.data[off++];
		const char *name = names.data + off;
		size_t plen = path->len;
		struct stat st;
		int child;

		/*
		 * Listed, then gone, or replaced by one of the other kind:
		 * it was there once the watch was, so the events that took
		 * it away are queued. It is reported as listed, so that
		 * they name something that was.
		 */
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (type != 'U' && (type == 'D') != !!S_ISDIR(st.st_mode))) {
			memset(&st, 0, sizeof(st));
			st.st_mode = type == 'D' ? S_IFDIR : S_IFIFO;
			scan_report(wt, idx, listing, name, &st, fn, arg);
			if (type != 'F') {
				scanned_unread(wt, idx, name);
				scan_lost(wt,
				    node_child(&wt->table, idx, name));
			}
			continue;
		}
		child = S_ISDIR(st.st_mode) ?
		    node_child(&wt->table, idx, name) :
		    -1;
		scan_report(wt, idx, listing, name, &st, fn, arg);
		outbuf_adds(path, name);
		/* Watched already, as part of a directory adopted, or new. */
		if (child >= 0 &&
		    scan_child(wt, fd, name, path, child, &err, fn, arg)) {
			path_cut(path, plen);
			continue;
		}
		if (S_ISDIR(st.st_mode) &&
		    !excluded(wt, path->data, path->len)) {
			outbuf_addc(path, '/');
			child = node_new(wt, idx, name, strlen(name));
			err = walk_new(wt, fd, name, path, child, fn, arg);
			/* Gone since it was listed: its own event is queued. */
			if (err == ENOENT || err == ENOTDIR) {
				node_drop(wt, child);
				scanned_unread(wt, idx, name);
				err = 0;
			} else if (err != 0) {
				err = subdir_failed(wt, child, path->data, err);
			}
		}
		path_cut(path, plen);
	}
	free(names.data);
	return err;
}

/*
 * Watches and scans the new directory name, in the directory at (or
 * AT_FDCWD), whose path is path. It is opened first, then watched and
 * read through that descriptor, and its subdirectories opened from it:
 * a rename of any directory above, which the queue tells only later,
 * cannot make the scan watch one directory and read another. Once all
 * below it is watched and read, it gets the whole mask, through a
 * descriptor opened with O_PATH, which makes no event of its own.
 * Returns 0 or an errno value, or WALK_NAME_LEFT (below).
 */
static int
walk_new(struct watcher *wt, int at, const char *name, struct outbuf *path,
    int idx, event_fn fn, void *arg)
{
	uint32_t mask = wt->mask & ~EVENT_READING;
	int parent = wt->table.w[idx].parent;
	int fd =
	    openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int pfd, err, ex = -1;

	if (fd < 0)
		return errno;
	/*
	 * Named by an event, read behind the file system: if the name was
	 * deleted or renamed since, the one opened may be another directory
	 * that took the name after. The kernel queued that before the open,
	 * so the queue read now says; its events tell where the one named
	 * went, and the CREATE or MOVED_TO of the other follows.
	 */
	if (at == AT_FDCWD && parent >= 0) {
		queue_fill(wt);
		if (name_leaves_later(wt, parent,
			wt->table.names + wt->table.w[idx].name)) {
			close(fd);
			return WALK_NAME_LEFT;
		}
	}
	err = node_watch_fd(wt, idx, fd, path->data, mask);
	/*
	 * Watched already: met by a scan, it moved here before this part
	 * was watched, and is adopted. Named by an event (at is AT_FDCWD),
	 * the path leads to another directory than the event's, one whose
	 * rename is still in the queue: the caller waits for it.
	 */
	if (err == EEXIST && parent >= 0 && at != AT_FDCWD) {
		/* The move renames the node: its name goes from the arena. */
		char *own = xstrdup(wt->table.names + wt->table.w[idx].name);

		ex = node_adopt(wt, fd, path->data, parent, own);
		free(own);
	}
	if (ex >= 0) {
		idx = ex;
		mask = wt->mask; /* its mask is whole already */
	}
	if (ex >= 0 || err == 0)
		err = scan_dir(wt, fd, path, idx, fn, arg);
	if (err == 0 && mask != wt->mask && !wt->table.w[idx].freed &&
	    (pfd = openat(fd, ".", O_PATH | O_CLOEXEC)) >= 0) {
		close(fd);
		fd = -1;
		node_remask(wt, idx, pfd);
		close(pfd);
	}
	if (fd >= 0)
		close(fd);
	return err == EEXIST && at != AT_FDCWD ? 0 : err;
}

/* -------- Following the tree ---------------------------------------- */

/* tree_add_dir's moved_in: a MOVED_TO, and one that repeated a scan. */
#define MOVED_IN      1
#define MOVED_IN_TOLD 2
/* How many times a new directory is tried while its parent's path is stale. */
#define LATER_TRIES 8

/*
 * Whether path still names the directory of watch idx. The queue is read
 * behind the file system: an event's directory may have been renamed
 * since, and the path its watch has would lead elsewhere, or nowhere.
 * Asking the kernel which watch the path leads to answers it.
 */
static int
path_current(struct watcher *wt, int idx, const char *path)
{
	int wd = watch_asked(wt, path);

	return wd >= 0 && wd == wt->table.w[idx].wd;
}

/* A new directory whose parent's path was out of date, for later. */
static void
later_add(struct watcher *wt, int parent, const char *name, int tries,
    int moved_in)
{
	int named = node_child(&wt->table, parent, name);
	struct later *l;
	size_t i;

	if (tries >= LATER_TRIES) {
		/* Never silent: what happens in it from here on is lost. */
		msg("Couldn't watch new directory %s%s: its path kept leading "
		    "elsewhere",
		    watch_path(wt, parent, NULL), name);
		return;
	}
	for (i = 0; i < wt->nlater; i++)
		if (wt->later[i].parent == parent &&
		    strcmp(wt->later[i].name, name) == 0)
			return; /* once is enough */
	if ((wt->nlater & (wt->nlater - 1)) == 0)
		wt->later = xrealloc(wt->later,
		    (wt->nlater ? wt->nlater * 2 : 16) * sizeof(*wt->later));
	l = &wt->later[wt->nlater++];
	l->parent = parent;
	l->parent_wd = wt->table.w[parent].wd;
	l->tries = tries + 1;
	l->moved_in = moved_in;
	l->named_wd = named >= 0 ? wt->table.w[named].wd : -1;
	l->name = xstrdup(name);
}

/*
 * Reports again what the watched directory idx at path holds; returns 0
 * if path no longer leads to it (the queue is behind the file system).
 */
static int
tree_rescan(struct watcher *wt, int idx, struct outbuf *path, event_fn fn,
    void *arg)
{
	int fd =
	    open(path->data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int same =
	    fd >= 0 && watch_of_fd(wt, fd, path->data) == wt->table.w[idx].wd;

	if (same)
		scan_dir(wt, fd, path, idx, fn, arg);
	if (fd >= 0)
		close(fd);
	return same;
}

/*
 * Whether the part of the queue read but not yet handed out deletes or
 * renames the entry name of watch parent: then what the name leads to
 * now is not the directory an earlier event named, and it is left alone;
 * the later event says where it went.
 */
static int
name_leaves_later(const struct watcher *wt, int parent, const char *name)
{
	size_t off = wt->q_head, len = strlen(name);
	int wd = wt->table.w[parent].wd;

	while (wt->q_len - off >= sizeof(struct inotify_event)) {
		struct inotify_event ie;
		const char *n = wt->q + off + sizeof(ie);

		memcpy(&ie, wt->q + off, sizeof(ie));
		if (ie.len > wt->q_len - off - sizeof(ie))
			break;
		off += sizeof(ie) + ie.len;
		if (ie.wd == wd && (ie.mask & (IN_DELETE | IN_MOVED_FROM)) &&
		    ie.len > len && memcmp(n, name, len + 1) == 0)
			return 1;
	}
	return 0;
}

/*
 * Reports again what the watched directory idx holds, by its path now;
 * returns 0 if that path no longer leads to it.
 */
static int
tree_retell_now(struct watcher *wt, int idx, event_fn fn, void *arg)
{
	struct outbuf path = { 0 };
	size_t len;
	const char *p = watch_path(wt, idx, &len);
	int same;

	outbuf_add(&path, p, len);
	same = tree_rescan(wt, idx, &path, fn, arg);
	free(path.data);
	return same;
}

/*
 * Reports again what the watched directory idx holds; if it moved on
 * since, once the queue says where.
 */
static void
tree_retell(struct watcher *wt, int idx, event_fn fn, void *arg)
{
	if (!tree_retell_now(wt, idx, fn, arg))
		owed_add(wt, idx);
}

/*
 * The queue was read to its end: the contents owed are told, by the
 * paths the directories have now. Returns whether any was.
 */
static int
owed_run(struct watcher *wt, event_fn fn, void *arg)
{
	size_t i = 0;
	int told = 0;

	while (i < wt->nowed) {
		int idx = wt->owed[i].watch;
		const struct watch *w = &wt->table.w[idx];

		if (w->freed || !w->held || w->gone ||
		    w->wd != wt->owed[i].wd) {
			wt->owed[i] = wt->owed[--wt->nowed];
			continue;
		}
		/* Told with the one above it, or not yet. */
		if (w->parent >= 0 && owed_within(wt, w->parent)) {
			i++;
			continue;
		}
		if (tree_retell_now(wt, idx, fn, arg)) {
			told = 1;
			i = 0; /* the scan paid what was below */
			continue;
		}
		i++;
	}
	return told;
}

/*
 * The name a new directory's event gave leaves later in the queue read,
 * and is left to the events that follow. Moved in (its MOVED_TO told)
 * over the directory old that a scan found, maybe this one: what old
 * holds is owed after the MOVED_TO, told where the queue says it went,
 * if anywhere.
 */
static void
name_left(struct watcher *wt, int old, int moved_in, event_fn fn, void *arg)
{
	if (old >= 0 && moved_in == MOVED_IN)
		tree_retell(wt, old, fn, arg);
}

/*
 * A new directory appeared under watch parent: watch it and all below.
 * Returns whether it was scanned.
 */
static int
tree_add_dir(struct watcher *wt, int parent, const char *name, int tries,
    int moved_in, event_fn fn, void *arg)
{
	struct outbuf path = { 0 };
	size_t len;
	const char *base;
	int idx, err, old = node_child(&wt->table, parent, name);

	/*
	 * A directory of this name is watched: a scan found this one
	 * already, or this one was moved in over it (MOVED_TO only). The
	 * kernel tells which: the watch below answers EEXIST for the first.
	 */
	if (old >= 0 && !moved_in)
		return 0;
	/* In a directory whose contents are owed: they are told with it. */
	if (owed_within(wt, parent))
		return 0;
	if (name_leaves_later(wt, parent, name)) {
		name_left(wt, old, moved_in, fn, arg);
		return 0;
	}
	base = watch_path(wt, parent, &len);
	outbuf_add(&path, base, len);
	if (!path_current(wt, parent, path.data)) {
		/* Its rename is still in the queue: once read, try again. */
		later_add(wt, parent, name, tries, moved_in);
		free(path.data);
		return 0;
	}
	outbuf_adds(&path, name);
	if (excluded(wt, path.data, path.len)) {
		free(path.data);
		return 0;
	}
	outbuf_addc(&path, '/');
	if (old >= 0)
		wt->table.w[old].gone = 1;
	idx = node_new(wt, parent, name, strlen(name));
	wt->scans++;
	err = walk_new(wt, AT_FDCWD, path.data, &path, idx, fn, arg);
	if (old >= 0 && err != 0)
		wt->table.w[old].gone = 0; /* nothing took its place */
	/* The name left after the check above, before the open. */
	if (err == WALK_NAME_LEFT) {
		node_drop(wt, idx);
		free(path.data);
		name_left(wt, old, moved_in, fn, arg);
		return 0;
	}
	if (err == EEXIST && old >= 0) {
		/*
		 * The same one: scanned already, under the name of the
		 * directory it replaced, when the scan of that one came after
		 * the rename. What it holds is told again, after its MOVED_TO.
		 */
		pending_forget(wt, old); /* its MOVED_FROM was another's */
		if (moved_in == MOVED_IN)
			tree_rescan(wt, old, &path, fn, arg);
	} else if (err == EEXIST) {
		/* Another directory, watched: once its rename is read, see. */
		later_add(wt, parent, name, tries, 0);
	}
	if (err == EEXIST)
		err = 0;
	else if (err != 0)
		node_drop(wt, idx);
	/*
	 * Gone again (its DELETE or MOVED_FROM follows), unless its parent
	 * moved in between: then it is looked for again later.
	 */
	if (err == ENOENT) {
		path_cut(&path, len);
		if (!path_current(wt, parent, path.data))
			later_add(wt, parent, name, tries, moved_in);
	} else if (err != 0 && err != ENOTDIR && err != ELOOP) {
		msg("Couldn't watch new directory %s: %s", path.data,
		    strerror(err));
	}
	free(path.data);
	return 1;
}

/* The queue was read to its end: new directories put off are tried again. */
static int
later_run(struct watcher *wt, event_fn fn, void *arg)
{
	struct later *todo = wt->later;
	size_t i, n = wt->nlater;
	int scanned = 0;

	wt->later = NULL;
	wt->nlater = 0;
	for (i = 0; i < n; i++) {
		const struct watch *p = &wt->table.w[todo[i].parent];
		int named;

		if (!p->freed && p->held && !p->gone &&
		    p->wd == todo[i].parent_wd) {
			/*
			 * Moved in, and a scan has found a directory of that
			 * name since: what it holds was told after the MOVED_TO.
			 */
			named = node_child(&wt->table, todo[i].parent,
			    todo[i].name);
			if (todo[i].moved_in == MOVED_IN && named >= 0 &&
			    wt->table.w[named].wd != todo[i].named_wd)
				todo[i].moved_in = MOVED_IN_TOLD;
			scanned |=
			    tree_add_dir(wt, todo[i].parent, todo[i].name,
				todo[i].tries, todo[i].moved_in, fn, arg);
		}
		free(todo[i].name);
	}
	free(todo);
	return scanned;
}

/* Stops watching a directory that left the tree, and all below it. */
static void
tree_remove(struct watcher *wt, int idx)
{
	struct watch *w = &wt->table.w[idx];
	int c;

	w->gone = 1;
	for (c = w->first_child; c >= 0; c = wt->table.w[c].next_sibling)
		tree_remove(wt, c);
	/* The kernel confirms with IN_IGNORED, which frees the entry. */
	if (wt->table.w[idx].held)
		inotify_rm_watch(wt->fd, wt->table.w[idx].wd);
}

/* pending_resolve's only, beside a watch: every one, or those not held. */
#define PENDING_ALL    (-1)
#define PENDING_UNHELD (-2)

/*
 * MOVED_FROMs with no MOVED_TO in the queue: the directories left. With
 * only, the one of that watch; PENDING_UNHELD, those whose watch is gone
 * and cannot queue the MOVE_SELF that would say so.
 */
static void
pending_resolve(struct watcher *wt, int only)
{
	size_t i = 0;

	while (i < wt->npending) {
		int idx = wt->pending[i].watch;

		if ((only >= 0 && idx != only) ||
		    (only == PENDING_UNHELD && wt->table.w[idx].held)) {
			i++;
			continue;
		}
		wt->pending[i] = wt->pending[--wt->npending];
		tree_remove(wt, idx);
	}
}

static void
tree_move(struct watcher *wt, int idx, int parent, const char *name)
{
	struct watch_table *t = &wt->table;
	int old = node_child(t, parent, name);

	/* A directory renamed over an empty one replaces it. */
	if (old >= 0 && old != idx)
		t->w[old].gone = 1;
	node_unlink(t, idx);
	t->names_waste += strlen(t->names + t->w[idx].name) + 1;
	t->w[idx].name = names_add(t, name, strlen(name));
	t->w[idx].parent = parent;
	t->w[idx].next_sibling = t->w[parent].first_child;
	t->w[parent].first_child = idx;
	names_compact(t);
}

/*
 * The watched directory that a DELETE or MOVED_FROM of watch parent
 * names. It goes by the name, unless the event came before the parent's
 * latest listing and the listing showed a directory of that name: that
 * one came after, and the event is about the one that had the name
 * before, which the scan found gone from it, if any.
 */
static int
event_child(const struct watcher *wt, const struct event *ev, int stale)
{
	const struct watch_table *t = &wt->table;
	const struct scanned *e;
	int c;

	if (stale != SCAN_BEFORE ||
	    (e = scanned_find(wt, ev->watch, ev->name)) == NULL ||
	    (e->mask & (IN_CREATE | IN_ISDIR)) != (IN_CREATE | IN_ISDIR))
		return node_child(t, ev->watch, ev->name);
	for (c = t->w[ev->watch].first_child; c >= 0; c = t->w[c].next_sibling)
		if (t->w[c].gone && t->w[c].held &&
		    strcmp(t->names + t->w[c].name, ev->name) == 0)
			return c;
	return -1;
}

/* Whether a scan of watch idx told its entry name empty, unread. */
static int
scanned_unread_named(const struct watcher *wt, int idx, const char *name)
{
	const struct scanned *e;

	return wt->nscanned > 0 && (e = scanned_find(wt, idx, name)) != NULL &&
	    (e->mask & SCANNED_UNREAD);
}

/*
 * Keeps the tree in step with the directory events: new and moved-in
 * directories are watched, renames re-parent one entry, and directories
 * that left are unwatched. A rename is its MOVED_FROM and MOVED_TO with
 * the same cookie, which the kernel queues together. told: the event was
 * handed out (not a scan's repeat, not from a directory that left).
 */
static void
tree_follow(struct watcher *wt, const struct event *ev, int stale, int told,
    event_fn fn, void *arg)
{
	struct watch_table *t = &wt->table;
	char name[NAME_MAX + 1];
	struct event copy;
	size_t len;
	int child, other;

	if (ev->watch >= 0 && (ev->mask & IN_MOVE_SELF)) {
		pending_resolve(wt, ev->watch); /* no MOVED_TO came before it */
		return;
	}
	if (ev->watch < 0 || !t->w[ev->watch].held || t->w[ev->watch].gone ||
	    (ev->mask & IN_ISDIR) == 0)
		return;
	/* The kernel sends entry names; anything else is not followed. */
	len = strlen(ev->name);
	if (strchr(ev->name, '/') != NULL || strcmp(ev->name, ".") == 0 ||
	    strcmp(ev->name, "..") == 0 || len == 0 || len > NAME_MAX)
		return;
	/* A scan may read more of the queue, which holds the name. */
	memcpy(name, ev->name, len + 1);
	copy = *ev;
	copy.name = name;
	ev = &copy;
	if (ev->mask & IN_MOVED_FROM) {
		child = event_child(wt, ev, stale);
		if (child >= 0) {
			struct pending_move *p;

			pending_forget(wt, child);
			if (wt->npending == PENDING_MAX)
				pending_resolve(wt, wt->pending[0].watch);
			p = &wt->pending[wt->npending++];
			p->watch = child;
			p->cookie = ev->cookie;
			p->from_told = told;
		}
	} else if (ev->mask & IN_MOVED_TO) {
		int i = pending_find(wt, ev->cookie);

		if (i >= 0) {
			int from_told = wt->pending[i].from_told;

			child = wt->pending[i].watch;
			wt->pending[i] = wt->pending[--wt->npending];
			/*
			 * Into itself only by our reckoning, which is behind:
			 * leave it where it is rather than make a loop.
			 */
			if (node_above(t, child, ev->watch))
				return;
			/* Renamed to a path --prune leaves out: it left the tree. */
			if (child_excluded(wt, ev->watch, ev->name, len)) {
				tree_remove(wt, child);
				return;
			}
			other = node_child(t, ev->watch, ev->name);
			tree_move(wt, child, ev->watch, ev->name);
			/*
			 * Renamed before a listing that found another directory
			 * of that name, watched and read: that one stays; this
			 * one went on before the listing, as the queue will say.
			 */
			if (stale == SCAN_BEFORE && other >= 0 &&
			    other != child) {
				t->w[other].gone = 0;
				t->w[child].gone = 1;
				return;
			}
			/* Taken for gone when another took its name: it is here. */
			t->w[child].gone = 0;
			/*
			 * The move was told as a move in, or a scan that ran
			 * after it told it empty (it was renamed on before it
			 * was read): what it holds is told after it, where it
			 * is once the queue is read, if it is still here.
			 */
			if ((!from_told && told) ||
			    (stale != SCAN_NEW &&
				scanned_unread_named(wt, ev->watch, ev->name)))
				tree_retell(wt, child, fn, arg);
		} else if (stale != SCAN_BEFORE) {
			/* A repeat of what a scan told is not told again. */
			tree_add_dir(wt, ev->watch, ev->name, 0,
			    stale == SCAN_TOLD ? MOVED_IN_TOLD : MOVED_IN, fn,
			    arg);
		}
	} else if (ev->mask & IN_CREATE) {
		/* In a directory that had left: found where it went, if anywhere. */
		if (stale != SCAN_BEFORE)
			tree_add_dir(wt, ev->watch, ev->name, 0, 0, fn, arg);
	} else if (ev->mask & IN_DELETE) {
		child = event_child(wt, ev, stale);
		if (child >= 0)
			t->w[child].gone = 1;
	}
}

/*
 * An event from a directory that moved out of the tree, queued before
 * its watch was taken back: its path is no longer ours to print.
 */
static int
left_tree(const struct watcher *wt, const struct event *ev)
{
	const struct watch_table *t = &wt->table;
	int i;

	if (ev->watch < 0 || !wt->follow_tree)
		return 0;
	if (t->w[ev->watch].gone)
		return (ev->mask & EVENT_SELF) == 0;
	for (i = t->w[ev->watch].parent; i >= 0; i = t->w[i].parent)
		if (t->w[i].gone && t->w[i].wd != WD_ALIAS)
			return (ev->mask & IN_IGNORED) == 0;
	return 0;
}

/* -------- Reading events -------------------------------------------- */

/* What a read of the queue did. */
enum drain {
	DRAIN_FAILED = -1, /* a read failed; errno says why */
	DRAIN_EMPTY,       /* the queue was empty */
	DRAIN_READ,        /* events were read */
	DRAIN_STOPPED      /* fn asked to stop */
};

static enum drain fan_drain(struct watcher *wt, event_fn fn, void *arg);

/*
 * Hands out the records in the queue. Each goes to fn unless the filters
 * drop it; the tree follows every event, filtered or not.
 */
static int
queue_decode(struct watcher *wt, event_fn fn, void *arg)
{
	while (wt->q_len - wt->q_head >= sizeof(struct inotify_event)) {
		struct inotify_event ie;
		struct event ev;
		const char *name = wt->q + wt->q_head + sizeof(ie);
		uint64_t place;
		int stale, told;

		memcpy(&ie, wt->q + wt->q_head, sizeof(ie));
		wt->q_head += sizeof(ie) + ie.len;
		place = wt->records++;
		ev.watch = ie.wd >= 0 ? hash_find(&wt->table, ie.wd) : -1;
		/* A watch set only to be asked about, and taken back. */
		if (ie.wd >= 0 && ev.watch < 0)
			continue;
		ev.mask = ie.mask;
		ev.cookie = ie.cookie;
		ev.name = ie.len > 0 && memchr(name, '\0', ie.len) ? name : "";
		stale = scanned_stale(wt, &ev, place);
		told = stale == SCAN_NEW && !left_tree(wt, &ev) &&
		    !owed_hides(wt, &ev);
		if (told && !event_filtered(wt, &ev) && fn(wt, &ev, arg) != 0)
			return DRAIN_STOPPED;
		if (wt->follow_tree)
			tree_follow(wt, &ev, stale, told, fn, arg);
		/* The MOVE_SELF of a directory moved away may be lost. */
		if (ev.mask & IN_Q_OVERFLOW)
			pending_resolve(wt, PENDING_ALL);
		if ((ev.mask & IN_IGNORED) && ev.watch >= 0) {
			pending_forget(wt, ev.watch);
			scanned_kill(scanned_marker(wt, ev.watch));
			node_drop(wt, ev.watch);
		}
	}
	return DRAIN_READ;
}

/*
 * Hands out the events in buf, n bytes of the kernel's records, as if
 * read from the queue. A record that does not fit ends the buffer.
 */
int
events_decode(struct watcher *wt, const char *buf, size_t n, event_fn fn,
    void *arg)
{
	size_t bytes;

	wt->q_records += records_count(buf, n, &bytes);
	if (bytes > 0) {
		queue_reserve(wt, bytes);
		memcpy(wt->q + wt->q_len, buf, bytes);
		wt->q_len += bytes;
	}
	return queue_decode(wt, fn, arg);
}

/* events_read's own answer: DRAIN_READ, and the queue read to its end. */
#define READ_TO_END (DRAIN_STOPPED + 1)

/*
 * One read(2) of the queue; returns as events_drain does, or READ_TO_END
 * when a short read shows the queue was empty, which saves the read that
 * would say so. Not after a scan: what the scan did may be queued since.
 */
static int
events_read(struct watcher *wt, event_fn fn, void *arg)
{
	size_t scans = wt->scans;
	int r;

	if (wt->q_head == wt->q_len) {
		ssize_t n = queue_read(wt);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? DRAIN_EMPTY :
								   DRAIN_FAILED;
		if (n == 0)
			return DRAIN_EMPTY;
	}
	r = queue_decode(wt, fn, arg);
	if (r == DRAIN_READ && wt->scans == scans && wt->q_short &&
	    wt->q_head == wt->q_len)
		return READ_TO_END;
	return r;
}

/* Reads until the queue is empty. */
static enum drain
events_drain(struct watcher *wt, event_fn fn, void *arg)
{
	int r, any = 0;

	if (wt->fan != NULL)
		return fan_drain(wt, fn, arg);
	for (;;) {
		while ((r = events_read(wt, fn, arg)) == DRAIN_READ)
			any = 1;
		if (r != DRAIN_EMPTY && r != READ_TO_END)
			return r;
		any |= r == READ_TO_END;
		/* What a scan found may have events queued since. */
		if (wt->nlater > 0 && later_run(wt, fn, arg))
			continue;
		if (wt->nowed > 0 && owed_run(wt, fn, arg))
			continue;
		/*
		 * The queue is empty: no repeat of what a scan reported is
		 * coming, nor a MOVE_SELF from a watch that is gone.
		 */
		pending_resolve(wt, PENDING_UNHELD);
		scanned_clear(wt);
		return any ? DRAIN_READ : DRAIN_EMPTY;
	}
}

/* -------- The fanotify back end ------------------------------------- */

/*
 * -F and -S: one fanotify mark on each file system that holds an
 * operand, in place of a watch on each directory, so there is no watch
 * limit and no walk. Every event of those file systems comes, naming
 * its directory by a file handle. A cache maps handles to the nodes of
 * the watch table; a handle not in it is opened once (open_by_handle_at)
 * and its /proc link read, which says where the directory is: below an
 * operand (its nodes are made down to it) or outside (remembered, so
 * that foreign events cost no system call). Directory renames and
 * deletions move and drop nodes as the inotify back end's tree does, so
 * a path is never stale. The kernel merges the queued events of one
 * name into one mask: they are told apart again, in inotify's order.
 */

/* Longest handle the cache holds; longer ones are looked up each time. */
#define FAN_FH_MAX 40
/* The cache's most entries (2 MiB); when full it starts again. */
#define FAN_CACHE_MAX ((size_t)1 << 15)
#define FAN_FS_MAX    16
#define FAN_BUF_SIZE  ((size_t)64 * 1024)
/*
 * The most of the queue read before its events are handed out: the
 * kernel's queue holds 16384 events, and a little more comes meanwhile.
 */
#define FAN_QUEUE_MAX ((size_t)2 * 1024 * 1024)
/* A cached directory outside the operands. */
#define FAN_OUTSIDE (-1)
/* A handle that no longer opens: the directory is gone. */
#define FAN_UNKNOWN (-2)
/*
 * fan_event's answer when a directory that no longer opens has no hint
 * yet: its deletion may be read next.
 */
#define FAN_RETRY 2

/* Bits of a fanotify mask that mean what inotify's bits of that value do. */
#define FAN_AS_INOTIFY \
	(FAN_ACCESS | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | \
	    FAN_CLOSE_NOWRITE | FAN_OPEN | FAN_CREATE | FAN_DELETE | \
	    FAN_DELETE_SELF | FAN_MOVE_SELF)

/* A marked file system, and a descriptor on it to open handles with. */
struct fan_fs {
	int fsid[2];
	int mount_fd;
};

/* An operand: a directory by its real path, or a file by its handle. */
struct fan_top {
	char *real; /* a directory's; NULL for a file */
	size_t len;
	int node;
	int fs;
	struct file_handle *self; /* a file's */
};

struct fan_entry {
	uint32_t hash; /* 0: a free slot; also a handle to forget */
	int node;      /* or FAN_OUTSIDE */
	int serial;    /* the node's made-up wd when it was cached */
	int type;
	unsigned char fs, len;
	unsigned char fh[FAN_FH_MAX];
};

/* A directory and a name an event gives; fs is -1 if it gave none. */
struct fan_name {
	int fs;
	const struct file_handle *fh;
	const char *name;
};

/*
 * A directory that the read queue deletes or renames: the event names
 * its parent, so events before it in the queue can be named even once
 * the directory no longer opens.
 */
struct fan_hint {
	struct fan_name obj, parent;
	int deleted;       /* else renamed: parent is the old one */
	int node;          /* a deleted one's node, once made; else -1 */
	int next;          /* the handle's next hint in the queue read, or -1 */
	int spent;         /* its rename was handed out: the next one counts */
	int made;          /* a deleted one's record says it was made too */
	size_t last_named; /* then: the last record naming it as a directory */
};

/*
 * A directory made and removed while its events were queued: the kernel
 * merges the two into the record of the first, so its removal is told
 * only after the records made in it, the last of which is at after.
 */
struct fan_unmade {
	size_t after;
	int dir, dir_wd;
	char name[NAME_MAX + 1];
	int fs;
	union {
		struct file_handle fh;
		unsigned char bytes[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} handle;
};

struct fan {
	int fd;
	struct fan_fs fs[FAN_FS_MAX];
	size_t nfs;
	struct fan_top *tops;
	size_t ntops, nfiles;
	struct fan_entry *cache;
	size_t cache_cap, cache_used;
	uint32_t want;   /* the inotify bits handed out */
	int serial;      /* the last node's made-up wd */
	uint32_t cookie; /* the last rename's made-up cookie */
	int spent;       /* -e oneshot had its event */
	pid_t self;
	int *gone; /* directories gone, freed once the queue is read */
	size_t ngone, gone_cap;
	struct fan_entry *forget; /* their handles, if the events gave them */
	size_t nforget, forget_cap;
	char *buf; /* the queue, read whole */
	size_t buf_head, buf_len;
	size_t buf_high; /* the most of buf used since it was last given back */
	int may_wait;    /* an unnamed directory may wait for its hint */
	int unresolved;  /* the event's directory had no name, nor a hint */
	struct fan_hint *hints;
	size_t nhints, hints_cap;
	size_t *hint_index; /* hash slots: hint + 1 */
	size_t hint_slots;
	int hint_depth;            /* hints followed up a chain of parents */
	size_t cur_off;            /* the record being handed out */
	struct fan_unmade *unmade; /* removals told later */
	size_t nunmade, unmade_cap;
};

static uint32_t
fan_handle_hash(int fs, const struct file_handle *fh)
{
	uint32_t h =
	    2166136261u ^ (uint32_t)fs ^ ((uint32_t)fh->handle_type << 8);
	unsigned int i;

	for (i = 0; i < fh->handle_bytes; i++)
		h = (h ^ fh->f_handle[i]) * 16777619u;
	return h ? h : 1;
}

static int
fan_same_handle(int fs_a, const struct file_handle *a, int fs_b,
    const struct file_handle *b)
{
	return fs_a == fs_b && a->handle_type == b->handle_type &&
	    a->handle_bytes == b->handle_bytes &&
	    memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

/* The cache's entry of the handle a key entry holds, or NULL. */
static struct fan_entry *
fan_cache_lookup(const struct fan *f, const struct fan_entry *key)
{
	size_t i;

	if (f->cache_cap == 0)
		return NULL;
	for (i = key->hash & (f->cache_cap - 1); f->cache[i].hash != 0;
	     i = (i + 1) & (f->cache_cap - 1)) {
		const struct fan_entry *e = &f->cache[i];

		if (e->hash == key->hash && e->fs == key->fs &&
		    e->type == key->type && e->len == key->len &&
		    memcmp(e->fh, key->fh, e->len) == 0)
			return &f->cache[i];
	}
	return NULL;
}

/* The handle fh of file system fs as a cache key; 0 if it cannot be one. */
static int
fan_cache_key(struct fan_entry *key, int fs, const struct file_handle *fh)
{
	if (fs < 0 || fh->handle_bytes > FAN_FH_MAX)
		return 0;
	key->hash = fan_handle_hash(fs, fh);
	key->fs = (unsigned char)fs;
	key->type = fh->handle_type;
	key->len = (unsigned char)fh->handle_bytes;
	memcpy(key->fh, fh->f_handle, key->len);
	return 1;
}

static struct fan_entry *
fan_cache_find(const struct fan *f, int fs, const struct file_handle *fh)
{
	struct fan_entry key;

	return fan_cache_key(&key, fs, fh) ? fan_cache_lookup(f, &key) : NULL;
}

/*
 * Builds the cache anew with room for cap entries, keeping the old
 * entries of nodes (keep 1) or all (keep 2).
 */
static void
fan_cache_rebuild(struct fan *f, size_t cap, int keep)
{
	struct fan_entry *old = f->cache;
	size_t i, old_cap = f->cache_cap;

	f->cache = xmalloc(cap * sizeof(*f->cache));
	memset(f->cache, 0, cap * sizeof(*f->cache));
	f->cache_cap = cap;
	f->cache_used = 0;
	for (i = 0; keep > 0 && i < old_cap; i++) {
		size_t j;

		if (old[i].hash == 0 || (keep == 1 && old[i].node < 0))
			continue;
		for (j = old[i].hash & (cap - 1); f->cache[j].hash != 0;
		     j = (j + 1) & (cap - 1))
			;
		f->cache[j] = old[i];
		f->cache_used++;
	}
	free(old);
	/* A big old cache's pages go back, not to stay as a hole. */
	if (old_cap >= 4096)
		memory_release();
}

/* Takes an entry out, moving back the ones after it: no tombstones. */
static void
fan_cache_remove(struct fan *f, const struct fan_entry *key)
{
	struct fan_entry *e = fan_cache_lookup(f, key);
	size_t i, j, k, mask = f->cache_cap - 1;

	if (e == NULL)
		return;
	i = (size_t)(e - f->cache);
	f->cache[i].hash = 0;
	f->cache_used--;
	for (j = (i + 1) & mask; f->cache[j].hash != 0; j = (j + 1) & mask) {
		k = f->cache[j].hash & mask;
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			f->cache[i] = f->cache[j];
			f->cache[j].hash = 0;
			i = j;
		}
	}
}

/* Notes that obj's entry goes once the queue is read. */
static void
fan_cache_forget(struct fan *f, const struct fan_name *obj)
{
	struct fan_entry key;

	if (!fan_cache_key(&key, obj->fs, obj->fh) ||
	    fan_cache_lookup(f, &key) == NULL)
		return;
	f->forget =
	    xgrow(f->forget, f->nforget, &f->forget_cap, sizeof(*f->forget));
	f->forget[f->nforget++] = key;
}

static void
fan_cache_put(struct watcher *wt, int fs, const struct file_handle *fh,
    int node)
{
	struct fan *f = wt->fan;
	struct fan_entry key, *e;
	size_t i;

	if (!fan_cache_key(&key, fs, fh))
		return;
	if ((e = fan_cache_lookup(f, &key)) == NULL) {
		/* Full: it starts again, and what is needed comes back. */
		if ((f->cache_used + 1) * 4 > f->cache_cap * 3) {
			if (f->cache_cap < FAN_CACHE_MAX)
				fan_cache_rebuild(f,
				    f->cache_cap ? f->cache_cap * 2 : 1024, 2);
			else
				fan_cache_rebuild(f, f->cache_cap, 0);
		}
		for (i = key.hash & (f->cache_cap - 1); f->cache[i].hash != 0;
		     i = (i + 1) & (f->cache_cap - 1))
			;
		e = &f->cache[i];
		*e = key;
		f->cache_used++;
	}
	e->node = node;
	e->serial = node >= 0 ? wt->table.w[node].wd : 0;
}

/* A node of the back end's own: its wd is made up, in creation order. */
static int
fan_node_new(struct watcher *wt, int parent, const char *name, size_t len)
{
	int idx = node_new(wt, parent, name, len);

	wt->table.w[idx].wd = ++wt->fan->serial;
	wt->table.w[idx].held = 1;
	wt->table.live++;
	return idx;
}

/*
 * A node, and all below it, no longer in the tree: deleted (dying: the
 * events queued before the deletion still name it) or moved out; freed
 * once the queue is read.
 */
static void
fan_node_gone(struct watcher *wt, int idx, int dying)
{
	struct fan *f = wt->fan;
	struct watch *w = &wt->table.w[idx];
	int c;

	if (w->gone)
		return;
	w->gone = 1;
	w->dying = dying ? 1 : 0;
	for (c = w->first_child; c >= 0; c = wt->table.w[c].next_sibling)
		fan_node_gone(wt, c, dying);
	if (wt->table.w[idx].parent >= 0 &&
	    !wt->table.w[wt->table.w[idx].parent].gone) {
		f->gone =
		    xgrow(f->gone, f->ngone, &f->gone_cap, sizeof(*f->gone));
		f->gone[f->ngone++] = idx;
	}
}

/* Frees a gone node and all below it (a count keeps them: not then). */
static void
fan_node_free(struct watcher *wt, int idx)
{
	struct watch_table *t = &wt->table;

	while (t->w[idx].first_child >= 0)
		fan_node_free(wt, t->w[idx].first_child);
	if (t->w[idx].held) {
		t->w[idx].held = 0;
		t->live--;
	}
	/* One put below it since it went, by a later event, goes with it. */
	t->w[idx].gone = 1;
	node_release(wt, idx);
}

/*
 * Whether an event may name node idx: it and all above it are in the
 * tree or were deleted; a directory that moved out still tells its own
 * events (self).
 */
static int
fan_node_usable(const struct watch_table *t, int idx, int self)
{
	int i;

	for (i = idx; i >= 0; i = t->w[i].parent)
		if (t->w[i].gone && !t->w[i].dying && !(self && i == idx))
			return 0;
	return 1;
}

/* The node a cache entry names, if it still may; else -1. */
static int
fan_entry_node(const struct watcher *wt, const struct fan_entry *e, int self)
{
	const struct watch *w;

	if (e == NULL || e->node < 0)
		return -1;
	w = &wt->table.w[e->node];
	if (w->freed || w->wd != e->serial ||
	    !fan_node_usable(&wt->table, e->node, self))
		return -1;
	return e->node;
}

/* The node a cached handle names, if it still may; else -1. */
static int
fan_cached_node(const struct watcher *wt, const struct fan_name *obj, int self)
{
	return fan_entry_node(wt, fan_cache_find(wt->fan, obj->fs, obj->fh),
	    self);
}

static int fan_dir(struct watcher *wt, int fs, const struct file_handle *fh,
    int self);

/* The first hint the queue read gives for a directory's handle, or NULL. */
static struct fan_hint *
fan_hint_first(const struct fan *f, int fs, const struct file_handle *fh)
{
	uint32_t h = fan_handle_hash(fs, fh);
	size_t i;

	if (f->nhints == 0)
		return NULL;
	for (i = h & (f->hint_slots - 1); f->hint_index[i] != 0;
	     i = (i + 1) & (f->hint_slots - 1)) {
		struct fan_hint *hint = &f->hints[f->hint_index[i] - 1];

		if (fan_same_handle(hint->obj.fs, hint->obj.fh, fs, fh))
			return hint;
	}
	return NULL;
}

/*
 * The hint that holds for the events handed out now: the handle's first
 * whose rename is still to come, or NULL.
 */
static struct fan_hint *
fan_hint_find(const struct fan *f, int fs, const struct file_handle *fh)
{
	struct fan_hint *hint = fan_hint_first(f, fs, fh);

	while (hint != NULL && hint->spent)
		hint = hint->next >= 0 ? &f->hints[hint->next] : NULL;
	return hint;
}

/* The deletion among a handle's hints, or NULL. */
static struct fan_hint *
fan_hint_deleted(const struct fan *f, int fs, const struct file_handle *fh)
{
	struct fan_hint *h = fan_hint_first(f, fs, fh);

	while (h != NULL && !h->deleted)
		h = h->next >= 0 ? &f->hints[h->next] : NULL;
	return h;
}

/*
 * A directory the queue read deletes or renames, named as it was before:
 * the node of that name in its parent then. Its handle may no longer
 * open, or its /proc link may already show where it went.
 */
static int
fan_hinted(struct watcher *wt, struct fan_hint *h, int fs,
    const struct file_handle *fh)
{
	struct fan *f = wt->fan;
	int parent, c;

	if (h->node >= 0)
		return h->node;
	if (f->hint_depth > 64)
		return FAN_UNKNOWN;
	f->hint_depth++;
	parent = fan_dir(wt, h->parent.fs, h->parent.fh, 0);
	f->hint_depth--;
	if (parent < 0)
		return parent;
	if ((!wt->recursive && wt->table.w[parent].parent >= 0) ||
	    child_excluded(wt, parent, h->parent.name, strlen(h->parent.name)))
		return FAN_OUTSIDE;
	/*
	 * A deleted one gets a node of its own, gone already (not the one
	 * that may have its name now), known for this read only.
	 */
	if (h->deleted) {
		c = fan_node_new(wt, parent, h->parent.name,
		    strlen(h->parent.name));
		fan_node_gone(wt, c, 1);
		return h->node = c;
	}
	if ((c = node_child(&wt->table, parent, h->parent.name)) < 0)
		c = fan_node_new(wt, parent, h->parent.name,
		    strlen(h->parent.name));
	fan_cache_put(wt, fs, fh, c);
	return c;
}

/*
 * The node for the directory at real path real, made as needed: below
 * the first directory operand that holds it (without -r, the operand or
 * one of its subdirectories, whose events name it to the operand), or
 * FAN_OUTSIDE.
 */
static int
fan_place(struct watcher *wt, const char *real, size_t len)
{
	const struct fan *f = wt->fan;
	size_t i, pass;

	for (pass = wt->recursive; pass < 2; pass++) {
		for (i = 0; i < f->ntops; i++) {
			const struct fan_top *tp = &f->tops[i];
			const char *p = real + tp->len, *slash;
			int idx = tp->node, depth = 0, c;
			char name[NAME_MAX + 1];
			size_t n;

			if (tp->real == NULL || len < tp->len ||
			    memcmp(real, tp->real, tp->len) != 0)
				continue;
			if (len > tp->len && *p != '/' && tp->len > 1)
				continue;
			if (pass == 0 && len != tp->len)
				continue;
			for (; *p == '/'; p++)
				;
			for (; *p != '\0'; p = slash + (*slash == '/')) {
				slash = strchrnul(p, '/');
				if (!wt->recursive && ++depth > 1)
					break;
				/* Left out here; another spelling may reach it. */
				if (child_excluded(wt, idx, p,
					(size_t)(slash - p)))
					break;
				n = (size_t)(slash - p);
				if (n > NAME_MAX)
					return FAN_OUTSIDE;
				memcpy(name, p, n);
				name[n] = '\0';
				if ((c = node_child(&wt->table, idx, name)) < 0)
					c = fan_node_new(wt, idx, name, n);
				idx = c;
			}
			if (*p != '\0')
				continue;
			return idx;
		}
	}
	return FAN_OUTSIDE;
}

/*
 * The node of the directory whose handle an event gives, looked up in
 * the cache or found through /proc: FAN_OUTSIDE, or FAN_UNKNOWN if it
 * no longer opens. A node that left the tree is found only by events
 * about itself (self set).
 */
static int
fan_dir(struct watcher *wt, int fs, const struct file_handle *fh, int self)
{
	struct fan *f = wt->fan;
	const struct fan_entry *e = fan_cache_find(f, fs, fh);
	struct fan_hint *hint;
	char link[64], real[PATH_MAX + 1];
	ssize_t n = -1;
	int fd, idx;

	if (e != NULL && e->node == FAN_OUTSIDE)
		return FAN_OUTSIDE;
	if ((idx = fan_entry_node(wt, e, self)) >= 0)
		return idx;
	if ((hint = fan_hint_find(f, fs, fh)) != NULL)
		return fan_hinted(wt, hint, fs, fh);
	fd = open_by_handle_at(f->fs[fs].mount_fd, (struct file_handle *)fh,
	    O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, real, sizeof(real) - 1);
		close(fd);
	}
	/* Gone, and its deletion not read yet. */
	if (fd < 0 || n <= 0 || (size_t)n >= sizeof(real) - 1 ||
	    ((size_t)n > 10 && memcmp(real + n - 10, " (deleted)", 10) == 0)) {
		f->unresolved = 1;
		return FAN_UNKNOWN;
	}
	real[n] = '\0';
	idx = fan_place(wt, real, (size_t)n);
	fan_cache_put(wt, fs, fh, idx);
	return idx;
}

static int
fan_fs_of(const struct fan *f, const void *fsid)
{
	size_t i;

	for (i = 0; i < f->nfs; i++)
		if (memcmp(f->fs[i].fsid, fsid, sizeof(f->fs[i].fsid)) == 0)
			return (int)i;
	return -1;
}

/*
 * The event's directory and name (for a rename, both of each) and the
 * object's own handle (the entry's: a created or deleted directory's).
 */
static void
fan_names(const struct fan *f, const char *rec,
    const struct fanotify_event_metadata *md, struct fan_name *at,
    struct fan_name *from, struct fan_name *to, struct fan_name *obj)
{
	const char *p = rec + md->metadata_len;
	const char *end = rec + md->event_len;
	struct fanotify_event_info_header h;

	at->fs = from->fs = to->fs = obj->fs = -1;
	at->fh = from->fh = to->fh = obj->fh = NULL;
	at->name = from->name = to->name = obj->name = NULL;
	while ((size_t)(end - p) >= sizeof(h)) {
		const struct fanotify_event_info_fid *fi = (const void *)p;
		const struct file_handle *fh = (const void *)fi->handle;
		size_t head = sizeof(*fi) + sizeof(*fh);
		struct fan_name *to_fill = NULL;
		const char *name;

		memcpy(&h, p, sizeof(h));
		if (h.len < sizeof(h) || h.len > (size_t)(end - p))
			return;
		if (h.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME)
			to_fill = at;
		else if (h.info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME)
			to_fill = from;
		else if (h.info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME)
			to_fill = to;
		if (h.info_type == FAN_EVENT_INFO_TYPE_FID && h.len >= head &&
		    fh->handle_bytes <= h.len - head) {
			obj->fs = fan_fs_of(f, &fi->fsid);
			obj->fh = fh;
			obj->name = NULL;
		}
		if (to_fill != NULL && h.len > head &&
		    fh->handle_bytes < h.len - head) {
			name = (const char *)fh->f_handle + fh->handle_bytes;
			if (memchr(name, '\0',
				h.len - head - fh->handle_bytes)) {
				to_fill->fs = fan_fs_of(f, &fi->fsid);
				to_fill->fh = fh;
				to_fill->name = name;
			}
		}
		p += h.len;
	}
}

/* Hands an event out as the inotify back end would, through its filters. */
static int
fan_tell(struct watcher *wt, int idx, uint32_t mask, uint32_t cookie,
    const char *name, event_fn fn, void *arg)
{
	struct fan *f = wt->fan;
	struct event ev;

	if ((mask & (f->want | EVENT_UNMASKED)) == 0 || f->spent)
		return 0;
	/* Without -r only the operands report, as their watches would. */
	if (idx >= 0 && !wt->recursive && wt->table.w[idx].parent >= 0)
		return 0;
	ev.watch = idx;
	ev.mask = mask;
	ev.cookie = cookie;
	ev.name = name;
	if (event_filtered(wt, &ev))
		return 0;
	if (!(f->want & IN_ONESHOT) || (mask & IN_IGNORED))
		return fn(wt, &ev, arg);
	/* -e oneshot: the first event ends the watching, as IGNORED says. */
	f->spent = 1;
	if (fn(wt, &ev, arg))
		return 1;
	ev.mask = IN_IGNORED;
	ev.name = "";
	return fn(wt, &ev, arg);
}

/*
 * The order inotify gives a name's events in; fanotify merges the
 * queued events of one name and object into one mask. An object is
 * created before it is deleted.
 */
static const uint32_t fan_order[] = { IN_CREATE, IN_OPEN, IN_ACCESS, IN_MODIFY,
	IN_ATTRIB, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_MOVE_SELF,
	IN_DELETE_SELF, IN_DELETE };

/* The tree follows a directory created or deleted in directory dir. */
static void
fan_entry_tree(struct watcher *wt, int dir, uint32_t bits, const char *name,
    const struct fan_name *obj)
{
	int c = fan_cached_node(wt, obj, 0);

	if (c < 0)
		c = node_child(&wt->table, dir, name);
	if (bits & IN_DELETE) {
		if (c >= 0)
			fan_node_gone(wt, c, 1);
		fan_cache_forget(wt->fan, obj);
		return;
	}
	/* A directory of the name met before went by now. */
	if (c >= 0 && fan_cached_node(wt, obj, 0) != c) {
		fan_node_gone(wt, c, 1);
		c = -1;
	}
	/*
	 * The new one gets its node now, under the name it has at this
	 * point of the queue: its handle would open by the path it has
	 * now, which renames still in the queue (its own or those above
	 * it) may have changed.
	 */
	if (c < 0 && wt->recursive && !wt->table.w[dir].gone && obj->fs >= 0 &&
	    obj->fh != NULL) {
		if (!child_excluded(wt, dir, name, strlen(name))) {
			c = fan_node_new(wt, dir, name, strlen(name));
			fan_cache_put(wt, obj->fs, obj->fh, c);
		}
	}
}

/*
 * A deleted directory's DELETE_SELF, told just before its parent's
 * DELETE, where inotify tells it. The kernel's own may come late: it
 * waits for the last reference to the directory, and naming a handle
 * takes one for a moment.
 */
static int
fan_delete_self(struct watcher *wt, int dir, const char *name,
    const struct fan_name *obj, event_fn fn, void *arg)
{
	int c = fan_cached_node(wt, obj, 1);

	if (c < 0)
		c = node_child(&wt->table, dir, name);
	/* Left out by --prune: no watch of inotify's would tell it. */
	if (c < 0 && child_excluded(wt, dir, name, strlen(name)))
		return 0;
	if (c < 0) {
		c = fan_node_new(wt, dir, name, strlen(name));
		fan_node_gone(wt, c, 1);
	}
	return fan_tell(wt, c, IN_DELETE_SELF, 0, "", fn, arg);
}

/*
 * A directory made and removed (one record): if records later in the
 * read name it, its removal is put off until after the last of them.
 */
static int
fan_unmade_later(struct watcher *wt, int dir, const char *name,
    const struct fan_name *obj)
{
	struct fan *f = wt->fan;
	struct fan_hint *h;
	struct fan_unmade *u;

	if (obj->fs < 0 || obj->fh == NULL ||
	    obj->fh->handle_bytes > MAX_HANDLE_SZ ||
	    (h = fan_hint_deleted(f, obj->fs, obj->fh)) == NULL ||
	    h->last_named <= f->cur_off)
		return 0;
	f->unmade =
	    xgrow(f->unmade, f->nunmade, &f->unmade_cap, sizeof(*f->unmade));
	u = &f->unmade[f->nunmade++];
	u->after = h->last_named;
	u->dir = dir;
	u->dir_wd = wt->table.w[dir].wd;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->fs = obj->fs;
	memcpy(&u->handle, obj->fh, sizeof(*obj->fh) + obj->fh->handle_bytes);
	return 1;
}

static int fan_entry(struct watcher *wt, int dir, uint32_t mask,
    const char *name, const struct fan_name *obj, event_fn fn, void *arg);

/*
 * Tells the removals put off until after the record at off (all, if
 * off is SIZE_MAX), the last put off first; non-zero if fn asked to stop.
 */
static int
fan_unmade_run(struct watcher *wt, size_t off, event_fn fn, void *arg)
{
	struct fan *f = wt->fan;
	size_t i = f->nunmade;

	while (i-- > 0) {
		struct fan_unmade u = f->unmade[i];
		struct fan_name obj = { u.fs, &u.handle.fh, NULL };
		const struct watch *d = &wt->table.w[u.dir];

		if (off != SIZE_MAX && u.after != off)
			continue;
		f->unmade[i] = f->unmade[--f->nunmade];
		if (d->freed || d->wd != u.dir_wd)
			continue;
		if (fan_entry(wt, u.dir, IN_DELETE | IN_ISDIR, u.name, &obj, fn,
			arg))
			return 1;
	}
	return 0;
}

/* Events of the entry name in directory dir (a node). */
static int
fan_entry(struct watcher *wt, int dir, uint32_t mask, const char *name,
    const struct fan_name *obj, event_fn fn, void *arg)
{
	uint32_t isdir = mask & IN_ISDIR, bits = mask & ~IN_ISDIR;
	size_t i;

	/* inotify tells a file's own events only to a watch on it. */
	bits &= ~(uint32_t)(IN_MOVE_SELF | IN_DELETE_SELF);
	if (isdir && (bits & IN_CREATE) && (bits & IN_DELETE) &&
	    fan_unmade_later(wt, dir, name, obj))
		bits &= ~(uint32_t)IN_DELETE;
	for (i = 0; i < sizeof(fan_order) / sizeof(fan_order[0]); i++) {
		if (!(bits & fan_order[i]))
			continue;
		if (fan_order[i] == IN_DELETE && isdir &&
		    fan_delete_self(wt, dir, name, obj, fn, arg))
			return 1;
		if (fan_tell(wt, dir, fan_order[i] | isdir, 0, name, fn, arg))
			return 1;
	}
	if (isdir && (bits & (IN_CREATE | IN_DELETE)))
		fan_entry_tree(wt, dir, bits, name, obj);
	return 0;
}

/* A file operand's own events: its handle is the event's object. */
static int
fan_file_tops(struct watcher *wt, const struct fan_name *obj, uint32_t mask,
    event_fn fn, void *arg)
{
	const struct fan *f = wt->fan;
	size_t i, k;

	for (i = 0; i < f->ntops; i++) {
		const struct fan_top *tp = &f->tops[i];

		if (tp->real != NULL ||
		    !fan_same_handle(tp->fs, tp->self, obj->fs, obj->fh))
			continue;
		for (k = 0; k < sizeof(fan_order) / sizeof(fan_order[0]); k++)
			if ((mask & fan_order[k]) &&
			    fan_tell(wt, tp->node, fan_order[k], 0, "", fn,
				arg))
				return 1;
		if ((mask & IN_DELETE_SELF) &&
		    fan_tell(wt, tp->node, IN_IGNORED, 0, "", fn, arg))
			return 1;
	}
	return 0;
}

/*
 * A directory's own events: told to its parent's watch under its name
 * (but the self events) and to its own, as inotify tells them.
 */
static int
fan_self(struct watcher *wt, int dir, uint32_t mask, event_fn fn, void *arg)
{
	const struct watch *w = &wt->table.w[dir];
	int parent = w->gone ? -1 : w->parent;
	size_t i;

	for (i = 0; i < sizeof(fan_order) / sizeof(fan_order[0]); i++) {
		uint32_t b = fan_order[i];
		int own = b == IN_MOVE_SELF || b == IN_DELETE_SELF;

		if (!(mask & b) || b == IN_CREATE || b == IN_DELETE)
			continue;
		if (!own && parent >= 0 &&
		    fan_tell(wt, parent, b | IN_ISDIR, 0,
			wt->table.names + wt->table.w[dir].name, fn, arg))
			return 1;
		/* Below an operand, its parent's DELETE tells it. */
		if (b == IN_DELETE_SELF && w->parent >= 0)
			continue;
		if (fan_tell(wt, dir, own ? b : b | IN_ISDIR, 0, "", fn, arg))
			return 1;
	}
	/* An operand's watch ends with it, as inotify's does. */
	if ((mask & IN_DELETE_SELF) && w->parent < 0)
		return fan_tell(wt, dir, IN_IGNORED, 0, "", fn, arg);
	return 0;
}

/*
 * A rename, as inotify's two events with a cookie of ours. The tree
 * follows a directory: moved within, out (its nodes go), or in (the
 * directories known to be outside may be inside now).
 */
static int
fan_rename(struct watcher *wt, uint32_t isdir, const struct fan_name *from,
    const struct fan_name *to, const struct fan_name *obj, event_fn fn,
    void *arg)
{
	struct fan *f = wt->fan;
	int src =
	    from->fs >= 0 ? fan_dir(wt, from->fs, from->fh, 0) : FAN_UNKNOWN;
	int dst = to->fs >= 0 ? fan_dir(wt, to->fs, to->fh, 0) : FAN_UNKNOWN;
	struct fan_hint *hint;
	uint32_t cookie;
	int moved;

	if (f->unresolved && f->may_wait)
		return FAN_RETRY;
	/* What comes after names the directory as it is now. */
	if (isdir && (hint = fan_hint_find(f, obj->fs, obj->fh)) != NULL &&
	    !hint->deleted)
		hint->spent = 1;
	if ((cookie = ++f->cookie) == 0)
		cookie = ++f->cookie;
	if (src >= 0 &&
	    fan_tell(wt, src, IN_MOVED_FROM | isdir, cookie, from->name, fn,
		arg))
		return 1;
	if (dst >= 0 &&
	    fan_tell(wt, dst, IN_MOVED_TO | isdir, cookie, to->name, fn, arg))
		return 1;
	if (!isdir)
		return 0;
	if ((moved = fan_cached_node(wt, obj, 0)) < 0 && src >= 0)
		moved = node_child(&wt->table, src, from->name);
	if (dst >= 0) {
		int old = node_child(&wt->table, dst, to->name);

		if (old >= 0 && old != moved)
			fan_node_gone(wt, old, 1);
		/*
		 * Into itself by our reckoning, which found some directories
		 * by the paths they have now: it starts again from the file
		 * system rather than make a loop. Renamed to a path --prune
		 * leaves out: it left the tree.
		 */
		if (moved >= 0 &&
		    (node_above(&wt->table, moved, dst) ||
			child_excluded(wt, dst, to->name, strlen(to->name)))) {
			fan_node_gone(wt, moved, 0);
			fan_cache_forget(f, obj);
		} else if (moved >= 0) {
			tree_move(wt, moved, dst, to->name);
		} else if (src < 0)
			fan_cache_rebuild(f, f->cache_cap, 1);
	} else if (moved >= 0) {
		fan_node_gone(wt, moved, 0);
		fan_cache_forget(f, obj);
	}
	return 0;
}

/* One event read from fanotify; non-zero if fn asked to stop. */
static int
fan_event(struct watcher *wt, const char *rec,
    const struct fanotify_event_metadata *md, event_fn fn, void *arg)
{
	struct fan *f = wt->fan;
	struct fan_name at, from, to, obj;
	uint32_t mask, isdir;
	int dir;

	if (md->mask & FAN_Q_OVERFLOW)
		return fan_tell(wt, -1, IN_Q_OVERFLOW, 0, "", fn, arg);
	/* The watcher's own (its output to a file in the tree). */
	if (md->pid == f->self)
		return 0;
	isdir = md->mask & FAN_ONDIR ? IN_ISDIR : 0;
	fan_names(f, rec, md, &at, &from, &to, &obj);
	f->unresolved = 0;
	if (md->mask & FAN_RENAME)
		return fan_rename(wt, isdir, &from, &to, &obj, fn, arg);
	mask = (uint32_t)(md->mask & FAN_AS_INOTIFY);
	if (f->nfiles > 0 && obj.fs >= 0 && !isdir &&
	    fan_file_tops(wt, &obj, mask, fn, arg))
		return 1;
	if (at.fs < 0)
		return 0;
	dir = fan_dir(wt, at.fs, at.fh, strcmp(at.name, ".") == 0);
	if (f->unresolved && f->may_wait)
		return FAN_RETRY;
	if (strcmp(at.name, ".") == 0)
		return dir >= 0 && fan_self(wt, dir, mask, fn, arg);
	return dir >= 0 &&
	    fan_entry(wt, dir, mask | isdir, at.name, &obj, fn, arg);
}

/*
 * The most directories known at once: past it, all but the operands are
 * forgotten, and met again as events name them. A count keeps its rows.
 */
#define FAN_NODES_MAX ((size_t)65536)

static void
fan_subtree_gone(struct watcher *wt, int idx)
{
	int c;

	wt->table.w[idx].gone = 1;
	for (c = wt->table.w[idx].first_child; c >= 0;
	     c = wt->table.w[c].next_sibling)
		fan_subtree_gone(wt, c);
}

/* Frees the nodes that went while the queue was read. */
static void
fan_gone_free(struct watcher *wt)
{
	struct fan *f = wt->fan;
	size_t i;

	while (f->ngone > 0) {
		int idx = f->gone[--f->ngone];

		if (!wt->keep_dropped && !wt->table.w[idx].freed)
			fan_node_free(wt, idx);
	}
	while (f->nforget > 0)
		fan_cache_remove(f, &f->forget[--f->nforget]);
	for (i = 0; wt->table.live > FAN_NODES_MAX && !wt->keep_dropped &&
	     i < f->ntops;
	     i++) {
		int c;

		while ((c = wt->table.w[f->tops[i].node].first_child) >= 0) {
			fan_subtree_gone(wt, c);
			fan_node_free(wt, c);
		}
	}
	/* The cache shrinks back after a burst of short-lived directories. */
	if (f->cache_cap > 1024 && f->cache_used * 8 < f->cache_cap)
		fan_cache_rebuild(f, f->cache_cap / 2, 2);
	/* What a burst took of the buffer goes back once it is read. */
	if (f->buf_high > FAN_BUF_SIZE) {
		madvise(f->buf + FAN_BUF_SIZE, f->buf_high - FAN_BUF_SIZE,
		    MADV_DONTNEED);
		f->buf_high = FAN_BUF_SIZE;
	}
}

/*
 * Reads all the kernel holds (up to FAN_QUEUE_MAX) after what the queue
 * holds: 0, or -1 on an error.
 */
static int
fan_fill(struct fan *f)
{
	while (f->buf_len + FAN_BUF_SIZE <= FAN_QUEUE_MAX) {
		ssize_t n;

		n = read(f->fd, f->buf + f->buf_len, FAN_BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (n <= 0)
			break;
		f->buf_len += (size_t)n;
		if (f->buf_len > f->buf_high)
			f->buf_high = f->buf_len;
	}
	return 0;
}

/*
 * The record at off in the queue read, copied out: records are aligned
 * to 4 bytes only. 0 when there is none whole.
 */
static int
fan_record(const struct fan *f, size_t off, struct fanotify_event_metadata *m)
{
	if (f->buf_len - off < sizeof(*m))
		return 0;
	memcpy(m, f->buf + off, sizeof(*m));
	return m->event_len >= sizeof(*m) && m->metadata_len >= sizeof(*m) &&
	    m->metadata_len <= m->event_len && m->event_len <= f->buf_len - off;
}

/*
 * Indexes the hints by handle: the first of a handle's is found, and
 * leads to the next.
 */
static void
fan_hint_index(struct fan *f)
{
	size_t i, j, slots = 16;

	while (slots < 2 * f->nhints)
		slots *= 2;
	if (slots != f->hint_slots) {
		free(f->hint_index);
		f->hint_index = xmalloc(slots * sizeof(*f->hint_index));
		f->hint_slots = slots;
	}
	memset(f->hint_index, 0, slots * sizeof(*f->hint_index));
	for (i = f->nhints; i-- > 0;) {
		int fs = f->hints[i].obj.fs;
		const struct file_handle *fh = f->hints[i].obj.fh;

		f->hints[i].next = -1;
		for (j = fan_handle_hash(fs, fh) & (slots - 1);
		     f->hint_index[j] != 0; j = (j + 1) & (slots - 1)) {
			const struct fan_hint *later =
			    &f->hints[f->hint_index[j] - 1];

			if (fan_same_handle(later->obj.fs, later->obj.fh, fs,
				fh)) {
				f->hints[i].next = (int)f->hint_index[j] - 1;
				break;
			}
		}
		f->hint_index[j] = i + 1;
	}
}

/*
 * For each directory made and removed in the queue read: the last record
 * that names it as the directory of an event.
 */
static void
fan_hints_named(struct fan *f)
{
	struct fanotify_event_metadata m;
	size_t off;

	for (off = f->buf_head; fan_record(f, off, &m); off += m.event_len) {
		struct fan_name names[4];
		struct fan_hint *h;
		size_t i;

		fan_names(f, f->buf + off, &m, &names[0], &names[1], &names[2],
		    &names[3]);
		for (i = 0; i < 3; i++)
			if (names[i].fs >= 0 &&
			    (h = fan_hint_deleted(f, names[i].fs,
				 names[i].fh)) != NULL &&
			    h->made)
				h->last_named = off;
	}
}

/* The hints: each directory deletion and rename in the queue read. */
static void
fan_hints(struct fan *f)
{
	struct fanotify_event_metadata m;
	const struct fanotify_event_metadata *md = &m;
	size_t off;
	int made = 0;

	f->nhints = 0;
	for (off = f->buf_head; fan_record(f, off, &m); off += m.event_len) {
		struct fan_name at, from, to, obj;
		struct fan_hint *h;

		if (!(md->mask & FAN_ONDIR) ||
		    !(md->mask & (FAN_DELETE | FAN_RENAME)))
			continue;
		fan_names(f, f->buf + off, md, &at, &from, &to, &obj);
		if (md->mask & FAN_RENAME)
			at = from;
		if (obj.fs < 0 || at.fs < 0)
			continue;
		f->hints = xgrow(f->hints, f->nhints, &f->hints_cap,
		    sizeof(*f->hints));
		h = &f->hints[f->nhints++];
		h->obj = obj;
		h->parent = at;
		h->deleted = !(md->mask & FAN_RENAME);
		h->node = -1;
		h->spent = 0;
		h->made = h->deleted && (md->mask & FAN_CREATE);
		h->last_named = off;
		made |= h->made;
	}
	fan_hint_index(f);
	if (made)
		fan_hints_named(f);
}

/*
 * How long events wait behind one in a directory that no longer opens,
 * for the deletion that names it: rm -rf deletes a directory after all
 * it holds.
 */
#define FAN_HOLD_MS 250

/*
 * Reads what the queue holds, all of it first, for the hints, and hands
 * it out. Once: other processes' events may never stop coming, and the
 * run must write its output between reads.
 */
static enum drain
fan_drain(struct watcher *wt, event_fn fn, void *arg)
{
	struct fan *f = wt->fan;
	long long hold_until = -1;

	for (;;) {
		struct fanotify_event_metadata m;
		size_t off;
		int r = 0;

		if (fan_fill(f) < 0)
			return DRAIN_FAILED;
		if (f->buf_len == f->buf_head)
			return DRAIN_EMPTY;
		fan_hints(f);
		f->may_wait = hold_until < 0 || now_ms() < hold_until;
		for (off = f->buf_head; fan_record(f, off, &m);
		     off += m.event_len) {
			if (m.vers != FANOTIFY_METADATA_VERSION)
				die("Couldn't read events: fanotify's "
				    "version %u is not known",
				    m.vers);
			f->cur_off = off;
			if ((r = fan_event(wt, f->buf + off, &m, fn, arg)) != 0)
				break;
			wt->records++;
			f->buf_head = off + m.event_len;
			if (f->nunmade > 0 &&
			    fan_unmade_run(wt, off, fn, arg)) {
				r = 1;
				break;
			}
		}
		if (r == 1) {
			f->nunmade = 0;
			return DRAIN_STOPPED;
		}
		if (r == FAN_RETRY) {
			struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

			if (hold_until < 0)
				hold_until = now_ms() + FAN_HOLD_MS;
			/* Nothing more comes, or no room: it goes unnamed. */
			if (f->buf_len + FAN_BUF_SIZE > FAN_QUEUE_MAX ||
			    poll(&pfd, 1, poll_timeout(hold_until)) <= 0)
				hold_until = 0;
			if (f->buf_head > 0) {
				size_t i;

				for (i = 0; i < f->nunmade; i++)
					f->unmade[i].after -= f->buf_head;
				memmove(f->buf, f->buf + f->buf_head,
				    f->buf_len - f->buf_head);
				f->buf_len -= f->buf_head;
				f->buf_head = 0;
			}
			continue;
		}
		f->buf_head = f->buf_len = 0;
		if (f->nunmade > 0 && fan_unmade_run(wt, SIZE_MAX, fn, arg))
			return DRAIN_STOPPED;
		fan_gone_free(wt);
		return DRAIN_READ;
	}
}

/* The fanotify mask for the inotify events wanted, and the tree's own. */
static uint64_t
fan_mask(uint32_t want)
{
	/* An operand's DELETE_SELF ends its watch, whatever was asked. */
	return (want & FAN_AS_INOTIFY) | FAN_ONDIR | FAN_RENAME | FAN_DELETE |
	    FAN_DELETE_SELF;
}

static struct file_handle *
fan_handle(const char *path, int follow)
{
	struct file_handle *fh = xmalloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int mount_id;

	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id,
		follow ? AT_SYMLINK_FOLLOW : 0) < 0) {
		free(fh);
		return NULL;
	}
	return fh;
}

/* The directory that holds path: a copy to free. */
static char *
fan_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash == NULL) {
		free(dir);
		return xstrdup(".");
	}
	slash[slash == dir] = '\0';
	return dir;
}

/* The file system of path, or of its directory (a dangling link's). */
static int
fan_statfs(const char *path, struct statfs *sfs)
{
	char *dir;
	int r;

	if (statfs(path, sfs) == 0)
		return 0;
	dir = fan_parent(path);
	r = statfs(dir, sfs);
	free(dir);
	return r;
}

/*
 * A descriptor on the top directory of path's mount, to open handles
 * with: one on an operand would keep it from being freed when it is
 * deleted, and its DELETE_SELF from coming.
 */
static int
fan_mount_root(const char *path)
{
	char *dir = realpath(path, NULL), *up;
	struct stat st, upst;
	int fd;

	if (dir == NULL) {
		up = fan_parent(path);
		dir = realpath(up, NULL);
		free(up);
	}
	if (dir == NULL || stat(dir, &st) < 0) {
		free(dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		up = fan_parent(dir);
		free(dir);
		dir = up;
	}
	while (strcmp(dir, "/") != 0) {
		up = fan_parent(dir);
		if (stat(up, &upst) < 0 || upst.st_dev != st.st_dev) {
			free(up);
			break;
		}
		free(dir);
		dir = up;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return fd;
}

static void
fan_free(struct fan *f)
{
	size_t i;

	for (i = 0; i < f->nfs; i++)
		close(f->fs[i].mount_fd);
	for (i = 0; i < f->ntops; i++) {
		free(f->tops[i].real);
		free(f->tops[i].self);
	}
	free(f->tops);
	free(f->cache);
	free(f->gone);
	if (f->buf != NULL)
		munmap(f->buf, FAN_QUEUE_MAX);
	free(f->hints);
	free(f->hint_index);
	free(f->forget);
	free(f->unmade);
	free(f);
}

/*
 * Marks the file system of path; returns 0, or an errno with what -S
 * would need in *need.
 */
static int
fan_mark_fs(struct fan *f, const char *path, uint64_t mask, const char **need)
{
	struct statfs sfs;
	struct file_handle *fh;
	char self[64];
	int fd, err = 0;

	if (fan_statfs(path, &sfs) < 0 || fan_fs_of(f, &sfs.f_fsid) >= 0)
		return 0; /* missing: its operand's own failure says so */
	if (f->nfs == FAN_FS_MAX) {
		*need = "at most 16 file systems";
		return EMFILE;
	}
	if ((fd = fan_mount_root(path)) < 0)
		return 0;
	if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, fd,
		NULL) < 0) {
		err = errno;
		/* fanotify_init took the 5.17 flags: the file system refused. */
		*need = err == EPERM ? "CAP_SYS_ADMIN" :
				       "a file system that gives file handles";
		close(fd);
		return err;
	}
	/* Handles must open: that takes CAP_DAC_READ_SEARCH. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if ((fh = fan_handle(self, 1)) == NULL) {
		err = errno;
	} else {
		int probe = open_by_handle_at(fd, fh, O_PATH | O_CLOEXEC);

		if (probe < 0)
			err = errno;
		else
			close(probe);
		free(fh);
	}
	if (err != 0) {
		*need = err == EPERM ? "CAP_DAC_READ_SEARCH" :
				       "a file system that gives file handles";
		close(fd);
		return err;
	}
	memcpy(f->fs[f->nfs].fsid, &sfs.f_fsid, sizeof(f->fs[f->nfs].fsid));
	f->fs[f->nfs++].mount_fd = fd;
	return 0;
}

/*
 * Takes a file-system mark for each operand's file system. Where
 * fanotify cannot serve, says why in one line and leaves the watcher
 * to inotify.
 */
static void
fan_start(struct watcher *wt, const struct path_list *pl)
{
	struct fan *f = xmalloc(sizeof(*f));
	int err = 0;
	const char *need = "";
	size_t i;

	memset(f, 0, sizeof(*f));
	f->want = wt->want;
	f->self = getpid();
	/* Pages are taken as a burst needs them, and given back after. */
	f->buf = mmap(NULL, FAN_QUEUE_MAX, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->buf == MAP_FAILED)
		die("Out of memory");
	f->fd = fanotify_init(FAN_INIT_FLAGS | FAN_NONBLOCK,
	    O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (f->fd < 0) {
		err = errno;
		need = err == EPERM ? "CAP_SYS_ADMIN" : "Linux 5.17 or later";
	}
	for (i = 0; err == 0 && i < pl->npaths; i++)
		err = fan_mark_fs(f, pl->paths[i], fan_mask(f->want), &need);
	if (err != 0) {
		msg("Couldn't watch with fanotify: %s (it needs %s); "
		    "watching with inotify instead.",
		    strerror(err), need);
		if (f->fd >= 0)
			close(f->fd);
		fan_free(f);
		return;
	}
	if (wt->want & IN_UNMOUNT) {
		close(f->fd);
		fan_free(f);
		die("fanotify has no unmount event: -e unmount needs inotify "
		    "(leave out -F and -S).");
	}
	close(wt->fd);
	wt->fd = f->fd;
	wt->fan = f;
}

/*
 * Takes an operand: a directory (by its real path, so that events below
 * it are known as its) or a file (by its handle). Named as inotify's
 * watches are, and refused where inotify would refuse it.
 */
static int
fan_add(struct watcher *wt, const char *path)
{
	struct fan *f = wt->fan;
	int follow = !(wt->mask & IN_DONT_FOLLOW);
	struct statfs sfs;
	struct stat st, lst;
	struct fan_top tp = { 0 };
	struct outbuf name = { 0 };
	size_t len = strlen(path), i;
	int again = 0; /* a directory an earlier operand names */
	struct file_handle *fh;

	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0 ||
	    fan_statfs(path, &sfs) < 0)
		return errno;
	if (S_ISDIR(st.st_mode) && access(path, R_OK) < 0)
		return errno;
	if ((tp.fs = fan_fs_of(f, &sfs.f_fsid)) < 0)
		return ENODEV;
	if ((fh = fan_handle(path, follow)) == NULL)
		return errno;
	if (S_ISDIR(st.st_mode)) {
		if ((tp.real = realpath(path, NULL)) == NULL) {
			free(fh);
			return errno;
		}
		tp.len = strlen(tp.real);
		for (i = 0; i < f->ntops; i++)
			if (f->tops[i].real != NULL &&
			    strcmp(f->tops[i].real, tp.real) == 0)
				again = 1;
		/*
		 * Watched already, by its first name; but an @ exclusion
		 * names one spelling, so under another one its excluded
		 * subdirectories are reached (the handle stays the first's).
		 */
		if (again && (wt->nexcludes == 0 || !wt->recursive)) {
			free(tp.real);
			free(fh);
			return 0;
		}
	} else {
		tp.self = fh;
		f->nfiles++;
	}
	/* As inotify's: a link to a directory has a slash only under -r. */
	outbuf_adds(&name, path);
	if (path[len - 1] != '/' && S_ISDIR(st.st_mode) &&
	    (wt->recursive || (lstat(path, &lst) == 0 && S_ISDIR(lst.st_mode))))
		outbuf_addc(&name, '/');
	tp.node = fan_node_new(wt, -1, name.data, name.len);
	free(name.data);
	if (tp.real != NULL) {
		if (!again)
			fan_cache_put(wt, tp.fs, fh, tp.node);
		free(fh);
	}
	if ((f->ntops & (f->ntops - 1)) == 0)
		f->tops = xrealloc(f->tops,
		    (f->ntops ? f->ntops * 2 : 4) * sizeof(*f->tops));
	f->tops[f->ntops++] = tp;
	return 0;
}

/* -------- The run --------------------------------------------------- */

/*
 * Watches every operand. The reference's messages are the tools' own,
 * so each says them through note; a watch limit is explained here.
 */
void
watches_establish(struct watcher *wt, const struct path_list *pl, setup_fn note,
    void *arg)
{
	size_t i;

	wt->excludes = pl->excludes;
	wt->nexcludes = pl->nexcludes;
	if (wt->fan_wanted)
		fan_start(wt, pl);
	note(wt, SETUP_BEGIN, NULL, 0, arg);
	for (i = 0; i < pl->npaths; i++) {
		int err;

		note(wt, SETUP_OPERAND, pl->paths[i], 0, arg);
		err = watcher_add(wt, pl->paths[i]);
		if (err == ENOSPC) {
			err_watch_limit(pl->paths[i], pl, wt->recursive);
			exit(EXIT_ERROR);
		}
		if (err != 0) {
			note(wt, SETUP_FAILED, pl->paths[i], err, arg);
			exit(EXIT_ERROR);
		}
		note(wt, SETUP_WATCHED, pl->paths[i], 0, arg);
	}
	memory_release();
	note(wt, SETUP_DONE, NULL, 0, arg);
}

/*
 * The run's hand-out: it notes that an event came, for an idle -t, and
 * when the open batch began and last had an event (-1: none open).
 */
struct run_state {
	const struct run *run;
	int handed;
	long long batch_first, batch_last;
};

static int
run_event(struct watcher *wt, const struct event *ev, void *arg)
{
	struct run_state *rs = arg;

	rs->handed = 1;
	return rs->run->on_event(wt, ev, rs->run->arg);
}

/* The earlier of two deadlines; -1 is none. */
static long long
deadline_min(long long a, long long b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/*
 * When the open batch ends: a quiet period after its last event, or its
 * longest delay after its first; -1 if none is open.
 */
static long long
batch_due(const struct run_state *rs)
{
	const struct run *run = rs->run;

	if (rs->batch_first < 0)
		return -1;
	return deadline_min(rs->batch_last + run->batch_quiet_ms,
	    rs->batch_first + run->batch_max_ms);
}

static void
batch_close(struct run_state *rs)
{
	if (rs->batch_first < 0)
		return;
	rs->batch_first = rs->batch_last = -1;
	rs->run->batch_end(rs->run->arg);
}

/*
 * One ppoll() waits for the kernel's queue, room in the held output and
 * the signals, until -t or the end of the open batch; while events
 * stream in, a pause takes the place of the wait (see the pacer). Held
 * output is written while the next events are read.
 */
enum run_end
watcher_run(struct watcher *wt, const struct run *run)
{
	long long span = (long long)run->timeout * 1000;
	long long deadline = run->timeout ? now_ms() + span : -1;
	struct run_state rs = { run, 0, -1, -1 };
	struct pacer pace;

	pacer_init(&pace);
	for (;;) {
		size_t held = run->held ? run->held(run->arg) : 0;
		struct pollfd pfd[2] = {
			{ .fd = wt->fd, .events = POLLIN },
			{ .fd = run->out_fd, .events = held > 0 ? POLLOUT : 0 },
		};
		long long wake = deadline_min(deadline, batch_due(&rs));
		/* Held output is written first: its POLLOUT must wake us. */
		int pausing =
		    pace.pause_ns > 0 && held == 0 && poll_timeout(wake) != 0;
		int r = 0;
		long long now;
		enum drain d;

		if (run->held_max > 0 && held >= run->held_max)
			pfd[0].events = 0;
		if (pausing)
			wait_pause(&pace, wake, &pfd[1]);
		else
			r = wait_events(pfd, 2, wake);
		if (signal_stop) {
			events_drain(wt, run_event, &rs);
			batch_close(&rs);
			return RUN_SIGNAL;
		}
		/* A stream's last event came a pause ago: -t is not near. */
		if (r == 0 && !pausing && deadline >= 0 &&
		    poll_timeout(deadline) == 0) {
			batch_close(&rs);
			return RUN_TIMEOUT;
		}
		if (pfd[1].revents & (POLLERR | POLLHUP))
			run->gone(run->arg);
		/* The table a SIGUSR1 asks for counts what is queued. */
		if (pausing || (pfd[0].revents & POLLIN) ||
		    (signal_dump && run->dump != NULL)) {
			rs.handed = 0;
			d = events_drain(wt, run_event, &rs);
			if (d == DRAIN_FAILED)
				die("Couldn't read events: %s",
				    strerror(errno));
			if (d == DRAIN_STOPPED)
				return RUN_STOPPED;
			now = rs.handed ? now_ms() : 0;
			if (rs.handed && run->batch_end != NULL) {
				rs.batch_last = now;
				if (rs.batch_first < 0)
					rs.batch_first = now;
			}
			if (rs.handed && run->timeout_idle && run->timeout) {
				deadline = now + span;
			} else if (deadline >= 0 &&
			    poll_timeout(deadline) == 0) {
				batch_close(&rs);
				return RUN_TIMEOUT;
			}
			pacer_after_read(&pace, wt->records);
		}
		if (rs.batch_first >= 0 && poll_timeout(batch_due(&rs)) == 0)
			batch_close(&rs);
		if (signal_dump && run->dump != NULL) {
			signal_dump = 0;
			run->dump(wt, run->arg);
		}
		if (run->held != NULL && run->held(run->arg) > 0)
			run->write(run->arg);
	}
}
