/*
 * The measuring half of bench/bench.sh: starts one watcher, times what
 * the benchmark asks for, and prints "key value" lines.
 *
 *   runner setup  BIN ARGS...         time to the $READY line on stderr, RSS
 *                                     then, and the kernel's slab growth
 *   runner events BIN N DIR ARGS...   watcher CPU for N new files written in DIR
 *   runner latency N DIR_A DIR_B BIN_A BIN_B ARGS...
 *                                     write -> line read, N samples for
 *                                     each of two watchers, interleaved
 *   runner count  BIN N DIR ARGS...   inotifywatch CPU for N new files in DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The CPU to pin the next spawned watcher on, -1 for none. */
static int spawn_cpu = -1;

static void
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static pid_t
spawn(char **argv, int *out, int *err)
{
	int o[2], e[2];
	pid_t pid;

	if (pipe(o) < 0 || pipe(e) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		if (spawn_cpu >= 0)
			pin(spawn_cpu);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	*out = o[0];
	*err = e[0];
	return pid;
}

/* Reads fd until a line equal to want has been read; the rest is lost. */
static int
wait_line(int fd, const char *want)
{
	static char buf[65536];
	size_t len = 0, wl = strlen(want);

	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(buf, '\n', len)) != NULL) {
			size_t ll = (size_t)(nl - buf);
			int hit = ll == wl && memcmp(buf, want, wl) == 0;

			memmove(buf, nl + 1, len - ll - 1);
			len -= ll + 1;
			if (hit)
				return 0;
		}
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* A line of /proc/meminfo, in kB. */
static long
meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long kb = -1;
	FILE *fp = fopen("/proc/meminfo", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			kb = atol(line + len + 1);
			break;
		}
	fclose(fp);
	return kb;
}

static double
cpu_of(pid_t pid, int sig)
{
	struct rusage ru;
	int status;

	kill(pid, sig);
	wait4(pid, &status, 0, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long read_lines(int fd, long n);

/* Waits until the process sleeps in a system call: it has read all. */
static void
wait_idle(pid_t pid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	for (;;) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n <= 0 || strncmp(buf, "running", 7) != 0)
			return;
		usleep(1000);
	}
}

/*
 * Writes n new files in dir, in chunks small enough for the kernel queue;
 * after each chunk, waits until the watcher has caught up (lines_fd: its
 * output, lines_per_file lines a file; otherwise until it is idle).
 */
static long
write_files(pid_t pid, const char *dir, long n, const char *prefix,
    int lines_fd, long lines_per_file)
{
	char path[4096];
	long i, lines = 0;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s%ld", dir, prefix, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "x\n", 2) != 2)
			exit(1);
		close(fd);
		if ((i + 1) % 500 != 0 && i + 1 != n)
			continue;
		if (lines_fd >= 0)
			lines += read_lines(lines_fd,
			    lines_per_file * (i + 1) - lines);
		else
			wait_idle(pid);
	}
	return lines;
}

/*
 * Spins on fd (made non-blocking) until a line has come, or 5 s: the
 * reader's own wake-up then adds nothing to what is measured.
 */
static int
spin_line(int fd)
{
	char buf[4096];
	double give_up = now() + 5;

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r > 0 && memchr(buf, '\n', (size_t)r) != NULL)
			return 1;
		if (r > 0)
			continue;
		if (r == 0 || (errno != EAGAIN && errno != EINTR) ||
		    now() > give_up)
			return 0;
	}
}

/* Counts lines on fd until n have come, or none for 5 s. */
static long
read_lines(int fd, long n)
{
	static char buf[65536];
	long lines = 0;

	while (lines < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	}
	return lines;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* p50 and p99 of n samples, printed with the prefix. */
static void
print_percentiles(const char *prefix, double *lat, long n)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("%sp50_us %.1f\n%sp99_us %.1f\n", prefix, lat[n / 2] * 1e6,
	    prefix, lat[n * 99 / 100] * 1e6);
}

/*
 * Two watchers, A on dir_a and B on dir_b, sample by sample in turn: a
 * state of the machine that slows wake-ups slows both alike.
 */
static int
latency(long n, char **dirs, char **bins, char **args)
{
	int out[2], err[2], k;
	pid_t pid[2];
	double *lat[2];
	long i;
	int spin;

	/*
	 * Where the scheduler puts a watcher, beside the writer or not, moves
	 * its latency more than anything it does: both go where PLACE says,
	 * on the writer's CPU ("same") or on another ("other", the default).
	 */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		const char *place = getenv("PLACE");

		pin(0);
		spawn_cpu = place != NULL && strcmp(place, "same") == 0 ? 0 : 1;
	}
	/* On its own CPU the writer waits for lines spinning, not asleep. */
	spin = spawn_cpu == 1;

	for (k = 0; k < 2; k++) {
		int nargs = 0;
		char **av;

		while (args[nargs] != NULL)
			nargs++;
		av = calloc((size_t)nargs + 3, sizeof(*av));
		av[0] = bins[k];
		memcpy(av + 1, args, (size_t)nargs * sizeof(*av));
		av[nargs + 1] = dirs[k];
		pid[k] = spawn(av, &out[k], &err[k]);
		fcntl(out[k], F_SETFL, O_NONBLOCK);
		if (wait_line(err[k], getenv("READY")) < 0)
			return 1;
		lat[k] = calloc((size_t)n, sizeof(*lat[k]));
	}
	for (i = 0; i < 2 * n; i++) {
		char path[4096];
		double t0;
		int fd;

		k = (int)(i % 2);
		snprintf(path, sizeof(path), "%s/l%ld", dirs[k], i / 2 % 16);
		t0 = now();
		fd = open(path, O_WRONLY | O_CREAT, 0644);
		close(fd);
		if ((spin ? spin_line(out[k]) : read_lines(out[k], 1)) != 1)
			return 1;
		lat[k][i / 2] = now() - t0;
	}
	print_percentiles("a_", lat[0], n);
	print_percentiles("b_", lat[1], n);
	cpu_of(pid[0], SIGKILL);
	cpu_of(pid[1], SIGKILL);
	return 0;
}

int
main(int argc, char **argv)
{
	int out, err;
	pid_t pid;
	double t0;

	if (argc < 4)
		return 2;
	if (strcmp(argv[1], "setup") == 0) {
		long slab = meminfo_kb("Slab");
		long unreclaim = meminfo_kb("SUnreclaim");

		t0 = now();
		pid = spawn(argv + 2, &out, &err);
		if (wait_line(err, getenv("READY")) < 0)
			return 1;
		printf("setup_s %.4f\nrss_kb %ld\n", now() - t0, rss_kb(pid));
		printf("slab_kb %ld\nsunreclaim_kb %ld\n",
		    meminfo_kb("Slab") - slab,
		    meminfo_kb("SUnreclaim") - unreclaim);
		cpu_of(pid, SIGKILL);
		return 0;
	}
	if (strcmp(argv[1], "latency") == 0)
		return argc < 7 ?
		    2 :
		    latency(atol(argv[2]), argv + 3, argv + 5, argv + 7);
	if (argc < 5)
		return 2;
	{
		long n = atol(argv[3]);
		const char *dir = argv[4];
		char **args = argv + 4;

		args[0] = argv[2];
		pid = spawn(args, &out, &err);
		if (wait_line(err, getenv("READY")) < 0)
			return 1;
		if (strcmp(argv[1], "events") == 0) {
			long per = atol(getenv("LINES_PER_FILE"));
			long want = per * n;
			long got = write_files(pid, dir, n, "e", out, per);

			printf("cpu_s %.4f\nlines %ld\nwanted %ld\n",
			    cpu_of(pid, SIGTERM), got, want);
		} else if (strcmp(argv[1], "count") == 0) {
			char buf[65536];
			double cpu;
			ssize_t r;

			write_files(pid, dir, n, "c", -1, 0);
			cpu = cpu_of(pid, SIGINT);
			r = read(out, buf, sizeof(buf) - 1);
			buf[r > 0 ? r : 0] = '\0';
			printf("cpu_s %.4f\n", cpu);
			fprintf(stderr, "%s", buf);
		}
	}
	return 0;
}
