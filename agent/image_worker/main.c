/* berth-image-worker: one image operation per run (import, load, save, unpack), apart from the
 * long-lived agent so that the agent never maps libarchive or libcrypto. Results and
 * Docker-style messages are JSON lines on stdout; a failure is one line
 * {"status": <HTTP status>, "message": "..."} and exit code 1 (2 for bad usage). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "image_store_private.h"
#include "pull.h"

static const char usage_text[] =
    "Usage: berth-image-worker [--root DIR] COMMAND [ARGS]\n"
    "\n"
    "Commands (writing into the image store under $BERTH_ROOT):\n"
    "  import [--tag NAME] [--change LINE]... [FILE|-]   a rootfs tar → a one-layer image\n"
    "  load [FILE|-]                                     a docker-save or OCI layout archive\n"
    "  save [--output FILE] NAME...                      images → a tar (stdout by default)\n"
    "  unpack [--parent CHAIN_ID] FILE|-                 one layer tar → layers/<chain id>\n"
    "  pull [--platform OS/ARCH] [--auth-stdin] REF      an image from its registry\n";

/* Where the error line goes: stdout, unless stdout carries the archive. */
static FILE *result_out;

static void print_json(FILE *f, json_t *j)
{
	json_dumpf(j, f, JSON_COMPACT);
	fputc('\n', f);
	fflush(f);
}

static int fail(const struct berth_error *err)
{
	_cleanup_json_ json_t *j =
	    json_pack("{s:i, s:s}", "status", err->status ? err->status : 500, "message", err->msg);
	print_json(result_out, j);
	return 1;
}

static int usage_error(const char *fmt, const char *arg)
{
	struct berth_error err = {0};
	berth_err(&err, 400, fmt, arg);
	fail(&err);
	fputs(usage_text, stderr);
	return 2;
}

/* stdin for "-" or no argument, else the named file: a regular one (a FIFO or a device
 * named by an API client could block the worker or never end). */
static int open_input(int argc, char **argv, struct berth_error *err)
{
	if (optind >= argc || !strcmp(argv[optind], "-"))
		return dup(0);
	const char *path = argv[optind];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return berth_err_errno(err, 400, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return berth_err(err, 400, "%s is not a regular file", path);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int cmd_import(struct image_store *store, int argc, char **argv)
{
	static const struct option opts[] = {{"tag", required_argument, NULL, 't'},
					     {"change", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	const char *tag = NULL;
	_cleanup_free_ const char **changes = calloc((size_t)argc + 1, sizeof(*changes));
	size_t n_changes = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+t:c:", opts, NULL)) != -1) {
		if (opt == 't')
			tag = optarg;
		else if (opt == 'c')
			changes[n_changes++] = optarg;
		else
			return usage_error("import: bad option%s", "");
	}
	if (argc - optind > 1)
		return usage_error("import: unexpected argument \"%s\"", argv[optind + 1]);
	struct berth_error err = {0};
	_cleanup_close_ int fd = open_input(argc, argv, &err);
	char id[72];
	if (fd < 0 || image_archive_import_fd(store, fd, tag, changes, n_changes, id, &err) < 0)
		return fail(&err);
	_cleanup_json_ json_t *j = json_pack("{s:s}", "status", id);
	print_json(stdout, j);
	return 0;
}

static int cmd_load(struct image_store *store, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	if (getopt_long(argc, argv, "+", opts, NULL) != -1)
		return usage_error("load: bad option%s", "");
	if (argc - optind > 1)
		return usage_error("load: unexpected argument \"%s\"", argv[optind + 1]);
	struct berth_error err = {0};
	_cleanup_close_ int fd = open_input(argc, argv, &err);
	_cleanup_json_ json_t *messages = json_array();
	if (fd < 0 || image_archive_load_fd(store, fd, messages, &err) < 0)
		return fail(&err);
	size_t i;
	json_t *m;
	json_array_foreach(messages, i, m) print_json(stdout, m);
	return 0;
}

static int cmd_save(struct image_store *store, int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	const char *output = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		if (opt != 'o')
			return usage_error("save: bad option%s", "");
		output = optarg;
	}
	if (!output)
		result_out = stderr;
	if (optind >= argc)
		return usage_error("no image names given%s", "");
	struct berth_error err = {0};
	const char *const *names = (const char *const *)argv + optind;
	size_t n = (size_t)(argc - optind);
	if (!output)
		return image_archive_save_fd(store, names, n, 1, &err) < 0 ? fail(&err) : 0;
	/* A temporary name, so a failed save leaves no half archive behind. */
	_cleanup_free_ char *tmp = berth_strdupf("%s.tmp-%d", output, (int)getpid());
	if (image_archive_save(store, names, n, tmp, &err) < 0 || rename(tmp, output) < 0) {
		if (!berth_err_is_set(&err))
			berth_err_errno(&err, 500, errno, "rename %s", output);
		unlink(tmp);
		return fail(&err);
	}
	return 0;
}

/* One layer (e.g. a pulled blob): digest it, unpack it under its chain ID, keep the blob. */
static int cmd_unpack(struct image_store *store, int argc, char **argv)
{
	static const struct option opts[] = {{"parent", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	const char *parent = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "+p:", opts, NULL)) != -1) {
		if (opt != 'p')
			return usage_error("unpack: bad option%s", "");
		parent = optarg;
	}
	if (argc - optind > 1)
		return usage_error("unpack: unexpected argument \"%s\"", argv[optind + 1]);
	struct berth_error err = {0};
	_cleanup_close_ int fd = open_input(argc, argv, &err);
	if (fd < 0)
		return fail(&err);
	_cleanup_free_ char *plain =
	    berth_strdupf("%s/tmp/unpack-%d-layer.tar", store->root, (int)getpid());
	char diff[72], chain[2][72];
	int64_t size = 0;
	int rc = image_layer_decompress(fd, plain, diff, &size, &err);
	if (rc == 0) {
		const char *ids[2] = {parent ? parent : diff, diff};
		image_chain_ids(ids, parent ? 2 : 1, chain);
		rc = image_layer_install(store->root, plain, chain[parent ? 1 : 0], &err);
	}
	_cleanup_free_ char *blob =
	    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(diff));
	if (rc >= 0 && rename(plain, blob) < 0)
		rc = berth_err_errno(&err, 500, errno, "store blob %s", diff);
	unlink(plain);
	if (rc < 0)
		return fail(&err);
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:I}", "diff_id", diff, "chain_id",
					     chain[parent ? 1 : 0], "size", (json_int_t)size);
	print_json(stdout, j);
	return 0;
}

/* X-Registry-Auth arrives on stdin, never in argv (which ps shows). */
static char *read_stdin_auth(void)
{
	char buf[8192];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(0, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	char *s = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return s;
}

static int cmd_pull(struct image_store *store, int argc, char **argv)
{
	static const struct option opts[] = {{"platform", required_argument, NULL, 'p'},
					     {"auth-stdin", no_argument, NULL, 'a'},
					     {"max-concurrent", required_argument, NULL, 'm'},
					     {NULL, 0, NULL, 0}};
	struct pull_options po = {0};
	bool auth = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (opt == 'p')
			po.platform = optarg;
		else if (opt == 'a')
			auth = true;
		else if (opt == 'm')
			po.max_concurrent = atoi(optarg);
		else
			return usage_error("pull: bad option%s", "");
	}
	if (argc - optind != 1)
		return usage_error("pull: one image reference expected%s", "");
	_cleanup_free_ char *auth_text = auth ? read_stdin_auth() : NULL;
	po.auth = auth_text;
	struct berth_error err = {0};
	if (image_pull(store, argv[optind], &po, stdout, &err) < 0)
		return fail(&err);
	return 0;
}

/* Defence in depth for a process that parses hostile archives as root: nothing inherited
 * but stdio, no privilege gained through exec, files created no wider than 0755. */
static void tighten(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
#endif
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	umask(022);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_DFL);
}

int main(int argc, char **argv)
{
	tighten();
	result_out = stdout;
	berth_log_init("berth-image-worker", BERTH_LOG_WARN);
	static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *root = NULL;
	int opt;
	/* "+": stop at the command; its own options follow it. */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (opt == 'r') {
			root = optarg;
		} else if (opt == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage_error("bad option%s", "");
		}
	}
	if (optind >= argc)
		return usage_error("no command given%s", "");
	const char *cmd = argv[optind];
	static const struct {
		const char *name;
		int (*run)(struct image_store *, int, char **);
	} cmds[] = {{"import", cmd_import},
		    {"load", cmd_load},
		    {"save", cmd_save},
		    {"unpack", cmd_unpack},
		    {"pull", cmd_pull}};
	int (*run)(struct image_store *, int, char **) = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			run = cmds[i].run;
	if (!run)
		return usage_error("unknown command \"%s\"", cmd);
	struct berth_error err = {0};
	struct image_store *store = image_store_attach(root ? root : berth_root_dir(), &err);
	if (!store)
		return fail(&err);
	/* The command parses its own options from its name on. */
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* glibc: start afresh */
	int rc = run(store, sub_argc, sub_argv);
	/* Whatever a failed run left in tmp/ carries our pid. */
	image_store_sweep_pid(store, getpid());
	image_store_free(store);
	return rc;
}
