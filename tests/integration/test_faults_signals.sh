#!/usr/bin/env bash
# SIGTERM and SIGHUP during writes (issue 10).
#
# Part 1, the command line: `incidents note`, `incidents ack` and
# `breakers trip|reset` (each writes the local sqlite history, the last one
# PostgreSQL too) are started one after another and signalled at a random
# moment, $ROUNDS times. The commands keep the default disposition of both
# signals, so each ends either with its own status (0: done) or killed by the
# signal (shell status 128+N: 143 for SIGTERM, 129 for SIGHUP); nothing else
# is acceptable. Afterwards: PRAGMA integrity_check is ok, every command that
# exited 0 has its row and its audit row (no acknowledged write lost), no row
# is there twice, and the audit table refuses UPDATE and DELETE (triggers).
#
# Part 2, the console: the TUI in a private tmux server trips and resets a
# breaker and is signalled at a random moment; it must exit 0 (its documented
# status for SIGTERM/SIGHUP), leave the terminal settings exactly as they were
# (stty -g in the pane before and after), and leave the database intact.
#
# Needs PostgreSQL (PG* from pg_virtualenv), python3 (its sqlite3 module reads
# the database) and tmux for part 2. Exit 77 = skipped.
set -u

ROUNDS=${OV_SIGNAL_ROUNDS:-51}
TUI_ROUNDS=${OV_SIGNAL_TUI_ROUNDS:-6}
FAILS=0
TESTS=0

skip() { echo "SKIP: $*"; exit 77; }
[ -n "${OVERSEER_BIN:-}" ] && [ -x "$OVERSEER_BIN" ] || skip "OVERSEER_BIN not set"
command -v python3 >/dev/null || skip "python3 not installed"
psql -XAtqc 'select 1' >/dev/null 2>&1 || skip "no PostgreSQL (run under pg_virtualenv)"

D=$(mktemp -d /tmp/ovsig.XXXXXX)
DB="ov_sig_$$"
SOCK="ovsig-$$"
T=(tmux -L "$SOCK" -f /dev/null)
cleanup() {
	"${T[@]}" kill-server >/dev/null 2>&1
	[ -s "$D/tui.pid" ] && kill -9 "$(cat "$D/tui.pid")" 2>/dev/null
	dropdb --if-exists "$DB" >/dev/null 2>&1
	if [ "$FAILS" -ne 0 ] && [ -f "$D/overseer.log" ]; then
		echo "--- last lines of the log"
		tail -n 10 "$D/overseer.log"
	fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $*"; }
not_ok() { TESTS=$((TESTS + 1)); FAILS=$((FAILS + 1)); echo "not ok $TESTS - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# sql QUERY [ARGS...]: run QUERY on the history database, print rows '|'-joined;
# exit status 1 with sqlite's message on stderr when it fails.
sql() {
	python3 - "$D/overseer.db" "$@" <<-'PY'
		import sqlite3, sys
		db = sqlite3.connect(sys.argv[1], timeout=10)
		try:
		    for row in db.execute(sys.argv[2], sys.argv[3:]):
		        print("|".join("" if v is None else str(v) for v in row))
		    db.commit()
		except sqlite3.Error as e:
		    print(e, file=sys.stderr)
		    sys.exit(1)
	PY
}

createdb "$DB" || { echo "createdb failed"; exit 1; }
export PGDATABASE="$DB"
cat >"$D/config.ini" <<EOF
[overseer]
interval = 1s
db = $D/overseer.db
log = $D/overseer.log
EOF
OV=("$OVERSEER_BIN" --config "$D/config.ini")
"${OV[@]}" db init >/dev/null || { echo "overseer db init failed"; exit 1; }
psql -Xq -v ON_ERROR_STOP=1 -c "INSERT INTO overseer.breakers(name, state, owner, updated_by, reason)
	VALUES ('payments', 'closed', 'billing', 'billing', 'healthy')" >/dev/null
"${OV[@]}" incidents list >/dev/null 2>&1 # creates the history database
# Incidents to acknowledge, one per round at most (an engine would write
# these; the CLI cannot trigger).
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROUNDS)
	INSERT INTO incidents (id, dedup_key, kind, title, severity, status, triggered_at,
	last_event_at) SELECT i, 'sig:' || i, 'target_down', 'seeded ' || i, 'critical',
	'triggered', 1714564800000, 1714564800000 FROM n" ||
	{ echo "seeding incidents failed"; exit 1; }

# --- outside text reaches SQL only as bound parameters ---------------------------
EVIL="x'); DROP TABLE overseer.breakers; --"
EVIL_NOTE="'); DROP TABLE notes; --"
quiet() { "$@" >/dev/null 2>&1; }
check "a reason made of SQL is accepted as text" \
	quiet "${OV[@]}" breakers trip payments --reason "$EVIL"
check "  ... and stored verbatim in PostgreSQL" test \
	"$(psql -XAtqc "SELECT reason FROM overseer.breakers WHERE name = 'payments'")" = "$EVIL"
check "  ... and verbatim in the audit" test \
	"$(sql "SELECT count(*) FROM operator_actions WHERE reason = ?" "$EVIL")" = 1
check "a note made of SQL is stored verbatim" quiet "${OV[@]}" incidents note 1 "$EVIL_NOTE"
check "  ... and the notes table is still there" test \
	"$(sql "SELECT count(*) FROM notes WHERE text = ?" "$EVIL_NOTE")" = 1
"${OV[@]}" breakers reset payments --reason "back" >/dev/null

# --- part 1: the command line ---------------------------------------------------
# A command whose status is 0 has acknowledged its write; record which.
declare -a KIND STATUS ARG
breaker_state=closed
unexpected=0
for ((i = 1; i <= ROUNDS; i++)); do
	if ((i % 2)); then sig=TERM; signum=15; else sig=HUP; signum=1; fi
	case $((i % 3)) in
	0) KIND[i]=note; ARG[i]="sig-note-$i"
	   cmd=("${OV[@]}" incidents note 1 "sig-note-$i") ;;
	1) KIND[i]=ack; ARG[i]=$i
	   cmd=("${OV[@]}" incidents ack "$i") ;;
	2) KIND[i]=breaker; ARG[i]="sig-$i"
	   if [ "$breaker_state" = closed ]; then verb=trip; else verb=reset; fi
	   cmd=("${OV[@]}" breakers "$verb" payments --reason "sig-$i") ;;
	esac
	"${cmd[@]}" >/dev/null 2>"$D/err.$i" &
	pid=$!
	# 0-149 ms: under ASan a command takes about that long, so signals
	# land before, during and after its writes.
	sleep "0.$(printf '%03d' $((RANDOM % 150)))"
	kill -s "$sig" "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null # no "Hangup"/"Terminated" job notices
	STATUS[i]=$?
	if [ "${STATUS[i]}" -ne 0 ] && [ "${STATUS[i]}" -ne $((128 + signum)) ]; then
		unexpected=$((unexpected + 1))
		echo "    round $i (${KIND[i]}, SIG$sig): status ${STATUS[i]}: $(head -c 300 "$D/err.$i")"
	fi
	if [ "${KIND[i]}" = breaker ]; then
		breaker_state=$(psql -XAtqc "SELECT state FROM overseer.breakers WHERE name = 'payments'")
	fi
done
finished=0 killed=0
for ((i = 1; i <= ROUNDS; i++)); do
	if [ "${STATUS[i]}" -eq 0 ]; then finished=$((finished + 1)); else killed=$((killed + 1)); fi
done
echo "# $ROUNDS commands: $finished finished, $killed ended by the signal"
check "every command exited 0 or by its signal (143 SIGTERM, 129 SIGHUP)" test "$unexpected" -eq 0
check "the signals interrupted some commands and missed others" \
	test "$finished" -gt 0 -a "$killed" -gt 0
check "integrity_check is ok after $ROUNDS signalled writers" \
	test "$(sql 'PRAGMA integrity_check')" = ok

lost=0 twice=0 unaudited=0
for ((i = 1; i <= ROUNDS; i++)); do
	case ${KIND[i]} in
	note)
		n=$(sql "SELECT count(*) FROM notes WHERE text = ?" "${ARG[i]}")
		a=$(sql "SELECT count(*) FROM operator_actions WHERE action = 'incident.note'
			AND result = 'ok' AND \"after\" = ?" "${ARG[i]}")
		;;
	ack)
		n=$(sql "SELECT count(*) FROM incidents WHERE id = ? AND status = 'acknowledged'" "$i")
		a=$(sql "SELECT count(*) FROM operator_actions WHERE action = 'incident.ack'
			AND result = 'ok' AND target = ?" "incident:$i")
		;;
	breaker)
		n=$(sql "SELECT count(*) FROM operator_actions WHERE action LIKE 'breaker.%'
			AND result = 'ok' AND reason = ?" "${ARG[i]}")
		a=$n
		;;
	esac
	[ "$n" -gt 1 ] || [ "$a" -gt 1 ] && { twice=$((twice + 1)); echo "    round $i: rows $n, audit $a"; }
	if [ "${STATUS[i]}" -eq 0 ]; then
		[ "$n" -eq 1 ] || { lost=$((lost + 1)); echo "    round $i (${KIND[i]}) exited 0 but its row is missing"; }
		[ "$a" -eq 1 ] || { lost=$((lost + 1)); echo "    round $i (${KIND[i]}) exited 0 but its audit row is missing"; }
	elif [ "$n" -eq 1 ] && [ "$a" -eq 0 ]; then
		# killed between the change and its audit row
		unaudited=$((unaudited + 1))
		echo "    round $i (${KIND[i]}, killed): change recorded without its audit row"
	fi
done
check "no write acknowledged by exit 0 is lost (row and audit row)" test "$lost" -eq 0
check "no row or audit row written twice" test "$twice" -eq 0
# actions_defer_signals: a kill waits until the audit row is written
check "no killed command left its change without its audit row" test "$unaudited" -eq 0

# --- the audit is append-only ---------------------------------------------------
triggers=$(sql "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'operator_actions'")
check "operator_actions has its two append-only triggers" test "$triggers" -eq 2
rows=$(sql "SELECT count(*) FROM operator_actions")
check "the audit has rows to protect" test "$rows" -gt 0
sql_fails() { ! sql "$1" 2>"$2"; }
check "UPDATE on the audit fails" sql_fails "UPDATE operator_actions SET actor = 'x'" "$D/upd.err"
check "  ... saying it is append-only" grep -q "append-only" "$D/upd.err"
check "DELETE on the audit fails" sql_fails "DELETE FROM operator_actions" "$D/del.err"
check "  ... saying it is append-only" grep -q "append-only" "$D/del.err"
check "the audit still has every row" test "$(sql 'SELECT count(*) FROM operator_actions')" -eq "$rows"
check "overseer audit still reads the history" quiet "${OV[@]}" audit

# --- part 2: the console, signalled while acting ----------------------------------
if ! command -v tmux >/dev/null; then
	echo "# tmux not installed: console part skipped"
else
	screen() { "${T[@]}" capture-pane -p 2>/dev/null; }
	wait_text() { # TEXT SECONDS
		local i
		for ((i = 0; i < $2 * 10; i++)); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
		return 1
	}
	alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
	tui_bad_exit=0 tui_bad_stty=0 tui_slow=0 started=0
	for ((r = 1; r <= TUI_ROUNDS; r++)); do
		if ((r % 2)); then sig=TERM; else sig=HUP; fi
		rm -f "$D/exit" "$D/stty.before" "$D/stty.after" "$D/tui.pid"
		"${T[@]}" kill-server >/dev/null 2>&1
		for _ in 1 2 3 4 5; do
			"${T[@]}" new-session -d -x 100 -y 30 \
				"trap '' INT; stty -g >'$D/stty.before'; env TERM=xterm-256color LANG=C.UTF-8 '$OVERSEER_BIN' --config '$D/config.ini' & echo \$! >'$D/tui.pid'; wait \$!; echo \$? >'$D/exit'; stty -g >'$D/stty.after'; sleep 600" \
				2>/dev/null && break
			sleep 0.3
		done
		for _ in $(seq 50); do [ -s "$D/tui.pid" ] && break; sleep 0.1; done
		pid=$(cat "$D/tui.pid" 2>/dev/null)
		[ -n "$pid" ] && wait_text "PostgreSQL" 15 && started=$((started + 1))
		# trip (or reset) payments, confirm, and signal at a random moment
		"${T[@]}" send-keys b / payments Enter
		wait_text "payments" 5
		if ((r % 2)); then "${T[@]}" send-keys t; else "${T[@]}" send-keys r; fi
		"${T[@]}" send-keys y
		sleep "0.$(printf '%03d' $((RANDOM % 300)))"
		kill -s "$sig" "$pid" 2>/dev/null
		for _ in $(seq 40); do alive "$pid" || break; sleep 0.05; done
		alive "$pid" && { tui_slow=$((tui_slow + 1)); kill -9 "$pid"; }
		for _ in $(seq 40); do [ -s "$D/stty.after" ] && break; sleep 0.05; done
		st=$(cat "$D/exit" 2>/dev/null)
		[ "$st" = 0 ] || { tui_bad_exit=$((tui_bad_exit + 1)); echo "    console round $r (SIG$sig): exit '$st'"; }
		cmp -s "$D/stty.before" "$D/stty.after" ||
			{ tui_bad_stty=$((tui_bad_stty + 1)); echo "    console round $r (SIG$sig): stty differs"; }
	done
	"${T[@]}" kill-server >/dev/null 2>&1
	check "the console started in all $TUI_ROUNDS rounds" test "$started" -eq "$TUI_ROUNDS"
	check "console: SIGTERM/SIGHUP while acting end it within 2 s" test "$tui_slow" -eq 0
	check "console: exit status 0 after SIGTERM/SIGHUP" test "$tui_bad_exit" -eq 0
	check "console: terminal settings (stty -g) as before" test "$tui_bad_stty" -eq 0
	check "console: integrity_check ok afterwards" test "$(sql 'PRAGMA integrity_check')" = ok
	check "console: the audit kept every earlier row" \
		test "$(sql 'SELECT count(*) FROM operator_actions')" -ge "$rows"
fi

echo "1..$TESTS"
[ "$FAILS" -eq 0 ] || { echo "$FAILS of $TESTS failed"; exit 1; }
exit 0
