# Sourced by scripts/package and scripts/walkthrough: a Debian base system
# of this machine's release in a directory, for the throwaway systems
# they install Logthra into.
#
# debian_base DIR LOG: debootstrap --variant=minbase into DIR (LOG gets
# its output), with the main, updates and security suites and a
# policy-rc.d that starts no service.  The result is kept as a tar file
# in $LOGTHRA_CHROOT_CACHE (default /var/cache/logthra-package) and
# unpacked from there for a week, which saves a minute and the mirror.
# Expects the caller's say and die, and SUDO (an array, maybe empty);
# LOGTHRA_MIRROR is the Debian mirror (default http://deb.debian.org/debian).
debian_base() {
	local dir=$1 log=$2 cache=${LOGTHRA_CHROOT_CACHE:-/var/cache/logthra-package}
	local suite mirror=${LOGTHRA_MIRROR:-http://deb.debian.org/debian}
	suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	local tarball=$cache/$suite-minbase.tar
	"${SUDO[@]}" mkdir -p "$dir" "$cache"
	if [[ -f $tarball && -n $(find "$tarball" -mtime -7) ]]; then
		say "unpacking the cached $suite base system ($tarball)"
		"${SUDO[@]}" tar -C "$dir" --numeric-owner -xpf "$tarball"
		return
	fi
	say "debootstrap --variant=minbase $suite (about a minute)"
	"${SUDO[@]}" debootstrap --variant=minbase "$suite" "$dir" "$mirror" \
	    >"$log" 2>&1 ||
	    { tail -n 20 "$log"; die "debootstrap failed"; }
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
	    "$mirror" "$suite" "$mirror" "$suite" "${mirror%/debian}/debian-security" "$suite" |
	    "${SUDO[@]}" tee "$dir/etc/apt/sources.list" >/dev/null
	printf '#!/bin/sh\n# no service starts in this chroot\nexit 101\n' |
	    "${SUDO[@]}" tee "$dir/usr/sbin/policy-rc.d" >/dev/null
	"${SUDO[@]}" chmod 755 "$dir/usr/sbin/policy-rc.d"
	"${SUDO[@]}" tar -C "$dir" --numeric-owner -cpf "$tarball.tmp" . &&
	    "${SUDO[@]}" mv "$tarball.tmp" "$tarball"
}
