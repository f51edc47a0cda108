#!/usr/bin/env bats
# The ecosystem around the binaries: make install/uninstall, the manual
# pages, and bash-completion reading our --help.

load helper

EVENTS='access attrib close close_nowrite close_write create delete delete_self modify move move_self moved_from moved_to open unmount'

@test "make install puts both programs, their fsnotify names and manual pages under DESTDIR, PREFIX and MANDIR, and uninstall removes them" {
	local dest=$BATS_TEST_TMPDIR/dest
	run make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/opt/iw MANDIR=/opt/iw/man
	[ "$status" -eq 0 ] || fail "install: $output"
	for f in bin/inotifywait bin/inotifywatch man/man1/inotifywait.1 man/man1/inotifywatch.1 \
	    bin/fsnotifywait bin/fsnotifywatch man/man1/fsnotifywait.1 man/man1/fsnotifywatch.1; do
		[ -f "$dest/opt/iw/$f" ] || fail "missing $f"
	done
	[ -x "$dest/opt/iw/bin/inotifywait" ] || fail "not executable"
	run "$dest/opt/iw/bin/inotifywait" --version
	[ "$status" -eq 0 ] && [[ "$output" == "inotifywait "* ]] || fail "installed binary: $output"
	run make -s -C "$TOP" uninstall DESTDIR="$dest" PREFIX=/opt/iw MANDIR=/opt/iw/man
	[ "$status" -eq 0 ] || fail "uninstall: $output"
	[ -z "$(find "$dest" ! -type d)" ] || fail "left behind: $(find "$dest" ! -type d)"
}

@test "both manual pages pass mandoc's lint" {
	command -v mandoc >/dev/null || skip "no mandoc"
	run mandoc -Tlint -W warning "$TOP/docs/inotifywait.1" "$TOP/docs/inotifywatch.1"
	[ "$status" -eq 0 ] && [ -z "$output" ] || fail "$output"
}

@test "--version of both programs reports the one version of the build" {
	deliberate_difference "the reference has no --version"
	local v
	v=$(sed -n 's/^#define VERSION "\(.*\)"$/\1/p' "$TOP/common.h")
	run "$IW" --version
	[ "$output" = "inotifywait $v" ] || fail "$output"
	run "$IWATCH" --version
	[ "$output" = "inotifywatch $v" ] || fail "$output"
}

# complete WORDS...: what bash-completion offers for the last word.
complete() {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	ln -sf "$IW" "$bin/inotifywait"
	ln -sf "$IWATCH" "$bin/inotifywatch"
	PATH=$bin:$PATH bash -c '
		source /usr/share/bash-completion/bash_completion
		source /usr/share/bash-completion/completions/inotifywait
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_inotifywait "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' complete "$@" | sort | tr '\n' ' '
}

@test "bash-completion completes every event name after -e from inotifywait --help" {
	[ -f /usr/share/bash-completion/completions/inotifywait ] || skip "no bash-completion"
	[ "$(complete inotifywait -e '')" = "$EVENTS " ] || fail "$(complete inotifywait -e '')"
}

@test "bash-completion completes sort keys and options of inotifywatch from its --help" {
	[ -f /usr/share/bash-completion/completions/inotifywait ] || skip "no bash-completion"
	local want
	want=$(printf '%s\n' $EVENTS total | sort | tr '\n' ' ')
	[ "$(complete inotifywatch --ascending '')" = "$want" ] ||
	    fail "$(complete inotifywatch --ascending '')"
	local opts
	opts=$(complete inotifywatch --)
	for o in --ascending --descending --event --exclude --fromfile --recursive --timeout --zero; do
		[[ " $opts" == *" $o "* ]] || fail "no $o in: $opts"
	done
}

@test "bash-completion completes inotifywait's long options from its --help" {
	[ -f /usr/share/bash-completion/completions/inotifywait ] || skip "no bash-completion"
	local opts
	opts=$(complete inotifywait --)
	for o in --monitor --recursive --format --timefmt --csv --outfile --event --quiet --fromfile --exclude --include; do
		[[ " $opts" == *" $o "* ]] || fail "no $o in: $opts"
	done
}

@test "bash-completion offers -qq from inotifywait's --help" {
	[ -f /usr/share/bash-completion/completions/inotifywait ] || skip "no bash-completion"
	local opts
	opts=$(complete inotifywait -)
	for o in -qq --quiet --monitor; do
		[[ " $opts" == *" $o "* ]] || fail "no $o in: $opts"
	done
}
