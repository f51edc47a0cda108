/*
 * inotifywatch: count file-system events per watch, then print a table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"

#define SORT_TOTAL 0  /* sort_key value for the total column */
#define NBITS      32 /* event bits counted per watch */

struct options {
	struct common_opts c;
	int verbose;
	int zero;
	uint32_t sort_key; /* one event bit, or SORT_TOTAL */
	int sort_set;
	int ascending;
};

/* Counts of one watch, allocated at its first event. */
struct counts {
	unsigned total;
	unsigned bit[NBITS];
};

struct stats {
	const struct options *opt;
	struct counts **per_watch; /* by watch index */
	size_t cap;
	uint32_t user_mask;
	unsigned grand_total;
	unsigned column_total[NBITS];
};

/* Columns of the table, in order. */
static const struct {
	const char *name;
	uint32_t mask;
} columns[] = {
	{ "access", IN_ACCESS },
	{ "modify", IN_MODIFY },
	{ "attrib", IN_ATTRIB },
	{ "close_write", IN_CLOSE_WRITE },
	{ "close_nowrite", IN_CLOSE_NOWRITE },
	{ "open", IN_OPEN },
	{ "moved_from", IN_MOVED_FROM },
	{ "moved_to", IN_MOVED_TO },
	{ "move_self", IN_MOVE_SELF },
	{ "create", IN_CREATE },
	{ "delete", IN_DELETE },
	{ "delete_self", IN_DELETE_SELF },
	{ "unmount", IN_UNMOUNT },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static const char help_text[] =
    "inotifywatch " VERSION "\n"
    "Count file-system events on files and directories, then print a table.\n"
    "Usage: inotifywatch [ options ] file1 [ file2 ] [ ... ]\n"
    "Options:\n"
    "\t-h|--help    \tPrint this text and exit.\n"
    "\t--version    \tPrint the version and exit.\n"
    "\t-v|--verbose \tSay more while setting up.\n"
    "\t@<file>      \tDo not watch <file> (with --recursive).\n"
    "\t--fromfile <file>\n"
    "\t             \tRead the paths to watch from <file>, one a line;\n"
    "\t             \t`-' reads standard input.\n"
    "\t--exclude <pattern>\n"
    "\t             \tDo not count events whose path matches the POSIX\n"
    "\t             \textended regular expression <pattern>.\n"
    "\t--excludei <pattern>\n"
    "\t             \tThe same, ignoring case.\n"
    "\t--include <pattern>\n"
    "\t             \tCount only events whose path matches <pattern>.\n"
    "\t--includei <pattern>\n"
    "\t             \tThe same, ignoring case.\n"
    "\t--prune <pattern>\n"
    "\t             \tUnder -r, do not watch a directory whose path (with\n"
    "\t             \tits final /) matches this POSIX extended regular\n"
    "\t             \texpression, nor anything below it; repeatable.\n"
    "\t-z|--zero\n"
    "\t             \tAlso print rows and columns that are all zero.\n"
    "\t-r|--recursive\tWatch each directory with everything below it.\n"
    "\t-I|--inotify \tWatch through inotify, a watch per directory (the\n"
    "\t             \tdefault).\n"
    "\t-F|--fanotify, -S|--filesystem\n"
    "\t             \tWatch through fanotify: one mark on each file system\n"
    "\t             \tholding an operand, no watch limit, no walk (needs\n"
    "\t             \tCAP_SYS_ADMIN; else inotify, and a note says why).\n"
    "\t-P|--no-dereference\n"
    "\t             \tWatch symbolic links themselves, not their targets.\n"
    "\t-t|--timeout <seconds>\n"
    "\t             \tCount for <seconds>, then print the table; 0 or\n"
    "\t             \tnone counts until interrupted.\n"
    "\t-e|--event <event1> [ -e|--event <event2> ... ]\n"
    "\t             \tCount only these events; default: all of them.\n"
    "\t-a|--ascending <event>\n"
    "\t             \tSort rows by this event's column, or `total', smallest first.\n"
    "\t-d|--descending <event>\n"
    "\t             \tSort rows by this event's column, or `total', largest first.\n"
    "\n"
    "Exit status:\n"
    "\t0  -  The table was printed (or no event occurred).\n"
    "\t1  -  An error occurred.\n"
    "\n"
    "Events:\n";

static const char short_opts[] = "hvzrPt:e:a:d:IFS";

/* clang-format off */
static const struct option long_opts[] = {
	LONG_OPTIONS_HEAD,
	{ "verbose", no_argument, NULL, 'v' },
	{ "zero", no_argument, NULL, 'z' },
	LONG_OPTIONS_BACKEND,
	LONG_OPTIONS_PATHS,
	{ "ascending", required_argument, NULL, 'a' },
	{ "descending", required_argument, NULL, 'd' },
	{ NULL, 0, NULL, 0 }
};
/* clang-format on */

static const struct tool tool = { "inotifywatch", help_text, short_opts,
	long_opts };

static int
bit_index(uint32_t bit)
{
	int i = 0;

	while (bit > 1) {
		bit >>= 1;
		i++;
	}
	return i;
}

/*
 * The length of a list before its first empty name (`', `modify,',
 * `,modify'), where the reference stops reading; -1 if none is empty.
 */
static ssize_t
key_empty_name(const char *key)
{
	const char *p = key;

	for (;;) {
		size_t len = strcspn(p, ",");

		if (len == 0)
			return p == key ? 0 : p - key - 1;
		if (p[len] == '\0')
			return -1;
		p += len + 1;
	}
}

/*
 * -a and -d take `total' or one event; `move' and `close' name two and
 * are refused with a hint, as is any other list (the reference crashed).
 */
static void
sort_key_parse(struct options *opt, const char *key, int ascending)
{
	uint32_t mask;
	ssize_t cut;
	int bad;

	if (opt->sort_set)
		die("Please specify -a or -d once only!");
	opt->sort_set = 1;
	opt->ascending = ascending;
	if (strcasecmp(key, "total") == 0) {
		opt->sort_key = SORT_TOTAL;
		return;
	}
	if (strcasecmp(key, "move") == 0)
		die("Cannot sort by `move' event; please use `moved_from' or "
		    "`moved_to'.");
	if (strcasecmp(key, "close") == 0)
		die("Cannot sort by `close' event; please use `close_write' or "
		    "`close_nowrite'.");
	/*
	 * The reference reads a list up to its first empty name, and
	 * such a list as total.
	 */
	if ((cut = key_empty_name(key)) >= 0) {
		char *head = xstrdup(key);

		head[cut] = '\0';
		bad = event_list_parse(head, &mask) < 0;
		free(head);
		mask = SORT_TOTAL;
	} else {
		bad = event_list_parse(key, &mask) < 0 || mask == 0 ||
		    (mask & (mask - 1)) != 0;
	}
	if (bad)
		die("'%s' is not a valid key for sorting!", key);
	opt->sort_key = mask;
}

static void
options_parse(struct options *opt, int argc, char **argv)
{
	int c;
	uint32_t watched;

	while ((c = options_next(&tool, argc, argv, &opt->c)) != -1) {
		switch (c) {
		case 'v':
			opt->verbose = 1;
			break;
		case 'z':
			opt->zero = 1;
			break;
		case 'a':
		case 'd':
			sort_key_parse(opt, optarg, c == 'a');
			break;
		}
	}
	watched = opt->c.events ? opt->c.events : IN_ALL_EVENTS;
	if (opt->sort_key != SORT_TOTAL && (opt->sort_key & watched) == 0)
		die("Can't sort by an event which isn't being watched for!");
	common_opts_check(&opt->c);
	if (opt->c.bad)
		exit(EXIT_ERROR);
}

/*
 * Every event counts once toward its watch's total, even one with no
 * column (IGNORED), as in the reference; bits the tree bookkeeping added
 * to the kernel's mask are not the user's and do not count.
 */
static int
on_event(struct watcher *wt, const struct event *ev, void *arg)
{
	struct stats *st = arg;
	struct counts *c;
	int b;

	(void)wt;
	if (ev->watch < 0 || (ev->mask & (st->user_mask | EVENT_UNMASKED)) == 0)
		return 0;
	if ((size_t)ev->watch >= st->cap) {
		size_t cap = st->cap ? st->cap : 64;

		while (cap <= (size_t)ev->watch)
			cap *= 2;
		st->per_watch =
		    xrealloc(st->per_watch, cap * sizeof(struct counts *));
		memset(st->per_watch + st->cap, 0,
		    (cap - st->cap) * sizeof(struct counts *));
		st->cap = cap;
	}
	c = st->per_watch[ev->watch];
	if (c == NULL) {
		c = st->per_watch[ev->watch] = xmalloc(sizeof(*c));
		memset(c, 0, sizeof(*c));
	}
	c->total++;
	st->grand_total++;
	for (b = 0; b < NBITS; b++)
		if (ev->mask & (1u << b)) {
			c->bit[b]++;
			st->column_total[b]++;
		}
	return 0;
}

static void
stats_free(struct stats *st)
{
	size_t i;

	for (i = 0; i < st->cap; i++)
		free(st->per_watch[i]);
	free(st->per_watch);
}

struct row {
	int watch;
	int rank; /* the order watches were set up in */
	unsigned key;
};

static int sort_ascending;

/* By key, then by the order the watches were set up. */
static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->key != y->key)
		return (x->key < y->key) == sort_ascending ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/*
 * The table goes out whole, waiting for the reader. After a signal that
 * ends us, a pipe whose reader takes none of it for a while is not waited
 * for: the signal then ends us, as it ends a program that does not catch
 * it.
 */
static void
table_write(struct outbuf *out, int signalled)
{
	int fd = signalled ? pipe_open_nonblocking(STDOUT_FILENO) : -1;

	if (outbuf_flush(out, fd < 0 ? STDOUT_FILENO : fd,
		fd < 0 ? -1 : OUTPUT_STOP_WAIT_MS) < 0) {
		if (errno == ETIMEDOUT) {
			msg("Couldn't write the table: the reader took none "
			    "for %d seconds.",
			    OUTPUT_STOP_WAIT_MS / 1000);
			signal_exit();
		}
		die("Couldn't write the table: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

static void
table_print(struct watcher *wt, const struct stats *st, int signalled)
{
	static const struct counts none;
	const struct options *opt = st->opt;
	size_t slots = watcher_slots(wt);
	struct row *rows = xmalloc(slots * sizeof(*rows));
	int shown[NCOLUMNS];
	size_t i, j, nrows = 0;
	struct outbuf out = { 0 };
	char num[32];

	if (st->grand_total == 0) {
		msg("No events occurred.");
		free(rows);
		return;
	}
	for (j = 0; j < NCOLUMNS; j++)
		shown[j] = (columns[j].mask & st->user_mask) &&
		    (opt->zero ||
			st->column_total[bit_index(columns[j].mask)] > 0);
	for (i = 0; i < slots; i++) {
		int rank = watch_rank(wt, (int)i);
		const struct counts *c =
		    i < st->cap && st->per_watch[i] ? st->per_watch[i] : &none;

		if (rank < 0 || (c->total == 0 && !opt->zero))
			continue;
		rows[nrows].watch = (int)i;
		rows[nrows].rank = rank;
		rows[nrows].key = opt->sort_key == SORT_TOTAL ?
		    c->total :
		    c->bit[bit_index(opt->sort_key)];
		nrows++;
	}
	sort_ascending = opt->ascending;
	qsort(rows, nrows, sizeof(*rows), row_cmp);

	outbuf_adds(&out, "total  ");
	for (j = 0; j < NCOLUMNS; j++)
		if (shown[j]) {
			outbuf_adds(&out, columns[j].name);
			outbuf_adds(&out, "  ");
		}
	outbuf_adds(&out, "filename\n");
	for (i = 0; i < nrows; i++) {
		const struct counts *c = (size_t)rows[i].watch < st->cap &&
			st->per_watch[rows[i].watch] ?
		    st->per_watch[rows[i].watch] :
		    &none;

		snprintf(num, sizeof(num), "%-5u  ", c->total);
		outbuf_adds(&out, num);
		for (j = 0; j < NCOLUMNS; j++)
			if (shown[j]) {
				snprintf(num, sizeof(num), "%-*u  ",
				    (int)strlen(columns[j].name),
				    c->bit[bit_index(columns[j].mask)]);
				outbuf_adds(&out, num);
			}
		outbuf_adds(&out, watch_path(wt, rows[i].watch, NULL));
		outbuf_addc(&out, '\n');
	}
	table_write(&out, signalled);
	free(out.data);
	free(rows);
}

/* What the set-up says, as the reference says it. */
static void
setup_note(struct watcher *wt, enum setup_step step, const char *path, int err,
    void *arg)
{
	const struct options *opt = arg;
	int verbose_r = opt->verbose && opt->c.recursive;

	switch (step) {
	case SETUP_BEGIN:
		msg("Establishing watches...");
		break;
	case SETUP_OPERAND:
		if (verbose_r)
			msg("Setting up watch(es) on %s", path);
		break;
	case SETUP_WATCHED:
		if (verbose_r)
			msg("OK, %s is now being watched.", path);
		break;
	case SETUP_FAILED:
		die("Failed to watch %s: %s", path, strerror(err));
	case SETUP_DONE:
		if (opt->verbose)
			msg("Total of %zu watches.", watcher_names(wt));
		msg("Finished establishing watches, now collecting "
		    "statistics.");
		if (opt->verbose && opt->c.timeout)
			msg("Will listen for events for %lu seconds.",
			    opt->c.timeout);
		break;
	}
}

/* SIGUSR1: the table so far, and a blank line after it. */
static void
table_dump(struct watcher *wt, void *arg)
{
	const struct stats *st = arg;

	table_print(wt, st, 0);
	fputs("\n", stdout);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct watch_settings ws;
	struct watcher *wt;
	struct stats st = { 0 };
	struct path_list pl;
	struct run run = { 0 };

	signals_catch(SIGNALS_USR1);
	options_parse(&opt, argc, argv);
	watch_settings_init(&ws, &opt.c);
	ws.keep_dropped = 1;
	/* A oneshot watch ends at its first event: there is no tree to follow. */
	ws.follow_tree = opt.c.recursive && !(opt.c.events & IN_ONESHOT);
	wt = watcher_new(&ws);
	path_list_build(&pl, opt.c.fromfile, argv + optind, argc - optind);
	st.opt = &opt;
	st.user_mask = opt.c.events ? opt.c.events : IN_ALL_EVENTS;

	watches_establish(wt, &pl, setup_note, &opt);
	run.on_event = on_event;
	run.arg = &st;
	run.timeout = opt.c.timeout;
	run.dump = table_dump;
	run.out_fd = -1;
	table_print(wt, &st, watcher_run(wt, &run) == RUN_SIGNAL);
	stats_free(&st);
	watcher_free(wt);
	path_list_free(&pl);
	return EXIT_EVENT;
}
