/* The worker thread: a FIFO of jobs in, a FIFO of finished jobs handed back through an event. */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "berth/log.h"
#include "link.h"
#include "worker.h"

struct netd_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct netd_job *todo, **todo_tail;
	struct netd_job *finished, **finished_tail;
	bool stopping;
	struct event *wake; /* activated from the worker when jobs finish */
	struct nl_sock *sk;
	int host_ns_fd;
};

static void worker_finished(evutil_socket_t fd, short what, void *arg)
{
	struct netd_worker *w = arg;
	pthread_mutex_lock(&w->lock);
	struct netd_job *list = w->finished;
	w->finished = NULL;
	w->finished_tail = &w->finished;
	pthread_mutex_unlock(&w->lock);
	while (list) {
		struct netd_job *next = list->next;
		if (list->done)
			list->done(list);
		else
			free(list);
		list = next;
	}
}

static void *worker_main(void *arg)
{
	struct netd_worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->todo && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->todo)
			break;
		struct netd_job *job = w->todo;
		w->todo = job->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->lock);
		job->next = NULL;
		job->run(job, w->sk, w->host_ns_fd);
		pthread_mutex_lock(&w->lock);
		*w->finished_tail = job;
		w->finished_tail = &job->next;
		event_active(w->wake, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct netd_worker *netd_worker_start(struct event_base *base, struct berth_error *err)
{
	struct netd_worker *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->todo_tail = &w->todo;
	w->finished_tail = &w->finished;
	w->host_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (w->host_ns_fd < 0) {
		berth_err_errno(err, 500, errno, "open /proc/self/ns/net");
		free(w);
		return NULL;
	}
	w->sk = link_sock_open(err);
	if (!w->sk) {
		close(w->host_ns_fd);
		free(w);
		return NULL;
	}
	w->wake = event_new(base, -1, 0, worker_finished, w);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		berth_err_errno(err, 500, rc, "start the worker thread");
		event_free(w->wake);
		link_sock_close(w->sk);
		close(w->host_ns_fd);
		free(w);
		return NULL;
	}
	return w;
}

void netd_worker_submit(struct netd_worker *w, struct netd_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	*w->todo_tail = job;
	w->todo_tail = &job->next;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void netd_worker_run_now(struct netd_worker *w, struct netd_job *job)
{
	job->next = NULL;
	job->run(job, w->sk, w->host_ns_fd);
	if (job->done)
		job->done(job);
	else
		free(job);
}

void netd_worker_stop(struct netd_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* Finished jobs still owe their done callbacks (replies go nowhere now); free them. */
	struct netd_job *list = w->finished;
	while (list) {
		struct netd_job *next = list->next;
		free(list);
		list = next;
	}
	event_free(w->wake);
	link_sock_close(w->sk);
	close(w->host_ns_fd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
