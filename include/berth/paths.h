/* Where berth keeps its state ($BERTH_ROOT) and runtime files ($BERTH_RUN). */
#ifndef BERTH_PATHS_H
#define BERTH_PATHS_H

/* $BERTH_ROOT or /var/lib/berth */
const char *berth_root_dir(void);
/* $BERTH_RUN or /run/berth */
const char *berth_run_dir(void);
/* $BERTH_CGROUP_PARENT or "berth": the cgroup under each controller that holds containers. */
const char *berth_cgroup_parent(void);
/* $BERTH_RUN/agent.sock etc. Returned strings are static. */
const char *berth_agent_sock(void);
const char *berth_netd_sock(void);
const char *berth_scheduler_sock(void);

#endif
