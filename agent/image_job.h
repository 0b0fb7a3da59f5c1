/* Running berth-image-worker for one /images API call, from the agent's event loop. */
#ifndef BERTH_IMAGE_JOB_H
#define BERTH_IMAGE_JOB_H

#include "agent.h"

enum image_job_kind {
	IMAGE_JOB_IMPORT, /* body → worker stdin; reply: its JSON lines (and an "import" event) */
	IMAGE_JOB_LOAD,	  /* body → worker stdin; reply: its JSON lines (and a "load" event) */
	IMAGE_JOB_SAVE,	  /* no body; the worker's stdout streamed as application/x-tar */
	IMAGE_JOB_PULL,	  /* input from image_job_input; its progress lines relayed as they come */
};

struct image_job;

/* A job for call; worker arguments follow the command with image_job_arg. */
struct image_job *image_job_new(struct berth_http_call *call, enum image_job_kind kind);
void image_job_arg(struct image_job *job, const char *arg);
/* Replace what the worker reads on stdin (a pull's X-Registry-Auth). */
void image_job_input(struct image_job *job, const char *data, size_t len);
/* Spawn the worker and finish the call when it is done (a 500 if it cannot start, dies or
 * is killed; its own 4xx/5xx when it reports one). The job frees itself. */
void image_job_start(struct image_job *job);
/* Drop a job that was never started, without replying. */
void image_job_free(struct image_job *job);

#endif
