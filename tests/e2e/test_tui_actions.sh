#!/usr/bin/env bash
# Operator actions by keys: tripping and resetting a shared breaker changes
# its row in PostgreSQL and writes audit rows; the dialog defaults to Cancel;
# a breaker that changed between the keypress and the `y` is left alone;
# killing a managed process needs its pid typed; read-only mode refuses
# both; the command line and its history; `y` copies through OSC 52.
. "$(dirname "$0")/tui_lib.sh"
tui_init actions

state() { psql -XAtqc "SELECT state FROM overseer.breakers WHERE name = '$1'"; }
events() { psql -XAtqc "SELECT count(*) FROM overseer.breaker_events WHERE name = '$1'"; }
audit_has() { # action target result: one audit row with all three
	"$OVERSEER_BIN" --config "$D/config.ini" audit --json 2>/dev/null |
		tr -d ' \n' | sed 's/},{"id":/}\n{"id":/g' |
		grep "\"action\":\"$1\",\"target\":\"$2\"" | grep -q "\"result\":\"$3\""
}
have_audit_cmd() { "$OVERSEER_BIN" --config "$D/config.ini" audit --help >/dev/null 2>&1; }
alive() { tui_alive "$1"; }

tui_start 120x40 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
tui_wait " breakers: " 10

# --- trip from the Overview: b (Breakers), t (trip the first row), y -----
before=$(events payments)
# The console's own breakers share the table: select the service's row.
tui_keys b / payments Enter
check "b opens the breakers screen with payments first" tui_wait "payments" 5
tui_keys t
check "t opens a dialog naming action and target" tui_wait "Trip breaker" 5
check "the dialog names the breaker and its state" tui_wait "Breaker 'payments' is closed" 5
check "Cancel is the default" tui_wait "[ Cancel ]" 5
tui_keys Enter
check "Enter cancels (only y confirms)" tui_wait "cancelled" 5
check "nothing changed after a cancel" test "$(state payments)" = closed
tui_keys t
tui_wait "Trip breaker" 5
tui_keys y
check "b t y: the row is forced_open in PostgreSQL" tui_sql_wait \
	"SELECT state FROM overseer.breakers WHERE name = 'payments'" forced_open 10
check "the trip is recorded in breaker_events" test "$(events payments)" -gt "$before"
check "the screen shows the new state" tui_wait "forced_open" 5
if have_audit_cmd; then
	check "the trip is in the local audit" audit_has breaker.trip payments ok
fi

# --- reset ---------------------------------------------------------------
tui_keys r
check "r opens the reset dialog" tui_wait "Reset breaker" 5
tui_keys y
check "r y: the row is closed again" tui_sql_wait \
	"SELECT state FROM overseer.breakers WHERE name = 'payments'" closed 10
if have_audit_cmd; then
	check "the reset is in the local audit" audit_has breaker.reset payments ok
fi

# --- identity re-check: the state moved on between t and y ---------------
tui_wait "$(printf '● closed')" 5
tui_keys t
tui_wait "Trip breaker" 5
psql -XAtqc "UPDATE overseer.breakers SET state = 'open', updated_by = 'billing' WHERE name = 'payments'" >/dev/null
sleep 1
tui_keys y
check "a breaker that changed since the keypress is left alone" tui_wait "nothing done" 5
check "its row keeps the other writer's state" test "$(state payments)" = open
psql -XAtqc "UPDATE overseer.breakers SET state = 'closed' WHERE name = 'payments'" >/dev/null

# --- the command line and its history -----------------------------------
tui_keys : "trip search deploy in progress" Enter
check ":trip NAME REASON opens the same dialog" tui_wait "Breaker 'search'" 5
tui_keys y
check ":trip search: forced_open" tui_sql_wait \
	"SELECT state FROM overseer.breakers WHERE name = 'search'" forced_open 10
check ":trip keeps the operator's reason" tui_sql_wait \
	"SELECT reason FROM overseer.breakers WHERE name = 'search'" "deploy in progress" 5
tui_keys : "reset search" Enter
tui_wait "Reset breaker" 5
tui_keys y
tui_sql_wait "SELECT state FROM overseer.breakers WHERE name = 'search'" closed 10
tui_keys : Up
check "Up recalls the last command" tui_wait ":reset search" 5
tui_keys Escape
tui_keys : "tirp search" Enter
check "a mistyped command gets a hint" tui_wait "did you mean 'trip'" 5

# --- OSC 52: y copies the selected name ---------------------------------
"${T[@]}" set-option -g set-clipboard on
tui_keys 4 g y
check "y says what it copied" tui_wait "copied 'payments'" 5
check "the terminal received it (tmux buffer)" sh -c "tmux -L $TMUX_SOCK show-buffer 2>/dev/null | grep -qx payments"

# --- adopting: the identity is recorded through procs (the CLI's path) ----
tui_keys 5
tui_wait "sleeper" 5
tui_keys a
check "a asks to record the identity" tui_wait "Record its identity" 5
tui_keys y
check "the adoption is reported" tui_wait "sleeper: done" 5
check "the identity is in the store (overseer procs)" sh -c \
	"'$OVERSEER_BIN' --config '$D/config.ini' procs --json | tr -d ' \n' | grep -q '\"name\":\"sleeper\"[^}]*\"adopted\":true'"
tui_keys Enter
check "the detail says it is adopted and watched" tui_wait "adopted (identity recorded), watched" 5
tui_keys Escape
if have_audit_cmd; then
	check "the adoption is in the local audit" audit_has process.adopt sleeper ok
fi

# --- killing a managed process: the pid must be typed -------------------
tui_keys X
check "X asks for the pid to be typed" tui_wait "Type $SLEEPER_PID" 5
tui_keys 1 2 3 Enter
check "a wrong pid does nothing" tui_wait "nothing done" 5
check "the process is still alive" alive "$SLEEPER_PID"
tui_keys X
tui_wait "Type $SLEEPER_PID" 5
tui_keys "$SLEEPER_PID" Enter
for _ in $(seq 50); do alive "$SLEEPER_PID" || break; sleep 0.1; done
# it is our child: reap it so kill -0 stops seeing a zombie
wait "$SLEEPER_PID" 2>/dev/null
check "typing the pid kills the process" sh -c "! kill -0 $SLEEPER_PID 2>/dev/null"
check "the result is in the status line" tui_wait "sleeper" 5
if have_audit_cmd; then
	check "the kill is in the local audit" audit_has process.kill sleeper ok
fi
SLEEPER_PID=""

# --- incidents: acknowledge, note, resolve --------------------------------
echo 503 >"$D/http.status"
tui_keys 6
check "a failing target opens an incident" tui_wait "triggered" 20
# Its breaker opens too (a second incident): wait for both, then pick that one
# by filter, so the rows no longer move while we act.
check "the target's breaker opening is an incident too" tui_wait "breaker api open" 20
tui_keys / "breaker api" Enter
tui_keys Enter
check "Enter shows the incident's timeline" tui_wait "Timeline" 5
tui_keys n
check "n asks for the note" tui_wait "Note on incident" 5
tui_keys "paged the api team" Enter
check "the note is on the timeline" tui_wait "paged the api team" 5
tui_keys a
check "a asks to acknowledge" tui_wait "Acknowledge it" 5
tui_keys y
check "a y: acknowledged" tui_wait "acknowledged" 5
tui_keys r y
check "r y: resolved" tui_wait "resolved     " 5
if have_audit_cmd; then
	check "the acknowledgement is audited" audit_has incident.ack 'incident:[0-9]*' ok
	check "the note is audited" audit_has incident.note 'incident:[0-9]*' ok
	check "the resolution is audited" audit_has incident.resolve 'incident:[0-9]*' ok
fi
echo 200 >"$D/http.status"
tui_keys q
tui_wait_exit 3

# --- read-only mode refuses, in one place, and says so ------------------
tui_sleeper_start
tui_start 120x40 LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --read-only
tui_wait " breakers: " 10
check "read-only is shown in the title bar" tui_wait "READ-ONLY" 5
tui_keys b / payments Enter
# the row must be listed before t (under load the first poll can lag)
for _ in $(seq 1 100); do tui_screen | grep -qE "payments +closed" && break; sleep 0.1; done
tui_keys t
check "read-only: t is refused with a reason" tui_wait "read-only" 5
check "read-only: no dialog opened" tui_wait_gone "[ Cancel ]" 2
check "read-only: the row is unchanged" test "$(state payments)" = closed
tui_keys 5
tui_wait "sleeper" 5
tui_keys X
check "read-only: X is refused" tui_wait "read-only" 5
check "read-only: the process lives" alive "$SLEEPER_PID"
tui_keys 9
check "read-only: help marks the refused keys" tui_wait "(read-only)" 5
if have_audit_cmd; then
	check "read-only: the refusal is audited" audit_has breaker.trip payments refused
fi
tui_keys q
tui_wait_exit 3
tui_done
