/*
 * What inotifywait and inotifywatch share: diagnostics, event names,
 * options both take, the path list, the output buffer, the watch table
 * with recursive watching, and the reader of the kernel's event stream.
 */
#ifndef COMMON_H
#define COMMON_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/types.h>

#define VERSION "3.22.6.0"

/* Exit statuses, as the reference documents them. */
#define EXIT_EVENT	0	/* a requested event arrived, or a clean end */
#define EXIT_ERROR	1	/* an error, or an event not asked for */
#define EXIT_TIMEOUT	2	/* -t expired with nothing to report */

/* Events the kernel sends whatever the mask asks for. */
#define EVENT_UNMASKED	(IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED)
/*
 * Events the recursive bookkeeping needs to see. A rename queues the
 * moved directory's MOVE_SELF after its MOVED_TO: a MOVE_SELF that comes
 * while its MOVED_FROM waits says that the directory left the tree.
 */
#define EVENT_TREE	(IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF)
/* What a watch reports of itself, even once it left the tree. */
#define EVENT_SELF	(IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT)

/*
 * Diagnostics: stderr, or syslog once msg_syslog() was called. Notes
 * (progress) and errors can go separate ways.
 */
void	 msg_syslog(const char *ident, int errors_too);
void	 msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 msg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

void	*xmalloc(size_t size);
void	*xrealloc(void *ptr, size_t size);
char	*xstrdup(const char *s);

/* Event names, and their part of --help. */
extern const char help_events[];
#define EVENT_TEXT_MAX	256
int	 event_list_parse(const char *list, uint32_t *mask);
size_t	 event_mask_format(uint32_t mask, char sep, char *buf);

/* Long-only options both tools take, as getopt_long codes. */
enum {
	OPT_FROMFILE = 256,
	OPT_EXCLUDE,
	OPT_EXCLUDEI,
	OPT_INCLUDE,
	OPT_INCLUDEI,
	OPT_VERSION,
	OPT_TOOL		/* first code free for a tool's own options */
};

/*
 * The long options both tools take, for their getopt_long tables. The
 * order is the reference's: getopt lists an ambiguous prefix's
 * candidates in table order (`--in`: inotify, include, includei).
 */
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
	{ "includei", required_argument, NULL, OPT_INCLUDEI }

/* Options both tools take. */
struct common_opts {
	uint32_t	 events;	/* -e mask, 0 = all */
	int		 recursive;
	int		 no_dereference;
	unsigned long	 timeout;	/* seconds, 0 = none */
	const char	*fromfile;
	const char	*exclude;	/* the last --exclude or --excludei */
	const char	*include;	/* the last --include or --includei */
	int		 exclude_icase, include_icase;
	int		 n_exclude, n_excludei, n_include, n_includei;
};

int	 common_opt(struct common_opts *o, int c, const char *arg);
void	 common_opts_check(const struct common_opts *o);

/* Paths from --fromfile and the command line; @PATH goes to the excludes. */
struct path_list {
	char	**paths;
	size_t	  npaths;
	char	**excludes;
	size_t	  nexcludes;
};

void	 path_list_free(struct path_list *pl);
void	 path_list_build(struct path_list *pl, const char *fromfile,
	    char **argv, int argc);

/* Output gathered in memory and written in as few write(2)s as possible. */
struct outbuf {
	char	*data;
	size_t	 len, cap;
};

void	 outbuf_reserve(struct outbuf *ob, size_t extra);
void	 outbuf_add(struct outbuf *ob, const void *p, size_t n);
void	 outbuf_addc(struct outbuf *ob, char c);
void	 outbuf_adds(struct outbuf *ob, const char *s);
int	 outbuf_flush(struct outbuf *ob, int fd);
void	 path_cut(struct outbuf *path, size_t len);

/*
 * One watch. It knows its parent and its own name, so its path is
 * derived when it is printed and a rename touches one entry. A top-level
 * watch holds the whole name it was given.
 */
struct watch {
	int		 wd;		/* the kernel's, -1 before it gave one */
	int		 parent;	/* index, -1 at the top */
	int		 first_child, next_sibling;
	unsigned int	 name : 29;	/* offset in the table's names */
	unsigned int	 held : 1;	/* the kernel holds it: wd is live */
	unsigned int	 gone : 1;	/* deleted or moved away: no longer found by name */
	unsigned int	 freed : 1;	/* the slot is free */
};

/* The names arena's size limit: offsets have 29 bits. */
#define NAMES_MAX	((size_t)1 << 29)

/*
 * The names live in one arena, so a watch costs its struct, its name and
 * its share of the wd index; the arena is compacted when half of it is
 * names of freed watches. A pointer into it lasts until the next node.
 */
struct watch_table {
	struct watch	*w;
	size_t		 n, cap;
	int		*free_slots;
	size_t		 nfree;
	int		*hash;		/* wd -> index + 1; 0 = empty slot */
	size_t		 hash_cap, hash_used;
	size_t		 live;		/* watches the kernel holds for us */
	char		*names;
	size_t		 names_len, names_cap, names_waste;
};

/* Renames that may be under way at once (two processes' interleave). */
#define PENDING_MAX	32

/* A directory that moved away from under a watch, awaiting its MOVED_TO. */
struct pending_move {
	uint32_t	 cookie;
	int		 watch;
	int		 from_told;	/* its MOVED_FROM was handed out */
};

/* An entry a scan of a new directory reported, with the events it made up. */
struct scanned {
	int		 watch;		/* -1 once it no longer counts */
	uint32_t	 listing;	/* which listing of the watch */
	uint64_t	 before, after;	/* a marker's: records read before and
					   after its listing was read */
	uint32_t	 mask;
	uint32_t	 hash;
	char		*name;
};

/* A new directory put off until the renames before it are read. */
struct later {
	int		 parent, parent_wd;
	int		 tries;
	int		 moved_in;	/* maybe over a directory of that name */
	int		 named_wd;	/* the watch that had the name, or -1 */
	char		*name;
};

struct watcher {
	int			 fd;		/* the inotify descriptor */
	uint32_t		 mask;		/* what each watch asks the kernel for */
	int			 follow_tree;	/* watch new dirs, track renames */
	int			 keep_dropped;	/* keep dropped watches: their counts matter */
	struct watch_table	 table;
	char		       **excludes;
	size_t			 nexcludes;
	regex_t			 regex;
	int			 have_regex, regex_include;
	struct outbuf		 scratch;	/* derived paths */
	struct pending_move	 pending[PENDING_MAX];	/* renames under way */
	size_t			 npending;
	char			*q;		/* records read, not yet handed out */
	size_t			 q_head, q_len, q_cap;
	uint64_t		 q_records;	/* records ever put in q */
	int			 q_short;	/* q's last read left the kernel's empty */
	struct scanned		*scanned;	/* entries reported by a scan */
	size_t			 nscanned, scanned_cap;
	size_t			*scanned_index;	/* hash slots: entry + 1 */
	size_t			 scanned_slots;
	uint32_t		 listings;	/* listings begun so far */
	size_t			 scans;		/* new directories scanned so far */
	size_t			 records;	/* kernel records read so far */
	uint64_t		*aliases;	/* other names of watched dirs */
	size_t			 naliases;
	int			 proc_ok;	/* /proc/self/fd leads to open files */
	struct later		*later;		/* new directories put off */
	size_t			 nlater;
};

/* A decoded event. */
struct event {
	int		 watch;		/* index into the table, -1 if unknown */
	uint32_t	 mask;
	uint32_t	 cookie;
	const char	*name;		/* entry name, "" for the watched object */
};

void	 watcher_init(struct watcher *wt, const struct common_opts *o);
void	 watcher_free(struct watcher *wt);
void	 setup_memory_release(void);
int	 watcher_add(struct watcher *wt, const char *path, int recursive);
const char *watch_path(struct watcher *wt, int idx, size_t *len);
size_t	 watcher_table_size(const struct watcher *wt);
size_t	 watcher_names(struct watcher *wt);

/*
 * Reads what the kernel has queued, until the queue is empty, and hands
 * each event that passes the filters to fn; fn returns non-zero to stop.
 */
enum drain {
	DRAIN_FAILED = -1,	/* a read failed; errno says why */
	DRAIN_EMPTY,		/* the queue was empty */
	DRAIN_READ,		/* events were read */
	DRAIN_STOPPED		/* fn asked to stop */
};
typedef int (*event_fn)(struct watcher *wt, const struct event *ev,
    void *arg);
enum drain events_drain(struct watcher *wt, event_fn fn, void *arg);
int	 events_decode(struct watcher *wt, const char *buf, size_t n,
	    event_fn fn, void *arg);

/*
 * SIGINT, SIGTERM, SIGHUP (and SIGUSR1 if asked) are caught, and blocked
 * but while waiting in ppoll() with wait_mask, so that one never slips in
 * between a check of these flags and the wait.
 */
extern volatile sig_atomic_t signal_stop;	/* the signal that ends us, or 0 */
extern volatile sig_atomic_t signal_dump;	/* SIGUSR1 came */
enum {
	SIGNALS_USR1 = 1,		/* SIGUSR1 too */
	SIGNALS_KEEP_IGNORED = 2	/* one ignored at start stays ignored */
};
void	 signals_catch(sigset_t *wait_mask, int flags);
void	 signal_exit(void) __attribute__((noreturn));
int	 wait_events(struct pollfd *pfd, int n, long long deadline,
	    const sigset_t *wait_mask);

/*
 * While events stream in, a wake-up for each costs more than the events
 * themselves: the wait before the next read becomes a pause in which the
 * queue does not wake us, so that one wake-up takes many events. The
 * pause grows with the stream, to 10 ms at most; an event that comes alone,
 * or alone answers the last line written, is read at once.
 */
struct pacer {
	long long	 pause_ns;	/* the next wait's pause; 0: no stream */
	long long	 last_ns;	/* when the last read was */
	size_t		 seen;		/* the reader's record count then */
};
void	 pacer_init(struct pacer *p);
void	 pacer_after_read(struct pacer *p, size_t records);
void	 wait_pause(const struct pacer *p, long long deadline,
	    const sigset_t *wait_mask);

/* Timeouts: a deadline on the monotonic clock, in milliseconds. */
long long now_ms(void);
int	 poll_timeout(long long deadline);

void	 err_watch_limit(const char *path, const struct path_list *pl,
	    int recursive);

#endif
