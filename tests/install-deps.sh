#!/bin/sh
# Installs what the test suite needs, if it is missing: bats-core, the
# reference inotify-tools (for differential runs), rsync, mandoc, and gdb
# (tests/scan_races.bats stops the watcher mid-scan with it); and lsyncd,
# which bench/mirror.sh compares docs/mirror.sh with.
set -eu
missing=
command -v bats >/dev/null 2>&1 || missing="$missing bats"
[ -x /usr/bin/inotifywait ] || missing="$missing inotify-tools"
command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
command -v mandoc >/dev/null 2>&1 || missing="$missing mandoc"
command -v gdb >/dev/null 2>&1 || missing="$missing gdb"
command -v lsyncd >/dev/null 2>&1 || missing="$missing lsyncd"
[ -f /usr/share/bash-completion/completions/inotifywait ] || missing="$missing bash-completion"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing:$missing; install them (apt-get install$missing) and retry" >&2
	exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
