/* berth version: the client's version and the agent's GET /version, laid out as docker does. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"

enum { F_FORMAT };
static const struct cli_flag version_flags[] = {
    [F_FORMAT] = {"format", 'f', CLI_STRING, "string",
		  "Format the output using the given Go template"},
    {0},
};

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int version_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	struct utsname u;
	uname(&u);
	const char *arch = !strcmp(u.machine, "x86_64")	   ? "amd64"
			   : !strcmp(u.machine, "aarch64") ? "arm64"
							   : u.machine;
	printf("Client:\n");
	printf(" Version:           %s\n", CLI_VERSION);
	printf(" API version:       1.41\n");
	printf(" OS/Arch:           linux/%s\n", arch);
	json_t *v = NULL;
	if (cli_api(cli, "GET", "/version", NULL, &v, &err) < 0) {
		printf("\n");
		fflush(stdout);
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("\nServer:\n Engine:\n");
	printf("  Version:          %s\n", str(v, "Version"));
	printf("  API version:      %s (minimum version %s)\n", str(v, "ApiVersion"),
	       str(v, "MinAPIVersion"));
	if (*str(v, "GitCommit"))
		printf("  Git commit:       %s\n", str(v, "GitCommit"));
	if (*str(v, "BuildTime"))
		printf("  Built:            %s\n", str(v, "BuildTime"));
	printf("  OS/Arch:          %s/%s\n", str(v, "Os"), str(v, "Arch"));
	if (*str(v, "KernelVersion"))
		printf("  Kernel version:   %s\n", str(v, "KernelVersion"));
	printf("  Experimental:     %s\n",
	       json_is_true(json_object_get(v, "Experimental")) ? "true" : "false");
	json_decref(v);
	(void)a;
	return 0;
}

const struct cli_command cli_cmd_version = {
    .name = "version",
    .usage = "version [OPTIONS]",
    .summary = "Show the berth version information",
    .flags = version_flags,
    .min_args = 0,
    .max_args = 0,
    .interspersed = true,
    .exec = version_exec,
};
