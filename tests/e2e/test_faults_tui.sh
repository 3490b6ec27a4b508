#!/usr/bin/env bash
# Hostile terminal sizes and the command line's guards (issue 10).
#
# Sizes: 1x1, 2x2, 20x5 and 500x200, then back to 80x24: the console keeps
# running (a 'too small' notice where nothing fits), redraws correctly when
# given room again (title bar with the Overview tab on line 1, key bar on the
# last line, the tiles back), and at 500x200 shows every tile. Then ten
# swings between 1x1 and 500x200 as fast as tmux resizes.
#
# Guards: read-only mode refuses actions typed on the `:` command line, not
# only their keys (trip, reset, stop), and `:stop` of a managed service still
# asks for the typed confirmation; an empty confirmation kills nothing.
#
# A private tmux server (tui_lib.sh: tmux -L ovtest-PID), PostgreSQL from
# pg_virtualenv, its own database.
. "$(dirname "$0")/tui_lib.sh"
tui_init faults

resize() { "${T[@]}" resize-window -x "$1" -y "$2" >/dev/null 2>&1; }
line_has() { tui_screen | sed -n "$1p" | grep -qF -- "$2"; }
pane_size() { "${T[@]}" display-message -p '#{pane_width}x#{pane_height}' 2>/dev/null; }
state() { psql -XAtqc "SELECT state FROM overseer.breakers WHERE name = '$1'"; }
still_running() { tui_alive "$OV_PID" && [ ! -s "$D/exit" ]; }
# every tile of the Overview (as test_tui_screens.sh names them)
tiles=("PostgreSQL" "passing" "workers 3 alive" "25 messages" " breakers: " "1 running"
	"Incidents")

tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
check "80x24: the console is up" tui_wait "PostgreSQL" 15

# --- tiny sizes -----------------------------------------------------------------
for s in 1x1 2x2 20x5; do
	resize "${s%x*}" "${s#*x}"
	check "$s: tmux gave the pane that size" test "$(pane_size)" = "$s"
	sleep 0.7 # several frames at this size
	check "$s: still running" still_running
done
check "20x5: a 'too small' notice" tui_wait "too small" 5
resize 80 24
check "back to 80x24: the Overview tab is on line 1" tui_wait "[1 Ove" 5
check "back to 80x24: title bar on line 1" line_has 1 "[1 Ove"
check "back to 80x24: key bar on line 24" line_has 24 "Quit"
check "back to 80x24: the PostgreSQL tile is back" tui_wait "PostgreSQL" 5
check "back to 80x24: no 'too small' notice left" tui_wait_gone "too small" 3

# --- a very large terminal ----------------------------------------------------------
resize 500 200
check "500x200: tmux gave the pane that size" test "$(pane_size)" = 500x200
sleep 0.7
check "500x200: still running" still_running
for t in "${tiles[@]}"; do
	check "500x200: tile '$t' visible" tui_wait "$t" 10
done
check "500x200: title bar on line 1" line_has 1 "[1 Ove"
check "500x200: key bar on the last line (200)" line_has 200 "Quit"

# --- swings between the extremes ------------------------------------------------
for _ in $(seq 10); do
	resize 1 1
	sleep 0.05
	resize 500 200
	sleep 0.05
done
check "10 swings 1x1 <-> 500x200: still running" still_running
resize 80 24
check "after the swings at 80x24: title bar on line 1" tui_wait "[1 Ove" 5
sleep 0.5
check "after the swings at 80x24: key bar on line 24" line_has 24 "Quit"
check "after the swings at 80x24: the tiles are back" tui_wait "PostgreSQL" 5
# a key typed while tiny is acted on: the input path survived too
resize 1 1
tui_keys 4
resize 80 24
check "a key pressed at 1x1 was taken (Breakers screen)" tui_wait "[4 Bre" 5

# --- the guards on the command line -----------------------------------------
tui_keys 1
tui_keys : "stop sleeper" Enter
check ":stop asks for the typed confirmation" tui_wait "[ Cancel ]" 5
tui_keys Enter
sleep 1
check ":stop + empty confirmation: the process lives" tui_alive "$SLEEPER_PID"
tui_keys Escape
tui_wait_gone "[ Cancel ]" 3
tui_keys q
check "q ends it" tui_wait_exit 3
check "exit status 0 after the size faults" test "$(cat "$D/exit" 2>/dev/null)" = 0
for _ in $(seq 20); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
check "terminal settings as before" cmp -s "$D/stty.before" "$D/stty.after"

tui_start 100x30 LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --read-only
tui_wait " breakers: " 10
check "read-only is shown" tui_wait "READ-ONLY" 5
tui_keys : "trip payments sneaky" Enter
check "read-only: ':trip' is refused with a reason" tui_wait "read-only" 5
check "read-only: ':trip' opened no dialog" tui_wait_gone "[ Cancel ]" 2
check "read-only: ':trip' left the row closed" test "$(state payments)" = closed
tui_keys : "stop sleeper" Enter
sleep 0.5
check "read-only: ':stop' opened no dialog" tui_wait_gone "[ Cancel ]" 2
check "read-only: ':stop' left the process running" tui_alive "$SLEEPER_PID"
tui_keys : "note 1 hello" Enter
sleep 0.3
check "read-only: the console still runs after refused commands" still_running
if "$OVERSEER_BIN" --config "$D/config.ini" audit --json >"$D/audit.json" 2>/dev/null; then
	check "read-only: the ':trip' refusal is audited" \
		grep -q '"result": *"refused"' "$D/audit.json"
fi
tui_keys q
tui_wait_exit 3
tui_done
