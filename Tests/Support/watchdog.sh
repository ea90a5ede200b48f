#!/usr/bin/env bash
# watchdog.sh SECONDS COMMAND...: runs COMMAND; if it has not ended after
# SECONDS, says which processes it left running and where every thread of each
# Swift test binary under it waits (gdb), then kills every process under it and
# exits 124.
#
# A test that hangs then fails `make test` within minutes, with what it was
# waiting for in the log, instead of running into CI's limit with nothing said.
set -uo pipefail
limit=$1
shift
"$@" &
child=$!

# The process and all its descendants, parents first. `swift test` starts the
# test binary in a process group of its own, so the tree, not the group.
tree() {
    local pid=$1
    echo "$pid"
    for kid in $(pgrep -P "$pid"); do tree "$kid"; done
}

deadline=$((SECONDS + limit))
while kill -0 "$child" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
        echo
        echo "== watchdog: '$*' still running after ${limit} s; what it left running:"
        pids=$(tree "$child")
        ps -o pid,ppid,etimes,stat,args -p "$(echo "$pids" | paste -sd,)" || true
        binaries=$(for pid in $pids; do [[ $(cat "/proc/$pid/comm" 2>/dev/null) == *PackageTe* ]] && echo "$pid"; done)
        for pid in $binaries; do
            echo "== watchdog: every thread of $pid, where it waits"
            gdb -p "$pid" -batch -ex "thread apply all bt 24" 2>/dev/null | grep -E '^(Thread|#)' | swift demangle --simplified | cut -c1-240
        done
        # Frozen first, so that nothing starts another process meanwhile.
        for pid in $binaries; do kill -STOP "$pid" 2>/dev/null; done
        for pid in $(tree "$child"); do kill -KILL "$pid" 2>/dev/null; done
        wait "$child" 2>/dev/null
        exit 124
    fi
    sleep 2
done
wait "$child"
