/* Capabilities: Docker's default set, names, and dropping to the container's set. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/capability.h"
#include "shim.h"

#define BIT(c) (1ULL << (c))

uint64_t shim_caps_default(void)
{
	return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
	       BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
	       BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
	       BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
}

int shim_cap_from_name(const char *name, uint64_t *mask)
{
	return berth_cap_from_name(name, mask);
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	return (int)syscall(SYS_capget, &hdr, data);
}

int shim_caps_apply(uint64_t caps, uid_t uid, gid_t gid, const gid_t *groups, int n_groups,
		    struct shim_child_error *cerr)
{
	struct __user_cap_data_struct data[2];
	if (caps_get(data) < 0)
		return shim_child_fail(cerr, 125, errno, "capget");
	/* Never ask for more than we hold (root here lacks CAP_SYS_RESOURCE). */
	uint64_t have = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
	caps &= have;
	for (int c = 0; c < 64; c++) {
		if (caps & BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return shim_child_fail(cerr, 125, errno, "drop capability %d", c);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return shim_child_fail(cerr, 125, errno, "keep capabilities");
	if (setgroups((size_t)n_groups, groups) < 0)
		return shim_child_fail(cerr, 125, errno, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return shim_child_fail(cerr, 125, errno, "setgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return shim_child_fail(cerr, 125, errno, "setuid %u", (unsigned)uid);
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	for (int i = 0; i < 2; i++) {
		uint32_t v = (uint32_t)(caps >> (32 * i));
		data[i].effective = v;
		data[i].permitted = v;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return shim_child_fail(cerr, 125, errno, "capset");
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

int shim_security_apply(const struct shim_seccomp *f, bool no_new_privs, uint64_t caps, uid_t uid,
			gid_t gid, const gid_t *groups, int n_groups, struct shim_child_error *cerr)
{
	if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return shim_child_fail(cerr, 125, errno, "set no_new_privs");
	if (!no_new_privs && shim_seccomp_load(f, cerr) < 0)
		return -1;
	if (shim_caps_apply(caps, uid, gid, groups, n_groups, cerr) < 0)
		return -1;
	if (no_new_privs && shim_seccomp_load(f, cerr) < 0)
		return -1;
	return 0;
}
