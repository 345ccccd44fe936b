# Shell functions shared by the private server scripts (postfix.sh,
# dovecot.sh). Source it; it defines functions only.

# kill_master PIDFILE: waits (bounded, 5 s) for the process in PIDFILE to go,
# then kills it if it has not.
kill_master() {
    local pidfile="$1"
    [ -f "$pidfile" ] || return 0
    local pid
    pid="$(tr -dc '0-9' <"$pidfile")"
    for _ in $(seq 1 50); do
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

# The loopback addresses the servers listen on: 127.0.0.1, and ::1 too when
# the caller sets LISTEN_IPV6=1 (the tests do where the machine has ::1).
loopbacks() {
    if [ "${LISTEN_IPV6:-0}" = 1 ]; then
        echo "127.0.0.1 ::1"
    else
        echo "127.0.0.1"
    fi
}

# wait_port PORT: true once PORT accepts a connection on every address of
# loopbacks (bounded, 10 s).
wait_port() {
    local port="$1"
    for _ in $(seq 1 100); do
        # shellcheck disable=SC2046
        if /usr/bin/python3 - "$port" $(loopbacks) <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
for host in sys.argv[2:]:
    s = socket.create_connection((host, int(sys.argv[1])), timeout=1)
    s.close()
PY
        sleep 0.1
    done
    return 1
}
