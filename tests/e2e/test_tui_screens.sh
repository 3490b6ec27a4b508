#!/usr/bin/env bash
# Every screen of the console shows its content against a real PostgreSQL
# (pgflow- and PGMQ-compatible schemas, shared breakers), a loopback health
# server and a managed process: at 200x50 with colours, at 80x24 with
# NO_COLOR, and at 80x24 with LANG=C (ASCII glyphs and sparklines).
. "$(dirname "$0")/tui_lib.sh"
tui_init screens

emit_task() { # task agent event [class message]
	local err=""
	[ $# -ge 5 ] && err=",\"error\":{\"class\":\"$4\",\"message\":\"$5\"}"
	psql -XAtqc "SELECT pg_notify('overseer_task_events', '{\"v\":1,\"task\":\"$1\",\"agent\":\"$2\",\"event\":\"$3\",\"ts\":$(date +%s%3N)$err}')" >/dev/null
}

has_colour() { "${T[@]}" capture-pane -p -e | grep -qE $'\e\\[([0-9;]*;)?(3[0-7]|38;5;[0-9]+|9[0-7])(;[0-9;]*)?m'; }
no_colour() { ! has_colour; }
has_reverse() { "${T[@]}" capture-pane -p -e | grep -qE $'\e\\[([0-9;]*;)?7(;[0-9;]*)?m'; }
ascii_only() { ! tui_screen | LC_ALL=C grep -q $'[\x80-\xff]'; }
line_has() { tui_screen | sed -n "$1p" | grep -qF -- "$2"; }
no_text() { ! tui_screen | grep -qF -- "$1"; }
# the line under the one showing $1 shows $2 (nothing wrapped in between)
next_line_has() { tui_screen | grep -A1 -F -- "$1" | sed -n 2p | grep -qF -- "$2"; }

# run MODE GEOMETRY ENV...
run_mode() {
	local mode=$1 geo=$2
	shift 2
	tui_start "$geo" "$@"
	check "$mode: overview shows PostgreSQL ok" tui_wait "PostgreSQL" 10
	check "$mode: PostgreSQL tile says ok with a glyph" tui_wait "PostgreSQL $GOOD ok" 15
	check "$mode: health target passing" tui_wait "passing" 10
	check "$mode: supervisors tile" tui_wait "workers 3 alive" 10
	check "$mode: queues tile counts the messages" tui_wait "25 messages" 10
	check "$mode: breakers tile read the shared table" tui_wait " breakers: " 10
	check "$mode: processes tile sees the sleeper running" tui_wait "1 running" 10
	check "$mode: incidents tile" tui_wait "Incidents" 5
	check "$mode: sparklines of probe error rates" tui_wait "probe:postgres" 10
	check "$mode: title bar marks the current screen" line_has 1 "[1 "
	check "$mode: key bar on the last line" line_has "${geo#*x}" "Quit"

	tui_keys 2
	check "$mode: supervisors list the worker group" tui_wait "send_email" 5
	check "$mode: supervisors show the group alive" tui_wait "$GOOD alive" 5
	check "$mode: supervisors list PGMQ queues" tui_wait "embeddings" 5
	check "$mode: supervisors list not cut: no notice" no_text "worker groups (those"

	emit_task "t-$mode" indexer started
	emit_task "t-$mode" indexer failed timeout "upstream timed out"
	tui_keys 3
	check "$mode: tasks show the task from NOTIFY" tui_wait "t-$mode" 5
	check "$mode: tasks show its failure" tui_wait "$BAD failed" 5
	check "$mode: tasks show the error message" tui_wait "upstream timed out" 5
	tui_keys Enter
	check "$mode: task detail shows the timeline" tui_wait "Timeline" 5
	check "$mode: task detail lists the started event" tui_wait "started" 5
	tui_keys Escape
	check "$mode: Esc closes the detail" tui_wait_gone "Timeline" 5
	tui_keys / "state:run" Enter
	check "$mode: filter state:run hides the failed task" tui_wait "no rows match" 5
	tui_keys Escape
	check "$mode: Esc clears the filter" tui_wait "t-$mode" 5

	tui_keys 4
	check "$mode: breakers list the services' rows" tui_wait "payments" 5
	check "$mode: breakers show state words" tui_wait "$GOOD closed" 5
	check "$mode: breakers show failure threshold from the config" tui_wait "/ 40%" 5
	tui_keys 5
	check "$mode: processes list the sleeper" tui_wait "sleeper" 5
	check "$mode: processes show the pid" tui_wait "$SLEEPER_PID" 5
	tui_keys 6
	check "$mode: incidents screen" tui_wait "STATUS" 5
	tui_keys 7
	check "$mode: registry lists every component" tui_wait "embeddings" 5
	tui_keys / emails Enter
	check "$mode: registry search narrows the list" tui_wait_gone "embeddings" 5
	check "$mode: registry search keeps the match" tui_wait "emails" 5
	tui_keys Escape
	tui_keys 8
	check "$mode: log screen shows our log" tui_wait "console started" 5
	tui_keys 9
	check "$mode: help lists the keys" tui_wait "Everywhere" 5
	check "$mode: help lists the commands" tui_wait "quit" 5
	tui_keys q
	check "$mode: q quits" tui_wait_exit 3
	check "$mode: exit status 0" test "$(cat "$D/exit" 2>/dev/null)" = 0
}

GOOD="●" BAD="✖"
run_mode colour 200x50 LANG=C.UTF-8 LC_ALL=C.UTF-8
# colour checks need a fresh run (capture -e of a live screen)
tui_start 200x50 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
check "colour: the screen uses colours" has_colour
tui_keys q
tui_wait_exit 3

run_mode no_color 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1
tui_wait "PostgreSQL" 10
check "no_color: no colour at all" no_colour
check "no_color: selection in reverse video" has_reverse
tui_keys q
tui_wait_exit 3

GOOD="+" BAD="X"
run_mode ascii 80x24 LANG=C LC_ALL=C
tui_start 80x24 LANG=C LC_ALL=C
tui_wait "probe:postgres" 10
sleep 2
check "ascii: only ASCII on screen (LANG=C)" ascii_only
check "ascii: sparklines in ASCII marks" sh -c "tmux -L $TMUX_SOCK capture-pane -p | grep 'probe:postgres' | grep -qE '[.:|]+ +[0-9.]+%'"
tui_keys q
tui_wait_exit 3

# --ascii in a UTF-8 locale
GOOD="+" BAD="X"
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --ascii
check "--ascii: ASCII state glyphs" tui_wait "PostgreSQL + ok" 15
check "--ascii: only ASCII on screen" ascii_only
tui_keys q
tui_wait_exit 3

# an 8-colour terminal: themes step down, nothing needs 256 colours
no_256() { ! "${T[@]}" capture-pane -p -e | grep -q $'\e\\[[0-9;]*38;5;'; }
for term in xterm:8; do # 16-colour terminfo needs ncurses-term; unit tests cover 16
	OVTEST_TERM=${term%:*} tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --theme dark
	check "TERM=${term%:*}: the console starts" tui_wait "PostgreSQL" 10
	check "TERM=${term%:*}: the console saw ${term#*:} colours" \
		grep -q "console started (80x24, ${term#*:} colours" "$D/state/overseer/overseer.log"
	check "TERM=${term%:*}: colours are used" has_colour
	check "TERM=${term%:*}: no 256-colour codes" no_256
	tui_keys q
	tui_wait_exit 3
done

# themes: every shipped theme loads; a broken one is refused with file:line
for th in default dark light high-contrast mono; do
	tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --theme "$th"
	check "theme $th: console starts" tui_wait "PostgreSQL" 10
	tui_keys q
	tui_wait_exit 3
done
# More worker groups than the probe keeps (256): the Supervisors screen says
# the list is cut; on the narrowest terminal the notice is cut, not wrapped.
psql -Xq -v ON_ERROR_STOP=1 -c "INSERT INTO pgflow.workers(queue_name, function_name,
	last_heartbeat_at) SELECT 'grp' || lpad(g::text, 3, '0'), 'fn', now() + interval '1 hour'
	FROM generate_series(1, 300) g" >/dev/null
CUT="showing 256 of 301 worker groups (those without a live worker kept first)"
tui_start 80x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
check "cut: the overview counts every group" tui_wait "stale, 301 group" 10
tui_keys 2
check "cut: supervisors say the list is cut" tui_wait "$CUT" 10
check "cut: the table header follows the notice" next_line_has "$CUT" "QUEUE"
tui_keys q
tui_wait_exit 3
tui_start 40x24 LANG=C.UTF-8 LC_ALL=C.UTF-8
tui_wait "PostgreSQL" 10
tui_keys 2
check "cut at 40 columns: the notice starts" tui_wait "showing 256 of 301 worker" 10
check "cut at 40 columns: the notice is cut" no_text "kept first"
check "cut at 40 columns: nothing wrapped" next_line_has "showing 256 of 301" "QUEUE"
tui_keys q
tui_wait_exit 3

printf '[ok]\nfg = purplish\n' >"$D/bad.theme"
"$OVERSEER_BIN" --config "$D/config.ini" --theme "$D/bad.theme" >"$D/out" 2>&1 </dev/null
rc=$?
check "bad theme: exit status 3" test "$rc" = 3
check "bad theme: message names file and line" grep -q 'bad.theme:2: bad colour' "$D/out"
tui_done
