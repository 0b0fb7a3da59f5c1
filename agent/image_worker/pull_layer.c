/* One layer of a pull in one streaming pass: socket → sha256 (the blob digest) → gunzip or
 * zstd → sha256 (the diff ID) and the store's layer tar → the same unpacker `load` uses, into
 * a temporary directory that becomes layers/<chain id> only once both digests match. The
 * compressed blob is never written anywhere. libcurl's multi interface is driven from
 * libarchive's read callback, so the unpacker's pace sets the socket's. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "image_store_private.h"
#include "pull.h"

BERTH_DEFINE_CLEANUP(struct archive *, archive_read_free)
#define _cleanup_archive_ _cleanup_(archive_read_freep)

struct blob_stream {
	CURLM *multi;
	CURL *easy;
	char *buf;
	size_t len, cap;
	bool done;
	CURLcode result;
	long status;
	char errbody[2048]; /* a non-200 reply's body (the registry's error JSON) */
	size_t errlen;
	struct berth_sha256 *hash;
	int64_t total, expected;
	bool too_long;
	struct pull_layer *layer;
};

static size_t blob_write(char *data, size_t size, size_t n, void *arg)
{
	struct blob_stream *s = arg;
	size_t len = size * n;
	if (!s->status)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status != 200) {
		size_t room = sizeof(s->errbody) - 1 - s->errlen;
		size_t k = len < room ? len : room;
		memcpy(s->errbody + s->errlen, data, k);
		s->errlen += k;
		return len;
	}
	if (s->expected >= 0 && s->total + (int64_t)len > s->expected) {
		s->too_long = true;
		return 0;
	}
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			abort();
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->total += (int64_t)len;
	berth_sha256_update(s->hash, data, len);
	pull_layer_progress(s->layer, s->total);
	return len;
}

/* Run the transfer until it delivers something or ends. */
static void blob_pump(struct blob_stream *s)
{
	while (s->len == 0 && !s->done) {
		int running = 0;
		curl_multi_perform(s->multi, &running);
		int left;
		CURLMsg *m;
		while ((m = curl_multi_info_read(s->multi, &left)))
			if (m->msg == CURLMSG_DONE) {
				s->result = m->data.result;
				s->done = true;
			}
		if (!running)
			s->done = true;
		if (s->len == 0 && !s->done)
			curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
	}
}

static la_ssize_t blob_read(struct archive *a, void *arg, const void **buf)
{
	struct blob_stream *s = arg;
	s->len = 0;
	blob_pump(s);
	if (s->len == 0 && (s->result != CURLE_OK || s->status != 200)) {
		archive_set_error(a, EIO, "download failed");
		return -1;
	}
	*buf = s->buf;
	return (la_ssize_t)s->len;
}

/* The decompressed stream: hashed (diff ID), kept as the store's layer tar, handed on. */
struct plain_stream {
	struct archive *outer;
	struct berth_sha256 *hash;
	int fd;
	int64_t total;
	bool write_failed;
	bool eof;
};

static la_ssize_t plain_read(struct archive *a, void *arg, const void **buf)
{
	struct plain_stream *p = arg;
	if (p->eof)
		return 0;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(p->outer, buf, &len, &off);
	if (r == ARCHIVE_EOF) {
		p->eof = true;
		return 0;
	}
	if (r != ARCHIVE_OK) {
		if (a)
			archive_set_error(a, EIO, "%s", archive_error_string(p->outer) ?: "read");
		return -1;
	}
	berth_sha256_update(p->hash, *buf, len);
	p->total += (int64_t)len;
	const char *q = *buf;
	for (size_t left = len; left > 0 && !p->write_failed;) {
		ssize_t n = write(p->fd, q, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->write_failed = true;
			break;
		}
		q += n;
		left -= (size_t)n;
	}
	return (la_ssize_t)len;
}

static int stream_error(struct pull_layer *l, struct blob_stream *s, struct berth_error *err)
{
	if (s->too_long)
		return berth_err(err, 502,
				 "layer %s: the registry sent more than the %lld bytes "
				 "its manifest names",
				 l->digest, (long long)s->expected);
	if (s->status && s->status != 200) {
		struct registry_reply rep = {
		    .status = s->status, .body = s->errbody, .len = s->errlen};
		s->errbody[s->errlen] = '\0';
		_cleanup_free_ char *t = registry_error_text(&rep);
		return berth_err(err, s->status == 404 ? 404 : 502, "layer %s: %s", l->digest,
				 t ? t : "the registry answered an error");
	}
	if (s->result != CURLE_OK)
		return berth_err(err, 502, "layer %s: %s", l->digest,
				 curl_easy_strerror(s->result));
	return 0;
}

static int fetch_into(struct pull_layer *l, const char *dir, int tar_fd, char diff[72],
		      struct berth_error *err)
{
	struct curl_slist *headers = NULL;
	struct blob_stream s = {.expected = l->size > 0 ? l->size : -1, .layer = l};
	s.easy = registry_blob_handle(l->reg, l->digest, &headers);
	s.multi = curl_multi_init();
	s.hash = berth_sha256_new();
	if (!s.easy || !s.multi)
		abort();
	curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, blob_write);
	curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &s);
	curl_multi_add_handle(s.multi, s.easy);

	struct plain_stream p = {.fd = tar_fd};
	p.hash = berth_sha256_new();
	int rc = 0;
	{
		_cleanup_archive_ struct archive *outer = archive_read_new();
		/* Docker's layer media types: gzip, zstd, or none. No other filter (some run
		 * external programs). */
		archive_read_support_filter_gzip(outer);
		archive_read_support_filter_zstd(outer);
		archive_read_support_format_raw(outer);
		struct archive_entry *e;
		if (archive_read_open(outer, &s, NULL, blob_read, NULL) != ARCHIVE_OK ||
		    archive_read_next_header(outer, &e) != ARCHIVE_OK) {
			rc = stream_error(l, &s, err);
			if (rc == 0)
				rc = berth_err(err, 400, "layer %s: not a layer: %s", l->digest,
					       archive_error_string(outer) ?: "empty");
		}
		p.outer = outer;
		if (rc == 0) {
			_cleanup_archive_ struct archive *inner = archive_read_new();
			archive_read_support_format_tar(inner);
			if (archive_read_open(inner, &p, NULL, plain_read, NULL) != ARCHIVE_OK)
				rc = berth_err(err, 400, "layer %s: not a tar archive: %s",
					       l->digest, archive_error_string(inner) ?: "");
			else
				rc = image_layer_unpack_archive(inner, dir, err);
		}
		/* The rest of the stream (tar padding, gzip trailer) still counts in both
		 * digests. */
		while (rc == 0 && !p.eof) {
			const void *b;
			if (plain_read(NULL, &p, &b) < 0)
				rc = berth_err(err, 400, "layer %s: corrupt: %s", l->digest,
					       archive_error_string(outer) ?: "read error");
		}
	}
	/* Drain the transfer whatever happened (bounded by the manifest's size): a tampered
	 * blob is reported as one even when its bytes broke the decompressor first. */
	while (!s.done) {
		s.len = 0;
		blob_pump(&s);
	}
	char hex[65];
	berth_sha256_final_hex(s.hash, hex);
	bool digest_ok = !strncmp(l->digest, "sha256:", 7) && !strcmp(l->digest + 7, hex);
	struct berth_error serr = {0};
	if (s.status == 200 && (s.result == CURLE_OK || s.too_long) && !digest_ok) {
		berth_err_clear(err);
		rc = berth_err(err, 502, "filesystem layer verification failed for digest %s",
			       l->digest);
	} else if (stream_error(l, &s, &serr) < 0) {
		berth_err_clear(err);
		*err = serr;
		rc = -1;
	} else if (rc == 0 && s.expected >= 0 && s.total != s.expected) {
		rc = berth_err(err, 502, "layer %s: %lld bytes, its manifest says %lld", l->digest,
			       (long long)s.total, (long long)s.expected);
	} else if (rc == 0 && p.write_failed) {
		rc = berth_err_errno(err, 500, errno, "write layer %s", l->digest);
	}
	berth_sha256_final_hex(p.hash, hex); /* frees it, as for s.hash */
	snprintf(diff, 72, "sha256:%s", hex);
	curl_multi_remove_handle(s.multi, s.easy);
	curl_easy_cleanup(s.easy);
	curl_multi_cleanup(s.multi);
	curl_slist_free_all(headers);
	free(s.buf);
	return rc;
}

int pull_layer_fetch(struct pull_layer *l, struct berth_error *err)
{
	const char *root = l->root;
	_cleanup_free_ char *tmpdir = berth_strdupf("%s/tmp", root);
	_cleanup_free_ char *layers = berth_strdupf("%s/layers", root);
	_cleanup_free_ char *blobs = berth_strdupf("%s/blobs/sha256", root);
	if (berth_mkdir_p(tmpdir, 0700, err) < 0 || berth_mkdir_p(layers, 0700, err) < 0 ||
	    berth_mkdir_p(blobs, 0700, err) < 0)
		return -1;
	/* Temporary names carry our pid: a killed worker's are swept by it. */
	_cleanup_free_ char *dir = berth_strdupf("%s/layer-%d-XXXXXX", tmpdir, (int)getpid());
	if (!mkdtemp(dir))
		return berth_err_errno(err, 500, errno, "mkdtemp %s", dir);
	chmod(dir, 0755);
	_cleanup_free_ char *tar = berth_strdupf("%s.tar", dir);
	_cleanup_close_ int fd = open(tar, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	char diff[72];
	int rc = fd < 0 ? berth_err_errno(err, 500, errno, "create %s", tar)
			: fetch_into(l, dir, fd, diff, err);
	if (rc == 0 && strcmp(diff, l->diff_id))
		rc = berth_err(err, 502,
			       "layer %s: its content has diff ID %s, the image config says %s",
			       l->digest, diff, l->diff_id);
	if (rc == 0 && fsync(fd) < 0)
		rc = berth_err_errno(err, 500, errno, "fsync %s", tar);
	_cleanup_free_ char *final_dir = berth_strdupf("%s/%s", layers, image_hex(l->chain_id));
	_cleanup_free_ char *blob = berth_strdupf("%s/%s", blobs, image_hex(l->diff_id));
	if (rc == 0 && rename(tar, blob) < 0)
		rc = berth_err_errno(err, 500, errno, "store layer %s", l->diff_id);
	if (rc == 0 && rename(dir, final_dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = berth_err_errno(err, 500, errno, "rename %s", final_dir);
	unlink(tar);
	berth_rm_rf(dir, NULL); /* gone after the rename; a failed or lost race's copy */
	return rc;
}
