# shellcheck shell=bash
# Sourced by tools/bootstrap.sh and tools/install-packages.sh: short
# progress lines on the terminal, the output of apt and pip in one log.
#
# The log is .cache/logs/bootstrap.log unless NDM_BOOTSTRAP_LOG names
# another file; a caller that sets it up exports it, so the scripts it runs
# append to the same log.  When a step fails, the end of the log is printed
# and the script stops.

if [ -z "${NDM_BOOTSTRAP_LOG:-}" ]; then
    mkdir -p .cache/logs
    NDM_BOOTSTRAP_LOG="$(pwd)/.cache/logs/bootstrap.log"
    : > "$NDM_BOOTSTRAP_LOG"
    export NDM_BOOTSTRAP_LOG
fi

# progress TEXT: one line on the terminal.
progress() {
    echo "bootstrap: $*"
}

# logged TEXT COMMAND...: say TEXT, run COMMAND with its output in the log.
logged() {
    progress "$1 (log: $NDM_BOOTSTRAP_LOG)"
    in_log "$@"
}

# quietly COMMAND...: run COMMAND with its output in the log, say nothing.
quietly() {
    in_log "$*" "$@"
}

# in_log TEXT COMMAND...: run COMMAND into the log; on failure, show the
# end of the log and stop.
in_log() {
    local text=$1
    shift
    printf '\n=== %s: %s\n' "$(date -u +%H:%M:%S)" "$*" >> "$NDM_BOOTSTRAP_LOG"
    if ! "$@" >> "$NDM_BOOTSTRAP_LOG" 2>&1 < /dev/null; then
        echo "bootstrap: FAILED: $text; the end of $NDM_BOOTSTRAP_LOG:" >&2
        tail -n 40 "$NDM_BOOTSTRAP_LOG" >&2
        exit 1
    fi
}
