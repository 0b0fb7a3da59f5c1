/* Request routing: pattern matching with {captures}, the "/v1.NN" prefix, and the dispatcher
 * that turns an evhttp request into a call for the matching route's handler. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "berth/http_server.h"
#include "http_internal.h"

/* Match pattern against path (both from their current segment); record captures. */
bool http_route_match(const char *pat, const char *path, const char **cap_start, size_t *cap_len,
		      int n_caps)
{
	while (*pat && *path) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			if (!close || n_caps >= BERTH_HTTP_MAX_PARAMS)
				return false;
			bool greedy = close > pat + 1 && close[-1] == '*';
			const char *seg_end = strchrnul(path, '/');
			if (!greedy) {
				if (seg_end == path)
					return false;
				cap_start[n_caps] = path;
				cap_len[n_caps] = seg_end - path;
				pat = close + 1;
				path = seg_end;
				n_caps++;
				continue;
			}
			/* Greedy: the longest capture whose rest still matches. */
			if (*path == '/')
				return false;
			const char *end = path + strlen(path);
			for (const char *e = end; e > path; e--) {
				if (e != end && *e != '/')
					continue;
				cap_start[n_caps] = path;
				cap_len[n_caps] = e - path;
				if (http_route_match(close + 1, e, cap_start, cap_len, n_caps + 1))
					return true;
			}
			return false;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	/* Allow a trailing slash on the request. */
	if (*pat == '\0' && (path[0] == '\0' || (path[0] == '/' && path[1] == '\0')))
		return true;
	return false;
}

/* "/v1.41/containers/json" → "/containers/json". */
const char *http_strip_version(const char *path)
{
	const char *p = path;
	if (p[0] != '/' || p[1] != 'v' || !(p[2] >= '0' && p[2] <= '9'))
		return path;
	p += 2;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p != '.' || !(p[1] >= '0' && p[1] <= '9'))
		return path;
	p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '\0')
		return "/";
	return *p == '/' ? p : path;
}

static const char *method_name(enum evhttp_cmd_type type)
{
	switch (type) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "?";
	}
}

/* Find the route for method + path: a HEAD falls back to the GET route of the same path. */
static const struct berth_http_route *route_find(struct berth_http_server *srv, const char *method,
						 const char *path, const char **cap_start,
						 size_t *cap_len, bool *path_known)
{
	const struct berth_http_route *get_route = NULL;
	const char *get_start[BERTH_HTTP_MAX_PARAMS];
	size_t get_len[BERTH_HTTP_MAX_PARAMS];

	*path_known = false;
	for (size_t i = 0; i < srv->n_routes; i++) {
		const struct berth_http_route *r = &srv->routes[i];
		const char *start[BERTH_HTTP_MAX_PARAMS] = {0};
		size_t len[BERTH_HTTP_MAX_PARAMS] = {0};
		if (!http_route_match(r->pattern, path, start, len, 0))
			continue;
		*path_known = true;
		if (strcmp(r->method, method) == 0) {
			memcpy(cap_start, start, sizeof(start));
			memcpy(cap_len, len, sizeof(len));
			return r;
		}
		if (!get_route && strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0) {
			get_route = r;
			memcpy(get_start, start, sizeof(start));
			memcpy(get_len, len, sizeof(len));
		}
	}
	if (get_route) {
		memcpy(cap_start, get_start, sizeof(get_start));
		memcpy(cap_len, get_len, sizeof(get_len));
	}
	return get_route;
}

static size_t count_slashes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '/';
	return n;
}

/* Whether the i-th parameter of a pattern spans segments ({name*}: an image name has slashes,
 * so a decoded %2F is one of them). */
static bool param_is_multi(const char *pattern, int i)
{
	for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		if (!end)
			return false;
		if (i-- == 0)
			return end > p + 1 && end[-1] == '*';
	}
	return false;
}

/* evhttp decodes query values into C strings: a %00 would silently truncate one. */
static bool has_encoded_nul(const char *query)
{
	for (const char *p = strchr(query, '%'); p; p = strchr(p + 1, '%'))
		if (p[1] == '0' && p[2] == '0')
			return true;
	return false;
}

void http_dispatch(struct evhttp_request *req, void *arg)
{
	struct berth_http_server *srv = arg;
	struct http_call *call = calloc(1, sizeof(*call));
	if (!call) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	TAILQ_INIT(&call->pub.query);
	call->pub.req = req;
	call->pub.ctx = srv->ctx;
	call->srv = srv;
	call->evcon = evhttp_request_get_connection(req);
	call->dispatching = true;
	http_conn_busy(srv, req);

	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *method = method_name(evhttp_request_get_command(req));
	const char *path = http_strip_version(raw_path && *raw_path ? raw_path : "/");
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *cap_start[BERTH_HTTP_MAX_PARAMS] = {0};
	size_t cap_len[BERTH_HTTP_MAX_PARAMS] = {0};
	bool path_known;
	const struct berth_http_route *route = NULL;

	if (query &&
	    (evhttp_parse_query_str(query, &call->pub.query) != 0 || has_encoded_nul(query))) {
		berth_http_reply_errorf(&call->pub, 400, "invalid query string");
		goto out;
	}
	route = route_find(srv, method, path, cap_start, cap_len, &path_known);
	if (!route) {
		if (path_known)
			berth_http_reply_errorf(&call->pub, 405, "method %s not allowed on %s",
						method, path);
		else
			berth_http_reply_errorf(&call->pub, 404, "page not found");
		goto out;
	}
	for (int i = 0; i < BERTH_HTTP_MAX_PARAMS && cap_start[i]; i++) {
		char *raw = strndup(cap_start[i], cap_len[i]);
		size_t len = 0;
		call->param_buf[i] = raw ? evhttp_uridecode(raw, 0, &len) : NULL;
		if (!call->param_buf[i]) {
			free(raw);
			berth_http_reply_errorf(&call->pub, 500, "out of memory");
			goto out;
		}
		call->pub.params[i] = call->param_buf[i];
		/* A NUL would cut the name short; a decoded %2F would make a path of it. */
		bool bad = strlen(call->param_buf[i]) != len ||
			   (!param_is_multi(route->pattern, i) &&
			    count_slashes(call->param_buf[i]) != count_slashes(raw));
		free(raw);
		if (bad) {
			berth_http_reply_errorf(&call->pub, 400,
						"invalid path parameter: %%00 and %%2F are not "
						"allowed in a name or id");
			goto out;
		}
	}
	route->handler(&call->pub);
out:
	call->dispatching = false;
	if (call->finished) {
		http_call_free(call);
		return;
	}
	/* The handler keeps the call: learn when the connection goes away. */
	http_call_watch(call);
}
