# Shared by hack/cluster.sh and hack/quickstart.sh: background processes tracked by pid files.

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile FILE [GRACE_TENTHS]: SIGTERM, wait up to GRACE_TENTHS x 0.1 s (default 50), then SIGKILL.
stop_pidfile() {
  local f="$1" grace="${2:-50}"
  if pid_alive "$f"; then
    kill "$(cat "$f")" 2>/dev/null || true
    for _ in $(seq 1 "$grace"); do pid_alive "$f" || break; sleep 0.1; done
    pid_alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null || true
  fi
  rm -f "$f"
}
