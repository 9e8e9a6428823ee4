#!/bin/bash
# install.sh - `make install` into temp DESTDIRs, checked: files and modes, config kept, systemd-analyze, man page, completion.
#
# Run by `make test` after the Check suite (or alone: `make install-test`).
# BUILD names the build directory (default build). Every check runs; each
# failure is printed, and the exit status is 1 if any.
set -u
cd "$(dirname "$0")/.." || exit 1
# The make that ran us must not pass its flags or variables (-n, PREFIX=...) on,
# and neither may the environment (make exports command-line variables to it).
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL DESTDIR PREFIX SYSCONFDIR BINDIR MANDIR \
	SYSTEMDUNITDIR SYSUSERSDIR TMPFILESDIR BASHCOMPDIR INSTALL

BUILD=${BUILD:-build}
MAKE="make"
MAX_EXPOSURE=1.5
failures=0
checks=0

tmp=$(mktemp -d /tmp/canary-install-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root          # PREFIX=/usr, as a package installs
local_root=$tmp/local   # PREFIX=/usr/local, as an admin installs from source

fail() { echo "install.sh: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	fail "$1 not found (Debian package $2; \`make install-test\` installs it)"
	return 1
}

# check_file PATH MODE: PATH exists as a regular file with octal MODE.
check_file() {
	local mode
	if [[ ! -f $1 ]]; then
		fail "not installed: ${1#"$tmp"/}"
		return
	fi
	mode=$(stat -c %a "$1")
	[[ $mode == "$2" ]] || { fail "${1#"$tmp"/} has mode $mode, not $2"; return; }
	ok
}

run_make() {
	"$MAKE" --no-print-directory BUILD="$BUILD" "$@" >"$tmp/make.log" 2>&1 && return 0
	fail "make $* failed:"
	sed 's/^/  /' "$tmp/make.log" >&2
	return 1
}

# ---- install with PREFIX=/usr: every file, with its mode
run_make install DESTDIR="$root" PREFIX=/usr || { echo "install.sh: cannot go on" >&2; exit 1; }
check_file "$root/usr/bin/canary" 755
check_file "$root/usr/lib/systemd/system/canary.service" 644
check_file "$root/usr/lib/sysusers.d/canary.conf" 644
check_file "$root/usr/lib/tmpfiles.d/canary.conf" 644
check_file "$root/usr/share/man/man1/canary.1" 644
check_file "$root/usr/share/bash-completion/completions/canary" 644
check_file "$root/etc/canary/canary.json" 644
check_file "$root/etc/canary/probes.d/example.json" 644
unit=$root/usr/lib/systemd/system/canary.service
if grep -qx 'ExecStart=/usr/bin/canary run -c /etc/canary/canary.json' "$unit"; then ok; else
	fail "ExecStart of the PREFIX=/usr unit: $(grep '^ExecStart=' "$unit")"
fi

# ---- a second install keeps the config: a changed canary.json, a removed and an added probe,
# and the directory's mode (an admin may close it to keep ${file:...} secrets there)
cfg=$root/etc/canary/canary.json
sed -i 's/"every": "30s"/"every": "45s"/' "$cfg"
if cmp -s "$cfg" examples/etc/canary.json; then fail "the test's change to canary.json changed nothing"; else ok; fi
cp "$cfg" "$tmp/canary.json.mine"
rm -f "$root/etc/canary/probes.d/example.json"
printf '{ "url": "http://127.0.0.1:9/", "paused": true }\n' >"$root/etc/canary/probes.d/mine.json"
chmod 0750 "$root/etc/canary"
if run_make install DESTDIR="$root" PREFIX=/usr; then
	if cmp -s "$cfg" "$tmp/canary.json.mine"; then ok; else fail "a second install overwrote canary.json"; fi
	mode=$(stat -c %a "$root/etc/canary")
	if [[ $mode == 750 ]]; then ok; else fail "a second install changed /etc/canary's mode to $mode"; fi
	if [[ -e $root/etc/canary/probes.d/example.json ]]; then fail "a second install put back a removed probe"; else ok; fi
	if grep -q 127.0.0.1:9 "$root/etc/canary/probes.d/mine.json"; then ok; else fail "a second install changed a probe"; fi
fi

# ---- the installed config is valid as installed (probes_dir is relative to it)
if out=$("$root/usr/bin/canary" config check -c "$cfg" 2>&1); then ok; else
	fail "canary config check on the installed config: $out"
fi

# ---- systemd-analyze verify. Offline it wants ExecStart's binary to exist, and
# it runs `man canary` for Documentation=man:canary(1): so the unit is checked
# as installed, with only the ExecStart binary pointed into DESTDIR, and
# MANPATH pointed at the installed man page.
verify_unit() { # verify_unit UNIT DESTROOT BINDIR
	local dir=$tmp/verify-${2##*/} out
	mkdir -p "$dir"
	sed "/^ExecStart=/s|=$3/canary |=$2$3/canary |" "$1" >"$dir/canary.service"
	if ! out=$(MANPATH="$2${3%/bin}/share/man" systemd-analyze verify "$dir/canary.service" 2>&1) || [[ -n $out ]]; then
		fail "systemd-analyze verify ${1#"$tmp"/}:"
		printf '%s\n' "$out" | sed 's/^/  /' >&2
		return
	fi
	ok
}
if need systemd-analyze systemd; then
	verify_unit "$unit" "$root" /usr/bin

	# Overall exposure, as `systemd-analyze security` rates it ("... canary.service: 1.1 OK").
	sec=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
	score=$(printf '%s\n' "$sec" | sed -n 's/^.*Overall exposure level for canary\.service: \([0-9.]*\).*$/\1/p')
	if [[ -z $score ]]; then
		fail "no overall exposure in systemd-analyze security output:"
		printf '%s\n' "$sec" | sed 's/^/  /' >&2
	elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
		ok
	else
		fail "systemd-analyze security rates canary.service $score, above $MAX_EXPOSURE:"
		printf '%s\n' "$sec" | grep '✗' | sed 's/^/  /' >&2
	fi
fi

# ---- sysusers.d and tmpfiles.d entries apply to an empty root
if need systemd-sysusers systemd && need systemd-tmpfiles systemd; then
	sys=$tmp/sysroot
	mkdir -p "$sys/etc"
	if out=$(systemd-sysusers --root="$sys" "$root/usr/lib/sysusers.d/canary.conf" 2>&1) &&
		grep -q '^canary:x:[0-9]*:[0-9]*:[^:]*:/var/lib/canary:/usr/sbin/nologin$' "$sys/etc/passwd" &&
		grep -q '^canary:x:' "$sys/etc/group"; then ok; else
		fail "systemd-sysusers did not create user and group canary: $out"
	fi
	if out=$(systemd-tmpfiles --root="$sys" --create "$root/usr/lib/tmpfiles.d/canary.conf" 2>&1) &&
		[[ $(stat -c %a "$sys/var/lib/canary" 2>/dev/null) == 750 ]]; then ok; else
		fail "systemd-tmpfiles did not create /var/lib/canary 0750: $out"
	fi
fi

# ---- the man page renders without a warning
if need groff groff-base; then
	man_page=$root/usr/share/man/man1/canary.1
	if out=$(groff -man -ww -z "$man_page" 2>&1) && [[ -z $out ]]; then ok; else
		fail "groff warns about canary.1:"
		printf '%s\n' "$out" | sed 's/^/  /' >&2
	fi
	if command -v man >/dev/null 2>&1; then
		if out=$(MANWIDTH=80 man --warnings -l "$man_page" 2>&1 >/dev/null) && [[ -z $out ]]; then ok; else
			fail "man --warnings on canary.1:"
			printf '%s\n' "$out" | sed 's/^/  /' >&2
		fi
	fi
fi

# ---- bash completion: loads, completes commands and the installed config's probe names
# complete_words EXPECTED WORD...: completing WORD... (the last is the one under
# the cursor) offers exactly EXPECTED.
complete_words() {
	local want=$1 got
	shift
	got=$(CANARY_CONFIG=$cfg bash --norc --noprofile -c '
		source "$1" || exit 1
		complete -p canary >/dev/null || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_canary canary "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ \
		"$root/usr/share/bash-completion/completions/canary" "$@" 2>&1)
	if [[ ${got% } == "$want" ]]; then ok; else fail "completing \"$*\" offers \"${got% }\", not \"$want\""; fi
}
complete_words probe canary pro
complete_words "incident incidents" canary inc
complete_words "pause" canary probe pa
complete_words "mine" canary probe show ""
complete_words "mine" canary run-now -c "$cfg" m
complete_words "--config --help --json" canary status --
complete_words "debug" canary run --log-level d

# ---- PREFIX=/usr/local: the unit names /usr/local/bin/canary and verifies
if run_make install DESTDIR="$local_root" PREFIX=/usr/local; then
	local_unit=$local_root/usr/local/lib/systemd/system/canary.service
	check_file "$local_root/usr/local/bin/canary" 755
	check_file "$local_root/usr/local/lib/sysusers.d/canary.conf" 644
	check_file "$local_root/usr/local/share/man/man1/canary.1" 644
	check_file "$local_root/etc/canary/canary.json" 644
	if grep -qx 'ExecStart=/usr/local/bin/canary run -c /etc/canary/canary.json' "$local_unit"; then ok; else
		fail "ExecStart of the PREFIX=/usr/local unit: $(grep '^ExecStart=' "$local_unit" 2>/dev/null)"
	fi
	command -v systemd-analyze >/dev/null 2>&1 && verify_unit "$local_unit" "$local_root" /usr/local/bin
fi

# ---- BINDIR and SYSCONFDIR of their own: the unit names both, the config goes there
opt_root=$tmp/opt
if run_make install DESTDIR="$opt_root" PREFIX=/opt/canary SYSCONFDIR=/etc/opt; then
	opt_unit=$opt_root/opt/canary/lib/systemd/system/canary.service
	check_file "$opt_root/opt/canary/bin/canary" 755
	check_file "$opt_root/etc/opt/canary/canary.json" 644
	if grep -qx 'ExecStart=/opt/canary/bin/canary run -c /etc/opt/canary/canary.json' "$opt_unit"; then ok; else
		fail "ExecStart of the PREFIX=/opt/canary SYSCONFDIR=/etc/opt unit: $(grep '^ExecStart=' "$opt_unit" 2>/dev/null)"
	fi
	if [[ -e $opt_root/etc/canary ]]; then fail "SYSCONFDIR=/etc/opt installed into /etc/canary"; else ok; fi
fi

# ---- uninstall removes what install put, and keeps the config
if run_make uninstall DESTDIR="$root" PREFIX=/usr; then
	left=$(cd "$root" && find usr -type f | sort | tr '\n' ' ')
	if [[ -z $left ]]; then ok; else fail "uninstall left $left"; fi
	if cmp -s "$cfg" "$tmp/canary.json.mine" && [[ -f $root/etc/canary/probes.d/mine.json ]]; then ok; else
		fail "uninstall touched the config"
	fi
fi

if ((failures > 0)); then
	echo "install.sh: $failures check(s) failed, $checks passed" >&2
	exit 1
fi
echo "install.sh: ok, $checks checks passed"
