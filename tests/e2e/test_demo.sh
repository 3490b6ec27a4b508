#!/usr/bin/env bash
# test_demo.sh — the README's run command, headless (issue 8).
#
# Runs tools/demo (--no-deps --no-build: the binaries of this build
# directory, OVERSEER_BUILD_DIR=$OV_BUILDDIR) in a private tmux server, reads
# the console with capture-pane and checks that within one minute of start
# the Overview shows live supervisors, tasks, health targets, breakers and
# processes. Then it ends the demo three ways — `q` in the console, SIGTERM
# to tools/demo, Ctrl-C in its terminal — and checks each time that
# tools/demo exits, that no process it started is left (pg_virtualenv, the
# fleet, its managed processes, overseer, the throwaway cluster's
# postmaster and backends) and that the cluster is gone.
#
# The e2e suite itself runs under pg_virtualenv: its PG* stay in the
# environment on purpose (tools/demo must not be confused by them), and the
# demo's cluster gets a port of its own (--pg-port, a free one).
#
#   pg_virtualenv -t -c '-p 55712' meson test -C build test_demo.sh --print-errorlogs
set -uo pipefail

SRC=${OV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${OV_BUILDDIR:?OV_BUILDDIR: the meson build directory}
[ -x "$BUILD/overseer" ] && [ -x "$BUILD/tools/fleet/fleet" ] ||
	{ echo "SKIP: overseer or fleet not built in $BUILD"; exit 77; }
command -v tmux >/dev/null || { echo "SKIP: tmux not installed"; exit 77; }
command -v pg_virtualenv >/dev/null || { echo "SKIP: pg_virtualenv not installed"; exit 77; }

tmp=$(mktemp -d /tmp/test_demo.XXXXXX)
T=(tmux -L "ovdemo-$$" -f /dev/null)
fails=0
n=0
t0=$SECONDS

cleanup() {
	set +e
	local p
	# A demo still running (a failed check): end it the way a user would,
	# then make sure.
	"${T[@]}" kill-server >/dev/null 2>&1
	for f in "$tmp"/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		# only a tools/demo of ours still running (never a reused pid)
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "tools/demo --no-deps --no-build" || continue
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { n=$((n + 1)); echo "ok $n - $* ($((SECONDS - t0)) s)"; }
not_ok() {
	n=$((n + 1)); fails=$((fails + 1))
	echo "not ok $n - $* ($((SECONDS - t0)) s)"
}
screen() { "${T[@]}" capture-pane -p -t demo 2>/dev/null; }
# screen_wait SECONDS REGEX: until the screen shows it.
screen_wait() {
	local end=$((SECONDS + $1))
	until screen | grep -qE -- "$2"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
show_screen() { echo "--- screen:"; screen | sed 's/^/    | /'; }
show_out() { echo "--- tools/demo output (last 25 lines):"; sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$tmp/$1.out" 2>/dev/null | tr -d '\r' | grep -a '^\(==\|tools/demo\|[a-zA-Z]\)' | tail -n 25 | sed 's/^/    | /'; }

# A TCP port nothing listens on, and no PostgreSQL socket file of that number.
free_port() {
	python3 - <<'EOF'
import os, socket
for _ in range(50):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    if not os.path.exists("/var/run/postgresql/.s.PGSQL.%d" % p):
        print(p)
        break
EOF
}

# The Overview tiles, live: each needs a positive count.
tiles_live() {
	screen | python3 -c '
import re, sys
s = sys.stdin.read()
want = {
    "supervisors": r"workers ([1-9][0-9]*) alive",
    "tasks": r"[0-9]+ running, [0-9]+ queued, ([1-9][0-9]*) agents",
    "health targets": r"([1-9][0-9]*) targets?: ([1-9][0-9]*) pass",
    "breakers": r"([1-9][0-9]*) breakers:",
    "processes": r"([1-9][0-9]*) services?: ([1-9][0-9]*) running",
}
missing = [k for k, r in want.items() if not re.search(r, s)]
if missing:
    print("missing: " + ", ".join(missing))
    sys.exit(1)'
}

# The processes of a run: every descendant of tools/demo, plus the throwaway
# cluster's postmaster and its children (pg_ctlcluster detaches them).
# One "pid starttime" per line, so a reused pid is not mistaken for ours.
proc_start() { awk '{sub(/^.*\) /, ""); print $20}' "/proc/$1/stat" 2>/dev/null; }
descendants() {
	local root=$1
	ps -e -o pid=,ppid= | awk -v r="$root" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END { for (i in pids) { p = pids[i]; q = p
			while (q > 1) { if (q == r) { print p; break } q = parent[q] } } }'
}
snapshot() { # NAME DEMO_PID -> $tmp/NAME.procs, $tmp/NAME.state, $tmp/NAME.port...
	local name=$1 dpid=$2 state confroot datadir pm
	state=$(sed -n 's/.*starting the fleet (log: \(.*\)\/fleet\.log).*/\1/p' "$tmp/$name.out" | head -n 1 | tr -d '\r')
	echo "$state" >"$tmp/$name.state"
	confroot=$(cat "$state/confroot" 2>/dev/null)
	echo "$confroot" >"$tmp/$name.confroot"
	{
		descendants "$dpid"
		datadir=$(PG_CLUSTER_CONF_ROOT=$confroot pg_lsclusters -h 2>/dev/null | awk '{print $6}' | head -n 1)
		pm=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null)
		if [ -n "$pm" ]; then
			echo "$pm"
			descendants "$pm"
		fi
	} | sort -un | while read -r p; do
		echo "$p $(proc_start "$p") $(cat "/proc/$p/comm" 2>/dev/null) $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
	done >"$tmp/$name.procs"
}
# The snapshot must hold what tools/demo starts, or its emptiness proves nothing.
check_snapshot() {
	local name=$1 c missing=""
	for c in pg_virtualenv fleet overseer postgres; do
		awk -v c="$c" '$3 == c || $3 ~ "^" c {f = 1} END {exit !f}' "$tmp/$name.procs" || missing+=" $c"
	done
	grep -q "worker-proc" "$tmp/$name.procs" || missing+=" worker-proc"
	if [ -z "$missing" ]; then
		ok "$name: its processes seen while it runs (pg_virtualenv, fleet, worker-procs, overseer, postgres)"
	else
		not_ok "$name: processes of the demo not found:$missing"
		sed 's/^/    | /' "$tmp/$name.procs"
	fi
}
left_behind() { # NAME: the snapshot's processes still alive
	local p st cmd
	while read -r p st _ cmd; do
		[ -n "$st" ] && [ "$(proc_start "$p")" = "$st" ] &&
			[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && echo "$p $cmd"
	done <"$tmp/$1.procs"
}

# start_demo NAME: tools/demo in the pane of a new tmux server, in a process
# group of its own that owns the terminal (as from an interactive shell), so
# that Ctrl-C reaches it as it would a user's.
start_demo() {
	local name=$1
	port=$(free_port)
	echo "$port" >"$tmp/$name.port"
	cat >"$tmp/$name.sh" <<-EOF
		set -m
		cd '$SRC'
		while [ ! -e '$tmp/$name.go' ]; do sleep 0.05; done
		bash -c 'echo \$\$ >"\$1"; shift; exec "\$@"' _ '$tmp/$name.pid' \
			env TERM=xterm-256color OVERSEER_BUILD_DIR='$BUILD' '$SRC/tools/demo' \
			--no-deps --no-build --pg-port '$port'
		echo \$? >'$tmp/$name.exit'
		sleep 600
	EOF
	"${T[@]}" kill-server >/dev/null 2>&1
	"${T[@]}" new-session -d -s demo -x 160 -y 50 "bash '$tmp/$name.sh'" || return 1
	"${T[@]}" pipe-pane -t demo -o "cat >>'$tmp/$name.out'"
	touch "$tmp/$name.go"
	started=$SECONDS
	for _ in $(seq 100); do [ -s "$tmp/$name.pid" ] && break; sleep 0.1; done
	demo_pid=$(cat "$tmp/$name.pid" 2>/dev/null)
}

# check_up NAME LIMIT: the console shows the live fleet within LIMIT s of start.
check_up() {
	local name=$1 limit=$2 why=""
	while [ $((SECONDS - started)) -lt "$limit" ]; do
		why=$(tiles_live) && break
		[ -s "$tmp/$name.exit" ] && break
		sleep 0.5
	done
	if [ -z "$why" ] && tiles_live >/dev/null; then
		ok "$name: within $limit s the Overview shows live supervisors, tasks, health targets, breakers, processes (after $((SECONDS - started)) s)"
		return 0
	fi
	not_ok "$name: the Overview is not live within $limit s ($why)"
	show_screen
	show_out "$name"
	return 1
}

# check_clean NAME HOW: after the demo was told to end.
check_clean() {
	local name=$1 how=$2 end rc state confroot port left
	end=$((SECONDS + 60))
	while [ ! -s "$tmp/$name.exit" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
	rc=$(cat "$tmp/$name.exit" 2>/dev/null)
	if [ -n "$rc" ]; then
		ok "$name: tools/demo exits after $how ($((SECONDS - stop_at)) s)"
	else
		not_ok "$name: tools/demo still running 60 s after $how"
		show_out "$name"
	fi
	if [ "$rc" = 0 ]; then ok "$name: exit status 0"; else not_ok "$name: exit status '$rc', wanted 0"; show_out "$name"; fi
	if grep -aq "== clean: no demo process left, cluster dropped" "$tmp/$name.out"; then
		ok "$name: tools/demo says clean"
	else
		not_ok "$name: tools/demo does not say clean"
		show_out "$name"
	fi
	left=$(left_behind "$name")
	if [ -z "$left" ]; then
		ok "$name: none of its $(wc -l <"$tmp/$name.procs") processes is left ($(awk '{print $3}' "$tmp/$name.procs" | sort | uniq -c | awk '{printf "%s%s×%s", (NR > 1 ? " " : ""), $2, $1}'))"
	else
		not_ok "$name: processes left behind:"
		echo "$left" | sed 's/^/    | /'
	fi
	state=$(cat "$tmp/$name.state")
	if [ -n "$state" ] && ! pgrep -f -- "$state" >/dev/null; then
		ok "$name: no process names its state directory"
	else
		not_ok "$name: processes name its state directory '$state': $(pgrep -af -- "${state:-/tmp/overseer-demo.}")"
	fi
	port=$(cat "$tmp/$name.port")
	if ! pg_isready -q -h localhost -p "$port" 2>/dev/null && [ ! -e "/var/run/postgresql/.s.PGSQL.$port" ]; then
		ok "$name: nothing answers on the cluster's port $port"
	else
		not_ok "$name: a server still answers on port $port"
	fi
	confroot=$(cat "$tmp/$name.confroot")
	if [ -n "$confroot" ] && [ ! -e "$(dirname "$confroot")" ]; then
		ok "$name: the cluster's directory is gone ($(dirname "$confroot"))"
	else
		not_ok "$name: the cluster's directory '$confroot' remains (or was never seen)"
	fi
	"${T[@]}" kill-server >/dev/null 2>&1
}

# ---- run 1: up within a minute, then q ----
start_demo quit
if check_up quit 60; then
	# The other screens also show the fleet (spot checks).
	"${T[@]}" send-keys -t demo 2
	if screen_wait 10 "emails|embeddings|reports"; then
		ok "quit: the Supervisors screen lists the fleet's queues"
	else
		not_ok "quit: the Supervisors screen lists the fleet's queues"; show_screen
	fi
	"${T[@]}" send-keys -t demo 4
	if screen_wait 10 "llm-provider|vector-db|smtp-relay|payments-api"; then
		ok "quit: the Breakers screen lists the fleet's service breakers"
	else
		not_ok "quit: the Breakers screen lists the fleet's service breakers"; show_screen
	fi
	"${T[@]}" send-keys -t demo 5
	if screen_wait 10 "notifier"; then
		ok "quit: the Processes screen lists the fleet's managed processes"
	else
		not_ok "quit: the Processes screen lists the fleet's managed processes"; show_screen
	fi
	"${T[@]}" send-keys -t demo 1
fi
snapshot quit "$demo_pid"
check_snapshot quit
stop_at=$SECONDS
"${T[@]}" send-keys -t demo q
check_clean quit "q in the console"

# ---- run 2: SIGTERM to tools/demo ----
start_demo sigterm
check_up sigterm 60
snapshot sigterm "$demo_pid"
check_snapshot sigterm
stop_at=$SECONDS
kill -TERM "$demo_pid"
check_clean sigterm "SIGTERM"

# ---- run 3: Ctrl-C in its terminal ----
start_demo ctrlc
check_up ctrlc 60
snapshot ctrlc "$demo_pid"
check_snapshot ctrlc
stop_at=$SECONDS
"${T[@]}" send-keys -t demo C-c
check_clean ctrlc "Ctrl-C"

echo "1..$n ($((SECONDS - t0)) s)"
[ "$fails" -eq 0 ] || { echo "$fails of $n failed"; exit 1; }
