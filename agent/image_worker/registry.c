/* Registry HTTP API v2 over libcurl: requests, the 401 → Basic or Bearer token dance (the
 * token cached for the pull), and the registry's error bodies as Docker prints them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/www_auth.h"
#include "registry.h"

BERTH_DEFINE_CLEANUP(CURL *, curl_easy_cleanup)
#define _cleanup_curl_ _cleanup_(curl_easy_cleanupp)

void registry_reply_clear(struct registry_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static bool host_is_loopback(const char *domain)
{
	char host[256];
	snprintf(host, sizeof(host), "%s", domain);
	char *colon = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
	if (colon && host[0] == '[')
		colon[1] = '\0';
	else if (colon)
		*colon = '\0';
	return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "[::1]");
}

int registry_init(struct registry *r, const struct image_ref *ref, struct berth_error *err)
{
	memset(r, 0, sizeof(*r));
	r->ref = *ref;
	pthread_mutex_init(&r->lock, NULL);
	const char *host = ref->domain;
	if (!strcmp(host, "docker.io"))
		host = "registry-1.docker.io";
	/* Docker treats loopback registries as insecure; berth speaks plain HTTP to them (and
	 * later to insecure-registries). Everything else is HTTPS with verification. */
	snprintf(r->base, sizeof(r->base), "%s://%s", host_is_loopback(host) ? "http" : "https",
		 host);
	(void)err;
	return 0;
}

void registry_clear(struct registry *r)
{
	free(r->authorization);
	r->authorization = NULL;
	pthread_mutex_destroy(&r->lock);
	memset(r->password, 0, sizeof(r->password));
}

static void common_opts(CURL *c)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A registry that stops sending: give up after 60 s below 1 byte/s. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/0.1 (registry client)");
	/* Go serves h2 on TLS: HTTP/1.1 keeps one code path. */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
}

struct mem_sink {
	struct registry_reply *out;
	size_t max;
	bool too_big;
};

static size_t mem_write(char *data, size_t size, size_t n, void *arg)
{
	struct mem_sink *s = arg;
	size_t len = size * n;
	struct registry_reply *o = s->out;
	if (o->len + len > s->max) {
		s->too_big = true;
		return 0;
	}
	char *nb = realloc(o->body, o->len + len + 1);
	if (!nb)
		abort();
	o->body = nb;
	memcpy(o->body + o->len, data, len);
	o->len += len;
	o->body[o->len] = '\0';
	return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	if (len <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + len;
	while (v < end && isspace((unsigned char)*v))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	snprintf(out, size, "%.*s", (int)(end - v), v);
}

static size_t mem_header(char *data, size_t size, size_t n, void *arg)
{
	struct mem_sink *s = arg;
	size_t len = size * n;
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* A new response (after a redirect): forget the last one's headers. */
		s->out->content_type[0] = s->out->digest[0] = '\0';
	}
	header_value(data, len, "Content-Type", s->out->content_type, sizeof(s->out->content_type));
	header_value(data, len, "Docker-Content-Digest", s->out->digest, sizeof(s->out->digest));
	header_value(data, len, "WWW-Authenticate", s->out->www_auth, sizeof(s->out->www_auth));
	return len;
}

/* One GET of url into out. extra_auth is a full "Authorization: ..." header or NULL. */
static int http_get(const char *url, const char *accept, const char *authorization, size_t max,
		    struct registry_reply *out, struct berth_error *err)
{
	registry_reply_clear(out);
	_cleanup_curl_ CURL *c = curl_easy_init();
	if (!c)
		return berth_err(err, 500, "curl_easy_init failed");
	struct mem_sink sink = {out, max, false};
	struct curl_slist *h = NULL;
	char line[600];
	if (accept) {
		snprintf(line, sizeof(line), "Accept: %s", accept);
		h = curl_slist_append(h, line);
	}
	if (authorization)
		h = curl_slist_append(h, authorization);
	common_opts(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, mem_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (sink.too_big)
		return berth_err(err, 413, "%s: response larger than %zu bytes", url, max);
	if (rc != CURLE_OK)
		return berth_err(err, 500, "Get \"%s\": %s", url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (!out->body) {
		out->body = strdup("");
		if (!out->body)
			abort();
	}
	return 0;
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	if (!e)
		abort();
	char *copy = strdup(e);
	curl_free(e);
	if (!copy)
		abort();
	return copy;
}

static char *basic_header(const struct registry *r)
{
	_cleanup_free_ char *plain = berth_strdupf("%s:%s", r->user, r->password);
	size_t n = strlen(plain);
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	_cleanup_free_ char *b64 = calloc(4 * ((n + 2) / 3) + 1, 1);
	if (!b64)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)plain[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)plain[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)plain[i + 2];
		b64[o++] = tbl[(v >> 18) & 63];
		b64[o++] = tbl[(v >> 12) & 63];
		b64[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	explicit_bzero(plain, n);
	return berth_strdupf("Authorization: Basic %s", b64);
}

/* Ask the challenge's realm for a token for its scope (or ours), with Basic credentials
 * when we have them. */
static int fetch_token(struct registry *r, const struct berth_auth_challenge *ch,
		       struct berth_error *err)
{
	_cleanup_free_ char *scope =
	    ch->scope[0] ? strdup(ch->scope) : berth_strdupf("repository:%s:pull", r->ref.path);
	_cleanup_free_ char *es = url_escape(scope);
	_cleanup_free_ char *esv = url_escape(ch->service);
	_cleanup_free_ char *url = berth_strdupf("%s%sservice=%s&scope=%s", ch->realm,
						 strchr(ch->realm, '?') ? "&" : "?", esv, es);
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return berth_err(err, 502, "the registry's token realm \"%s\" is not a URL",
				 ch->realm);
	_cleanup_free_ char *basic = r->user[0] ? basic_header(r) : NULL;
	struct registry_reply rep = {0};
	int rc = http_get(url, NULL, basic, 1 << 20, &rep, err);
	if (rc == 0 && rep.status == 401)
		rc = berth_err(err, 401, "unauthorized: authentication required");
	else if (rc == 0 && rep.status != 200)
		rc = berth_err(err, 502, "token server %s answered %ld", ch->realm, rep.status);
	json_t *j = rc == 0 ? json_loadb(rep.body, rep.len, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (rc == 0 && (!tok || !*tok || strpbrk(tok, "\r\n")))
		rc = berth_err(err, 502, "token server %s gave no token", ch->realm);
	if (rc == 0) {
		pthread_mutex_lock(&r->lock);
		free(r->authorization);
		r->authorization = berth_strdupf("Authorization: Bearer %s", tok);
		pthread_mutex_unlock(&r->lock);
	}
	json_decref(j);
	registry_reply_clear(&rep);
	return rc;
}

static char *current_auth(struct registry *r)
{
	pthread_mutex_lock(&r->lock);
	char *a = r->authorization ? strdup(r->authorization) : NULL;
	pthread_mutex_unlock(&r->lock);
	return a;
}

int registry_get(struct registry *r, const char *path, const char *accept, size_t max,
		 struct registry_reply *out, struct berth_error *err)
{
	_cleanup_free_ char *url = berth_strdupf("%s%s", r->base, path);
	for (int attempt = 0;; attempt++) {
		_cleanup_free_ char *auth = current_auth(r);
		if (http_get(url, accept, auth, max, out, err) < 0)
			return -1;
		if (out->status != 401 || attempt == 1)
			return 0;
		struct berth_auth_challenge ch;
		if (berth_www_auth_parse(out->www_auth, strlen(out->www_auth), &ch) < 0)
			return 0; /* a 401 we cannot answer: the caller reports it */
		if (ch.scheme == BERTH_AUTH_BASIC) {
			if (!r->user[0])
				return 0;
			pthread_mutex_lock(&r->lock);
			free(r->authorization);
			r->authorization = basic_header(r);
			pthread_mutex_unlock(&r->lock);
		} else if (fetch_token(r, &ch, err) < 0) {
			return -1;
		}
	}
}

CURL *registry_blob_handle(struct registry *r, const char *digest, struct curl_slist **headers)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	char url[900];
	snprintf(url, sizeof(url), "%s/v2/%s/blobs/%s", r->base, r->ref.path, digest);
	common_opts(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* curl sends a custom Authorization header only to the host (and port) it was set
	 * for: a redirect to a CDN gets none (CURLOPT_UNRESTRICTED_AUTH stays 0). */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	*headers = NULL;
	_cleanup_free_ char *auth = current_auth(r);
	if (auth)
		*headers = curl_slist_append(*headers, auth);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
	return c;
}

char *registry_error_text(const struct registry_reply *reply)
{
	_cleanup_json_ json_t *j =
	    reply->body ? json_loadb(reply->body, reply->len, 0, NULL) : NULL;
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (!code)
		return NULL;
	/* errcode's Error(): the code in lower case with spaces, then the message. */
	char lc[64];
	size_t i = 0;
	for (; code[i] && i + 1 < sizeof(lc); i++)
		lc[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
	lc[i] = '\0';
	return berth_strdupf("%s: %s", lc, msg ? msg : lc);
}
