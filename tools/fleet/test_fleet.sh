#!/usr/bin/env bash
# test_fleet.sh — tools/fleet against a real PostgreSQL (run under
# pg_virtualenv: PG* is set). Makes its own database, starts a fleet, and
# checks what it generates and what each chaos kind does, with psql, a raw
# HTTP client (bash /dev/tcp) and the fleet's own status; then that shutdown
# leaves nothing behind. One line per check ("ok" / "FAIL"); exit 1 when any
# check failed, 77 (skip) without a server.
#
#   pg_virtualenv -t -c '-p 55509' meson test -C build --suite integration fleet
set -uo pipefail

FLEET=${FLEET_BIN:?FLEET_BIN: the fleet binary}
SRC=${OV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
OVERSEER=${OVERSEER_BIN:-}
SUPERVISORS=9
FAILURE_RATE=0.3

pg_isready -q || { echo "no PostgreSQL (run under pg_virtualenv): skipped"; exit 77; }

tmp=$(mktemp -d /tmp/test_fleet.XXXXXX)
db=fleet_test_$$
run=$tmp/run
ctl=$run/control.sock
fleet_pid=
failures=0
checks=0

cleanup() {
	set +e
	if [ -n "$fleet_pid" ] && kill -0 "$fleet_pid" 2>/dev/null; then
		"$FLEET" chaos db-up --control "$ctl" >/dev/null 2>&1
		kill -TERM "$fleet_pid"
		for _ in $(seq 50); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$fleet_pid" 2>/dev/null
	fi
	# A database left refusing connections by a failed check.
	psql -XAtq -d postgres -c "ALTER DATABASE $db ALLOW_CONNECTIONS true" >/dev/null 2>&1
	dropdb --if-exists "$db" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { checks=$((checks + 1)); echo "ok   $checks - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $checks - $*"; }
check() { # description command...
	local d=$1; shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
# Poll until it succeeds: wait_until SECONDS command..., or eventually
# SECONDS 'shell text' (evaluated afresh each time).
wait_until() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	while ! "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.5
	done
}
eventually() {
	local limit=$1 text=$2
	wait_until "$limit" eval "$text"
}
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>/dev/null; }
chaos() { "$FLEET" chaos "$@" --control "$ctl"; }
chaosq() { chaos "$@" >/dev/null; }
not() { ! "$@"; }
# Connected, request sent, no answer: the read times out (status 124).
no_answer() {
	timeout 1.5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 || exit 2
		printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&3
		head -c1 <&3 | grep -q . && exit 1; exit 3"
	[ $? = 124 ]
}
refused() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
	[ $? = 1 ]
}
status() { chaos status 2>/dev/null; }
# status_get PYTHON-EXPRESSION over d (the status JSON)
status_get() {
	status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
# http_get PORT [TIMEOUT]: prints the status code, then the content type,
# then the body, on three lines; fails on no answer.
http_get() {
	local port=$1 t=${2:-5}
	timeout "$t" bash -c '
		exec 3<>/dev/tcp/127.0.0.1/'"$port"' || exit 1
		printf "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
		resp=$(cat <&3 | tr -d "\r")
		[ -n "$resp" ] || exit 1
		echo "$resp" | head -1 | cut -d" " -f2
		echo "$resp" | sed -n "s/^Content-Type: //p"
		echo "$resp" | sed "1,/^$/d"
	'
}
port_of() { status_get "[h['port'] for h in d['health'] if h['name']=='$1'][0]"; }

createdb "$db" || { echo "createdb failed"; exit 1; }
export PGDATABASE=$db
# Service breakers are published only where overseer's schema exists.
if [ -n "$OVERSEER" ] && "$OVERSEER" db init --help >/dev/null 2>&1; then
	OVERSEER_SQLDIR=$SRC/sql "$OVERSEER" db init >/dev/null
else
	for f in "$SRC"/sql/overseer/*.sql; do
		[ -f "$f" ] && psql -XAtq -v ON_ERROR_STOP=1 -f "$f" >/dev/null 2>&1
	done
fi
have_breakers=$(q "SELECT to_regclass('overseer.breakers') IS NOT NULL")

"$FLEET" run --supervisors $SUPERVISORS --queues 3 --rate 40 --runs-per-s 6 \
	--failure-rate $FAILURE_RATE --procs 2 --http-port 0 --http-port 0 --stats 0 \
	--heartbeat 1s --pidfile-dir "$run" --write-config "$tmp/overseer.ini" \
	--ready-file "$tmp/ready.json" 2>"$tmp/fleet.log" &
fleet_pid=$!

# ---- start-up ----
if ! wait_until 60 test -s "$tmp/ready.json"; then
	fail "the fleet is ready within 60 s"
	cat "$tmp/fleet.log"
	exit 1
fi
ok "the fleet is ready"
prefix=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["workers"]["id_prefix"])' "$tmp/ready.json")


# ---- supervisors ----
fresh() {
	[ "$(q "SELECT count(*) FROM pgflow.workers WHERE worker_id::text LIKE '$prefix%'
		AND stopped_at IS NULL AND now() - last_heartbeat_at < interval '3 s'")" = "$1" ]
}
check "all $SUPERVISORS supervisors registered with fresh heartbeats" wait_until 10 fresh $SUPERVISORS
check "supervisors spread over queues and functions (3 queues x 2 functions)" \
	test "$(q "SELECT count(DISTINCT (queue_name, function_name)) FROM pgflow.workers
		WHERE worker_id::text LIKE '$prefix%'")" = 6

# ---- flows ----
seen_status() { [ "$(q "SELECT count(*) FROM pgflow.step_tasks WHERE status = '$1'")" -gt 0 ]; }
for s in queued started completed failed; do
	check "step_tasks reach '$s'" wait_until 40 seen_status $s
done
check "step tasks are retried (attempts_count > 1, error kept)" eventually 30 \
	'[ "$(q "SELECT count(*) FROM pgflow.step_tasks WHERE attempts_count > 1
		AND error_message IS NOT NULL")" -gt 0 ]'
check "every step task names the worker that ran it" test \
	"$(q "SELECT count(*) FROM pgflow.step_tasks t LEFT JOIN pgflow.workers w
		ON w.worker_id = t.last_worker_id WHERE t.attempts_count > 0 AND w.worker_id IS NULL")" = 0
run_ends() { [ "$(q "SELECT count(*) FROM pgflow.runs WHERE status = '$1'")" -gt 0 ]; }
check "runs complete" wait_until 40 run_ends completed
check "runs fail" wait_until 40 run_ends failed
# The share of finished attempts that failed, from the rows: a queued task's
# attempts all failed; a started one has one attempt still running; a
# completed one succeeded once.
attempts_done() {
	q "SELECT sum(attempts_count) - count(*) FILTER (WHERE status = 'started') FROM pgflow.step_tasks"
}
check "at least 300 attempts finish" eventually 60 '[ "$(attempts_done)" -ge 300 ]'
share=$(q "SELECT round((sum(attempts_count) - count(*) FILTER (WHERE status IN ('completed', 'started')))::numeric
	/ (sum(attempts_count) - count(*) FILTER (WHERE status = 'started')), 3) FROM pgflow.step_tasks")
check "attempts fail at about --failure-rate $FAILURE_RATE (measured $share over $(attempts_done))" \
	python3 -c "import sys; s=float(sys.argv[1]); sys.exit(0 if abs(s - $FAILURE_RATE) < 0.1 else 1)" "$share"
check "PGMQ queues carry the tasks' messages and are consumed" eventually 20 \
	'[ "$(q "SELECT count(*) FROM pgmq.metrics_all() WHERE total_messages > 0")" = 3 ] &&
	 [ "$(q "SELECT count(*) FROM pgmq.a_emails")" -gt 0 ]'

# ---- task events ----
# Listen for task events for a while, the agents warmed up (psql prints each notification after
# every statement; a few statements spread over 4 s catch a few hundred).
(
	{ echo "LISTEN overseer_task_events;"
	  for _ in 1 2 3 4; do echo "SELECT pg_sleep(1);"; done
	  echo "SELECT 1;"
	} | psql -XAtq 2>&1
) >"$tmp/notify.txt" &
listen_pid=$!
wait "$listen_pid"
n_notes=$(grep -c '^Asynchronous notification "overseer_task_events"' "$tmp/notify.txt")
check "NOTIFY task events arrive ($n_notes in ~4 s at 40/s)" test "$n_notes" -ge 60
check "events follow contract v1 (v, task, agent, event, ts)" \
	grep -q 'payload "{"v":1,"task":"[a-z]*-[0-9]*","agent":"[a-z]*","event":"[a-z_]*","ts":"' "$tmp/notify.txt"
for e in queued started succeeded failed; do
	check "event '$e' is emitted" grep -q "\"event\":\"$e\"" "$tmp/notify.txt"
done
check "failed events carry an error class and message" \
	grep -q '"error":{"class":"[a-z_]*","message":"' "$tmp/notify.txt"

# ---- health endpoints ----
api=$(port_of api)
gw=$(port_of gateway)
resp=$(http_get "$api")
check "health endpoint answers 200 application/health+json, status pass" \
	test "$(echo "$resp" | sed -n 1p)" = 200 -a "$(echo "$resp" | sed -n 2p)" = "application/health+json" \
	-a -n "$(echo "$resp" | sed -n 3p | grep '"status":"pass"')"

chaos health api fail >/dev/null
resp=$(http_get "$api")
check "chaos health fail: 503 with status fail" \
	test "$(echo "$resp" | sed -n 1p)" = 503 -a -n "$(echo "$resp" | sed -n 3p | grep '"status":"fail"')"
chaos health api warn >/dev/null
resp=$(http_get "$api")
check "chaos health warn: 200 with status warn" \
	test "$(echo "$resp" | sed -n 1p)" = 200 -a -n "$(echo "$resp" | sed -n 3p | grep '"status":"warn"')"
chaos health gateway slow --delay 1500ms >/dev/null
t0=$(date +%s%N)
resp=$(http_get "$gw" 5)
ms=$((($(date +%s%N) - t0) / 1000000))
check "chaos health slow: answers after the delay (${ms} ms)" test "$ms" -ge 1400 -a "$(echo "$resp" | sed -n 1p)" = 200
chaos health gateway silent >/dev/null
check "chaos health silent: connection accepted, no answer" no_answer "$gw"
chaos health gateway down >/dev/null
check "chaos health down: connection refused" refused "$gw"
chaos health gateway pass >/dev/null
chaos health api pass --for 1s >/dev/null
check "endpoints back to pass (gateway listening again on port $gw)" \
	test "$(http_get "$gw" | sed -n 1p)" = 200 -a "$(http_get "$api" | sed -n 1p)" = 200
chaos health api fail --for 1s >/dev/null
sleep 1.6
check "a --for fault lifts itself" test "$(http_get "$api" | sed -n 1p)" = 200

# ---- heartbeat stop ----
chaos heartbeat-stop 0 >/dev/null
w0="${prefix}000000000000"
stale() { [ "$(q "SELECT now() - last_heartbeat_at > interval '3 s' FROM pgflow.workers WHERE worker_id = '$w0'")" = t ]; }
check "chaos heartbeat-stop: that worker goes stale" wait_until 10 stale
check "... while the others stay fresh" fresh $((SUPERVISORS - 1))
chaos heartbeat-resume 0 >/dev/null
check "heartbeat-resume: fresh again" wait_until 5 fresh $SUPERVISORS
chaos heartbeat-stop queue:emails --for 30s >/dev/null
queue_stale() {
	[ "$(q "SELECT count(*) FROM pgflow.workers WHERE worker_id::text LIKE '$prefix%'
		AND queue_name = '$1' AND now() - last_heartbeat_at > interval '3 s'")" = "$2" ]
}
check "chaos heartbeat-stop queue:NAME: every worker of the queue goes stale" \
	wait_until 10 queue_stale emails 3
chaos heartbeat-resume all >/dev/null

# ---- managed processes ----
pidf=$run/notifier.pid
pid=$(cat "$pidf" 2>/dev/null)
check "managed process runs with its pid file ($pid)" test -n "$pid" -a -d "/proc/$pid"
check "... in its own process group" test "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid"
chaos proc-kill notifier >/dev/null
check "chaos proc-kill: the pid is gone" eventually 5 '[ ! -d "/proc/$pid" ]'
check "... its pid file stays behind, naming the dead pid" test "$(cat "$pidf" 2>/dev/null)" = "$pid"
proc_state() { status_get "[p['state'] for p in d['processes'] if p['name']=='$1'][0]"; }
check "... and the fleet reports it died" eventually 5 '[ "$(proc_state notifier)" = died ]'
chaos proc-start notifier >/dev/null
newpid() { local p; p=$(cat "$pidf" 2>/dev/null); [ -n "$p" ] && [ "$p" != "$pid" ] && [ -d "/proc/$p" ]; }
check "proc-start: running again under a new pid" wait_until 5 newpid

# ---- error burst ----
before=$(status_get "d['events']['failed_by_agent']['classifier']")
chaos error-burst classifier --p 1 --for 6s >/dev/null
sleep 6.5
after=$(status_get "d['events']['failed_by_agent']['classifier']")
check "chaos error-burst: the agent's failures jump ($before -> $after)" test $((after - before)) -ge 10

# ---- service breakers ----
if [ "$have_breakers" = t ]; then
	brk() { q "SELECT state FROM overseer.breakers WHERE name = '$1'"; }
	n_breakers() { q "SELECT count(*) FROM overseer.breakers WHERE owner = 'fleet'"; }
	check "service breakers registered in overseer.breakers" eventually 10 '[ "$(n_breakers)" -ge 4 ]'
	chaos breaker-open vector-db >/dev/null
	check "chaos breaker-open: the dependency's breaker opens" eventually 15 '[ "$(brk vector-db)" = open ]'
	chaos breaker-close vector-db >/dev/null
	check "breaker-close: half-open probes close it again" eventually 40 '[ "$(brk vector-db)" = closed ]'
	q "UPDATE overseer.breakers SET state = 'forced_open', updated_by = 'alice', reason = 'test'
		WHERE name = 'smtp-relay'" >/dev/null
	dep_state() { status_get "[x['breaker'] for x in d['dependencies'] if x['name']=='$1'][0]"; }
	check "an operator's forced_open is applied by the fleet" eventually 5 \
		'[ "$(dep_state smtp-relay)" = forced_open ]'
	check "... and stays in the table" test "$(brk smtp-relay)" = forced_open
	q "UPDATE overseer.breakers SET state = 'closed', updated_by = 'alice', reason = 'done'
		WHERE name = 'smtp-relay'" >/dev/null
	check "an operator's reset closes it" eventually 5 '[ "$(dep_state smtp-relay)" = closed ]'
else
	echo "skip: overseer.breakers absent (no sql/overseer, no overseer db init)"
fi

# ---- the fleet seen by overseer ----
if [ -n "$OVERSEER" ] && [ -x "$OVERSEER" ]; then
	export XDG_STATE_HOME=$tmp/state XDG_CONFIG_HOME=$tmp/config
	"$OVERSEER" status --json --config "$tmp/overseer.ini" >"$tmp/status.json" 2>"$tmp/status.err"
	check "overseer sees the fleet: workers alive, queues, health pass" python3 - "$tmp/status.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ok = (d["postgres"]["state"] == "ok"
      and d["quantumflow"]["workers_alive"] >= 9
      and d["pgmq"]["queues_total"] >= 3
      and len(d["health"]) == 2
      and all(h["status"] == "pass" for h in d["health"]))
sys.exit(0 if ok else 1)
EOF
fi

# ---- database down and back ----
sent_before=$(status_get "d['events']['sent']")
cluster_can_stop=$(status_get "d['database']['can_stop']")
if [ "$cluster_can_stop" = True ]; then
	check "chaos db-down (pg_ctlcluster stop)" chaosq db-down --mode stop
	check "... the server refuses connections" not pg_isready -q
	check "... the api endpoint fails (its database check)" test "$(http_get "$api" | sed -n 1p)" = 503
	check "db-up: the server is back" chaosq db-up
	check "... accepting connections" wait_until 10 pg_isready -q
	check "... and the fleet recovers (heartbeats fresh)" wait_until 20 fresh $SUPERVISORS
else
	echo "skip: the cluster cannot be stopped here (not a Debian cluster or no pg_ctlcluster)"
fi
check "chaos db-down --mode refuse" chaosq db-down --mode refuse --for 3s
check "... the database refuses connections" not q "SELECT 1"
check "... and accepts them again after --for" wait_until 15 q "SELECT 1"
sent() { status_get "d['events']['sent']"; }
check "events flow again after the outages" eventually 20 '[ "$(sent)" -gt "$((sent_before + 40))" ]'
# Stopped right after an outage: the control connection may be seconds from
# its next attempt (backoff), and the workers must still be marked stopped.
check "chaos db-down --mode refuse, stopped as soon as it is back" chaosq db-down --mode refuse --for 5s
check "... accepting again" wait_until 15 q "SELECT 1"

# ---- shutdown ----
kids=$(pgrep -f -- "--pidfile $run/" | tr '\n' ' ')
kill -TERM "$fleet_pid"
gone() { ! kill -0 "$fleet_pid" 2>/dev/null; }
check "SIGTERM: the fleet exits within 15 s" wait_until 15 gone
wait "$fleet_pid"
rc=$?
fleet_pid=
check "... with status 0" test "$rc" = 0
left=""
for k in $kids; do [ -d "/proc/$k" ] && left="$left $k"; done
check "... its managed processes are gone (were: $kids)" test -z "$left"
check "... no worker-proc of this fleet is left" not pgrep -f -- "--pidfile $run/"
check "... its pid files and control socket are removed" test -z "$(ls "$run" 2>/dev/null)"
check "... its workers are marked stopped" test \
	"$(q "SELECT count(*) FROM pgflow.workers WHERE worker_id::text LIKE '$prefix%' AND stopped_at IS NULL")" = 0

# ---- max rate (a sanity floor; the figure goes to the log) ----
"$FLEET" run --rate max --duration 4s --stats 0 --procs 0 --no-http --supervisors 2 \
	--pidfile-dir "$tmp/max" --ready-file "$tmp/max.json" 2>"$tmp/max.log"
rate=$(sed -n 's/.*events \([0-9]*\) sent (\([0-9.]*\)\/s.*/\2/p' "$tmp/max.log" | tail -1)
echo "     --rate max: ${rate:-?} events/s over the last seconds"
check "--rate max sends more than 1000 events/s" python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 0) > 1000 else 1)" "${rate:-0}"

if [ "$failures" -gt 0 ]; then
	echo "---- fleet log ----"
	cat "$tmp/fleet.log"
	echo "$failures of $checks checks failed"
	exit 1
fi
echo "all $checks checks passed"
