/* struct berth_error: set, wrap with context, clear. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "berth/error.h"

static void err_vset(struct berth_error *err, int status, const char *fmt, va_list ap)
{
	err->status = status ? status : 500;
	if (err->exit_code == 0)
		err->exit_code = 125;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int berth_err(struct berth_error *err, int status, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, status, fmt, ap);
	va_end(ap);
	return -1;
}

int berth_err_errno(struct berth_error *err, int status, int errno_value, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, status, fmt, ap);
	va_end(ap);
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errno_value));
	return -1;
}

int berth_err_wrap(struct berth_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[BERTH_ERROR_MAX];
	char old[BERTH_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t n = strlen(prefix);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t rest = sizeof(err->msg) - n - 3;
	size_t old_len = strnlen(old, rest);
	memcpy(err->msg + n + 2, old, old_len);
	err->msg[n + 2 + old_len] = '\0';
	if (err->status == 0)
		err->status = 500;
	return -1;
}

void berth_err_clear(struct berth_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

bool berth_err_is_set(const struct berth_error *err)
{
	return err && err->msg[0] != '\0';
}
