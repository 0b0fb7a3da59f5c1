/* One worker thread for the kernel work that may take milliseconds (new network namespaces,
 * veth pairs, deleting links), so the loop never waits on it. Jobs run in submission order:
 * a teardown queued before a re-create of the same container runs first. */
#ifndef BERTH_NETD_WORKER_H
#define BERTH_NETD_WORKER_H

#include <event2/event.h>

#include "berth/error.h"

struct nl_sock;

struct netd_job {
	/* On the worker thread. host_sk is a netlink socket in netd's own namespace, host_ns_fd
	 * that namespace (run must leave the thread in it). */
	void (*run)(struct netd_job *job, struct nl_sock *host_sk, int host_ns_fd);
	/* Back on the loop thread; owns and frees the job. May be NULL (the job is freed). */
	void (*done)(struct netd_job *job);
	struct netd_job *next;
};

struct netd_worker;

struct netd_worker *netd_worker_start(struct event_base *base, struct berth_error *err);
void netd_worker_submit(struct netd_worker *w, struct netd_job *job);
/* Run a job on the calling thread (at start, before the loop runs). */
void netd_worker_run_now(struct netd_worker *w, struct netd_job *job);
/* Finish the queued jobs (bounded: their kernel work is short), stop the thread. */
void netd_worker_stop(struct netd_worker *w);

#endif
