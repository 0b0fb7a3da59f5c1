/* One error object carried up the stack, wrapped with context, printed or sent once. */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

#include <stdbool.h>

#define BERTH_ERROR_MAX 1024

/*
 * status is an HTTP status: 400 bad request, 404 not found, 409 conflict,
 * 500 berth's own failure (the default). exit_code is what a CLI returns for it
 * (125 unless set: 126/127 for "cannot invoke"/"not found" commands).
 */
struct berth_error {
	int status;
	int exit_code;
	char msg[BERTH_ERROR_MAX];
};

/* Set err (if not NULL) and return -1, so callers can `return berth_err(...)`. */
int berth_err(struct berth_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like berth_err, appending ": strerror(errno_value)". */
int berth_err_errno(struct berth_error *err, int status, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Prefix the message with context: "context: old message". Keeps status. Returns -1. */
int berth_err_wrap(struct berth_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void berth_err_clear(struct berth_error *err);
bool berth_err_is_set(const struct berth_error *err);

#endif
