/*
 * What inotifywait and inotifywatch share: diagnostics, event names,
 * the options both take, the path list, the output buffer, and the
 * watcher with its event loop. Each tool keeps its own options, its
 * handling of each event and its output.
 */
#ifndef COMMON_H
#define COMMON_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/types.h>

#define VERSION "3.22.6.0"

/* Exit statuses, as the reference documents them. */
#define EXIT_EVENT   0 /* a requested event arrived, or a clean end */
#define EXIT_ERROR   1 /* an error, or an event not asked for */
#define EXIT_TIMEOUT 2 /* -t expired with nothing to report */

/* Events the kernel sends whatever the mask asks for. */
#define EVENT_UNMASKED (IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED)

/*
 * Diagnostics: stderr, or syslog once msg_syslog() was called. Notes
 * (progress) and errors can go separate ways.
 */
void msg_syslog(const char *ident, int errors_too);
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void *xmalloc(size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

/* Event names, and their part of --help. */
extern const char help_events[];
#define EVENT_TEXT_MAX 256
int event_list_parse(const char *list, uint32_t *mask);
size_t event_mask_format(uint32_t mask, char sep, char *buf);

/* Long-only options both tools take, as getopt_long codes. */
enum {
	OPT_FROMFILE = 256,
	OPT_EXCLUDE,
	OPT_EXCLUDEI,
	OPT_INCLUDE,
	OPT_INCLUDEI,
	OPT_PRUNE,
	OPT_VERSION,
	OPT_TOOL /* first code free for a tool's own options */
};

/*
 * The long options both tools take, for their getopt_long tables. The
 * order is the reference's: getopt lists an ambiguous prefix's
 * candidates in table order (`--in`: inotify, include, includei).
 */
/* clang-format off */
#define LONG_OPTIONS_HEAD \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, OPT_VERSION }, \
	{ "event", required_argument, NULL, 'e' }, \
	{ "timeout", required_argument, NULL, 't' }, \
	{ "recursive", no_argument, NULL, 'r' }, \
	{ "no-dereference", no_argument, NULL, 'P' }
#define LONG_OPTIONS_BACKEND \
	{ "inotify", no_argument, NULL, 'I' }, \
	{ "fanotify", no_argument, NULL, 'F' }, \
	{ "filesystem", no_argument, NULL, 'S' }
#define LONG_OPTIONS_PATHS \
	{ "fromfile", required_argument, NULL, OPT_FROMFILE }, \
	{ "exclude", required_argument, NULL, OPT_EXCLUDE }, \
	{ "excludei", required_argument, NULL, OPT_EXCLUDEI }, \
	{ "include", required_argument, NULL, OPT_INCLUDE }, \
	{ "includei", required_argument, NULL, OPT_INCLUDEI }, \
	{ "prune", required_argument, NULL, OPT_PRUNE }
/* clang-format on */

/* The most --prune patterns; more can be joined into one with `|'. */
#define PRUNE_MAX 64

/* Options both tools take. */
struct common_opts {
	uint32_t events; /* -e mask, 0 = all */
	int recursive;
	int no_dereference;
	unsigned long timeout; /* seconds, 0 = none */
	const char *fromfile;
	const char *exclude; /* the last --exclude or --excludei */
	const char *include; /* the last --include or --includei */
	int exclude_icase, include_icase;
	int n_exclude, n_excludei, n_include, n_includei;
	/* --prune: directories below an operand not to watch (ours) */
	const char *prune[PRUNE_MAX];
	size_t nprune;
	int fanotify; /* -F or -S */
	int bad;      /* a bad option was given */
};

/* A tool's face: its name, its --help and its options. */
struct tool {
	const char *name;
	const char *help; /* --help, before the events */
	const char *short_opts;
	const struct option *long_opts;
};

/*
 * getopt_long(3) for a tool: the shared options go to o, --help and
 * --version print and exit; returns the next option of the tool's own,
 * or -1 at the end or after a bad one (o->bad is set: getopt said why).
 */
int options_next(const struct tool *t, int argc, char **argv,
    struct common_opts *o);
void common_opts_check(const struct common_opts *o);

/* Paths from --fromfile and the command line; @PATH goes to the excludes. */
struct path_list {
	char **paths;
	size_t npaths;
	char **excludes;
	size_t nexcludes;
};

void path_list_free(struct path_list *pl);
void path_list_build(struct path_list *pl, const char *fromfile, char **argv,
    int argc);

/* Output gathered in memory and written in as few write(2)s as possible. */
struct outbuf {
	char *data;
	size_t len, cap;
};

void outbuf_reserve(struct outbuf *ob, size_t extra);
void outbuf_add(struct outbuf *ob, const void *p, size_t n);
void outbuf_addc(struct outbuf *ob, char c);
void outbuf_adds(struct outbuf *ob, const char *s);
int outbuf_flush(struct outbuf *ob, int fd, int idle_ms);
/* After a signal that ends us, how long a reader may take nothing (ms). */
#define OUTPUT_STOP_WAIT_MS 2000
int pipe_open_nonblocking(int fd);

/*
 * The watcher: the kernel's watches of the operands (and, under -r, of
 * every directory below them), kept as a tree of names so that an event
 * is printed with its path. Its workings are common.c's own.
 */
struct watcher;

/* How a watcher watches; given once, when it is made. */
struct watch_settings {
	uint32_t events;    /* the -e mask; 0: all events */
	int recursive;      /* -r: a directory with all below it */
	int no_dereference; /* -P: a link itself, not its target */
	int follow_tree;    /* watch new directories, follow renames */
	/* A dropped watch keeps its path: counts name it after. */
	int keep_dropped;
	const char *regex; /* --exclude or --include, or NULL */
	int regex_keeps;   /* it says what to keep (--include) */
	int regex_icase;
	uint32_t
	    unasked; /* also watched, never reported by the watcher's user */
	const char *const *prune; /* --prune's patterns */
	size_t nprune;
	int fanotify; /* -F, -S: file-system marks, where the kernel lets us */
};

void watch_settings_init(struct watch_settings *ws,
    const struct common_opts *o);
struct watcher *watcher_new(const struct watch_settings *ws);
void watcher_free(struct watcher *wt);
int watcher_add(struct watcher *wt, const char *path);

/*
 * Watching every operand of the list, each tool saying it in its own
 * words; the first failure ends the program. The list's @paths are not
 * watched, then or later: the list must last as long as the watcher.
 */
enum setup_step {
	SETUP_BEGIN,   /* before the first operand */
	SETUP_OPERAND, /* before the operand path */
	SETUP_WATCHED, /* the operand path is watched */
	SETUP_FAILED,  /* path failed with errno err; we exit next */
	SETUP_DONE     /* every operand is watched */
};
typedef void (*setup_fn)(struct watcher *wt, enum setup_step step,
    const char *path, int err, void *arg);
void watches_establish(struct watcher *wt, const struct path_list *pl,
    setup_fn note, void *arg);

/*
 * What a tool may ask of a watch, by the index an event carries. A
 * watcher of NULL has no watches: every path is empty.
 */
const char *watch_path(struct watcher *wt, int idx, size_t *len);
size_t watcher_slots(const struct watcher *wt);    /* indexes: 0 to this */
int watch_rank(const struct watcher *wt, int idx); /* set-up order, -1: none */
size_t watcher_names(struct watcher *wt); /* what the reference counts */

/* A decoded event. */
struct event {
	int watch; /* index of the watch, -1 if unknown */
	uint32_t mask;
	uint32_t cookie;
	const char *name; /* entry name, "" for the watched object */
};

/* Called for each event that passed the filters; non-zero stops the run. */
typedef int (*event_fn)(struct watcher *wt, const struct event *ev, void *arg);

/*
 * SIGINT, SIGTERM, SIGHUP (and SIGUSR1 if asked) are caught, and blocked
 * but while the run waits, so that one never slips in between a check
 * and the wait.
 */
enum {
	SIGNALS_USR1 = 1,        /* SIGUSR1 too: the run's dump */
	SIGNALS_KEEP_IGNORED = 2 /* one ignored at start stays ignored */
};
void signals_catch(int flags);
void signal_exit(void) __attribute__((noreturn));

/*
 * The event loop. Events are handed to on_event until it asks to stop,
 * -t expires or a caught signal comes; what the kernel queued before a
 * signal is handed out first. A tool that holds output for a slow reader
 * (a pipe it must not block on) says so, and the loop waits for room in
 * it too; it stops reading events while held_max bytes are held.
 */
struct run {
	event_fn on_event;
	void *arg;
	unsigned long timeout; /* -t, in seconds; 0: none */
	int timeout_idle;      /* -t counts from the last event */
	void (*dump)(struct watcher *wt, void *arg); /* on SIGUSR1 */
	int out_fd; /* held output's descriptor, or -1 */
	size_t held_max;
	size_t (*held)(void *arg); /* bytes held */
	void (*write)(void *arg);  /* writes what out_fd takes */
	void (*gone)(void *arg);   /* out_fd's reader went away */
	/*
	 * Batches (--batch): once events were handed out, batch_end is
	 * called when none came for batch_quiet_ms, or batch_max_ms after
	 * the batch's first, and before the run ends on -t or a signal.
	 */
	void (*batch_end)(void *arg);
	long long batch_quiet_ms, batch_max_ms;
};
enum run_end {
	RUN_STOPPED, /* on_event asked to stop */
	RUN_TIMEOUT, /* -t expired */
	RUN_SIGNAL   /* a caught signal came: see signal_exit() */
};
enum run_end watcher_run(struct watcher *wt, const struct run *run);

/* Decodes a buffer of kernel records as if read; for the fuzzer. */
int events_decode(struct watcher *wt, const char *buf, size_t n, event_fn fn,
    void *arg);

#endif
