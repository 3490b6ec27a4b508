#!/usr/bin/env bash
# test_chaos.sh — every `fleet chaos` kind, as overseer shows it (issue 8).
#
# Runs under pg_virtualenv (PG* set). Makes its own database, starts
# `fleet run` on it (control socket, pid files and the overseer configuration
# it writes, as tools/demo does), opens the console on that configuration in
# a private tmux server (the incident engine, the poller's breakers, the task
# ingest and the process watcher run in the console), then injects each
# fault and checks what overseer reports — `overseer status --json`,
# `overseer incidents list all --json`, `overseer breakers --json`,
# `overseer procs --json` — and that lifting the fault resolves it.
#
# One fleet and one console for every kind, to stay within a few minutes.
# The error burst and the dependency outage come first: a spike can only
# clear once its errors have left the rate tracker's one-minute window (plus
# three 10 s evaluations), and a dependency outage makes its agents' tasks
# fail too (vector-db: indexer, embedder), so their spikes are left to clear
# while the other kinds run; the burst's recovery is checked near the end.
# db-down (which stops the whole cluster) runs last.
# One line per check ("ok" / "FAIL"); on failure what was seen is printed.
#
#   pg_virtualenv -t -c '-p 55712' meson test -C build test_chaos.sh --print-errorlogs
set -uo pipefail

OV=${OVERSEER_BIN:?OVERSEER_BIN: the overseer binary}
FLEET=${FLEET_BIN:?FLEET_BIN: the fleet binary}
SRC=${OV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}

pg_isready -q || { echo "no PostgreSQL (run under pg_virtualenv): skipped"; exit 77; }
command -v tmux >/dev/null || { echo "tmux not installed: skipped"; exit 77; }

tmp=$(mktemp -d /tmp/test_chaos.XXXXXX)
db=chaos_test_$$
run=$tmp/run
cfg=$tmp/overseer.ini
ctl=$run/control.sock
T=(tmux -L "ovchaos-$$" -f /dev/null)
fleet_pid=
ui_pid=
failures=0
checks=0
unresolved=()
t_start=$SECONDS

cleanup() {
	set +e
	"${T[@]}" kill-server >/dev/null 2>&1
	# the console, if the server's SIGHUP did not end it (never a reused pid)
	[ -n "$ui_pid" ] && tr '\0' ' ' <"/proc/$ui_pid/cmdline" 2>/dev/null | grep -qF -- "$cfg" &&
		kill -KILL "$ui_pid" 2>/dev/null
	if [ -n "$fleet_pid" ] && kill -0 "$fleet_pid" 2>/dev/null; then
		"$FLEET" chaos db-up --control "$ctl" >/dev/null 2>&1
		kill -TERM "$fleet_pid"
		for _ in $(seq 50); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$fleet_pid" 2>/dev/null
	fi
	# A cluster left stopped by a failed check: start it again for the
	# next test (pg_virtualenv drops it afterwards anyway).
	pg_isready -q || { [ -n "${cluster:-}" ] && pg_ctlcluster ${cluster/\// } start; } >/dev/null 2>&1
	dropdb --if-exists "$db" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { checks=$((checks + 1)); echo "ok   $checks - $* ($((SECONDS - t_start)) s)"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $checks - $* ($((SECONDS - t_start)) s)"; }
# eventually SECONDS DESCRIPTION 'shell test' ['what to show on failure']:
# polls the test until it holds or the deadline passes.
eventually() {
	local limit=$1 what=$2 text=$3 show=${4:-}
	local end=$((SECONDS + limit))
	until eval "$text"; do
		if [ $SECONDS -ge $end ]; then
			fail "$what (not within $limit s)"
			[ -n "$show" ] && eval "$show" 2>&1 | sed 's/^/     | /'
			return 1
		fi
		sleep 1
	done
	ok "$what"
}
chaos() {
	local out
	if ! out=$("$FLEET" chaos "$@" --control "$ctl" 2>&1); then
		fail "fleet chaos $*: $out"
		return 1
	fi
}

# ---- what overseer shows -----------------------------------------------------
ovj() { "$OV" "$@" --json --config "$cfg" 2>/dev/null; }
# jq-like access with python: js FILE-OR-- EXPRESSION over d
pyget() { python3 -c 'import json,sys
try:
    d = json.loads(sys.stdin.read())
    print(eval(sys.argv[1]))
except Exception as e:
    print("?", e)' "$1"; }
status_get() { ovj status | pyget "$1"; }
# The newest incident whose dedup key is KEY (or starts with KEY when it ends
# with '*'): prints its status, or "none".
inc_status() {
	ovj incidents list all | python3 -c '
import json, sys
k = sys.argv[1]
try:
    rows = json.load(sys.stdin)
except ValueError:
    print("?"); sys.exit()
m = [r for r in rows if (r["dedup_key"].startswith(k[:-1]) if k.endswith("*") else r["dedup_key"] == k)]
m.sort(key=lambda r: r["id"])
print(m[-1]["status"] if m else "none")' "$1"
}
inc_open() { case "$(inc_status "$1")" in triggered | acknowledged) return 0 ;; esac; return 1; }
inc_resolved() { [ "$(inc_status "$1")" = resolved ]; }
show_incidents() { "$OV" incidents list all --config "$cfg" 2>&1 | head -n 25; }
show_status() { "$OV" status --config "$cfg" 2>&1 | head -n 40; }
screen() { "${T[@]}" capture-pane -p 2>/dev/null; }
health_field() { status_get "[h['$2'] for h in d['health'] if h['name']=='$1'][0]"; }
health_failing() { [ "$(health_field "$1" status)" != pass ] && [ "$(health_field "$1" state)" != unknown ]; }
health_passing() { [ "$(health_field "$1" status)" = pass ]; }
breaker_state() { ovj breakers | pyget "[b['state'] for b in d['breakers'] if b['name']=='$1'][0]"; }
proc_field() { ovj procs | pyget "[s['$2'] for s in d['services'] if s['name']=='$1'][0]"; }

# ---- the fleet -------------------------------------------------------------------
createdb "$db" || { echo "createdb failed"; exit 1; }
export PGDATABASE=$db
# The console's history (incidents, audit) and log stay in $tmp.
export XDG_STATE_HOME=$tmp/state XDG_CONFIG_HOME=$tmp/config OVERSEER_SQLDIR=$SRC/sql
mkdir -p "$XDG_STATE_HOME" "$XDG_CONFIG_HOME"
if ! "$OV" db init >"$tmp/dbinit.log" 2>&1; then
	echo "overseer db init failed:"; cat "$tmp/dbinit.log"; exit 1
fi
# No background failures (--failure-rate 0): the rate tracker's baseline
# then has no errors, and the burst is the only spike. Three endpoints, one
# per health fault; a 1 s heartbeat makes a stopped worker stale in 3 s.
"$FLEET" run --supervisors 12 --queues 3 --functions 2 --rate 30 --runs-per-s 3 \
	--failure-rate 0 --procs 2 --http-port 0 --http-port 0 --http-port 0 --heartbeat 1s \
	--stats 0 --pidfile-dir "$run" --write-config "$cfg" --ready-file "$tmp/ready.json" \
	>"$tmp/fleet.log" 2>&1 &
fleet_pid=$!
end=$((SECONDS + 60))
until [ -s "$tmp/ready.json" ] && [ -s "$cfg" ]; do
	if [ $SECONDS -ge $end ] || ! kill -0 "$fleet_pid" 2>/dev/null; then
		echo "FAIL: the fleet did not start"; cat "$tmp/fleet.log"; exit 1
	fi
	sleep 0.5
done
ok "the fleet is ready (config $cfg)"
cluster=$("$FLEET" chaos status --control "$ctl" 2>/dev/null | pyget "d['database'].get('cluster') or ''")
case "$cluster" in *\?*) cluster= ;; esac

# ---- the console --------------------------------------------------------------------
"${T[@]}" new-session -d -x 200 -y 50 \
	"env TERM=xterm-256color '$OV' --config '$cfg' & echo \$! >'$tmp/ui.pid'; wait \$!; echo \$? >'$tmp/ui.exit'; sleep 600"
for _ in $(seq 50); do [ -s "$tmp/ui.pid" ] && break; sleep 0.1; done
ui_pid=$(cat "$tmp/ui.pid" 2>/dev/null)
eventually 20 "the console runs and shows the fleet's supervisors" \
	'screen | grep -qE "workers (1[2-9]|[2-9][0-9]) alive" && kill -0 "$ui_pid" 2>/dev/null' screen
eventually 20 "overseer status sees PostgreSQL, workers and every endpoint passing" \
	'[ "$(status_get "d[\"postgres\"][\"state\"], d[\"quantumflow\"][\"workers_alive\"] >= 12, len(d[\"health\"]), all(h[\"status\"] == \"pass\" for h in d[\"health\"])")" = "('"'ok'"', True, 3, True)" ]' \
	show_status
# The console's own first probe rounds are in: a health incident would need 3.
eventually 20 "no incident is open before any fault" \
	'[ "$(ovj incidents list | pyget "len(d)")" = 0 ]' show_incidents

# ---- error burst (its recovery is checked later) -------------------------------------
chaos error-burst mailer --p 0.9 --for 10s && burst_at=$SECONDS
eventually 40 "error-burst mailer: an error spike incident on task:mailer opens" \
	'inc_open "spike:task:mailer*"' show_incidents

# ---- a service breaker opens -------------------------------------------------------
chaos breaker-open vector-db
eventually 20 "breaker-open vector-db: overseer breakers shows it open" \
	'[ "$(breaker_state vector-db)" = open ]' 'ovj breakers'
eventually 10 "... owned by the fleet" \
	'[ "$(ovj breakers | pyget "[b[\"owner\"] for b in d[\"breakers\"] if b[\"name\"]==\"vector-db\"][0]")" = fleet ]' \
	'ovj breakers'
eventually 10 "... and the console's Breakers tile counts it open, by name" \
	'screen | grep -qE "breakers: [1-9][0-9]* open" && screen | grep -q "vector-db"' screen
chaos breaker-close vector-db
eventually 45 "breaker-close vector-db: half-open probes close it again" \
	'[ "$(breaker_state vector-db)" = closed ]' 'ovj breakers'

# ---- health endpoint failing, slow, silent ------------------------------------------
chaos health gateway fail
eventually 20 "health gateway fail: overseer status shows the target failing" \
	'health_failing gateway' show_status
eventually 30 "... and the console opens incident target_down:health:gateway" \
	'inc_open target_down:health:gateway' show_incidents
chaos health api slow --delay 3s # over the 2 s timeout of the configuration
eventually 20 "health api slow (3 s, timeout 2 s): the target fails (timeout)" \
	'health_failing api && [ "$(health_field api class)" = timeout ]' show_status
eventually 40 "... and the console opens incident target_down:health:api" \
	'inc_open target_down:health:api' show_incidents
chaos health scheduler silent
eventually 20 "health scheduler silent: the target fails" \
	'health_failing scheduler' show_status
eventually 40 "... and the console opens incident target_down:health:scheduler" \
	'inc_open target_down:health:scheduler' show_incidents
chaos reset
# Recovery waits for each console breaker's open period (10 s) and then 3
# fresh passing probes (2 s apart).
eventually 60 "chaos reset: the three health incidents resolve" \
	'inc_resolved target_down:health:gateway && inc_resolved target_down:health:api &&
	 inc_resolved target_down:health:scheduler' show_incidents
eventually 20 "... and overseer status shows every endpoint passing again" \
	'health_passing gateway && health_passing api && health_passing scheduler' show_status

# ---- heartbeat stop ---------------------------------------------------------------
chaos heartbeat-stop 0
eventually 20 "heartbeat-stop 0: a stale worker, verdict degraded" \
	'[ "$(status_get "d[\"quantumflow\"][\"workers_stale\"] >= 1, d[\"verdict\"]")" = "(True, '"'degraded'"')" ]' \
	show_status
chaos heartbeat-stop queue:emails
eventually 20 "heartbeat-stop queue:emails: the emails groups have no live worker (critical)" \
	'[ "$(status_get "sorted((g[\"alive\"], g[\"stale\"] > 0) for g in d[\"quantumflow\"][\"worker_groups\"] if g[\"queue\"] == \"emails\"), d[\"verdict\"]")" = "([(0, True), (0, True)], '"'critical'"')" ]' \
	show_status
eventually 30 "... and the console opens a heartbeat_stale incident for emails" \
	'inc_open "heartbeat_stale:emails/*"' show_incidents
chaos heartbeat-resume all
eventually 40 "heartbeat-resume all: the heartbeat incident resolves" \
	'inc_resolved "heartbeat_stale:emails/*"' show_incidents
eventually 20 "... and no worker is stale any more" \
	'[ "$(status_get "d[\"quantumflow\"][\"workers_stale\"]")" = 0 ]' show_status

# ---- managed process killed ------------------------------------------------------
# The console watches a process once an operator adopted it: adopt the
# first row of the Processes screen (services sorted by name) with its keys.
proc=$(python3 -c 'import re,sys; print(sorted(re.findall(r"^\[service \"([^\"]+)\"\]", open(sys.argv[1]).read(), re.M))[0])' "$cfg")
"${T[@]}" send-keys 5
eventually 10 "the Processes screen lists $proc" 'screen | grep -q "SERVICE" && screen | grep -q -- "$proc"' screen
"${T[@]}" send-keys g a
eventually 10 "the adopt dialog names service $proc" 'screen | grep -q "Service .$proc."' screen
"${T[@]}" send-keys y
eventually 10 "... adopted in the console (overseer procs: adopted, running)" \
	'[ "$(proc_field "$proc" adopted)" = True ] && [ "$(proc_field "$proc" class)" = running ]' \
	'screen; ovj procs'
"${T[@]}" send-keys 1
chaos proc-kill "$proc"
eventually 15 "proc-kill $proc: overseer procs shows it not running" \
	'[ "$(proc_field "$proc" class)" = "not running" ]' 'ovj procs'
eventually 15 "... and the console opens incident process_died:$proc" \
	"inc_open process_died:$proc" show_incidents
chaos proc-start "$proc"
eventually 15 "proc-start $proc: running again" \
	'[ "$(proc_field "$proc" class)" = running ]' 'ovj procs'
eventually 30 "... and the process_died incident resolves" \
	"inc_resolved process_died:$proc" \
	'show_incidents | head -n 5; grep -a -- "$proc" "$XDG_STATE_HOME/overseer/overseer.log" | tail -n 8' ||
	unresolved+=("process_died:$proc")

# The same when the process is started again at once, as a supervisor
# (systemd's Restart=, the fleet's proc-start) does: the console sees the
# exit, and must see the new process even if no refresh of its table fell
# between the two. The second service, adopted the same way.
proc2=$(python3 -c 'import re,sys; print(sorted(re.findall(r"^\[service \"([^\"]+)\"\]", open(sys.argv[1]).read(), re.M))[1])' "$cfg")
"${T[@]}" send-keys 5
eventually 10 "the Processes screen lists $proc2" 'screen | grep -q "SERVICE" && screen | grep -q -- "$proc2"' screen
"${T[@]}" send-keys g j a
eventually 10 "the adopt dialog names service $proc2" 'screen | grep -q "Service .$proc2."' screen
"${T[@]}" send-keys y
eventually 10 "... adopted in the console" '[ "$(proc_field "$proc2" adopted)" = True ]' 'screen; ovj procs'
"${T[@]}" send-keys 1
# shellcheck disable=SC2034 # read by the eventually below
old_pid=$(proc_field "$proc2" pid)
chaos proc-kill "$proc2" && chaos proc-start "$proc2"
eventually 15 "proc-kill $proc2 then proc-start at once: running under a new pid" \
	'[ "$(proc_field "$proc2" class)" = running ] && [ "$(proc_field "$proc2" pid)" != "$old_pid" ]' 'ovj procs'
eventually 15 "... the console opens incident process_died:$proc2" \
	"inc_open process_died:$proc2 || inc_resolved process_died:$proc2" show_incidents
eventually 30 "... and resolves it (the new process runs)" \
	"inc_resolved process_died:$proc2" \
	'show_incidents | head -n 5; grep -a -- "$proc2" "$XDG_STATE_HOME/overseer/overseer.log" | tail -n 8' ||
	unresolved+=("process_died:$proc2")

# ---- the error burst, over ---------------------------------------------------------
# The burst ended ~10 s after it began; its errors leave the 1 min window,
# then 3 healthy 10 s evaluations clear the alert.
left=$((150 - (SECONDS - ${burst_at:-$SECONDS})))
[ $left -lt 10 ] && left=10
eventually $left "error burst over: the spike incident on task:mailer resolves" \
	'inc_resolved "spike:task:mailer*" && ! ovj incidents list | grep -q "spike:task:mailer"' \
	show_incidents

# ---- database down (stop) and up -----------------------------------------------------
can_stop=$("$FLEET" chaos status --control "$ctl" 2>/dev/null | pyget "d['database']['can_stop']")
if [ "$can_stop" = True ]; then
	chaos db-down --mode stop
	eventually 20 "db-down --mode stop: overseer status shows PostgreSQL unreachable, critical" \
		'[ "$(status_get "d[\"postgres\"][\"state\"], d[\"verdict\"]")" = "('"'error'"', '"'critical'"')" ]' \
		show_status
	eventually 30 "... and the console opens incident target_down:postgres (critical)" \
		'inc_open target_down:postgres &&
		 [ "$(ovj incidents list | pyget "[r[\"severity\"] for r in d if r[\"dedup_key\"]==\"target_down:postgres\"][0]")" = critical ]' \
		show_incidents
	chaos db-up
	eventually 30 "db-up: overseer status shows PostgreSQL ok" \
		'[ "$(status_get "d[\"postgres\"][\"state\"]")" = ok ]' show_status
	eventually 40 "... and the PostgreSQL incident resolves" \
		'inc_resolved target_down:postgres' show_incidents
else
	fail "db-down --mode stop: the fleet cannot stop this cluster (can_stop=$can_stop, cluster '$cluster')"
fi

# ---- everything back to normal ---------------------------------------------------------
chaos reset
# (apart from those whose recovery already failed above)
eventually 60 "after reset: no incident left open${unresolved:+ but ${unresolved[*]}}" \
	'[ "$(ovj incidents list | pyget "sorted(r[\"dedup_key\"] for r in d)")" = "$(python3 -c "import sys; print(sorted(sys.argv[1:]))" "${unresolved[@]}")" ]' \
	show_incidents
eventually 30 "... and overseer status is ok" \
	'[ "$(status_get "d[\"verdict\"]")" = ok ]' show_status
check_alive() { kill -0 "$ui_pid" 2>/dev/null && [ ! -s "$tmp/ui.exit" ]; }
if check_alive; then ok "the console ran throughout"; else fail "the console exited: $(cat "$tmp/ui.exit" 2>/dev/null)"; fi

echo "total $((SECONDS - t_start)) s"
if [ "$failures" -gt 0 ]; then
	echo "---- console screen ----"
	screen
	echo "---- console log (last 40 lines) ----"
	tail -n 40 "$XDG_STATE_HOME/overseer/overseer.log" 2>/dev/null
	echo "---- fleet log (last 30 lines) ----"
	tail -n 30 "$tmp/fleet.log"
	echo "$failures of $checks checks failed"
	exit 1
fi
echo "all $checks checks passed"
