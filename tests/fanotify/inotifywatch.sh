#!/bin/sh
# Runs inotifywatch with the fanotify back end: make check-fanotify points
# the suite here.
top=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
exec "$top/inotifywatch" -S "$@"
