/* Checks of a container create body (Docker's ContainerConfigWrapper) before the daemon uses
 * it: JSON types as Go's decoder enforces them, and the ranges Docker's daemon enforces. */
#ifndef BERTH_CREATE_CHECK_H
#define BERTH_CREATE_CHECK_H

#include <jansson.h>

#include "berth/error.h"

/* Go's json types the create body's known fields decode into. */
enum create_type {
	CT_STRING,   /* string */
	CT_BOOL,     /* bool */
	CT_INT64,    /* int64, int */
	CT_INT32,    /* int32 (never seen from the API, but kept honest) */
	CT_UINT16,   /* uint16 */
	CT_UINT64,   /* uint64, uint */
	CT_DURATION, /* time.Duration: an int64 of nanoseconds */
	CT_STRLIST,  /* []string */
	CT_STRSLICE, /* strslice.StrSlice: a string or a []string */
	CT_STRMAP,   /* map[string]string */
	CT_OBJECT,   /* a struct or a map of anything */
	CT_ARRAY,    /* a slice of anything */
	CT_UINTPAIR, /* [2]uint */
};

struct create_field {
	const char *path;      /* from the body: "HostConfig.Memory", "HostConfig.Ulimits[].Soft" */
	const char *go_struct; /* the Go struct the field is in, for the error message */
	const char *go_type;   /* the field's Go type, for the error message */
	enum create_type type;
};

/* The table of every known field of the create body (NULL path ends it). */
extern const struct create_field create_fields[];

/* 400 "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type
 * int64" for the first known field whose value has the wrong type; null is always accepted, as
 * Go's decoder leaves the field unset. Unknown fields are ignored, as Go ignores them. */
int create_check_types(const json_t *body, const struct create_field *table,
		       struct berth_error *err);

/* Docker's range checks (verifyPlatformContainerResources, verifyPlatformContainerSettings,
 * validateRestartPolicy) and berth's bounds that keep the arithmetic on them in range.
 * host is HostConfig, config the body; ncpu the host's CPU count. CpuShares is clamped to
 * 2..262144 in host as Docker does. */
int create_check_limits(json_t *host, const json_t *config, long ncpu, struct berth_error *err);

/* A field berth type-checks but does not act on: path is "Field" (Config) or
 * "HostConfig.Field"; flag the docker CLI flag that sets it (NULL if none); allowed the
 * non-empty string values that mean what berth does anyway (NULL-terminated, or NULL). */
struct create_unsupported {
	const char *path;
	const char *flag;
	const char *const *allowed;
};

/* The table of fields berth refuses when set (NULL path ends it). */
extern const struct create_unsupported create_unsupported[];

/* 400 "--sysctl is not supported by berth yet (HostConfig.Sysctls)" (or "berth does not
 * support HostConfig.Cgroup yet" for a field no flag sets) for the first field of the table
 * set to something other than null, "", 0, false, [], {} or one of its allowed values. */
int create_check_unsupported(const json_t *body, const struct create_unsupported *table,
			     struct berth_error *err);

#endif
