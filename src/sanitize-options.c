/* The default options of AddressSanitizer (with LeakSanitizer) and
 * UndefinedBehaviorSanitizer, linked into every program and unit test
 * of a build configured with --enable-sanitizers (scripts/sanitize), and
 * into no other build.  Programs that fcgiwrap or systemd-socket-activate
 * start never see the ASAN_OPTIONS or UBSAN_OPTIONS of the test that
 * started the server, so what an error must do is said here; options in
 * the environment still override these (the integration tests start the
 * programs with a log_path of their own: tests/integration/lib.sh).
 */
#include "config.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT_HAVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LT_HAVE_ASAN 1
#endif
#ifndef LT_HAVE_ASAN
#error "--enable-sanitizers needs -fsanitize=address,undefined in CFLAGS and LDFLAGS"
#endif

/*
 * The first error ends the program with a status none of the programs
 * uses (they exit 0, 1, 65 or 75), so that a report is never taken for
 * an expected failure (a CGI program's answer, if none went out yet,
 * is a 502).  Leaks are looked for at exit.
 */
#define LT_SAN_COMMON "exitcode=86:halt_on_error=1:abort_on_error=0"

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
	return LT_SAN_COMMON ":detect_leaks=1:strict_string_checks=1"
	    ":detect_stack_use_after_return=1:check_initialization_order=1"
	    ":print_suppressions=0";
}

const char *
__ubsan_default_options(void)
{
	return LT_SAN_COMMON ":print_stacktrace=1";
}
