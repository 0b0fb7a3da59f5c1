/* Unit tests for the store shared by the agent and berth-image-worker processes: concurrent
 * registrations from several processes keep every tag, the agent's index reloads what others
 * registered (chain IDs from metadata, no hashing), orphans and a dead worker's temporaries
 * are swept; and the berth-image-worker program's JSON-lines protocol. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "image_store.h"

static char tmp[256];

static char *p(const char *rel)
{
	return berth_strdupf("%s/%s", tmp, rel);
}

static void make_rootfs(const char *path, const char *content)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "bin/sh");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, (la_int64_t)strlen(content));
	archive_write_header(a, e);
	archive_write_data(a, content, strlen(content));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/berth-worker-test.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	berth_rm_rf(tmp, NULL);
	return 0;
}

/* Entries in dir (taken and freed). */
static size_t count_entries(char *dir)
{
	DIR *d = opendir(dir);
	free(dir);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

#define N_PROCS 6

/* Six processes import at once, each with its own tag, while the "agent" store retags: no
 * tag is lost, and the agent sees them all after a reload. */
static void test_concurrent_processes(void **state)
{
	char *root = p("root");
	struct berth_error err = {0};
	struct image_store *agent = image_store_open(root, &err);
	assert_non_null(agent);
	pid_t pids[N_PROCS];
	for (int i = 0; i < N_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char *tar = berth_strdupf("%s/r%d.tar", tmp, i);
			char *content = berth_strdupf("content %d", i % 3); /* shared layers */
			char *tag = berth_strdupf("proc:%d", i);
			make_rootfs(tar, content);
			struct berth_error cerr = {0};
			struct image_store *s = image_store_attach(root, &cerr);
			char id[72];
			int rc = s ? image_archive_import(s, tar, tag, NULL, 0, id, &cerr) : -1;
			if (rc < 0)
				fprintf(stderr, "child %d: %s\n", i, cerr.msg);
			_exit(rc < 0 ? 1 : 0);
		}
	}
	char id[72];
	for (int i = 0; i < N_PROCS; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* Not reloaded yet: the agent's index is what it read at open. */
	assert_int_equal(image_store_resolve_id(agent, "proc:0", id, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(image_store_reload(agent, &err), 0);
	for (int i = 0; i < N_PROCS; i++) {
		char tag[32];
		snprintf(tag, sizeof(tag), "proc:%d", i);
		assert_int_equal(image_store_resolve_id(agent, tag, id, &err), 0);
	}
	/* Tagging reloads under the lock first: a registration it never saw survives it. */
	struct image_store *other = image_store_attach(root, &err);
	char *tar = p("late.tar");
	make_rootfs(tar, "late");
	assert_int_equal(image_archive_import(other, tar, "late:1", NULL, 0, id, &err), 0);
	assert_int_equal(image_store_tag(agent, "proc:0", "again", "x", &err), 0);
	image_store_free(other);
	struct image_store *fresh = image_store_open(root, &err);
	assert_int_equal(image_store_resolve_id(fresh, "late:1", id, &err), 0);
	assert_int_equal(image_store_resolve_id(fresh, "again:x", id, &err), 0);
	assert_int_equal(image_store_resolve_id(fresh, "proc:5", id, &err), 0);
	image_store_free(fresh);
	image_store_free(agent);
	free(tar);
	free(root);
}

/* The agent never hashes: chain IDs of a many-layer image come from images/<hex>.json. */
static void test_chain_ids_in_metadata(void **state)
{
	char *root = p("root"), *tar = p("a.tar");
	make_rootfs(tar, "abc");
	struct berth_error err = {0};
	struct image_store *s = image_store_attach(root, &err);
	char id[72];
	assert_int_equal(image_archive_import(s, tar, "m:1", NULL, 0, id, &err), 0);
	char *meta_path = berth_strdupf("%s/images/%s.json", root, id + 7);
	json_t *meta = berth_read_json(meta_path, &err);
	assert_non_null(meta);
	assert_int_equal(json_array_size(json_object_get(meta, "chain_ids")), 1);
	assert_true(json_integer_value(json_object_get(meta, "size")) > 0);
	json_decref(meta);
	struct image_info info;
	assert_int_equal(image_store_resolve(s, "m:1", &info, &err), 0);
	assert_int_equal(info.n_layers, 1);
	image_info_clear(&info);
	image_store_free(s);
	free(meta_path);
	free(tar);
	free(root);
}

/* What a killed worker leaves: temporaries named with its pid, a layer and a blob no image
 * references. The sweep and the orphan collection remove them and nothing else. */
static void test_dead_worker_leftovers(void **state)
{
	char *root = p("root"), *tar = p("a.tar");
	make_rootfs(tar, "keep");
	struct berth_error err = {0};
	struct image_store *s = image_store_open(root, &err);
	char id[72];
	assert_int_equal(image_archive_import(s, tar, "keep:1", NULL, 0, id, &err), 0);
	char *stage = berth_strdupf("%s/tmp/load-4242-abcdef", root);
	char *other = berth_strdupf("%s/tmp/load-42420-abcdef", root);
	char *layer = berth_strdupf("%s/layers/%064d", root, 7);
	char *blob = berth_strdupf("%s/blobs/sha256/%064d", root, 7);
	assert_int_equal(berth_mkdir_p(stage, 0700, &err), 0);
	assert_int_equal(berth_mkdir_p(other, 0700, &err), 0);
	assert_int_equal(berth_mkdir_p(layer, 0700, &err), 0);
	assert_int_equal(berth_write_atomic(blob, "x", 1, 0644, &err), 0);
	size_t layers = count_entries(berth_strdupf("%s/layers", root));
	image_store_sweep_pid(s, 4242);
	image_store_collect_orphans(s);
	struct stat st;
	for (int i = 0; i < 100 && stat(stage, &st) == 0; i++)
		usleep(10000); /* removed in the background */
	assert_int_not_equal(stat(stage, &st), 0);
	assert_int_equal(stat(other, &st), 0);
	assert_int_not_equal(stat(blob, &st), 0);
	for (int i = 0; i < 100 && stat(layer, &st) == 0; i++)
		usleep(10000);
	assert_int_not_equal(stat(layer, &st), 0);
	assert_int_equal(count_entries(berth_strdupf("%s/layers", root)), layers - 1);
	struct image_info info;
	assert_int_equal(image_store_resolve(s, "keep:1", &info, &err), 0);
	assert_int_equal(stat(info.layers[0], &st), 0);
	image_info_clear(&info);
	image_store_free(s);
	free(stage);
	free(other);
	free(layer);
	free(blob);
	free(tar);
	free(root);
}

/* ---- the berth-image-worker program ---- */

static char worker[PATH_MAX];

/* Run the worker with stdin from in_path (or /dev/null); stdout to out_path. Exit status. */
static int run_worker(const char *in_path, const char *out_path, const char *const *args)
{
	pid_t pid = fork();
	if (pid == 0) {
		freopen(in_path ? in_path : "/dev/null", "r", stdin);
		freopen(out_path, "w", stdout);
		char *argv[16] = {worker, (char *)"--root", p("root")};
		int n = 3;
		for (int i = 0; args[i] && n < 15; i++)
			argv[n++] = (char *)args[i];
		argv[n] = NULL;
		execv(worker, argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_t *first_line(const char *path)
{
	char *text = NULL;
	size_t len;
	if (berth_read_file(path, &text, &len, NULL) < 0)
		return NULL;
	char *nl = strchr(text, '\n');
	json_t *j = json_loadb(text, nl ? (size_t)(nl - text) : len, 0, NULL);
	free(text);
	return j;
}

static void test_worker_program(void **state)
{
	if (access(worker, X_OK) != 0) {
		skip();
		return;
	}
	char *tar = p("rootfs.tar"), *out = p("out.json"), *saved = p("saved.tar");
	make_rootfs(tar, "from stdin");
	/* import from stdin: {"status": "sha256:..."} */
	const char *import[] = {"import", "--tag", "w:1", "--change", "CMD [\"sh\"]", "-", NULL};
	assert_int_equal(run_worker(tar, out, import), 0);
	json_t *j = first_line(out);
	const char *status = json_string_value(json_object_get(j, "status"));
	assert_non_null(status);
	assert_int_equal(strncmp(status, "sha256:", 7), 0);
	json_decref(j);
	/* save to stdout, then load it back from a file */
	const char *save[] = {"save", "w:1", NULL};
	assert_int_equal(run_worker(NULL, saved, save), 0);
	const char *load[] = {"load", saved, NULL};
	assert_int_equal(run_worker(NULL, out, load), 0);
	j = first_line(out);
	assert_string_equal(json_string_value(json_object_get(j, "stream")), "Loaded image: w:1\n");
	json_decref(j);
	/* a bad archive: one error line with an HTTP status, exit 1, nothing registered */
	char *bad_tar = p("bad.tar");
	assert_int_equal(
	    berth_write_atomic(bad_tar, "not a tar", 9, 0644, &(struct berth_error){0}), 0);
	const char *bad[] = {"import", "--tag", "bad:1", bad_tar, NULL};
	assert_int_equal(run_worker(NULL, out, bad), 1);
	j = first_line(out);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "tar"));
	json_decref(j);
	struct berth_error err = {0};
	char *root = p("root");
	struct image_store *s = image_store_open(root, &err);
	free(root);
	char id[72];
	assert_int_equal(image_store_resolve_id(s, "bad:1", id, &err), -1);
	assert_int_equal(image_store_resolve_id(s, "w:1", id, &err), 0);
	image_store_free(s);
	/* nothing left behind in tmp/ */
	assert_int_equal(count_entries(berth_strdupf("%s/root/tmp", tmp)), 0);
	/* bad usage: exit 2, still a JSON line */
	const char *usage[] = {"frobnicate", NULL};
	assert_int_equal(run_worker(NULL, out, usage), 2);
	j = first_line(out);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
	json_decref(j);
	free(bad_tar);
	free(tar);
	free(out);
	free(saved);
}

int main(void)
{
	/* tests/ and bin/ are siblings in the build tree */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(worker, sizeof(worker), "%s/../bin/berth-image-worker", dirname(self));
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chain_ids_in_metadata, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dead_worker_leftovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_program, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
