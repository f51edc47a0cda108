#!/bin/sh
# Runs inotifywait with the fanotify back end: make check-fanotify points
# the suite here.
top=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
exec "$top/inotifywait" -S "$@"
