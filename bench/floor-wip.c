// The floor for container start: the least a container needs (clone into new PID, mount, UTS,
// IPC and network namespaces, an overlay rootfs, pivot_root, exec), nothing else. Used by
// bench/start.sh only until bench/floor.c lands.
// Usage: floor-wip LOWERDIR SCRATCHDIR CMD [ARG...]   (exit status is CMD's)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct floor_args {
	const char *lower;
	char upper[4096], work[4096], merged[4096];
	char **argv;
};

static int floor_die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 125;
}

static int floor_child(void *p)
{
	struct floor_args *a = p;
	char opts[12288];

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return floor_die("make / private");
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", a->lower, a->upper,
		 a->work);
	if (mount("overlay", a->merged, "overlay", 0, opts) < 0)
		return floor_die("overlay mount");
	if (chdir(a->merged) < 0)
		return floor_die("chdir rootfs");
	// pivot_root(".", ".") stacks the old root under the new one; detach it right away.
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return floor_die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return floor_die("detach old root");
	if (chdir("/") < 0)
		return floor_die("chdir /");
	execv(a->argv[0], a->argv);
	int exec_errno = errno;
	floor_die(a->argv[0]);
	return exec_errno == ENOENT ? 127 : 126;
}

static void floor_rmdirs(struct floor_args *a)
{
	char workwork[4200];

	snprintf(workwork, sizeof(workwork), "%s/work", a->work);
	rmdir(workwork);
	rmdir(a->work);
	rmdir(a->merged);
	rmdir(a->upper);
}

int main(int argc, char **argv)
{
	static char stack[256 * 1024];
	struct floor_args a = { 0 };
	int status;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: %s LOWERDIR SCRATCHDIR CMD [ARG...]\n", argv[0]);
		return 125;
	}
	a.lower = argv[1];
	a.argv = argv + 3;
	snprintf(a.upper, sizeof(a.upper), "%s/upper-%d", argv[2], getpid());
	snprintf(a.work, sizeof(a.work), "%s/work-%d", argv[2], getpid());
	snprintf(a.merged, sizeof(a.merged), "%s/merged-%d", argv[2], getpid());
	if (mkdir(a.upper, 0755) < 0 || mkdir(a.work, 0755) < 0 || mkdir(a.merged, 0755) < 0) {
		floor_rmdirs(&a);
		return floor_die("scratch dirs");
	}
	pid = clone(floor_child, stack + sizeof(stack),
		    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD,
		    &a);
	if (pid < 0) {
		floor_rmdirs(&a);
		return floor_die("clone");
	}
	if (waitpid(pid, &status, 0) < 0)
		return floor_die("waitpid");
	// The overlay lived in the child's mount namespace and died with it.
	floor_rmdirs(&a);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
