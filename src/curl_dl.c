/* libcurl loaded with dlopen on first use (curl_dl.h). */
#include "config.h"

#include <dlfcn.h>
#include <stddef.h>

#include "curl_dl.h"
#include "log.h"

/* libcurl's soname since 7.16 (2006); the version configure checked the
 * headers of is what the functions are typed after. */
#define CURL_SONAME "libcurl.so.4"

struct lt_curl_fns lt_curl;

static void *curl_lib;

/* dlsym into a member typed as the function is: POSIX makes the
 * conversion of its void * to a function pointer work. */
#define LOAD(f)                                                         \
	do {                                                            \
		lt_curl.f = (__typeof__(lt_curl.f))dlsym(lib, "curl_" #f); \
		if (lt_curl.f == NULL) {                                \
			missing = "curl_" #f;                           \
			goto fail;                                      \
		}                                                       \
	} while (0)

int
lt_curl_load(void)
{
	const char *missing = NULL;
	void *lib;

	if (curl_lib != NULL)
		return 0;
	lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		lt_error("cannot load libcurl: %s", dlerror());
		lt_hint("install libcurl (the Debian package libcurl4t64 or libcurl4)");
		return -1;
	}
	LOAD(global_init);
	LOAD(global_cleanup);
	LOAD(easy_init);
	LOAD(easy_setopt);
	LOAD(easy_perform);
	LOAD(easy_getinfo);
	LOAD(easy_cleanup);
	LOAD(easy_strerror);
	LOAD(free);
	LOAD(slist_append);
	LOAD(slist_free_all);
	LOAD(url);
	LOAD(url_cleanup);
	LOAD(url_dup);
	LOAD(url_get);
	LOAD(url_set);
	LOAD(url_strerror);
	curl_lib = lib;
	return 0;
fail:
	lt_error("%s has no %s: libcurl is older than Logthra needs", CURL_SONAME,
		 missing);
	(void)dlclose(lib);
	return -1;
}
