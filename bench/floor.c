/* The floor for `run --rm busybox true`: clone into new PID, mount, UTS, IPC and network
 * namespaces, mount an overlay of one layer, pivot_root, exec, wait. Nothing else.
 * Usage: floor LAYER_DIR SCRATCH_DIR [COMMAND...]   (root; SCRATCH_DIR on ext4 or tmpfs)
 * Build: cc -O2 -o floor bench/floor.c */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char opts[16384], rootfs[4096];
static char **command;

static int child(void *arg __attribute__((unused)))
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("overlay", rootfs, "overlay", 0, opts) < 0 || chdir(rootfs) < 0 ||
	    syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0) {
		perror("floor: setup");
		return 125;
	}
	execv(command[0], command);
	perror("floor: exec");
	return 127;
}

int main(int argc, char **argv)
{
	static char *dflt[] = {"/bin/true", NULL};
	if (argc < 3) {
		fprintf(stderr, "usage: floor LAYER_DIR SCRATCH_DIR [COMMAND...]\n");
		return 2;
	}
	command = argc > 3 ? argv + 3 : dflt;
	char upper[4096], work[4096];
	snprintf(upper, sizeof(upper), "%s/upper", argv[2]);
	snprintf(work, sizeof(work), "%s/work", argv[2]);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", argv[2]);
	mkdir(upper, 0755);
	mkdir(work, 0755);
	mkdir(rootfs, 0755);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", argv[1], upper, work);
	static char stack[64 * 1024];
	pid_t pid =
	    clone(child, stack + sizeof(stack),
		  CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD,
		  NULL);
	if (pid < 0) {
		perror("floor: clone");
		return 125;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
