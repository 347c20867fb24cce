#!/bin/sh
# Runs the real bootstrap ($REAL_BOOTSTRAP) under valgrind ($VALGRIND), one
# log per process in $VG_LOG_DIR. lambda-local gives a bootstrap only the
# Lambda environment, so every path comes through the function's env vars.
# The host's pid names the log: in lambda-local's sandbox (a PID namespace)
# every bootstrap is pid 2, and valgrind's %p would reuse one file.
read -r self _ < /proc/self/stat
exec "$VALGRIND" --quiet --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --track-fds=no \
  --log-file="$VG_LOG_DIR/vg.$self" "$REAL_BOOTSTRAP"
