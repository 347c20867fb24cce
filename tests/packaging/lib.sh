# Shared helpers of the packaging tests (sourced, not run).
# Every test gets a private temp dir, removed with everything it started.
set -euo pipefail

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }
# ctest's SKIP_RETURN_CODE: only for a machine that cannot run the test at
# all, with the reason printed.
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lambda-packaging.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# How to enter an otherwise empty root: an unprivileged user namespace
# (`unshare -r --root`) where the kernel allows it, else chroot as root.
enter_root_cmd() { # root -> prints the command prefix, one word per line
  if unshare -r --root=/ true 2>/dev/null; then
    printf '%s\n' /usr/bin/unshare -r "--root=$1" --wd=/var/task
  elif [ "$(id -u)" -eq 0 ]; then
    printf '%s\n' "$(command -v chroot)" "$1"
  else
    skip "neither user namespaces (unshare -r) nor root (chroot) to enter an empty root"
  fi
}

# Writes an executable that lambda-local runs as the bootstrap: it drops
# every variable but the ones Lambda sets (env -i), points the task root at
# /var/task and runs /var/task/bootstrap inside ROOT.
write_root_wrapper() { # wrapper-path root [extra VAR=value...]
  local wrapper=$1 root=$2
  shift 2
  local enter
  enter=$(enter_root_cmd "$root" | tr '\n' ' ')
  {
    printf '#!/usr/bin/env bash\n'
    printf '# Enters %s with a clean, Lambda-like environment.\n' "$root"
    printf 'vars=(AWS_LAMBDA_RUNTIME_API _HANDLER AWS_LAMBDA_FUNCTION_NAME\n'
    printf '  AWS_LAMBDA_FUNCTION_VERSION AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_REGION\n'
    printf '  AWS_DEFAULT_REGION AWS_LAMBDA_LOG_GROUP_NAME AWS_LAMBDA_LOG_STREAM_NAME\n'
    printf '  AWS_LAMBDA_INITIALIZATION_TYPE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY\n'
    printf '  AWS_SESSION_TOKEN _X_AMZN_TRACE_ID TZ LANG)\n'
    printf 'args=(PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin LAMBDA_TASK_ROOT=/var/task\n'
    printf '  LAMBDA_RUNTIME_DIR=/var/runtime LD_LIBRARY_PATH=/var/task:/var/task/lib:/opt/lib'
    local kv
    for kv in "$@"; do printf ' %q' "$kv"; done
    printf ')\n'
    printf 'for v in "${vars[@]}"; do [ -z "${!v+x}" ] || args+=("$v=${!v}"); done\n'
    printf 'exec /usr/bin/env -i "${args[@]}" %s /var/task/bootstrap\n' "$enter"
  } >"$wrapper"
  chmod 0755 "$wrapper"
}

# Starts lambda-local in the background; sets $port.
start_local() { # lambda-local args...
  local portfile="$work/port.$RANDOM"
  "$LAMBDA_LOCAL" start-lambda --host 127.0.0.1 --port 0 --port-file "$portfile" "$@" \
    >"$work/local.out" 2>"$work/local.err" &
  pids+=($!)
  local i
  for i in $(seq 1 200); do
    if [ -s "$portfile" ]; then
      port=$(cat "$portfile")
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/local.err" >&2; fail "lambda-local exited"; }
    sleep 0.1
  done
  cat "$work/local.err" >&2
  fail "lambda-local did not listen within 20 s"
}

# invoke FUNCTION EVENT-JSON: prints the payload; fails on a function error.
invoke() {
  local fn=$1 event=$2 headers="$work/headers.$RANDOM" body="$work/body.$RANDOM"
  curl -sS --max-time 60 -o "$body" -D "$headers" -X POST \
    --data-binary "$event" "http://127.0.0.1:$port/2015-03-31/functions/$fn/invocations" \
    || fail "invoke $fn: request failed"
  if grep -qi '^x-amz-function-error' "$headers" || ! head -1 "$headers" | grep ' 200' >/dev/null; then
    note "--- $fn answered:"; cat "$headers" "$body" >&2; echo >&2
    note "--- lambda-local stderr:"; tail -40 "$work/local.err" >&2
    fail "invoke $fn failed"
  fi
  cat "$body"
}
