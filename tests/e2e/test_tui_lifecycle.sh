#!/usr/bin/env bash
# The console's life in a terminal: 20 rapid resizes (down to 20x5) cause
# no crash and leave a correct layout; SIGHUP and closing the pane end it
# within a second with the local database intact; after SIGTERM the
# terminal's settings (stty -g) are exactly as before; it never spins.
. "$(dirname "$0")/tui_lib.sh"
tui_init lifecycle

resize() { "${T[@]}" resize-window -x "$1" -y "$2" >/dev/null 2>&1; }
line_has() { tui_screen | sed -n "$1p" | grep -qF -- "$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
db_ok() { "$OVERSEER_BIN" --config "$D/config.ini" incidents list >/dev/null 2>&1; }

# --- resizes -----------------------------------------------------------------
tui_start 100x30 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
sizes=(80x24 20x5 200x50 40x10 30x8 120x40 20x5 81x25 60x15 20x5
	100x30 79x23 150x45 20x5 90x28 45x12 20x5 200x50 33x9 100x30)
for s in "${sizes[@]}"; do resize "${s%x*}" "${s#*x}"; sleep 0.05; done
check "20 rapid resizes: still running" tui_alive "$OV_PID"
sleep 0.5
check "after the resizes: the title bar is on the first line" line_has 1 "[1 Ove"
check "after the resizes: the key bar is on the last line (row 30)" line_has 30 "Quit"
check "after the resizes: the tiles are back" tui_wait "PostgreSQL" 5
resize 20 5
check "20x5: a 'too small' notice" tui_wait "too small" 5
check "20x5: still running" tui_alive "$OV_PID"
tui_keys 4
resize 80 24
check "back to 80x24: the key pressed while small was taken" tui_wait "[4 Bre" 5
# a resize while a dialog is open keeps the dialog
tui_keys t
tui_wait "Trip breaker" 5
resize 60 20
resize 90 26
check "a dialog survives a resize" tui_wait "[ Cancel ]" 5
tui_keys n
check "and still cancels" tui_wait "cancelled" 5

# --- idle cost: no spinning ---------------------------------------------------
t0=$(cpu_ticks "$OV_PID")
sleep 3
t1=$(cpu_ticks "$OV_PID")
check "idle: under 10% CPU over 3 s" test $((t1 - t0)) -lt 30

# --- SIGTERM restores the terminal exactly --------------------------------------
kill -TERM "$OV_PID"
check "SIGTERM: ends within a second" tui_wait_exit 1
for _ in $(seq 20); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
check "SIGTERM: exit status 0" test "$(cat "$D/exit" 2>/dev/null)" = 0
check "SIGTERM: stty settings as before" cmp -s "$D/stty.before" "$D/stty.after"
check "SIGTERM: the local database opens" db_ok

# --- SIGINT (Ctrl-C) ------------------------------------------------------------
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
tui_keys C-c
check "Ctrl-C: ends within a second" tui_wait_exit 1
for _ in $(seq 20); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
check "Ctrl-C: stty settings as before" cmp -s "$D/stty.before" "$D/stty.after"

# --- SIGHUP -------------------------------------------------------------------
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
kill -HUP "$OV_PID"
check "SIGHUP: ends within a second" tui_wait_exit 1
for _ in $(seq 20); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
check "SIGHUP from kill (terminal still there): stty settings as before" \
	cmp -s "$D/stty.before" "$D/stty.after"
check "SIGHUP: the local database opens" db_ok

# --- the pane is closed (what an SSH drop looks like) ----------------------------
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
"${T[@]}" kill-pane
check "kill-pane: ends within a second" tui_wait_exit 1
check "kill-pane: the local database opens" db_ok

# --- a fatal signal: the terminal is restored by the handler ----------------
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
kill -ABRT "$OV_PID"
check "SIGABRT: the process ends" tui_wait_exit 3
for _ in $(seq 30); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
check "SIGABRT: stty settings as before" cmp -s "$D/stty.before" "$D/stty.after"

# --- q on a fresh start -------------------------------------------------------------
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
tui_keys q
check "q: ends" tui_wait_exit 2
for _ in $(seq 20); do [ -s "$D/stty.after" ] && break; sleep 0.1; done
check "q: stty settings as before" cmp -s "$D/stty.before" "$D/stty.after"
tui_done
