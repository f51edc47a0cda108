#!/bin/sh
# Runs the real inotifywatch under valgrind: make valgrind points the suite here.
top=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$top/inotifywatch" "$@"
