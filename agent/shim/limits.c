/* The container process's own limits before exec: --ulimit (setrlimit) and --oom-score-adj. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "shim.h"

static rlim_t rlim(json_int_t v)
{
	return v < 0 ? RLIM_INFINITY : (rlim_t)v;
}

int shim_rlimits_apply(const json_t *ulimits, struct shim_child_error *cerr)
{
	size_t i;
	json_t *u;
	json_array_foreach(ulimits, i, u)
	{
		json_int_t resource = json_integer_value(json_object_get(u, "resource"));
		struct rlimit r = {rlim(json_integer_value(json_object_get(u, "soft"))),
				   rlim(json_integer_value(json_object_get(u, "hard")))};
		/* runc's message; raising a hard limit needs CAP_SYS_RESOURCE */
		if (resource < 0 || resource >= RLIM_NLIMITS ||
		    setrlimit((__rlimit_resource_t)resource, &r) < 0)
			return shim_child_fail(cerr, 125, errno, "error setting rlimit type %d",
					       (int)resource);
	}
	return 0;
}

int shim_oom_score_adj_apply(int adj, struct shim_child_error *cerr)
{
	if (adj == 0)
		return 0;
	char v[16];
	int n = snprintf(v, sizeof(v), "%d", adj);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v, (size_t)n) != n) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return shim_child_fail(cerr, 125, e, "write /proc/self/oom_score_adj");
	}
	close(fd);
	return 0;
}
