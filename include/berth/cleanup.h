/* Scope-bound cleanup attributes and ownership hand-off helpers. */
#ifndef BERTH_CLEANUP_H
#define BERTH_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <jansson.h>

static inline void berth_freep(void *p)
{
	free(*(void **)p);
}
static inline void berth_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void berth_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void berth_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void berth_json_decrefp(json_t **j)
{
	if (*j)
		json_decref(*j);
}
static inline void berth_strvfreep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(berth_freep)
#define _cleanup_close_ _cleanup_(berth_closep)
#define _cleanup_fclose_ _cleanup_(berth_fclosep)
#define _cleanup_closedir_ _cleanup_(berth_closedirp)
#define _cleanup_json_ _cleanup_(berth_json_decrefp)
#define _cleanup_strv_ _cleanup_(berth_strvfreep)

/* Declare a cleanup function for a library type: BERTH_DEFINE_CLEANUP(CURL *, curl_easy_cleanup) */
#define BERTH_DEFINE_CLEANUP(type, func)                                                           \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void *berth_steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))berth_steal_ptr(pp))

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
