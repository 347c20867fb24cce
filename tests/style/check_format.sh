#!/usr/bin/env bash
# Fails when a C file of lambda-c is not as .clang-format writes it, or has a
# line over 100 columns (comments included: clang-format leaves them alone).
#   check_format.sh [SOURCE_DIR]        fix with: clang-format -i <file>
set -euo pipefail
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"
# Debian 12's clang-format: another major version formats some constructs
# differently, and the check must give the same verdict everywhere.
fmt=$(command -v clang-format-14 || true)
[ -n "$fmt" ] || { echo "check_format: clang-format-14 not found (apt-get install clang-format-14)" >&2; exit 1; }

if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard '*.c' '*.h')
else
  mapfile -t files < <(find . -path ./build\* -prune -o -path '*/node_modules' -prune \
                          -o \( -name '*.c' -o -name '*.h' \) -print)
fi
status=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! "$fmt" --dry-run --Werror "$f" 2>/dev/null; then
    echo "not formatted: $f  (clang-format-14 -i $f)" >&2
    status=1
  fi
  awk -v f="$f" 'length($0) > 100 { printf "%s:%d: %d columns (100 at most)\n", f, FNR, length($0); bad=1 }
                 END { exit bad }' "$f" >&2 || status=1
done
[ "$status" -eq 0 ] && echo "check_format: ${#files[@]} files formatted, lines <= 100 columns"
exit "$status"
