#!/usr/bin/env bash
# `meson install` puts overseer where a Debian user expects it (PREFIX/bin,
# PREFIX/share/overseer/{themes,sql}, PREFIX/share/man/man1), and both the
# installed copy and the build-tree binary find their own themes and SQL.
# Also: `db init` from the installed copy (PG* set by pg_virtualenv), the man
# page renders without a warning, and it names every command, option, config
# key, console key and environment variable the program has, so it cannot
# drift silently. Prints "N passed, M failed".
set -u
bin=${OVERSEER_BIN:?}
build=${OV_BUILDDIR:?}
src=${OV_SRCDIR:?}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # description, command...
	local what=$1; shift
	if "$@"; then ok; else bad "$what"; fi
}
tmp=$(mktemp -d /tmp/ov-install.XXXXXX)
db=ovinstall_$$
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
# Nothing of the caller's may decide where data is found.
unset OVERSEER_SQLDIR OVERSEER_THEMESDIR
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_STATE_HOME=$tmp/home/state
mkdir -p "$HOME"

opt() { # meson build option value
	meson introspect --buildoptions "$build" |
		python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
prefix=$(opt prefix) bindir=$(opt bindir) datadir=$(opt datadir) mandir=$(opt mandir)
[ -n "$prefix" ] && [ -n "$bindir" ] || { echo "FAIL: cannot read the build options of $build"; exit 1; }
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
dest=$tmp/dest
P=$dest$prefix
BIN=$dest$(abs "$bindir")/overseer
SHARE=$dest$(abs "$datadir")/overseer
MAN1=$dest$(abs "$mandir")/man1/overseer.1

# --- 1. the install itself ------------------------------------------------
if ! meson install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1; then
	bad "meson install failed:"
	cat "$tmp/install.log"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok
# The layout a Debian user expects, whatever the prefix.
check "bindir is PREFIX/bin ($bindir)" [ "$(abs "$bindir")" = "$prefix/bin" ]
check "datadir is PREFIX/share ($datadir)" [ "$(abs "$datadir")" = "$prefix/share" ]
check "mandir is PREFIX/share/man ($mandir)" [ "$(abs "$mandir")" = "$prefix/share/man" ]
check "binary installed at $BIN" [ -x "$BIN" ]

themes=0
for t in "$src"/themes/*.theme; do
	themes=$((themes + 1))
	check "theme $(basename "$t") installed unchanged" cmp -s "$t" "$SHARE/themes/$(basename "$t")"
done
check "five themes in the source tree ($themes)" [ "$themes" -eq 5 ]
for t in default dark light high-contrast mono; do
	check "theme $t installed" [ -f "$SHARE/themes/$t.theme" ]
done
check "only themes in share/overseer/themes" \
	[ "$(find "$SHARE/themes" -type f | wc -l)" -eq "$themes" ]

nsql=0
for f in "$src"/sql/overseer/*.sql; do
	nsql=$((nsql + 1))
	check "SQL $(basename "$f") installed unchanged" cmp -s "$f" "$SHARE/sql/overseer/$(basename "$f")"
done
check "at least one SQL file" [ "$nsql" -ge 1 ]
check "man page installed at $MAN1" cmp -s "$src/man/overseer.1" "$MAN1"
check "man finds overseer(1) under PREFIX/share/man" \
	[ "$(MANPATH=$dest$(abs "$mandir") man -w overseer 2>/dev/null)" = "$MAN1" ]

# --- 2. which copy each binary uses ----------------------------------------
real() { realpath -m "$1"; }
reported() { # binary, subdir: the directory check-config names
	"$1" check-config 2>/dev/null | sed -n "s|^# $2 directory: \(.*\) (\([^()]*\))\$|\1|p"
}
origin() {
	"$1" check-config 2>/dev/null | sed -n "s|^# $2 directory: .* (\([^()]*\))\$|\1|p"
}
for sub in sql themes; do
	got=$(reported "$BIN" $sub)
	check "installed binary uses the installed $sub/ (got '$got')" [ "$got" = "$(real "$SHARE/$sub")" ]
	case $(origin "$BIN" $sub) in installed*) ok ;; *) bad "installed $sub/ not reported as installed" ;; esac
done
case "$(real "$build")/" in
"$(real "$src")"/*)
	for sub in sql themes; do
		got=$(reported "$bin" $sub)
		check "build-tree binary uses the source tree's $sub/ (got '$got')" [ "$got" = "$(real "$src/$sub")" ]
		check "source $sub/ reported as the source tree" [ "$(origin "$bin" $sub)" = "source tree" ]
	done
	;;
*) echo "note: $build is outside $src; the build-tree checks do not apply" ;;
esac

# Relocated: the whole prefix moved elsewhere still finds its own files
# (the lookup is relative to the executable, not the compile-time prefix).
moved=$tmp/moved
cp -a "$P" "$moved"
MBIN=$moved${BIN#"$P"}
MSHARE=$moved${SHARE#"$P"}
check "moved install uses its own sql/" [ "$(reported "$MBIN" sql)" = "$(real "$MSHARE/sql")" ]
check "moved install uses its own themes/" [ "$(reported "$MBIN" themes)" = "$(real "$MSHARE/themes")" ]
# The console reads its theme from there: a broken dark.theme is reported
# with that file's path before the screen is touched.
printf '[role "nonsense\n' >"$MSHARE/themes/dark.theme"
out=$("$MBIN" --theme dark </dev/null 2>&1)
rc=$?
check "broken installed theme is a usage error (exit $rc)" [ $rc -eq 3 ]
case "$out" in *"$(real "$MSHARE/themes")/dark.theme"*) ok ;; *) bad "theme not read from the installed copy: $out" ;; esac
out=$("$MBIN" --theme nosuch </dev/null 2>&1)
case "$out" in *"$MSHARE/themes"* | *"$(real "$MSHARE/themes")"*) ok ;; *) bad "missing theme message does not name the installed directory: $out" ;; esac
# A user's own theme wins over the shipped one.
mkdir -p "$XDG_CONFIG_HOME/overseer/themes"
printf '[role "nonsense\n' >"$XDG_CONFIG_HOME/overseer/themes/light.theme"
out=$("$MBIN" --theme light </dev/null 2>&1)
case "$out" in *"$XDG_CONFIG_HOME/overseer/themes/light.theme"*) ok ;; *) bad "user theme not searched first: $out" ;; esac
rm -rf "$XDG_CONFIG_HOME/overseer"

# A binary with no share/ next to it falls back to the compile-time datadir,
# or says where it looked.
mkdir -p "$tmp/lonely/bin"
cp "$BIN" "$tmp/lonely/bin/overseer"
out=$("$tmp/lonely/bin/overseer" check-config 2>&1)
if [ -d "$(abs "$datadir")/overseer/sql/overseer" ]; then
	case "$out" in *"# sql directory: $(real "$(abs "$datadir")/overseer/sql") (compile-time datadir)"*) ok ;;
	*) bad "lonely binary does not fall back to the compile-time datadir: $out" ;; esac
else
	case "$out" in *"# sql directory: not found"*"looked in $tmp/lonely/share/overseer/sql"*) ok ;;
	*) bad "lonely binary does not say where it looked: $out" ;; esac
fi
out=$("$tmp/lonely/bin/overseer" db init 2>&1)
rc=$?
[ -d "$(abs "$datadir")/overseer/sql/overseer" ] || check "db init without SQL fails with exit 1 (got $rc: $out)" [ $rc -eq 1 ]

# --- 3. db init from the installed copy ------------------------------------
if ! createdb "$db" 2>"$tmp/createdb.err"; then
	bad "createdb failed (run under pg_virtualenv): $(cat "$tmp/createdb.err")"
else
	out=$(PGDATABASE=$db "$BIN" db init 2>&1)
	rc=$?
	check "installed db init exits 0 (got $rc: $out)" [ $rc -eq 0 ]
	for f in "$src"/sql/overseer/*.sql; do
		case "$out" in *"applied $(real "$SHARE/sql")/overseer/$(basename "$f")"*) ok ;;
		*) bad "db init did not apply the installed $(basename "$f"): $out" ;; esac
	done
	v=$(psql -d "$db" -Atc 'SELECT max(version) FROM overseer.schema_version' 2>&1)
	check "schema at version $nsql (got '$v')" [ "$v" = "$nsql" ]
	out=$(PGDATABASE=$db "$BIN" db init 2>&1)
	case "$out" in *"already at version $nsql"*) ok ;; *) bad "second db init: $out" ;; esac
fi

# --- 4. the man page renders cleanly ---------------------------------------
if ! command -v groff >/dev/null || ! command -v man >/dev/null; then
	bad "groff and man are needed (Debian: groff-base, man-db)"
else
	err=$(groff -man -Tutf8 -ww -z "$MAN1" 2>&1)
	check "groff -ww warns about nothing: $err" [ -z "$err" ]
	err=$(MANWIDTH=80 man --warnings -l "$MAN1" 2>&1 >/dev/null)
	check "man -l warns about nothing: $err" [ -z "$err" ]
	for w in 60 80 200; do
		MANWIDTH=$w man -l "$MAN1" >"$tmp/man.$w" 2>/dev/null
		check "man renders at $w columns" [ -s "$tmp/man.$w" ]
	done
	for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS KEYS CONFIGURATION FILES ENVIRONMENT \
		"EXIT STATUS" "SEE ALSO"; do
		grep -qx "$s" "$tmp/man.80" && ok || bad "man page lacks section $s"
	done
fi

# --- 5. the man page covers everything -------------------------------------
# Wide lines, no hyphenation; split at the section headings (column 0) and,
# within CONFIGURATION, at the [section] subheadings; whitespace squeezed so
# a phrase can be looked for whatever the line breaks.
groff -man -Tascii -rLL=2000n -P-c -P-b -P-o -P-u "$MAN1" 2>/dev/null >"$tmp/man.lines"
mkdir -p "$tmp/man"
awk -v dir="$tmp/man" '
	/^[A-Z][A-Z ]*$/ { sec = $0; gsub(/ /, "_", sec); sub_ = ""; next }
	sec == "" { next }
	sec == "CONFIGURATION" && /^   \[[a-z]+/ {
		match($0, /\[[a-z]+/); sub_ = substr($0, RSTART + 1, RLENGTH - 1); next
	}
	{ print > (dir "/" sec ".txt"); if (sub_ != "") print > (dir "/cfg." sub_ ".txt") }
' "$tmp/man.lines"
for f in "$tmp"/man/*.txt; do tr -s ' \t\n' '   ' <"$f" >"$f.1" && mv "$f.1" "$f"; done
for f in COMMANDS OPTIONS KEYS CONFIGURATION FILES ENVIRONMENT; do
	check "man section text for $f found" [ -s "$tmp/man/$f.txt" ]
done
has() { grep -qiF -- "$2" "$tmp/man/$1.txt"; } # section, text (case-insensitive)
mention() { # what, section, text
	has "$2" "$3" && ok || bad "man page ($2) lacks $1: '$3'"
}

cmds=$("$bin" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
check "--help lists at least ten commands" [ "$(echo "$cmds" | wc -w)" -ge 10 ]
for c in $cmds; do
	help=$("$bin" "$c" --help)
	mention "command $c" COMMANDS "overseer $c"
	mention "the summary of $c" COMMANDS "$(echo "$help" | sed -n 3p)"
	mention "the exit statuses of $c" COMMANDS "$(echo "$help" | sed -n 's/^exit status: //p')"
	for o in $(echo "$help" | sed -n '/^options:/,/^$/p' | sed -n 's/^  \(--[a-z-]*\).*/\1/p'); do
		mention "option $o of $c" COMMANDS "$o"
	done
done
for o in $("$bin" --help | sed -n '/^common options/,/^$/p' | sed -n 's/^  \(--[a-z-]*\).*/\1/p'); do
	mention "common option $o" OPTIONS "$o"
done
mention "--print-default-config" COMMANDS "--print-default-config"

# Config: each section's keys, within that section's part of the man page,
# with the default print-default-config shows.
"$bin" print-default-config >"$tmp/default.ini"
nkeys=0
while IFS='|' read -r sect key val dflt; do
	nkeys=$((nkeys + 1))
	part=$tmp/man/cfg.$sect.txt
	[ -s "$part" ] || { bad "man CONFIGURATION lacks section [$sect]"; continue; }
	# A commented key is printed with its default, or with an example when
	# it has none; the man page shows "key = default" or the bare key, so a
	# value it shows must be the printed one.
	want="$key = $val" want=${want% }
	if [ "$dflt" = 0 ] && ! grep -qF -- " $key = " "$part"; then want=$key; fi
	grep -qF -- " $want " "$part" && ok || bad "man [$sect] lacks '$want'"
done < <(python3 - "$tmp/default.ini" <<'PY'
import re, sys
sect = None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r';?\[(\w+)', line)
    if m:
        sect = m.group(1)
        continue
    m = re.match(r'(;?)(\w+) =(?: (.*))?$', line)
    if sect and m:
        print("%s|%s|%s|%d" % (sect, m.group(2), m.group(3) or "", 0 if m.group(1) else 1))
PY
)
check "print-default-config gave at least 40 keys ($nkeys)" [ "$nkeys" -ge 40 ]

# Keys: every row of every table in docs/keys.md, as "KEYS description".
nrows=0
while IFS= read -r row; do
	nrows=$((nrows + 1))
	mention "a console key" KEYS "$row"
done < <(python3 - "$src/docs/keys.md" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    if line.startswith("## Notes"):
        break
    if not line.startswith("| `"):
        continue
    cells = [c.strip() for c in re.split(r'(?<!\\)\|', line.rstrip("\n"))[1:-1]]
    keys = ", ".join(k.replace("\\|", "|") for k in re.findall(r'`([^`]*)`', cells[0]))
    desc = cells[1].replace("\\|", "|").replace("`", "")
    print(keys + " " + desc + (" (acts)" if "acts" in cells[2] else ""))
PY
)
check "docs/keys.md gave at least 50 rows ($nrows)" [ "$nrows" -ge 50 ]

# Environment: every variable the sources read.
for v in $(grep -rhoE 'getenv\("[A-Z_]+"\)' "$src/src" "$src/ui" | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
	mention "environment variable $v" ENVIRONMENT "$v"
done
for v in NO_COLOR XDG_CONFIG_HOME XDG_STATE_HOME PGHOST PGPASSWORD OVERSEER_SQLDIR OVERSEER_THEMESDIR; do
	mention "environment variable $v" ENVIRONMENT "$v"
done
# Files: every place paths.c and config.c use.
for f in /etc/overseer/config.ini '$XDG_CONFIG_HOME/overseer/config.ini' '$XDG_STATE_HOME/overseer/overseer.db' \
	'$XDG_STATE_HOME/overseer/overseer.log' '$XDG_CONFIG_HOME/overseer/themes' 'share/overseer/themes' \
	'share/overseer/sql' '../themes' '../sql'; do
	mention "file $f" FILES "$f"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
