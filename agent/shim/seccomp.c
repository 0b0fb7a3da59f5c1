/* The container's seccomp filter: a profile (berth's default, compiled into the binary, or the
 * one given with --security-opt seccomp=) read by lib/seccomp_profile.c, turned into BPF by
 * libseccomp, and loaded with prctl just before exec. A pool's zygote compiles the default one
 * for the default capability set while idle, so a default start pays only the prctl. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "berth/seccomp_profile.h"
#include "seccomp_default_json.h"
#include "shim.h"

/* The default profile compiled for the default capabilities (by a zygote, while idle). */
static struct shim_seccomp precompiled;
static uint64_t precompiled_caps;

/* Building the default filter costs 10-20 ms of CPU here (libseccomp, three arches), more than
 * a whole container start; its BPF is kept in the run dir (tmpfs, gone at reboot) under a key
 * made of everything it depends on, and read back in microseconds. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void default_cache_path(const char *run_dir, uint64_t caps, char *path, size_t size)
{
	struct utsname u;
	uname(&u);
	const struct scmp_version *v = seccomp_version();
	/* bump when build() changes what it makes of the same profile */
	static const char version[] = "berth-seccomp-2";
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, version, sizeof(version));
	h = fnv1a(h, seccomp_default_json, seccomp_default_json_len);
	h = fnv1a(h, &caps, sizeof(caps));
	h = fnv1a(h, u.release, strlen(u.release));
	h = fnv1a(h, u.machine, strlen(u.machine));
	if (v)
		h = fnv1a(h, v, sizeof(*v));
	snprintf(path, size, "%s/seccomp-default-%016llx.bpf", run_dir, (unsigned long long)h);
}

int shim_seccomp_read(const char *path, struct shim_seccomp *f)
{
	memset(f, 0, sizeof(*f));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat st;
	/* Only a file we wrote: a filter planted by someone else would be obeyed by every
	 * container (a run dir left writable to others must not become a way in). */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS ||
	    !(f->filter = malloc((size_t)st.st_size)) ||
	    pread(fd, f->filter, (size_t)st.st_size, 0) != st.st_size) {
		close(fd);
		free(f->filter);
		f->filter = NULL;
		return -1;
	}
	close(fd);
	f->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	return 0;
}

void shim_seccomp_write(const char *path, const struct shim_seccomp *f)
{
	struct shim_seccomp old;
	size_t size = (size_t)f->len * sizeof(struct sock_filter);
	if (shim_seccomp_read(path, &old) == 0) {
		bool same = old.len == f->len && !memcmp(old.filter, f->filter, size);
		free(old.filter);
		if (same)
			return;
	}
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	bool ok = write(fd, f->filter, size) == (ssize_t)size;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

static uint32_t scmp_action(enum seccomp_action a, uint32_t errno_ret)
{
	switch (a) {
	case SECCOMP_ACTION_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case SECCOMP_ACTION_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case SECCOMP_ACTION_TRAP:
		return SCMP_ACT_TRAP;
	case SECCOMP_ACTION_ERRNO:
		return SCMP_ACT_ERRNO(errno_ret);
	case SECCOMP_ACTION_TRACE:
		return SCMP_ACT_TRACE(errno_ret);
	case SECCOMP_ACTION_LOG:
		return SCMP_ACT_LOG;
	case SECCOMP_ACTION_ALLOW:
		break;
	}
	return SCMP_ACT_ALLOW;
}

static void target_of_host(uint64_t caps, struct seccomp_target *t)
{
	static struct utsname u;
	if (!u.machine[0])
		uname(&u);
	memset(t, 0, sizeof(*t));
	t->caps = caps;
	t->arch = seccomp_native_arch(u.machine);
	sscanf(u.release, "%u.%u", &t->kernel_major, &t->kernel_minor);
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, 0 if unknown. */
static uint32_t arch_token(const char *name)
{
	char lower[32];
	size_t i = 0;
	for (const char *s = name + strlen("SCMP_ARCH_"); *s && i < sizeof(lower) - 1; s++)
		lower[i++] = (char)tolower((unsigned char)*s);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

/* The filter as BPF (libseccomp writes it to an fd only). */
static int export_bpf(scmp_filter_ctx ctx, struct shim_seccomp *f, struct shim_child_error *cerr)
{
	int fd = memfd_create("seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return shim_child_fail(cerr, 125, errno, "seccomp: memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	struct stat st;
	if (rc < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return shim_child_fail(cerr, 125, rc < 0 ? -rc : 0,
				       "seccomp: the filter cannot be built%s",
				       rc < 0 ? "" : " (too many rules)");
	}
	f->filter = malloc((size_t)st.st_size);
	if (!f->filter || pread(fd, f->filter, (size_t)st.st_size, 0) != st.st_size) {
		close(fd);
		free(f->filter);
		f->filter = NULL;
		return shim_child_fail(cerr, 125, errno, "seccomp: read the filter");
	}
	close(fd);
	f->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	return 0;
}

static int build(const struct seccomp_profile *p, struct shim_seccomp *f,
		 struct shim_child_error *cerr)
{
	uint32_t def = scmp_action(p->default_action, p->default_errno);
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return shim_child_fail(cerr, 125, 0, "seccomp: cannot initialise a filter");
	int rc = 0;
	/* We set no_new_privs ourselves, only when asked to (loading needs CAP_SYS_ADMIN). */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree of syscall numbers instead of a list: the kernel evaluates the filter for
	 * every syscall number when it is loaded (its allow cache), 0.3 ms instead of 0.7 ms for
	 * the default profile here, and a syscall that is checked costs log(n) jumps. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < p->n_arches && rc == 0; i++) {
		uint32_t a = arch_token(p->arches[i]);
		if (!a) {
			shim_child_fail(cerr, 125, 0, "seccomp: unknown architecture %s",
					p->arches[i]);
			rc = -1;
		} else if ((rc = seccomp_arch_add(ctx, a)) == -EEXIST) {
			rc = 0;
		} else if (rc < 0) {
			shim_child_fail(cerr, 125, -rc, "seccomp: add architecture %s",
					p->arches[i]);
		}
	}
	for (size_t i = 0; i < p->n_rules && rc == 0; i++) {
		const struct seccomp_rule *r = &p->rules[i];
		uint32_t act = scmp_action(r->action, r->errno_ret);
		int nr = seccomp_syscall_resolve_name(r->name);
		/* Unknown to libseccomp: skipped as runc does; the default action holds. */
		if (nr == __NR_SCMP_ERROR || act == def)
			continue;
		struct scmp_arg_cmp cmp[SECCOMP_PROFILE_MAX_ARGS];
		for (unsigned k = 0; k < r->n_args; k++)
			cmp[k] = (struct scmp_arg_cmp){r->args[k].index,
						       (enum scmp_compare)r->args[k].op,
						       r->args[k].value, r->args[k].value_two};
		rc = seccomp_rule_add_array(ctx, act, nr, r->n_args, cmp);
		/* A syscall that exists on none of the filter's arches (nr < 0: a pseudo number).
		 */
		if (rc < 0 && nr < 0)
			rc = 0;
		if (rc < 0)
			shim_child_fail(cerr, 125, -rc, "seccomp: add the rule for %s", r->name);
	}
	if (rc == 0)
		rc = export_bpf(ctx, f, cerr);
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

int shim_seccomp_compile(const char *profile, uint64_t caps, const char *cache_dir,
			 struct shim_seccomp *f, struct shim_child_error *cerr)
{
	memset(f, 0, sizeof(*f));
	if (profile && !strcmp(profile, "unconfined"))
		return 0;
	if (!profile && precompiled.filter && caps == precompiled_caps) {
		*f = precompiled;
		return 0;
	}
	char cache[4200] = "";
	if (!profile && cache_dir) {
		default_cache_path(cache_dir, caps, cache, sizeof(cache));
		if (shim_seccomp_read(cache, f) == 0)
			return 0;
	}
	const char *json = profile ? profile : seccomp_default_json;
	size_t len = profile ? strlen(profile) : seccomp_default_json_len;
	struct seccomp_target t;
	target_of_host(caps, &t);
	struct seccomp_profile p;
	struct berth_error err = {0};
	if (seccomp_profile_parse(json, len, &t, &p, &err) < 0)
		return shim_child_fail(cerr, 125, 0, "%s", err.msg);
	int rc = p.disabled ? 0 : build(&p, f, cerr);
	seccomp_profile_free(&p);
	if (rc == 0 && f->filter && cache[0])
		shim_seccomp_write(cache, f);
	return rc;
}

void shim_seccomp_precompile_default(const char *cache_dir)
{
	struct shim_child_error cerr;
	struct shim_seccomp f;
	uint64_t caps = shim_caps_default();
	if (shim_seccomp_compile(NULL, caps, cache_dir, &f, &cerr) == 0 && f.filter) {
		precompiled = f;
		precompiled_caps = caps;
	}
}

int shim_seccomp_load(const struct shim_seccomp *f, struct shim_child_error *cerr)
{
	if (!f->filter)
		return 0;
	struct sock_fprog prog = {.len = f->len, .filter = f->filter};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return shim_child_fail(cerr, 125, errno, "load the seccomp filter");
	return 0;
}
