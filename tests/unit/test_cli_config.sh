#!/usr/bin/env bash
# The real binary against the config fixtures: every malformed file gives exit
# status 1 and a message naming the file and line; no two messages are alike.
# Usage errors give 3. Prints "N passed, M failed".
set -u
bin=${OVERSEER_BIN:?OVERSEER_BIN is set by meson}
dir=${OV_SRCDIR:?}/tests/unit/configs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME=$tmp/xdg-config XDG_STATE_HOME=$tmp/xdg-state HOME=$tmp
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

declare -A seen
for f in "$dir"/bad_*.ini; do
	name=$(basename "$f")
	out=$("$bin" check-config --config "$f" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 1 ]; then bad "$name: exit $rc, want 1 ($out)"; continue; fi
	case "$out" in
	"overseer: $f:"[0-9]*": "*) ok ;;
	*) bad "$name: message does not start with FILE:LINE: '$out'" ;;
	esac
	msg=${out#*"$f":}
	if [ -n "${seen[$msg]:-}" ]; then bad "$name: same message as ${seen[$msg]}: $msg"; else ok; fi
	seen[$msg]=$name
done
[ ${#seen[@]} -ge 6 ] && ok || bad "fewer than six distinct malformed-config messages (${#seen[@]})"

for f in "$dir"/good_*.ini; do
	if "$bin" check-config --config "$f" >"$tmp/out" 2>&1; then ok; else bad "$(basename "$f") rejected: $(cat "$tmp/out")"; fi
done

# The printed default configuration is itself valid, and check-config's
# resolved output loads back (a round trip through the printer).
"$bin" --print-default-config >"$tmp/default.ini" && ok || bad "--print-default-config failed"
"$bin" check-config --config "$tmp/default.ini" >"$tmp/resolved.ini" 2>&1 && ok || bad "default config rejected: $(cat "$tmp/resolved.ini")"
"$bin" check-config --config "$tmp/resolved.ini" >/dev/null 2>&1 && ok || bad "resolved config does not load back"

# Secrets never printed; a group-readable file holding one is warned about.
printf '[postgres]\nconninfo = host=db password=hunter2 dbname=app\n' >"$tmp/secret.ini"
chmod 0644 "$tmp/secret.ini"
out=$("$bin" check-config --config "$tmp/secret.ini" 2>&1)
case "$out" in *hunter2*) bad "password printed: $out" ;; *) ok ;; esac
case "$out" in *warning*) ok ;; *) bad "no warning for a readable file with a password" ;; esac

# Search order: XDG_CONFIG_HOME is read when no --config is given.
mkdir -p "$tmp/xdg-config/overseer"
printf '[overseer]\ninterval = 7s\n' >"$tmp/xdg-config/overseer/config.ini"
out=$("$bin" check-config 2>&1)
case "$out" in *"$tmp/xdg-config/overseer/config.ini"*"7s"*) ok ;; *) bad "XDG config not used: $out" ;; esac
rm -rf "$tmp/xdg-config"
out=$("$bin" check-config 2>&1)
case "$out" in *"built-in defaults"*) ok ;; *) bad "defaults not reported: $out" ;; esac

# Usage errors: exit 3 with a hint; common flags before or after the command.
expect_usage() { # want-substring, args...
	local want=$1; shift
	out=$("$bin" "$@" 2>&1); rc=$?
	if [ $rc -ne 3 ]; then bad "overseer $*: exit $rc, want 3"; return; fi
	case "$out" in *"$want"*) ok ;; *) bad "overseer $*: '$out' lacks '$want'" ;; esac
}
expect_usage "did you mean 'status'" stauts
expect_usage "did you mean --config" check-config --confg x
expect_usage "needs a value" check-config --config
expect_usage "not valid for 'check-config'" check-config --json
expect_usage "--interval" --interval 0s check-config
expect_usage "--interval" --interval banana check-config
expect_usage "No such file" status --config "$tmp/none.ini"
"$bin" --config "$dir/good_minimal.ini" check-config >/dev/null 2>&1 && ok || bad "--config before the command"
"$bin" check-config --config "$dir/good_minimal.ini" >/dev/null 2>&1 && ok || bad "--config after the command"
"$bin" --version | grep -q '^overseer [0-9]' && ok || bad "--version"
"$bin" status --help | grep -q -- '--wait' && ok || bad "status --help lacks --wait"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
