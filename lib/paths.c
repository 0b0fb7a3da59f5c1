/* $BERTH_ROOT, $BERTH_RUN, the cgroup parent and the daemons' socket paths. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "berth/paths.h"

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

const char *berth_root_dir(void)
{
	return env_or("BERTH_ROOT", "/var/lib/berth");
}

const char *berth_run_dir(void)
{
	return env_or("BERTH_RUN", "/run/berth");
}

const char *berth_cgroup_parent(void)
{
	return env_or("BERTH_CGROUP_PARENT", "berth");
}

static const char *run_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", berth_run_dir(), name);
	return buf;
}

const char *berth_agent_sock(void)
{
	static char buf[PATH_MAX];
	return run_path(buf, sizeof(buf), "agent.sock");
}

const char *berth_netd_sock(void)
{
	static char buf[PATH_MAX];
	return run_path(buf, sizeof(buf), "netd.sock");
}

const char *berth_scheduler_sock(void)
{
	static char buf[PATH_MAX];
	return run_path(buf, sizeof(buf), "scheduler.sock");
}
