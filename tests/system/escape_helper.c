/* Tiny static helper for escape.bats: tries one syscall busybox has no applet for and prints
 * "NAME: ok" or "NAME: <strerror>" (exit 0 or 1). Built by the test with gcc -static and
 * bind-mounted into the container. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(const char *name, long rc)
{
	if (rc < 0) {
		printf("%s: %s\n", name, strerror(errno));
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fputs(s, f) < 0 ? -1 : 0;
	return fclose(f) < 0 || rc < 0 ? -1 : 0;
}

/* The way out a default container had: a user namespace (root mapped to root), a cgroup
 * namespace it owns, a pids hierarchy of its own mounted there, and its limit raised. */
static int cgroup_escape(void)
{
	if (report("unshare", unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP)))
		return 1;
	if (report("map root", write_file("/proc/self/setgroups", "deny") < 0 ||
				       write_file("/proc/self/uid_map", "0 0 1") < 0 ||
				       write_file("/proc/self/gid_map", "0 0 1") < 0
				   ? -1
				   : 0))
		return 1;
	mkdir("/tmp/cg", 0755);
	if (report("mount", mount("cgroup", "/tmp/cg", "cgroup", 0, "pids")))
		return 1;
	return report("raise pids.max", write_file("/tmp/cg/pids.max", "max"));
}

int main(int argc, char **argv)
{
	/* the last argument: `su -s helper USER -c euid` runs us as "helper -c euid" */
	const char *what = argc > 1 ? argv[argc - 1] : "";
	if (!strcmp(what, "add_key"))
		return report(what, syscall(SYS_add_key, "user", "berth-escape", "x", 1,
					    -3 /* KEY_SPEC_SESSION_KEYRING */));
	if (!strcmp(what, "keyctl"))
		return report(what, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
					    -4 /* KEY_SPEC_USER_KEYRING */, 0));
	if (!strcmp(what, "io_uring_setup")) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		return report(what, syscall(SYS_io_uring_setup, 4, &p));
	}
	if (!strcmp(what, "clone3")) {
		struct clone_args a;
		memset(&a, 0, sizeof(a));
		a.flags = CLONE_NEWUSER;
		a.exit_signal = SIGCHLD;
		long pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return report(what, pid);
	}
	if (!strcmp(what, "clone_newuser")) {
		long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return report(what, pid);
	}
	if (!strncmp(what, "unshare:", 8)) /* unshare:0x2000000 */
		return report(what, unshare((int)strtoul(what + 8, NULL, 0)));
	if (!strcmp(what, "cgroup_escape"))
		return cgroup_escape();
	if (!strcmp(what, "personality"))
		return report(what, personality(ADDR_NO_RANDOMIZE));
	if (!strcmp(what, "euid")) {
		printf("euid %d\n", (int)geteuid());
		return 0;
	}
	fprintf(stderr, "usage: escape-helper add_key|keyctl|io_uring_setup|clone3|clone_newuser|"
			"personality|euid|unshare:FLAGS|cgroup_escape\n");
	return 2;
}
