#!/bin/bash
# The shipped systemd units, sysusers.d and tmpfiles.d entries, as make
# generates them: systemd-analyze verify finds nothing wrong, the
# hardening holds (systemd-analyze security rates the three services well and
# the settings the privilege separation rests on are there), the users
# and the spool come out as logthra(7) says.
. "$(dirname "$0")/lib.sh"

need systemd-analyze systemd systemd-sysusers systemd
need_built

BUILD=$abs_top_builddir
UNITS=(logthra-recv.socket logthra-recv@.service logthra-flush.service logthra-flush.timer
    logthra-flush-follow.service)
make -C "$BUILD" -s systemd/logthra-recv@.service systemd/logthra-flush.service \
    systemd/logthra-flush-follow.service \
    systemd/logthra.conf.sysusers systemd/logthra.conf.tmpfiles >"$T/make.out" 2>&1 ||
    { cat "$T/make.out"; die "could not generate the units"; }

# verify wants the programs the units name to exist: point them at the
# built ones, in a directory of their own.
mkdir -p "$T/units"
for u in "${UNITS[@]}"; do
	src=$BUILD/systemd/$u
	[[ -f $src ]] || src=$abs_top_srcdir/systemd/$u
	sed -e "s|^ExecStart=[^ ]*/logthra-recv|ExecStart=$RECV|" \
	    -e "s|^ExecStart=[^ ]*/logthra-flush|ExecStart=$FLUSH|" "$src" >"$T/units/$u"
done
check_contains "ExecStart=$RECV --mode=inetd" "$(cat "$T/units/logthra-recv@.service")" \
    "the receiver's unit runs logthra-recv in inetd mode"

run systemd-analyze verify --man=no "${UNITS[@]/#/$T/units/}"
check_rc 0 "systemd-analyze verify: the five units"
check_eq "" "$RUN_OUT$RUN_ERR" "systemd-analyze verify says nothing"

# security --offline rates 0 (best) to 10 (--threshold counts tenths);
# all are far below the
# "MEDIUM" threshold of 5.
for svc in logthra-recv@.service logthra-flush.service logthra-flush-follow.service; do
	run systemd-analyze security --offline=yes --threshold=20 "$T/units/$svc"
	check_rc 0 "$svc: systemd-analyze security exposure at most 2"
	note "$(printf '%s\n' "$RUN_OUT" | grep 'Overall exposure')"
done

recv_unit=$(cat "$T/units/logthra-recv@.service")
for line in User=logthra-recv Group=logthra IPAddressDeny=any IPAddressAllow=localhost \
    ProtectSystem=strict \
    NoNewPrivileges=yes "ReadWritePaths=$(sed -n 's/^d \([^ ]*\) .*/\1/p' \
    "$BUILD/systemd/logthra.conf.tmpfiles")" StandardInput=socket; do
	check_contains "$line" "$recv_unit" "logthra-recv@.service: $line"
done
flush_unit=$(cat "$T/units/logthra-flush.service")
for line in User=logthra Group=logthra ProtectSystem=strict NoNewPrivileges=yes \
    SuccessExitStatus=75 Type=oneshot; do
	check_contains "$line" "$flush_unit" "logthra-flush.service: $line"
done
follow_unit=$(cat "$T/units/logthra-flush-follow.service")
for line in "ExecStart=$FLUSH --follow" User=logthra Group=logthra ProtectSystem=strict \
    NoNewPrivileges=yes Type=exec Restart=on-failure \
    "Conflicts=logthra-flush.timer logthra-flush.service" WantedBy=multi-user.target; do
	check_contains "$line" "$follow_unit" "logthra-flush-follow.service: $line"
done
# Every hardening line of the timer's service is in the follow service:
# the two run the same program with the same rights.
while IFS= read -r line; do
	check_contains "$line" "$follow_unit" "the follow service keeps the hardening: $line"
done < <(sed -n '/^NoNewPrivileges=/,/^SystemCallErrorNumber=/p' "$T/units/logthra-flush.service")
check_contains "Accept=yes" "$(cat "$T/units/logthra-recv.socket")" "the socket accepts: one process per connection"
check_contains "OnUnitActiveSec=30s" "$(cat "$T/units/logthra-flush.timer")" "the timer fires every 30 s"

run systemd-sysusers --dry-run "$BUILD/systemd/logthra.conf.sysusers"
check_rc 0 "systemd-sysusers accepts the entry"
if getent passwd logthra >/dev/null; then
	note "user logthra exists already: sysusers has nothing to say"
else
	check_contains "Creating user 'logthra' " "$RUN_OUT$RUN_ERR" "sysusers: user logthra"
	check_contains "Creating user 'logthra-recv' " "$RUN_OUT$RUN_ERR" "sysusers: user logthra-recv"
fi
check_contains " 2770 logthra logthra " "$(cat "$BUILD/systemd/logthra.conf.tmpfiles")" \
    "tmpfiles: the spool is the group's, set-group-ID"
finish
