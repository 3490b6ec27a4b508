# tui_lib.sh — shared helpers of the console's end-to-end tests (sourced).
#
# Each test drives the real binary ($OVERSEER_BIN) in a real terminal: a
# private tmux server (tmux -L ovtest-$$ -f /dev/null, never the user's),
# keys with send-keys, the screen with capture-pane. PostgreSQL comes from
# the environment (the e2e suite runs under pg_virtualenv, so PG* is set);
# each test makes its own database and drops it on exit. The health target
# is a loopback HTTP responder written in Perl (perl-base is Essential on
# Debian, so it needs no package): it answers every request with the
# status, content type and body found in files the test rewrites at will.
#
# Everything started here is stopped by the EXIT trap, whatever happens.

set -u

TUI_FAILS=0
TUI_TESTS=0

tui_skip() { echo "SKIP: $*"; exit 77; }

tui_init() {
	TUI_NAME=$1
	[ -n "${OVERSEER_BIN:-}" ] && [ -x "$OVERSEER_BIN" ] || tui_skip "OVERSEER_BIN not set"
	command -v tmux >/dev/null || tui_skip "tmux not installed"
	command -v perl >/dev/null || tui_skip "perl not installed"
	psql -XAtqc 'select 1' >/dev/null 2>&1 || tui_skip "no PostgreSQL (run under pg_virtualenv)"
	SRC=${OV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
	D=$(mktemp -d "/tmp/ovtui-$TUI_NAME.XXXXXX")
	TMUX_SOCK="ovtest-$$"
	T=(tmux -L "$TMUX_SOCK" -f /dev/null)
	DB="ov_e2e_${TUI_NAME}_$$"
	HTTPD_PID=""
	SLEEPER_PID=""
	trap tui_cleanup EXIT
	trap 'exit 1' INT TERM
	export XDG_STATE_HOME="$D/state" XDG_CONFIG_HOME="$D/config"
	mkdir -p "$XDG_STATE_HOME" "$XDG_CONFIG_HOME"
	createdb "$DB" || { echo "createdb failed"; exit 1; }
	export PGDATABASE="$DB"
	psql -Xq -v ON_ERROR_STOP=1 -f "$SRC/sql/testing/pgmq_compat.sql" >/dev/null
	psql -Xq -v ON_ERROR_STOP=1 -f "$SRC/sql/testing/pgflow_compat.sql" >/dev/null
	# the shared breakers schema: `overseer db init` when it exists, else the file
	if ! "$OVERSEER_BIN" db init >/dev/null 2>&1; then
		for f in "$SRC"/sql/overseer/*.sql; do
			psql -Xq -v ON_ERROR_STOP=1 -f "$f" >/dev/null
		done
	fi
	psql -Xq -v ON_ERROR_STOP=1 >/dev/null <<-'SQL'
		SELECT pgmq.create(q) FROM unnest(ARRAY['emails', 'embeddings']) AS q;
		SELECT pgmq.send('emails', jsonb_build_object('n', g)) FROM generate_series(1, 25) g;
		INSERT INTO pgflow.workers(queue_name, function_name, started_at, last_heartbeat_at)
		SELECT 'emails', 'send_email', now() - interval '1 hour', now() + interval '1 hour'
		FROM generate_series(1, 3);
		INSERT INTO overseer.breakers(name, state, owner, updated_by, reason)
		VALUES ('payments', 'closed', 'billing', 'billing', 'healthy'),
		       ('search', 'closed', 'web', 'web', 'healthy');
	SQL
	tui_httpd_start
	tui_sleeper_start
	tui_config
}

tui_cleanup() {
	"${T[@]}" kill-server >/dev/null 2>&1
	[ -n "$HTTPD_PID" ] && kill "$HTTPD_PID" 2>/dev/null
	[ -n "$SLEEPER_PID" ] && kill -9 "$SLEEPER_PID" 2>/dev/null
	# an overseer still alive would hold the database
	[ -f "$D/overseer.pid" ] && kill -9 "$(cat "$D/overseer.pid")" 2>/dev/null
	sleep 0.2
	dropdb --if-exists "$DB" >/dev/null 2>&1
	if [ "$TUI_FAILS" -ne 0 ] && [ -f "$D/state/overseer/overseer.log" ]; then
		echo "--- last lines of the console's log"
		tail -n 15 "$D/state/overseer/overseer.log"
	fi
	rm -rf "$D"
}

# A loopback HTTP server: answers with $D/http.status, $D/http.type and
# $D/http.body (re-read on every request). Prints its port to $D/http.port.
tui_httpd_start() {
	echo 200 >"$D/http.status"
	echo "application/health+json" >"$D/http.type"
	printf '{"status":"pass","output":"all good"}' >"$D/http.body"
	perl -MIO::Socket::INET -e '
		my $dir = shift;
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
			Listen => 16, ReuseAddr => 1) or die "listen: $!";
		open(my $p, ">", "$dir/http.port") or die; print $p $s->sockport; close $p;
		$SIG{PIPE} = "IGNORE";
		while (my $c = $s->accept) {
			my $req = "";
			while (defined(my $l = <$c>)) { $req .= $l; last if $l =~ /^\r?\n$/; }
			local $/; 
			open(my $f, "<", "$dir/http.status"); my $st = <$f> // "200"; close $f; $st =~ s/\s+$//;
			open($f, "<", "$dir/http.type"); my $ty = <$f> // "text/plain"; close $f; $ty =~ s/\s+$//;
			open($f, "<", "$dir/http.body"); my $b = <$f> // ""; close $f;
			print $c "HTTP/1.1 $st X\r\nContent-Type: $ty\r\nContent-Length: " . length($b) .
				"\r\nConnection: close\r\n\r\n$b";
			close $c;
		}' "$D" &
	HTTPD_PID=$!
	for _ in $(seq 50); do [ -s "$D/http.port" ] && break; sleep 0.1; done
	HTTP_PORT=$(cat "$D/http.port")
}

# A managed service: a sleeping process with a pid file.
tui_sleeper_start() {
	cp "$(command -v sleep)" "$D/ovsleeper"
	"$D/ovsleeper" 3600 &
	SLEEPER_PID=$!
	echo "$SLEEPER_PID" >"$D/sleeper.pid"
}

tui_config() {
	cat >"$D/config.ini" <<-EOF
		[overseer]
		interval = 1s
		db = $D/state/overseer.db
		log = $D/state/overseer/overseer.log
		max_fps = 20

		[postgres]
		statement_timeout = 5s

		[health "api"]
		url = http://127.0.0.1:$HTTP_PORT/health
		interval = 1s
		timeout = 2s

		[service "sleeper"]
		pidfile = $D/sleeper.pid
		exe = $D/ovsleeper
		stop = SIGTERM:2s SIGKILL

		[breaker "payments"]
		failure_rate = 40%
	EOF
	mkdir -p "$D/state/overseer"
}

# tui_start COLSxROWS [VAR=value ...] -- [overseer args ...]
# The pane runs a shell that records the terminal settings before and after
# the console, and the console's exit status.
tui_start() {
	local geo=$1 cols rows envs=() args=()
	shift
	cols=${geo%x*}
	rows=${geo#*x}
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	args=("$@")
	rm -f "$D/exit" "$D/stty.before" "$D/stty.after" "$D/overseer.pid"
	local q="" a
	for a in "${args[@]}"; do q+=" '$a'"; done
	local e="" v
	for v in "${envs[@]}"; do e+=" '$v'"; done
	"${T[@]}" kill-server >/dev/null 2>&1
	local try
	for try in 1 2 3 4 5; do
		# a server still shutting down on the same socket refuses the session
		"${T[@]}" new-session -d -x "$cols" -y "$rows" \
			"trap '' INT; stty -g >'$D/stty.before'; env TERM=\${OVTEST_TERM:-xterm-256color}$e '$OVERSEER_BIN' --config '$D/config.ini'$q & echo \$! >'$D/overseer.pid'; wait \$!; echo \$? >'$D/exit'; stty -g >'$D/stty.after'; sleep 600" \
			2>/dev/null && break
		sleep 0.3
	done
	"${T[@]}" set-option -g window-size manual >/dev/null 2>&1
	for _ in $(seq 50); do [ -s "$D/overseer.pid" ] && break; sleep 0.1; done
	OV_PID=$(cat "$D/overseer.pid")
}

tui_screen() { "${T[@]}" capture-pane -p 2>/dev/null; }

tui_keys() { "${T[@]}" send-keys "$@"; }

# tui_wait TEXT [SECONDS]: until the screen shows TEXT (fixed string).
tui_wait() {
	local text=$1 limit=${2:-10} i
	for ((i = 0; i < limit * 10; i++)); do
		tui_screen | grep -qF -- "$text" && return 0
		sleep 0.1
	done
	return 1
}

# tui_wait_gone TEXT [SECONDS]
tui_wait_gone() {
	local text=$1 limit=${2:-10} i
	for ((i = 0; i < limit * 10; i++)); do
		tui_screen | grep -qF -- "$text" || return 0
		sleep 0.1
	done
	return 1
}

# tui_alive PID: running (a zombie whose parent died is not: in a container
# nobody may reap it, and kill -0 would still succeed).
tui_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# tui_wait_exit [SECONDS]: until the console process is gone.
tui_wait_exit() {
	local limit=${1:-1} i
	for ((i = 0; i < limit * 20; i++)); do
		tui_alive "$OV_PID" || return 0
		sleep 0.05
	done
	return 1
}

# tui_sql_wait SQL EXPECTED [SECONDS]: until psql prints EXPECTED.
tui_sql_wait() {
	local sql=$1 want=$2 limit=${3:-10} i got=""
	for ((i = 0; i < limit * 10; i++)); do
		got=$(psql -XAtqc "$sql" 2>/dev/null)
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	echo "    (psql: '$got', wanted '$want')"
	return 1
}

ok() {
	TUI_TESTS=$((TUI_TESTS + 1))
	echo "ok $TUI_TESTS - $*"
}

not_ok() {
	TUI_TESTS=$((TUI_TESTS + 1))
	TUI_FAILS=$((TUI_FAILS + 1))
	echo "not ok $TUI_TESTS - $*"
	echo "--- screen:"
	tui_screen 2>/dev/null | sed 's/^/    | /'
}

# check DESCRIPTION COMMAND...: one assertion.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

tui_done() {
	echo "1..$TUI_TESTS"
	[ "$TUI_FAILS" -eq 0 ] || { echo "$TUI_FAILS of $TUI_TESTS failed"; exit 1; }
	exit 0
}
