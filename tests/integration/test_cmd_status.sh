#!/usr/bin/env bash
# `overseer status --json` against a real PostgreSQL (run under pg_virtualenv)
# with the PGMQ- and pgflow-compatible schemas and a refused health target:
# every probe reported, the verdict and the exit status follow docs/status.md.
set -u
bin=${OVERSEER_BIN:?}
src=${OV_SRCDIR:?}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
db=ovstatus_$$
tmp=$(mktemp -d)
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
createdb "$db" || { echo "cannot create database"; exit 1; }
export PGDATABASE=$db XDG_STATE_HOME=$tmp/state
psql -q -v ON_ERROR_STOP=1 -f "$src/sql/testing/pgmq_compat.sql" >/dev/null
psql -q -v ON_ERROR_STOP=1 -f "$src/sql/testing/pgflow_compat.sql" >/dev/null
psql -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT pgmq.create('emails');
SELECT pgmq.send('emails', jsonb_build_object('n', g)) FROM generate_series(1, 25) g;
INSERT INTO pgflow.workers(worker_id, queue_name, function_name, started_at, last_heartbeat_at)
SELECT gen_random_uuid(), 'emails', 'send_email', now() - interval '1 hour', now() FROM generate_series(1, 3);
INSERT INTO pgflow.workers(worker_id, queue_name, function_name, started_at, last_heartbeat_at)
SELECT gen_random_uuid(), 'embeddings', 'embed', now() - interval '1 hour', now() - interval '5 minutes'
FROM generate_series(1, 2);
SQL
# A port nobody listens on: bind-and-close gives a free one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/c.ini" <<INI
[postgres]
conninfo = dbname=$db
[health "api"]
url = http://127.0.0.1:$port/health
timeout = 1s
connect_timeout = 500ms
INI

get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/out.json" "$1"; }
expect() { # description, python expression over d, wanted value
	local got
	got=$(get "$2" 2>&1)
	[ "$got" = "$3" ] && ok || bad "$1: got '$got', want '$3'"
}

"$bin" status --json --config "$tmp/c.ini" >"$tmp/out.json"
rc=$?
[ $rc -eq 2 ] && ok || bad "exit status $rc, want 2 (critical: a group with no live worker)"
expect "schema version" "d['v']" 1
expect "verdict" "d['verdict']" critical
expect "postgres ok" "d['postgres']['state']" ok
expect "postgres database" "d['postgres']['database']" "$db"
expect "rates need two samples" "d['postgres']['commits_per_s']" None
expect "pgmq ok" "d['pgmq']['state']" ok
expect "queue length" "[q['length'] for q in d['pgmq']['queues'] if q['name']=='emails'][0]" 25
expect "quantumflow ok" "d['quantumflow']['state']" ok
expect "workers alive" "d['quantumflow']['workers_alive']" 3
expect "workers stale" "d['quantumflow']['workers_stale']" 2
expect "groups listed" "len(d['quantumflow']['worker_groups'])" 2
expect "groups total" "d['quantumflow']['groups_total']" 2
expect "dead group named" "any('no live worker for queue embeddings' in r for r in d['reasons'])" True
expect "health failed" "d['health'][0]['state']" error
expect "health class" "d['health'][0]['class']" connection
expect "health reason listed" "any('health api' in r for r in d['reasons'])" True
expect "correlation id" "len(d['postgres']['corr'])" 32

# The dead group retired: only the failing health target remains -> degraded (1).
psql -q -c "UPDATE pgflow.workers SET stopped_at = now() WHERE queue_name = 'embeddings'" >/dev/null
# The live workers heartbeat, as live workers do (the checks above can take
# longer than heartbeat_stale_after = 6 s on a loaded machine).
psql -q -c "UPDATE pgflow.workers SET last_heartbeat_at = now() WHERE queue_name = 'emails'" >/dev/null
"$bin" status --json --config "$tmp/c.ini" >"$tmp/out.json"
rc=$?
[ $rc -eq 1 ] && ok || bad "exit status $rc, want 1 (degraded)"
expect "verdict degraded" "d['verdict']" degraded

# Human output: same verdict, sanitised, names every panel.
out=$("$bin" status --config "$tmp/c.ini" 2>&1)
case "$out" in *"overseer status: degraded"*PostgreSQL*PGMQ*QuantumFlow*"health api"*) ok ;;
*) bad "human output: $out" ;; esac

# PostgreSQL unreachable: critical (2) with a connection-class reason.
printf '[postgres]\nconninfo = host=127.0.0.1 port=%s dbname=x connect_timeout=2\n' "$port" >"$tmp/down.ini"
"$bin" status --json --config "$tmp/down.ini" >"$tmp/out.json"
rc=$?
[ $rc -eq 2 ] && ok || bad "exit status $rc with PostgreSQL down, want 2"
expect "postgres error class" "d['postgres']['class']" connection
expect "pgmq skipped, not failed" "d['pgmq']['state']" skipped

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
