#!/usr/bin/env bash
# Hostile text from outside is shown sanitised: a NOTIFY payload and a
# health-check body carrying a title change (OSC 0/2), a clipboard write
# (OSC 52), screen clearing and cursor movement (CSI, also as the 8-bit C1
# CSI) neither change the pane's title, nor its clipboard, nor the layout;
# the readable text around them is still shown.
. "$(dirname "$0")/tui_lib.sh"
tui_init hostile

E='\u001b'
BEL='\u0007'
EVIL="${E}]0;PWNED-TITLE${BEL}boom ${E}]52;c;SGFja2VkIQ==${BEL}${E}[2J${E}[H${E}[31mgone\u009b5Aup${E}]2;PWNED-TOO${E}\\\\ end"

title() { "${T[@]}" display -p '#{pane_title}'; }
no_buffer() { [ -z "$("${T[@]}" list-buffers 2>/dev/null)" ]; }
no_pwned() { ! tui_screen | grep -q PWNED; }
line_has() { tui_screen | sed -n "$1p" | grep -qF -- "$2"; }

# health body: application/health+json with escapes in "output"
echo 503 >"$D/http.status"
printf '{"status":"fail","output":"%s"}' "$EVIL" >"$D/http.body"

tui_start 200x50 LANG=C.UTF-8 LC_ALL=C.UTF-8
"${T[@]}" set-option -g set-clipboard on
"${T[@]}" set-option -g allow-rename on
tui_wait "PostgreSQL" 10
sleep 0.5
before=$(title)

# A valid task event whose free text carries the escapes, and an invalid
# payload (unknown event) carrying them too (rejected, logged as an excerpt).
psql -Xq -v ON_ERROR_STOP=1 >/dev/null <<-SQL
	SELECT pg_notify('overseer_task_events',
		'{"v":1,"task":"evil-1","agent":"mallory","event":"failed","ts":$(date +%s%3N),'
		'"step":"s${E}[2Jtep","error":{"class":"internal","message":"$EVIL"}}');
	SELECT pg_notify('overseer_task_events', '{"v":1,"task":"evil-2","agent":"mallory",'
		'"event":"${E}]0;PWNED-TITLE${BEL}bogus","ts":$(date +%s%3N)}');
SQL

check "health: the failing target is shown" tui_wait "failing" 15
check "health: the readable text of the body is shown" tui_wait "boom" 10
check "health: no escape payload on screen" no_pwned
check "health: the title bar is intact" line_has 1 "[1 Overview]"
check "health: the key bar is intact" line_has 50 "Quit"

tui_keys 3
check "notify: the task is listed" tui_wait "evil-1" 10
check "notify: the message text around the escapes is shown" tui_wait "boom" 5
check "notify: ... up to its end" tui_wait "end" 5
check "notify: no escape payload on screen" no_pwned
tui_keys Enter
check "notify: the detail view shows the sanitised error" tui_wait "[internal] boom" 5
check "notify: no escape payload in the detail" no_pwned
tui_keys Escape
check "notify: the tab bar is intact" line_has 1 "[3 Tasks]"
check "notify: the key bar is intact" line_has 50 "Quit"

tui_keys 8
check "log: the rejected payload is logged" tui_wait "rejected task event payload" 10
tui_keys / mallory Enter Enter
check "log: its detail shows the excerpt" tui_wait "mallory" 5
# the log keeps the excerpt JSON-escaped: the escapes are shown as text
check "log: the excerpt shows the escapes as harmless text" tui_wait '\u001b]0;PWNED' 5

check "the pane title was not changed" test "$(title)" = "$before"
check "no clipboard write reached the terminal" no_buffer
check "the console still runs" tui_alive "$OV_PID"
tui_keys q
check "q quits" tui_wait_exit 3
tui_done
