#!/usr/bin/env bash
# A phase of make test with a bound on its time, as `timeout` gives one, that first shows where it was stuck: when the
# bound passes, every thread of the phase's Swift test processes (gdb's backtraces), then TERM to the phase's
# processes, KILL 30 s later, and status 124.
#   scripts/bounded.sh SECONDS COMMAND [ARGUMENT…]
set -uo pipefail
limit=$1
shift
"$@" &
phase=$!

# The phase's processes, deepest first.
descendants() {
  local child
  for child in $(pgrep -P "$1"); do
    descendants "$child"
    echo "$child"
  done
}

sleep "$limit" &
bound=$!
wait -n "$phase" "$bound"
if ! kill -0 "$phase" 2>/dev/null; then
  kill "$bound" 2>/dev/null
  wait "$phase"
  exit $?
fi

processes=$(descendants "$phase")
echo "bounded: '$*' did not end within $limit s" >&2
for pid in $processes; do
  case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
    *.xctest)
      echo "bounded: the threads of $(readlink "/proc/$pid/exe") (pid $pid) and its children:" >&2
      ps -o pid,etime,time,stat,args --ppid "$pid" >&2
      if command -v gdb >/dev/null; then
        timeout 120 gdb -p "$pid" -batch -ex "thread apply all bt" 2>&1 | grep -v "^\[New LWP\|^warning:\|^During symbol reading" >&2
      fi
      ;;
  esac
done
kill -TERM $processes "$phase" 2>/dev/null
for _ in $(seq 15); do
  kill -0 "$phase" 2>/dev/null || break
  sleep 2
done
kill -KILL $(descendants "$phase") "$phase" 2>/dev/null
wait "$phase" 2>/dev/null
exit 124
