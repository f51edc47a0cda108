/*
 * inotifywait: wait for file-system events and print them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

enum {
	OPT_FORMAT = OPT_TOOL,
	OPT_NO_NEWLINE,
	OPT_TIMEFMT,
	OPT_BATCH,
};

struct options {
	struct common_opts c;
	int monitor;
	int daemon;
	int quiet;
	int syslog;
	int csv;
	int no_newline;
	const char *outfile;
	const char *format;
	const char *timefmt;
	long long batch_quiet_ms; /* --batch; 0: none */
	long long batch_max_ms;
};

/* A --format string compiled once into a list of steps. */
enum step_kind {
	STEP_TEXT,
	STEP_WATCH,
	STEP_FILE,
	STEP_COOKIE,
	STEP_EVENTS,
	STEP_TIME
};

struct step {
	enum step_kind kind;
	size_t off, len; /* STEP_TEXT: bytes in format.text */
	char sep;        /* STEP_EVENTS */
};

struct format {
	struct step *steps;
	size_t nsteps;
	struct outbuf text; /* literal bytes, NULs included */
	const char *timefmt;
	time_t time_cached; /* %T is rendered once a second */
	struct outbuf time_text;
};

/*
 * Output waiting for a slow reader is held in memory up to this size;
 * past it the kernel queue is left to fill, and its overflow is reported.
 */
#define OUTPUT_HELD_MAX (64u << 20)
/*
 * A pipe that fills is grown once to this (Linux's default pipe-max-size),
 * so that a reader which falls behind finds what is held there, and takes
 * it in one read, not 64 KiB a wake-up.
 */
#define OUTPUT_PIPE_GROWN (1 << 20)

struct printer {
	const struct options *opt;
	struct format fmt;
	struct outbuf out;
	int out_fd;
	int out_pipe;   /* a pipe of our own: never block on it */
	int pipe_grown; /* its size was set, or could not be */
	uint32_t user_mask;
	int status;
	int batch_open; /* events printed since the last BATCH_END */
};

/*
 * What ends a batch under --batch: a record whose events field says
 * BATCH_END, a name no event has; its other fields are empty.
 */
static const struct event batch_marker = { -1, 0, 0, "" };
#define BATCH_END "BATCH_END"

/* The events field of ev; its length. */
static size_t
events_text(const struct event *ev, char sep, char *text)
{
	if (ev == &batch_marker) {
		memcpy(text, BATCH_END, sizeof(BATCH_END));
		return sizeof(BATCH_END) - 1;
	}
	return event_mask_format(ev->mask, sep, text);
}

static const char help_text[] =
    "inotifywait " VERSION "\n"
    "Wait for events on files and directories, and print them.\n"
    "Usage: inotifywait [ options ] file1 [ file2 ] [ ... ]\n"
    "Options:\n"
    "\t-h|--help     \tPrint this text and exit.\n"
    "\t--version     \tPrint the version and exit.\n"
    "\t@<file>       \tDo not watch <file> (with --recursive).\n"
    "\t--exclude <pattern>\n"
    "\t              \tDrop events whose path matches the POSIX extended\n"
    "\t              \tregular expression <pattern>; the last one counts.\n"
    "\t--excludei <pattern>\n"
    "\t              \tThe same, ignoring case.\n"
    "\t--include <pattern>\n"
    "\t              \tDrop events whose path does not match <pattern>.\n"
    "\t--includei <pattern>\n"
    "\t              \tThe same, ignoring case.\n"
    "\t--prune <pattern>\n"
    "\t              \tUnder -r, do not watch a directory whose path (with\n"
    "\t              \tits final /) matches this POSIX extended regular\n"
    "\t              \texpression, nor anything below it; repeatable.\n"
    "\t-m|--monitor  \tKeep printing events instead of exiting after\n"
    "\t              \tthe first one.\n"
    "\t-d|--daemon   \tLike --monitor, in the background, writing events\n"
    "\t              \tto the --outfile; messages go to syslog.\n"
    "\t-P|--no-dereference\n"
    "\t              \tWatch symbolic links themselves, not their targets.\n"
    "\t-r|--recursive\tWatch each directory with everything below it.\n"
    "\t-I|--inotify  \tWatch through inotify, a watch per directory (the\n"
    "\t              \tdefault).\n"
    "\t-F|--fanotify, -S|--filesystem\n"
    "\t              \tWatch through fanotify: one mark on each file system\n"
    "\t              \tholding an operand, no watch limit, no walk (needs\n"
    "\t              \tCAP_SYS_ADMIN; else inotify, and a note says why).\n"
    "\t--fromfile <file>\n"
    "\t              \tRead the paths to watch from <file>, one a line;\n"
    "\t              \t`-' reads standard input.\n"
    "\t-o|--outfile <file>\n"
    "\t              \tAppend events to <file> instead of standard output.\n"
    "\t-s|--syslog   \tSend messages to syslog instead of standard error.\n"
    "\t-q|--quiet    \tPrint only events, no progress notes.\n"
    "\t-qq           \tPrint nothing, not even events.\n"
    "\t--format <fmt>\tPrint each event as <fmt> says (see the manual:\n"
    "\t              \t%w %f %e %Xe %c %T %0 %n %%).\n"
    "\t--no-newline  \tDo not end each --format line with a newline.\n"
    "\t--timefmt <fmt>\tstrftime(3) format for %T in --format.\n"
    "\t-c|--csv      \tPrint events as comma-separated values.\n"
    "\t-t|--timeout <seconds>\n"
    "\t              \tGive up when no event came for <seconds>;\n"
    "\t              \t0 waits for ever.\n"
    "\t-e|--event <event1> [ -e|--event <event2> ... ]\n"
    "\t              \tReport only these events; default: all of them.\n"
    "\t--batch <quiet>[,<max>]\n"
    "\t              \tWith -m, end each burst of events with a BATCH_END\n"
    "\t              \trecord once none came for <quiet> seconds, or <max>\n"
    "\t              \tseconds (default 10 x <quiet>) after its first.\n"
    "\n"
    "Exit status:\n"
    "\t0  -  An event that was asked for arrived.\n"
    "\t1  -  An error, or an event that was not asked for (such as\n"
    "\t      delete_self or unmount) arrived.\n"
    "\t2  -  --timeout expired before any event arrived.\n"
    "\n"
    "Events:\n";

static const char short_opts[] = "hcmrPqt:de:o:sfIFS";

/* clang-format off */
static const struct option long_opts[] = {
	LONG_OPTIONS_HEAD,
	{ "monitor", no_argument, NULL, 'm' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "filename", no_argument, NULL, 'f' },
	LONG_OPTIONS_BACKEND,
	{ "outfile", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "timefmt", required_argument, NULL, OPT_TIMEFMT },
	LONG_OPTIONS_PATHS,
	{ "csv", no_argument, NULL, 'c' },
	{ "daemon", no_argument, NULL, 'd' },
	{ "syslog", no_argument, NULL, 's' },
	{ "no-newline", no_argument, NULL, OPT_NO_NEWLINE },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ NULL, 0, NULL, 0 }
};
/* clang-format on */

static const struct tool tool = { "inotifywait", help_text, short_opts,
	long_opts };

static void
format_text(struct format *f, const void *p, size_t n)
{
	struct step *last = f->nsteps ? &f->steps[f->nsteps - 1] : NULL;

	if (last == NULL || last->kind != STEP_TEXT) {
		f->steps =
		    xrealloc(f->steps, (f->nsteps + 1) * sizeof(*f->steps));
		last = &f->steps[f->nsteps++];
		last->kind = STEP_TEXT;
		last->off = f->text.len;
		last->len = 0;
	}
	outbuf_add(&f->text, p, n);
	last->len += n;
}

static void
format_step(struct format *f, enum step_kind kind, char sep)
{
	f->steps = xrealloc(f->steps, (f->nsteps + 1) * sizeof(*f->steps));
	f->steps[f->nsteps].kind = kind;
	f->steps[f->nsteps].sep = sep;
	f->nsteps++;
}

/*
 * Compiles a --format string. %X followed by 'e' prints the events
 * separated by X; any other unknown directive prints as it stands.
 * Backslashes have no meaning.
 */
static void
format_compile(struct format *f, const char *s, int newline)
{
	while (*s != '\0') {
		if (*s != '%') {
			format_text(f, s++, 1);
			continue;
		}
		switch (s[1]) {
		case '%':
			format_text(f, "%", 1);
			break;
		case '0':
			format_text(f, "", 1);
			break;
		case 'n':
			format_text(f, "\n", 1);
			break;
		case 'w':
			format_step(f, STEP_WATCH, 0);
			break;
		case 'f':
			format_step(f, STEP_FILE, 0);
			break;
		case 'c':
			format_step(f, STEP_COOKIE, 0);
			break;
		case 'e':
			format_step(f, STEP_EVENTS, ',');
			break;
		case 'T':
			format_step(f, STEP_TIME, 0);
			break;
		case '\0':
			format_text(f, "%", 1);
			s++;
			continue;
		default:
			if (s[2] == 'e') {
				format_step(f, STEP_EVENTS, s[1]);
				s += 3;
			} else {
				format_text(f, "%", 1);
				s++;
			}
			continue;
		}
		s += 2;
	}
	if (newline)
		format_text(f, "\n", 1);
}

/*
 * Whether s has a directive of this kind (%T is not one in "%%T", unlike
 * the reference).
 */
static int
format_uses(const char *s, enum step_kind kind)
{
	struct format f = { 0 };
	size_t i;
	int found = 0;

	format_compile(&f, s, 0);
	for (i = 0; i < f.nsteps; i++)
		if (f.steps[i].kind == kind)
			found = 1;
	free(f.steps);
	free(f.text.data);
	return found;
}

static void
time_render(struct format *f)
{
	time_t now = time(NULL);
	struct tm tm;
	size_t cap = 256, n = 0;

	if (now == f->time_cached && f->time_text.data != NULL)
		return;
	localtime_r(&now, &tm);
	f->time_text.len = 0;
	while (*f->timefmt != '\0' && cap <= 65536) {
		outbuf_reserve(&f->time_text, cap);
		n = strftime(f->time_text.data, cap, f->timefmt, &tm);
		if (n > 0)
			break;
		cap *= 4;
	}
	f->time_text.len = n;
	f->time_cached = now;
}

static void
print_formatted(struct printer *pr, struct watcher *wt, const struct event *ev)
{
	struct format *f = &pr->fmt;
	char text[EVENT_TEXT_MAX];
	size_t i, len;
	const char *p;

	for (i = 0; i < f->nsteps; i++) {
		const struct step *st = &f->steps[i];

		switch (st->kind) {
		case STEP_TEXT:
			outbuf_add(&pr->out, f->text.data + st->off, st->len);
			break;
		case STEP_WATCH:
			p = watch_path(wt, ev->watch, &len);
			outbuf_add(&pr->out, p, len);
			break;
		case STEP_FILE:
			outbuf_adds(&pr->out, ev->name);
			break;
		case STEP_COOKIE:
			len = (size_t)snprintf(text, sizeof(text), "%x",
			    ev->cookie);
			outbuf_add(&pr->out, text, len);
			break;
		case STEP_EVENTS:
			len = events_text(ev, st->sep, text);
			outbuf_add(&pr->out, text, len);
			break;
		case STEP_TIME:
			time_render(f);
			outbuf_add(&pr->out, f->time_text.data,
			    f->time_text.len);
			break;
		}
	}
}

/*
 * A CSV field is quoted when it holds a quote, a comma, a line break, or
 * begins or ends with a space; quotes inside are doubled.
 */
static void
csv_field(struct outbuf *out, const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	if (strcspn(s, "\",\n\r") == len && s[0] != ' ' && s[len - 1] != ' ') {
		outbuf_add(out, s, len);
		return;
	}
	outbuf_addc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			outbuf_addc(out, '"');
		outbuf_addc(out, s[i]);
	}
	outbuf_addc(out, '"');
}

static void
print_csv(struct printer *pr, struct watcher *wt, const struct event *ev)
{
	char text[EVENT_TEXT_MAX];
	size_t len;
	const char *p = watch_path(wt, ev->watch, &len);

	/* As the reference: an empty watch field goes with its comma. */
	if (len > 0) {
		csv_field(&pr->out, p, len);
		outbuf_addc(&pr->out, ',');
	}
	len = events_text(ev, ',', text);
	csv_field(&pr->out, text, len);
	outbuf_addc(&pr->out, ',');
	csv_field(&pr->out, ev->name, strlen(ev->name));
	outbuf_addc(&pr->out, '\n');
}

static void
print_event(struct printer *pr, struct watcher *wt, const struct event *ev)
{
	pr->batch_open = ev != &batch_marker;
	if (pr->opt->csv)
		print_csv(pr, wt, ev);
	else
		print_formatted(pr, wt, ev);
}

/* Called for every event that passed the filters. */
static int
on_event(struct watcher *wt, const struct event *ev, void *arg)
{
	struct printer *pr = arg;
	int wanted = (ev->mask & pr->user_mask) != 0;

	/* Lost events are never silent: a mirror must resync on this. */
	if (ev->mask & IN_Q_OVERFLOW) {
		msg("Event queue overflowed: events were lost.");
		if (pr->opt->quiet < 2 && !wanted)
			print_event(pr, wt, ev);
	}
	if (wanted && pr->opt->quiet < 2)
		print_event(pr, wt, ev);
	if (!pr->opt->monitor) {
		pr->status = wanted ? EXIT_EVENT : EXIT_ERROR;
		return 1;
	}
	return 0;
}

/* A batch's quiet period (or longest delay) came with events in it. */
static void
batch_end(void *arg)
{
	struct printer *pr = arg;

	if (pr->batch_open)
		print_event(pr, NULL, &batch_marker);
}

/*
 * Seconds as a decimal number (3, 0.25, .5), as milliseconds rounded
 * down; -1 if s does not start with one, or it is over a year.
 */
static long long
seconds_parse(const char *s, char **end)
{
	long long ms = 0, unit = 1000;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && ms <= 31536000000LL; p++)
		ms = ms * 10 + (long long)(*p - '0') * 1000;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			ms += (long long)(*p - '0') * (unit /= 10);
	*end = (char *)p;
	if (p == s || (p == s + 1 && *s == '.') || ms > 31536000000LL)
		return -1;
	return ms;
}

/* --batch QUIET[,MAX]: QUIET above 0, MAX not below QUIET. */
static void
batch_parse(struct options *opt, const char *arg)
{
	char *end;

	opt->batch_quiet_ms = seconds_parse(arg, &end);
	opt->batch_max_ms = opt->batch_quiet_ms * 10;
	if (opt->batch_quiet_ms > 0 && *end == ',')
		opt->batch_max_ms = seconds_parse(end + 1, &end);
	if (opt->batch_quiet_ms <= 0 || *end != '\0' ||
	    opt->batch_max_ms < opt->batch_quiet_ms)
		die("--batch: '%s' is not <quiet>[,<max>] in seconds, with "
		    "<quiet> at least 0.001 and <max> not below it.",
		    arg);
}

static void
options_parse(struct options *opt, int argc, char **argv)
{
	int c;

	while ((c = options_next(&tool, argc, argv, &opt->c)) != -1) {
		switch (c) {
		case 'm':
			opt->monitor = 1;
			break;
		case 'd':
			opt->daemon = 1;
			opt->monitor = 1;
			opt->syslog = 1;
			break;
		case 'q':
			opt->quiet++;
			break;
		case 's':
			opt->syslog = 1;
			break;
		case 'c':
			opt->csv = 1;
			break;
		case 'o':
			if (opt->outfile != NULL)
				die("Multiple --outfile options given.");
			opt->outfile = optarg;
			break;
		case 'f':
			die("The '--filename' option no longer exists.  The "
			    "option it enabled in earlier\nversions of "
			    "inotifywait is now turned on by default.");
		case OPT_FORMAT:
			opt->format = optarg;
			break;
		case OPT_NO_NEWLINE:
			opt->no_newline = 1;
			break;
		case OPT_TIMEFMT:
			opt->timefmt = optarg;
			break;
		case OPT_BATCH:
			batch_parse(opt, optarg);
			break;
		}
	}
	/* After a bad option, getopt said what is wrong; the checks still run. */
	common_opts_check(&opt->c);
	if (opt->csv && opt->format != NULL)
		die("-c and --format cannot both be specified.");
	if (opt->no_newline && opt->format == NULL)
		die("--no-newline cannot be specified without --format.");
	if (opt->timefmt != NULL && opt->format == NULL)
		die("--timefmt cannot be specified without --format.");
	if (opt->format != NULL && opt->timefmt == NULL &&
	    format_uses(opt->format, STEP_TIME))
		die("%%T is in --format string, but --timefmt was not "
		    "specified.");
	if (opt->daemon && opt->outfile == NULL)
		die("-o must be specified with -d.");
	if (opt->batch_quiet_ms > 0 && !opt->monitor)
		die("--batch needs -m or -d: without them the first event "
		    "ends the program.");
	if (opt->batch_quiet_ms > 0 && opt->format != NULL &&
	    !format_uses(opt->format, STEP_EVENTS))
		die("--batch needs %%e in --format: the events field is "
		    "where BATCH_END marks the end of a batch.");
	/* The reference warns even after a bad option. */
	if (opt->c.n_exclude > 1)
		msg("--exclude: only the last option will be taken into "
		    "consideration.");
	if (opt->c.n_excludei > 1)
		msg("--excludei: only the last option will be taken into "
		    "consideration.");
	if (opt->c.bad)
		exit(EXIT_ERROR);
}

/*
 * The format, checked as the reference checks it: a format that prints
 * nothing for an event with empty names is refused.
 */
static void
printer_init(struct printer *pr, const struct options *opt)
{
	struct event ev = { -1, IN_ALL_EVENTS, 0, "" };

	memset(pr, 0, sizeof(*pr));
	pr->opt = opt;
	pr->out_fd = STDOUT_FILENO;
	pr->user_mask = opt->c.events ? opt->c.events : IN_ALL_EVENTS;
	pr->status = EXIT_ERROR;
	pr->fmt.timefmt = opt->timefmt ? opt->timefmt : "";
	format_compile(&pr->fmt, opt->format ? opt->format : "%w %,e %f",
	    !opt->no_newline);
	if (opt->format == NULL)
		return;
	print_formatted(pr, NULL, &ev);
	if (pr->out.len == 0)
		die("Something is wrong with your format string.");
	pr->out.len = 0;
}

static void
printer_free(struct printer *pr)
{
	free(pr->fmt.steps);
	free(pr->fmt.text.data);
	free(pr->fmt.time_text.data);
	free(pr->out.data);
}

static void
output_open(struct printer *pr, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		die("Failed to open output file %s", path);
	pr->out_fd = fd;
}

/* The reader went away: end as a write would have ended us. */
static void
output_gone(void *arg)
{
	(void)arg;
	raise(SIGPIPE);
	die("Couldn't write events: %s", strerror(EPIPE));
}

/*
 * Output to a pipe is written without blocking, so that the kernel queue
 * is still read while the reader is slow; where the pipe cannot be opened
 * so, writes block as before. A pipe without a reader (ENXIO) had one
 * when we started: it has gone, and a blocking write would not tell
 * until the next event.
 */
static void
output_setup(struct printer *pr)
{
	int fd = pipe_open_nonblocking(pr->out_fd);

	if (fd < 0 && errno == ENXIO)
		output_gone(pr);
	if (fd < 0)
		return;
	pr->out_fd = fd;
	pr->out_pipe = 1;
}

static size_t
output_held(void *arg)
{
	const struct printer *pr = arg;

	return pr->out.len;
}

/* Writes what the output takes now; everything when it can block. */
static void
output_write(void *arg)
{
	struct printer *pr = arg;
	struct outbuf *ob = &pr->out;
	size_t off = 0;

	if (!pr->out_pipe) {
		if (outbuf_flush(ob, pr->out_fd, -1) < 0)
			die("Couldn't write events: %s", strerror(errno));
		return;
	}
	while (off < ob->len) {
		ssize_t n = write(pr->out_fd, ob->data + off, ob->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !pr->pipe_grown) {
			/* Not granted (a user's pipe quota): it stays as it is. */
			pr->pipe_grown = 1;
			if (fcntl(pr->out_fd, F_SETPIPE_SZ, OUTPUT_PIPE_GROWN) >
			    0)
				continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EPIPE)
			output_gone(pr);
		if (n < 0)
			die("Couldn't write events: %s", strerror(errno));
		off += (size_t)n;
	}
	memmove(ob->data, ob->data + off, ob->len - off);
	ob->len -= off;
}

/*
 * Before exit: everything held is written, waiting for the reader. After
 * a signal that ends us, a reader that takes nothing for a while is not
 * waited for: the signal ends us then, as it ends a program that does
 * not catch it, whatever its reader does.
 */
static void
output_finish(struct printer *pr, int signalled)
{
	if (outbuf_flush(&pr->out, pr->out_fd,
		signalled ? OUTPUT_STOP_WAIT_MS : -1) < 0) {
		if (errno == ETIMEDOUT) {
			msg("Couldn't write the last events: the reader took "
			    "none for %d seconds.",
			    OUTPUT_STOP_WAIT_MS / 1000);
			return;
		}
		if (errno == EPIPE)
			output_gone(pr);
		die("Couldn't write events: %s", strerror(errno));
	}
}

/* What the set-up says, as the reference says it; -q says nothing. */
static void
setup_note(struct watcher *wt, enum setup_step step, const char *path, int err,
    void *arg)
{
	const struct options *opt = arg;

	(void)wt;
	if (step == SETUP_FAILED)
		die("Couldn't watch %s: %s", path, strerror(err));
	if (opt->quiet > 0)
		return;
	if (step == SETUP_BEGIN)
		msg_note(opt->c.recursive ?
			"Setting up watches.  Beware: "
			"since -r was given, this may take a while!" :
			"Setting up watches.");
	else if (step == SETUP_DONE)
		msg_note("Watches established.");
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct watch_settings ws;
	struct watcher *wt;
	struct printer pr;
	struct path_list pl;
	struct run run = { 0 };
	enum run_end end;

	options_parse(&opt, argc, argv);
	watch_settings_init(&ws, &opt.c);
	/* A oneshot watch ends at its first event: there is no tree to follow. */
	ws.follow_tree =
	    opt.c.recursive && opt.monitor && !(opt.c.events & IN_ONESHOT);
	/*
	 * The reference's -m -r watches creations and moves as well: they
	 * are not printed, but end a oneshot watch as any event does.
	 */
	if (opt.c.recursive && opt.monitor && (opt.c.events & IN_ONESHOT))
		ws.unasked = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM;
	wt = watcher_new(&ws);
	printer_init(&pr, &opt);
	path_list_build(&pl, opt.c.fromfile, argv + optind, argc - optind);
	if (opt.outfile != NULL)
		output_open(&pr, opt.outfile);
	/* -d sets up in the foreground, so its failures reach the caller. */
	if (opt.syslog)
		msg_syslog("inotifywait", !opt.daemon);

	signals_catch(SIGNALS_KEEP_IGNORED);
	watches_establish(wt, &pl, setup_note, &opt);
	if (opt.daemon) {
		if (daemon(1, 0) < 0)
			die("Failed to daemonize!");
		msg_syslog("inotifywait", 1);
	}
	output_setup(&pr);
	run.on_event = on_event;
	run.arg = &pr;
	run.timeout = opt.c.timeout;
	run.timeout_idle = 1;
	run.out_fd = pr.out_pipe ? pr.out_fd : -1;
	run.held_max = OUTPUT_HELD_MAX;
	run.held = output_held;
	run.write = output_write;
	run.gone = output_gone;
	if (opt.batch_quiet_ms > 0) {
		run.batch_end = batch_end;
		run.batch_quiet_ms = opt.batch_quiet_ms;
		run.batch_max_ms = opt.batch_max_ms;
	}
	end = watcher_run(wt, &run);
	output_finish(&pr, end == RUN_SIGNAL);
	printer_free(&pr);
	watcher_free(wt);
	path_list_free(&pl);
	if (end == RUN_SIGNAL)
		signal_exit();
	return end == RUN_TIMEOUT ? EXIT_TIMEOUT : pr.status;
}
