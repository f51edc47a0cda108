# Helpers for tests/mirror_daemon.bats; load after helper.bash.
#
# A real rsync daemon on 127.0.0.1 with a password-protected module, and
# docs/mirror.sh runs against it. Every process a test starts is ended by
# its pid in mirror_teardown.

MIRROR=$TOP/docs/mirror.sh
# mirror.sh is a bash script.
MIRROR_SHELL=${MIRROR_SHELL:-bash}
# Seconds a mirror may take to catch up before the test fails.
MIRROR_DEADLINE=${MIRROR_DEADLINE:-60}

DAEMON_PID=
MIRROR_PID=
PORT=
URL=
export RSYNC_PASSWORD=secret

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	case $st in *') Z '* | *') X '*) return 1 ;; esac
	return 0
}

# within SECONDS CMD...: wait until CMD succeeds, polling every 0.05 s;
# fail after SECONDS.
within() {
	local secs=$1 i=0
	shift
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((secs * 20)) ] || return 1
		sleep 0.05
	done
}

# daemon_answers: our daemon lists our module (the token in its comment
# tells it from any other daemon on that port).
daemon_answers() {
	rsync --contimeout=5 "rsync://127.0.0.1:$PORT/" 2>/dev/null | grep -qF "$TOKEN"
}

# start_daemon: start rsync --daemon on a free port of 127.0.0.1 with the
# module "backup" in ./module, user rsync_backup, password "secret". Sets
# PORT, DAEMON_PID and URL.
start_daemon() {
	local base try
	mkdir -p module
	printf 'rsync_backup:secret\n' >rsyncd.secrets
	chmod 600 rsyncd.secrets
	TOKEN="mirror-test-$$-$RANDOM"
	{
		echo "[backup]"
		echo "	path = $PWD/module"
		echo "	comment = $TOKEN"
		echo "	read only = no"
		echo "	use chroot = no"
		echo "	munge symlinks = no"
		echo "	auth users = rsync_backup"
		echo "	secrets file = $PWD/rsyncd.secrets"
		if [ "$(id -u)" -eq 0 ]; then
			# Otherwise root's daemon writes as nobody.
			echo "	uid = root"
			echo "	gid = root"
		fi
	} >rsyncd.conf
	base=$((20000 + RANDOM % 30000))
	for try in $(seq 0 49); do
		PORT=$((base + try))
		rsync --daemon --no-detach --address=127.0.0.1 --port="$PORT" \
			--config="$PWD/rsyncd.conf" --log-file="$PWD/rsyncd.log" 3>&- &
		DAEMON_PID=$!
		# Either it answers, or it dies (port taken) and we try the next.
		if within "$MIRROR_DEADLINE" daemon_or_dead && alive "$DAEMON_PID"; then
			URL="rsync://rsync_backup@127.0.0.1:$PORT/backup/"
			return 0
		fi
		# It may be gone already: neither status is an error here.
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	done
	fail "no rsync daemon could start (last port $PORT): $(tail -5 rsyncd.log)"
}

daemon_or_dead() {
	daemon_answers || ! alive "$DAEMON_PID"
}

# start_mirror ARGS...: start mirror.sh in the background (stderr in
# ./mirror.err), with the watcher's pid in ./watcher.pid. Sets MIRROR_PID.
# Its work folder goes in ./work, to check that it is removed at the end.
start_mirror() {
	deliberate_difference "mirror.sh reads --batch, an option of ours"
	mkdir -p work
	TMPDIR=$PWD/work "$MIRROR_SHELL" "$MIRROR" -i "$IW" -p "$PWD/watcher.pid" "$@" \
		>mirror.out 2>mirror.err 3>&- &
	MIRROR_PID=$!
}

# cpu_ticks PID: the CPU time (clock ticks) the process and the children
# it waited for used so far.
cpu_ticks() {
	local st
	st=$(cat "/proc/$1/stat") || return 1
	st=${st##*) }
	set -- $st
	echo $((${12} + ${13} + ${14} + ${15}))
}

# mirrored A B: the folders hold the same names and contents.
mirrored() {
	diff -r "$1" "$2" >/dev/null 2>&1
}

# mirror_died: mirror.sh was started and has ended.
mirror_died() {
	[ -n "$MIRROR_PID" ] && ! alive "$MIRROR_PID"
}

mirrored_or_died() {
	mirrored "$1" "$2" || mirror_died
}

exists_or_died() {
	[ -e "$1" ] || mirror_died
}

# wait_mirrored A B: wait until A and B are equal; fail with the
# difference after MIRROR_DEADLINE seconds, or at once if mirror.sh ended.
wait_mirrored() {
	within "$MIRROR_DEADLINE" mirrored_or_died "$1" "$2"
	if ! mirrored "$1" "$2"; then
		diff -r "$1" "$2" 2>&1 | head -20 >&2
		fail "$2 is not a mirror of $1: $(cat mirror.err 2>/dev/null)"
	fi
}

# wait_synced PATH: wait until mirror.sh's initial sync brought PATH.
wait_synced() {
	within "$MIRROR_DEADLINE" exists_or_died "$1"
	[ -e "$1" ] || fail "no initial sync of $1: $(cat mirror.err 2>/dev/null)"
}

# started PID: an identity of the process (pid and start time) that a
# reused pid cannot have.
started() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	set -- $st
	echo "$1:${20}"
}

# descendants PID: the identities of all processes below PID.
descendants() {
	local kid
	for kid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		started "$kid"
		descendants "$kid"
	done
}

# still_there ID...: the processes of these identities that still run.
still_there() {
	local id
	for id in "$@"; do
		[ "$(started "${id%%:*}")" = "$id" ] && alive "${id%%:*}" && echo "${id%%:*}"
	done
	return 0
}

# stop_mirror: SIGTERM to mirror.sh, which must end all its children and
# exit 0; wait for it. Kills by pid whatever it left behind, and fails then.
stop_mirror() {
	local pid=$MIRROR_PID ids left stuck
	[ -n "$pid" ] || return 0
	MIRROR_PID=
	ids=$(descendants "$pid")
	kill "$pid" 2>/dev/null
	stuck=
	if ! within "$MIRROR_DEADLINE" eval '! alive '"$pid"; then
		# Where each process waits says why it did not end.
		stuck=$(ps -o pid=,stat=,wchan:24=,args= -p "$pid" --ppid "$pid" 2>&1)
		kill -KILL "$pid" 2>/dev/null
	fi
	status=0
	wait "$pid" || status=$?
	left=$(still_there $ids)
	if [ -n "$left" ]; then
		kill $left 2>/dev/null
		kill -CONT $left 2>/dev/null
	fi
	[ -z "$stuck" ] || fail "mirror.sh did not end within ${MIRROR_DEADLINE}s of SIGTERM: $stuck; its log: $(cat mirror.err)"
	[ -z "$left" ] || fail "mirror.sh left processes behind: $left"
	[ "$status" -eq 0 ] || fail "mirror.sh exited with status $status on SIGTERM"
	[ -z "$(ls -A work)" ] || fail "work folder left behind: $(ls -A work)"
}

# mirror_teardown: end every process the test started, by pid.
mirror_teardown() {
	local p
	# A watcher stopped by a test would keep SIGTERM pending.
	if [ -n "$MIRROR_PID" ] && [ -s watcher.pid ]; then
		kill -CONT "$(cat watcher.pid)" 2>/dev/null
	fi
	stop_mirror || true
	for p in ${EXTRA_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
	for p in ${EXTRA_PIDS:-}; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	return 0
}
