/* The container's user: "name|uid[:group|gid]" resolved in its own /etc/passwd and /etc/group. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/rootpath.h"
#include "shim.h"

/* A file of the container's, found inside its root ("/" by now): an image's /etc/passwd that
 * is a link to /proc/self/fd/N must not read a file the shim holds open on the host. */
static FILE *open_in_root(const char *path)
{
	int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = root_fd < 0 ? -1 : berth_root_open(root_fd, path, O_RDONLY | O_CLOEXEC, 0);
	if (root_fd >= 0)
		close(root_fd);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "re");
	if (!f && fd >= 0)
		close(fd);
	return f;
}

static bool parse_id(const char *s, unsigned long *out)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 0x7fffffff)
		return false;
	*out = v;
	return true;
}

/* Split a colon-separated line into at most n fields (in place). */
static int split_fields(char *line, char **f, int n)
{
	int i = 0;
	line[strcspn(line, "\n")] = '\0';
	f[i++] = line;
	for (char *p = line; *p && i < n; p++) {
		if (*p == ':') {
			*p = '\0';
			f[i++] = p + 1;
		}
	}
	return i;
}

/* Find a passwd entry by name, or by uid when name is NULL. */
static bool passwd_find(const char *name, unsigned long uid, struct shim_user *u, char *uname,
			size_t uname_size)
{
	FILE *f = open_in_root("/etc/passwd");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *fl[7];
		unsigned long id, gid;
		if (split_fields(line, fl, 7) < 7 || !parse_id(fl[2], &id) ||
		    !parse_id(fl[3], &gid))
			continue;
		if (name ? strcmp(fl[0], name) != 0 : id != uid)
			continue;
		u->uid = (uid_t)id;
		u->gid = (gid_t)gid;
		snprintf(u->home, sizeof(u->home), "%s", fl[5]);
		snprintf(uname, uname_size, "%s", fl[0]);
		found = true;
	}
	fclose(f);
	return found;
}

/* Look up a group by name (gid filled) and collect the groups that list user as a member. */
static bool group_scan(const char *group_name, gid_t *gid, const char *user, struct shim_user *u)
{
	FILE *f = open_in_root("/etc/group");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		char *fl[4];
		unsigned long id;
		if (split_fields(line, fl, 4) < 4 || !parse_id(fl[2], &id))
			continue;
		if (group_name && !found && !strcmp(fl[0], group_name)) {
			*gid = (gid_t)id;
			found = true;
		}
		if (!user || !*user)
			continue;
		for (char *save = NULL, *m = strtok_r(fl[3], ",", &save); m;
		     m = strtok_r(NULL, ",", &save)) {
			if (!strcmp(m, user) && u->n_groups < 64) {
				u->groups[u->n_groups++] = (gid_t)id;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

int shim_user_resolve(const char *spec, struct shim_user *u, struct shim_child_error *cerr)
{
	char buf[256], uname[256] = "";
	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	char *group = strchr(buf, ':');
	if (group)
		*group++ = '\0';
	memset(u, 0, sizeof(*u));
	strcpy(u->home, "/");
	unsigned long id;
	if (!*buf) {
		passwd_find(NULL, 0, u, uname, sizeof(uname));
	} else if (parse_id(buf, &id)) {
		if (!passwd_find(NULL, id, u, uname, sizeof(uname))) {
			u->uid = (uid_t)id;
			u->gid = 0;
		}
	} else if (!passwd_find(buf, 0, u, uname, sizeof(uname))) {
		return shim_child_fail(cerr, 125, 0,
				       "unable to find user %s: no matching entries in passwd file",
				       buf);
	}
	gid_t gid = u->gid;
	if (group && *group) {
		if (parse_id(group, &id)) {
			gid = (gid_t)id;
			group_scan(NULL, &gid, uname, u);
		} else if (!group_scan(group, &gid, uname, u)) {
			return shim_child_fail(
			    cerr, 125, 0,
			    "unable to find group %s: no matching entries in group file", group);
		}
	} else {
		group_scan(NULL, &gid, uname, u);
	}
	u->gid = gid;
	if (u->n_groups == 0) /* as runc: at least the primary group */
		u->groups[u->n_groups++] = gid;
	return 0;
}
