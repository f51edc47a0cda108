# POSIX make. A user's CFLAGS keep the warnings, which live in WARN.
PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
CC = cc
CFLAGS = -O2 -g
WARN = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS =
LDSTATIC = -static
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BATS = bats
BENCH_DIRS = 20000
BENCH_RUNS = 3
FANOTIFY_BENCH_DIRS = 150000
PROGS = inotifywait inotifywatch

all: $(PROGS)

# Linked statically where the C library's archive is there: the programs
# then map only the parts of it they use, which halves their resident set.
# Otherwise (or with LDSTATIC= ) dynamically.
inotifywait: inotifywait.o common.o
	$(CC) $(CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ inotifywait.o common.o 2>/dev/null || \
	    $(CC) $(CFLAGS) $(LDFLAGS) -o $@ inotifywait.o common.o

inotifywatch: inotifywatch.o common.o
	$(CC) $(CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ inotifywatch.o common.o 2>/dev/null || \
	    $(CC) $(CFLAGS) $(LDFLAGS) -o $@ inotifywatch.o common.o

inotifywait.o: inotifywait.c common.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c inotifywait.c

inotifywatch.o: inotifywatch.c common.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c inotifywatch.c

common.o: common.c common.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c common.c

deps:
	tests/install-deps.sh

check: all
	SANITIZED=$(SANITIZED) $(BATS) tests

# The same suite against inotify-tools; deliberate differences are skipped.
check-reference:
	IW=/usr/bin/inotifywait IWATCH=/usr/bin/inotifywatch $(BATS) tests

# The behaviour tests again through the fanotify back end (-S); skipped,
# with the reason, where the process may not take file-system marks.
FANOTIFY_TESTS = tests/inotifywait_recursive.bats tests/reliability.bats \
    tests/inotifywait_output.bats tests/inotifywait_exit.bats \
    tests/inotifywatch_exact_counts.bats tests/overlapping_operands.bats \
    tests/prune_option.bats
check-fanotify: all
	BACKEND=fanotify IW=$$PWD/tests/fanotify/inotifywait.sh \
	    IWATCH=$$PWD/tests/fanotify/inotifywatch.sh IWATCH_ARGV0=$$PWD/inotifywatch \
	    SANITIZED=$(SANITIZED) $(BATS) $(FANOTIFY_TESTS)

# The slow tier: seeded random tests (replay of the -m -r event stream into
# a model of the tree; arguments against the reference). Each failure
# prints a one-line reproduction.
stress: all
	$(BATS) tests/stress

# The whole suite under the sanitizers; leaves no sanitized objects behind.
asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" LDSTATIC= SANITIZED=1 check; \
	    status=$$?; $(MAKE) clean; exit $$status

# The suite with both programs under valgrind (slow); linked dynamically,
# as valgrind can only follow malloc() into a shared C library.
valgrind:
	$(MAKE) clean
	$(MAKE) LDSTATIC= all
	IW=$$PWD/tests/valgrind/inotifywait.sh IWATCH=$$PWD/tests/valgrind/inotifywatch.sh \
	    IWATCH_ARGV0=$$PWD/inotifywatch VALGRIND=1 $(BATS) tests; \
	    status=$$?; $(MAKE) clean; exit $$status

# Ours against the reference, side by side (not a test: nothing depends on timing).
bench: all
	bench/bench.sh $(BENCH_DIRS) $(BENCH_RUNS)
	bench/mirror.sh $(BENCH_RUNS)
	bench/fanotify.sh $(FANOTIFY_BENCH_DIRS) $(BENCH_RUNS)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --std=c11 --suppress=missingIncludeSystem *.c
	clang-tidy --quiet *.c -- $(WARN) $(CPPFLAGS)
	mandoc -Tlint -W warning docs/inotifywait.1 docs/inotifywatch.1

# The C sources in .clang-format's style; CI checks that format changes nothing.
FORMATTED = *.c *.h fuzz/*.c bench/*.c

format:
	clang-format -i $(FORMATTED)

format-check:
	clang-format --dry-run --Werror $(FORMATTED)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp $(PROGS) $(DESTDIR)$(BINDIR)/
	cp docs/inotifywait.1 docs/inotifywatch.1 $(DESTDIR)$(MANDIR)/man1/
	ln -sf inotifywait $(DESTDIR)$(BINDIR)/fsnotifywait
	ln -sf inotifywatch $(DESTDIR)$(BINDIR)/fsnotifywatch
	ln -sf inotifywait.1 $(DESTDIR)$(MANDIR)/man1/fsnotifywait.1
	ln -sf inotifywatch.1 $(DESTDIR)$(MANDIR)/man1/fsnotifywatch.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/inotifywait $(DESTDIR)$(BINDIR)/inotifywatch \
	    $(DESTDIR)$(BINDIR)/fsnotifywait $(DESTDIR)$(BINDIR)/fsnotifywatch
	rm -f $(DESTDIR)$(MANDIR)/man1/inotifywait.1 \
	    $(DESTDIR)$(MANDIR)/man1/inotifywatch.1 \
	    $(DESTDIR)$(MANDIR)/man1/fsnotifywait.1 \
	    $(DESTDIR)$(MANDIR)/man1/fsnotifywatch.1

clean:
	rm -f $(PROGS) *.o

.PHONY: bench fuzz fuzz-build valgrind all deps check check-fanotify check-reference stress asan lint format format-check install uninstall clean

# libFuzzer targets (clang); each runs FUZZ_SECONDS.
FUZZ_SECONDS = 600
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS = fuzz/fuzz_format fuzz/fuzz_events fuzz/fuzz_fromfile fuzz/fuzz_decode

fuzz-build:
	clang $(FUZZ_FLAGS) -o fuzz/fuzz_format fuzz/fuzz_format.c common.c
	clang $(FUZZ_FLAGS) -o fuzz/fuzz_events fuzz/fuzz_events.c common.c
	clang $(FUZZ_FLAGS) -o fuzz/fuzz_fromfile fuzz/fuzz_fromfile.c common.c
	clang $(FUZZ_FLAGS) -o fuzz/fuzz_decode fuzz/fuzz_decode.c common.c

fuzz: fuzz-build
	for f in $(FUZZERS); do \
		mkdir -p $$f.corpus && \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $$f.corpus || exit 1; \
	done
