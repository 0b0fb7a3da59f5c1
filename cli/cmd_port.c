/* berth port: a container's published ports from inspect's NetworkSettings.Ports, as docker
 * port prints them ("8080/tcp -> 0.0.0.0:32768"), naturally sorted. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/fsutil.h"
#include "cli.h"

/* sortorder.NaturalLess: runs of digits compare as numbers. */
static int natural_cmp(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* net.JoinHostPort: IPv6 addresses in brackets. */
static char *join_host_port(const json_t *frontend)
{
	const char *ip = json_string_value(json_object_get(frontend, "HostIp"));
	const char *port = json_string_value(json_object_get(frontend, "HostPort"));
	ip = ip ? ip : "";
	return berth_strdupf(strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port ? port : "");
}

static int port_exec(struct cli *cli, struct cli_args *a)
{
	const char *name = a->pos[0];
	char path[1024];
	char *e = cli_escape(name);
	snprintf(path, sizeof(path), "/containers/%s/json", e);
	free(e);
	json_t *c = NULL;
	struct berth_error err = {0};
	if (cli_api(cli, "GET", path, NULL, &c, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	json_t *ports = json_object_get(json_object_get(c, "NetworkSettings"), "Ports");
	size_t cap = 16, n = 0;
	char **out = calloc(cap, sizeof(*out));
	int rc = 0;
	if (a->npos > 1) {
		char want[64], proto[16] = "tcp", *slash;
		snprintf(want, sizeof(want), "%s", a->pos[1]);
		if ((slash = strchr(want, '/'))) {
			*slash = '\0';
			snprintf(proto, sizeof(proto), "%s", slash + 1);
		}
		char *end;
		unsigned long p = strtoul(want, &end, 10);
		if (!*want || *end || p > 65535 || !isdigit((unsigned char)*want)) {
			fprintf(stderr,
				"Error: invalid port (%s): strconv.ParseUint: parsing \"%s\": "
				"invalid syntax\n",
				want, want);
			rc = 1;
			goto done;
		}
		char key[96];
		snprintf(key, sizeof(key), "%s/%s", want, proto);
		json_t *frontends = json_object_get(ports, key);
		if (json_array_size(frontends) == 0) {
			fprintf(stderr, "Error: No public port '%s' published for %s\n", a->pos[1],
				name);
			rc = 1;
			goto done;
		}
		size_t i;
		json_t *f;
		json_array_foreach(frontends, i, f)
		{
			if (n == cap)
				out = realloc(out, (cap *= 2) * sizeof(*out));
			out[n++] = join_host_port(f);
		}
	} else {
		const char *key;
		json_t *frontends;
		json_object_foreach(ports, key, frontends)
		{
			size_t i;
			json_t *f;
			json_array_foreach(frontends, i, f)
			{
				char *hp = join_host_port(f);
				if (n == cap)
					out = realloc(out, (cap *= 2) * sizeof(*out));
				out[n++] = berth_strdupf("%s -> %s", key, hp);
				free(hp);
			}
		}
	}
	qsort(out, n, sizeof(*out), natural_cmp);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", out[i]);
done:
	for (size_t i = 0; i < n; i++)
		free(out[i]);
	free(out);
	json_decref(c);
	return rc;
}

const struct cli_command cli_cmd_port = {
    .name = "port",
    .usage = "port CONTAINER [PRIVATE_PORT[/PROTO]]",
    .summary = "List port mappings or a specific mapping for the container",
    .min_args = 1,
    .max_args = 2,
    .interspersed = true,
    .exec = port_exec,
};
