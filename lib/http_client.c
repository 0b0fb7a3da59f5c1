/* The HTTP client for the daemons' unix sockets: libcurl, one reused handle per thread.
 * libcurl is loaded with dlopen on first use: linking it costs every process that links
 * libberth ~5 ms at start (it pulls in ~30 libraries), and most CLI runs never need it. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"

/* The libcurl functions we use, resolved from the dlopen'ed library. */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_reset)(CURL *curl);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} cf;
static bool cf_loaded;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static __thread CURL *client_handle;

static void client_global_init(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
#define CF_SYM(field, name)                                                                        \
	if (!(*(void **)&cf.field = dlsym(h, name)))                                               \
		return;
	CF_SYM(global_init, "curl_global_init");
	CF_SYM(easy_init, "curl_easy_init");
	CF_SYM(easy_reset, "curl_easy_reset");
	CF_SYM(easy_setopt, "curl_easy_setopt");
	CF_SYM(easy_perform, "curl_easy_perform");
	CF_SYM(easy_getinfo, "curl_easy_getinfo");
	CF_SYM(easy_cleanup, "curl_easy_cleanup");
	CF_SYM(easy_strerror, "curl_easy_strerror");
	CF_SYM(slist_append, "curl_slist_append");
	CF_SYM(slist_free_all, "curl_slist_free_all");
#undef CF_SYM
	cf.global_init(CURL_GLOBAL_NOTHING);
	cf_loaded = true;
}

/* The thread's handle, reset: keeping it keeps its connection cache (keep-alive). */
static CURL *client_get(void)
{
	pthread_once(&client_once, client_global_init);
	if (!cf_loaded)
		return NULL;
	if (!client_handle)
		client_handle = cf.easy_init();
	else
		cf.easy_reset(client_handle);
	return client_handle;
}

/* One request, whatever its body source and however its reply is consumed. */
struct client_req {
	const char *sock_path;
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	int body_fd;	     /* -1: none */
	long long body_size; /* of body_fd; -1 unknown (chunked) */
	const char *content_type;
	berth_http_stream_cb cb; /* NULL: collect the reply */
	void *arg;
};

struct client_sink {
	CURL *curl;
	const struct client_req *req;
	long status;
	bool stopped;
	bool error_reply; /* non-2xx: collect for the message instead of streaming */
	char *buf;
	size_t len, cap;
};

static int sink_append(struct client_sink *s, const char *data, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *p = realloc(s->buf, cap);
		if (!p)
			return -1;
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

static size_t client_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct client_sink *s = arg;
	size_t n = size * nmemb;
	if (s->status == 0) {
		cf.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
		s->error_reply = s->status < 200 || s->status > 299;
	}
	if (!s->req->cb || s->error_reply)
		return sink_append(s, data, n) == 0 ? n : 0;
	if (s->req->cb(data, n, s->req->arg) != 0) {
		s->stopped = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

static size_t client_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	const struct client_req *req = arg;
	for (;;) {
		ssize_t n = read(req->body_fd, buf, size * nmemb);
		if (n >= 0)
			return (size_t)n;
		if (errno != EINTR)
			return CURL_READFUNC_ABORT;
	}
}

/* "…/agent.sock" → "agent", for the cannot-connect message. */
static void daemon_name(const char *sock_path, char *out, size_t size)
{
	const char *base = strrchr(sock_path, '/');
	base = base ? base + 1 : sock_path;
	size_t n = strcspn(base, ".");
	if (n == 0 || n >= size)
		snprintf(out, size, "daemon");
	else
		snprintf(out, size, "%.*s", (int)n, base);
}

/* Turn a non-2xx reply into err: the daemon's {"message": …}, else the body, else the code. */
static int client_reply_error(long status, const char *body, size_t len, struct berth_error *err)
{
	json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
	if (msg)
		berth_err(err, (int)status, "%s", msg);
	else if (len)
		berth_err(err, (int)status, "%.*s",
			  (int)(len && body[len - 1] == '\n' ? len - 1 : len), body);
	else
		berth_err(err, (int)status, "request failed with status %ld", status);
	if (err)
		err->exit_code = 125;
	json_decref(j);
	return -1;
}

static int client_perform(const struct client_req *req, struct client_sink *sink,
			  struct berth_error *err)
{
	CURL *curl = client_get();
	if (!curl)
		return berth_err(err, 500, "cannot load libcurl (libcurl.so.4): %s",
				 cf_loaded ? "out of memory" : "is it installed?");
	char url[4096];
	if (snprintf(url, sizeof(url), "http://localhost%s", req->path) >= (int)sizeof(url))
		return berth_err(err, 400, "request path too long");
	sink->curl = curl;
	sink->req = req;

	struct curl_slist *headers = NULL;
	char ct[256];
	if (req->body || req->body_fd >= 0) {
		snprintf(ct, sizeof(ct), "Content-Type: %s",
			 req->content_type ? req->content_type : "application/json");
		headers = cf.slist_append(headers, ct);
		headers = cf.slist_append(headers, "Expect:");
	}
	cf.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, req->sock_path);
	cf.easy_setopt(curl, CURLOPT_URL, url);
	cf.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	cf.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	cf.easy_setopt(curl, CURLOPT_WRITEFUNCTION, client_write);
	cf.easy_setopt(curl, CURLOPT_WRITEDATA, sink);
	if (strcmp(req->method, "HEAD") == 0)
		cf.easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
		cf.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body) {
		cf.easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		cf.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (req->body_fd >= 0) {
		cf.easy_setopt(curl, CURLOPT_POST, 1L);
		cf.easy_setopt(curl, CURLOPT_READFUNCTION, client_read);
		cf.easy_setopt(curl, CURLOPT_READDATA, req);
		if (req->body_size >= 0)
			cf.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)req->body_size);
		else
			headers = cf.slist_append(headers, "Transfer-Encoding: chunked");
	} else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		/* An empty body, sent with Content-Length: 0 as Docker's CLI does. */
		cf.easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		cf.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	if (headers)
		cf.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

	CURLcode rc = cf.easy_perform(curl);
	cf.slist_free_all(headers);
	if (sink->status == 0)
		cf.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &sink->status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && sink->stopped))
		return 0;
	if (rc == CURLE_COULDNT_CONNECT ||
	    (rc == CURLE_RECV_ERROR && sink->status == 0 && access(req->sock_path, F_OK) != 0)) {
		char name[64];
		daemon_name(req->sock_path, name, sizeof(name));
		return berth_err(err, 500,
				 "Cannot connect to the berth %s at unix://%s. Is the berth %s "
				 "running?",
				 name, req->sock_path, name);
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR)
		return berth_err(err, 500, "reading the request body failed");
	return berth_err(err, 500, "%s %s: %s", req->method, req->path, cf.easy_strerror(rc));
}

void berth_http_client_thread_cleanup(void)
{
	if (client_handle && cf_loaded)
		cf.easy_cleanup(client_handle);
	client_handle = NULL;
}

void berth_http_response_free(struct berth_http_response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static int client_collect(const struct client_req *req, struct berth_http_response *out,
			  struct berth_error *err)
{
	struct client_sink sink = {0};
	if (client_perform(req, &sink, err) < 0) {
		free(sink.buf);
		return -1;
	}
	if (!sink.buf && !(sink.buf = calloc(1, 1)))
		return berth_err(err, 500, "out of memory");
	out->status = sink.status;
	out->body = sink.buf;
	out->len = sink.len;
	return 0;
}

int berth_http_request(const char *sock_path, const char *method, const char *path,
		       const char *body, size_t body_len, const char *content_type,
		       struct berth_http_response *out, struct berth_error *err)
{
	struct client_req req = {
	    .sock_path = sock_path,
	    .method = method,
	    .path = path,
	    .body = body,
	    .body_len = body_len,
	    .body_fd = -1,
	    .content_type = content_type,
	};
	return client_collect(&req, out, err);
}

int berth_http_json(const char *sock_path, const char *method, const char *path, const json_t *body,
		    json_t **reply, struct berth_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (reply)
		*reply = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return berth_err(err, 500, "cannot encode the request body");
	struct berth_http_response r = {0};
	if (berth_http_request(sock_path, method, path, text, text ? strlen(text) : 0, NULL, &r,
			       err) < 0)
		return -1;
	if (r.status < 200 || r.status > 299) {
		client_reply_error(r.status, r.body, r.len, err);
		berth_http_response_free(&r);
		return -1;
	}
	if (reply && r.len > 0) {
		json_error_t jerr;
		*reply = json_loadb(r.body, r.len, JSON_DECODE_ANY, &jerr);
		if (!*reply) {
			berth_http_response_free(&r);
			return berth_err(err, 500, "%s %s: invalid JSON in the reply: %s", method,
					 path, jerr.text);
		}
	}
	berth_http_response_free(&r);
	return 0;
}

static int client_stream(const struct client_req *req, long *status_out, struct berth_error *err)
{
	struct client_sink sink = {0};
	int rc = client_perform(req, &sink, err);
	if (status_out)
		*status_out = sink.status;
	if (rc == 0 && sink.error_reply)
		rc = client_reply_error(sink.status, sink.buf, sink.len, err);
	free(sink.buf);
	return rc;
}

int berth_http_stream(const char *sock_path, const char *method, const char *path, const char *body,
		      size_t body_len, const char *content_type, berth_http_stream_cb cb, void *arg,
		      long *status_out, struct berth_error *err)
{
	struct client_req req = {
	    .sock_path = sock_path,
	    .method = method,
	    .path = path,
	    .body = body,
	    .body_len = body_len,
	    .body_fd = -1,
	    .content_type = content_type,
	    .cb = cb,
	    .arg = arg,
	};
	return client_stream(&req, status_out, err);
}

/* Open file ("-" = stdin) and learn its size if it is a regular file. */
static int upload_open(const char *file, long long *size, struct berth_error *err)
{
	int fd = strcmp(file, "-") == 0 ? dup(STDIN_FILENO) : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_errno(err, 400, errno, "open %s", file);
	struct stat st;
	*size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
	if (*size >= 0 && strcmp(file, "-") == 0) /* stdin may be a file read part-way */
		*size = -1;
	return fd;
}

int berth_http_upload_file(const char *sock_path, const char *method, const char *path,
			   const char *file, const char *content_type,
			   struct berth_http_response *out, struct berth_error *err)
{
	struct client_req req = {
	    .sock_path = sock_path,
	    .method = method,
	    .path = path,
	    .content_type = content_type,
	};
	_cleanup_close_ int fd = upload_open(file, &req.body_size, err);
	if (fd < 0)
		return -1;
	req.body_fd = fd;
	return client_collect(&req, out, err);
}

int berth_http_upload_stream(const char *sock_path, const char *method, const char *path, int fd,
			     const char *content_type, berth_http_stream_cb cb, void *arg,
			     long *status_out, struct berth_error *err)
{
	struct stat st;
	struct client_req req = {
	    .sock_path = sock_path,
	    .method = method,
	    .path = path,
	    .body_fd = fd,
	    .content_type = content_type,
	    .cb = cb,
	    .arg = arg,
	};
	req.body_size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0
			    ? (long long)st.st_size
			    : -1;
	return client_stream(&req, status_out, err);
}

char *berth_http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	char *p = out;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' || *c == '~') {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = '\0';
	return out;
}
