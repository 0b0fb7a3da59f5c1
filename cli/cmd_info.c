/* berth info (system info): the agent's GET /info, laid out as docker info's Server section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

enum { F_FORMAT };
static const struct cli_flag info_flags[] = {
    [F_FORMAT] = {"format", 'f', CLI_STRING, "string",
		  "Format the output using the given Go template"},
    {0},
};

static void line_str(json_t *o, const char *indent, const char *label, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (s)
		printf("%s%s: %s\n", indent, label, s);
}

static void line_int(json_t *o, const char *indent, const char *label, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		printf("%s%s: %lld\n", indent, label, (long long)json_integer_value(v));
}

static int info_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	json_t *v = NULL;
	if (cli_api(cli, "GET", "/info", NULL, &v, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (a->v[F_FORMAT].s) {
		char *out = cli_template_render(a->v[F_FORMAT].s, v, NULL, &err);
		json_decref(v);
		if (!out) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("%s\n", out);
		free(out);
		return 0;
	}
	printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n\n",
	       CLI_VERSION);
	printf("Server:\n");
	line_int(v, " ", "Containers", "Containers");
	line_int(v, "  ", "Running", "ContainersRunning");
	line_int(v, "  ", "Paused", "ContainersPaused");
	line_int(v, "  ", "Stopped", "ContainersStopped");
	line_int(v, " ", "Images", "Images");
	line_str(v, " ", "Server Version", "ServerVersion");
	line_str(v, " ", "Storage Driver", "Driver");
	line_str(v, " ", "Logging Driver", "LoggingDriver");
	line_str(v, " ", "Cgroup Driver", "CgroupDriver");
	line_str(v, " ", "Cgroup Version", "CgroupVersion");
	line_str(v, " ", "Kernel Version", "KernelVersion");
	line_str(v, " ", "Operating System", "OperatingSystem");
	line_str(v, " ", "OSType", "OSType");
	line_str(v, " ", "Architecture", "Architecture");
	line_int(v, " ", "CPUs", "NCPU");
	json_t *mem = json_object_get(v, "MemTotal");
	if (json_is_integer(mem)) {
		/* docker prints binary units here (units.BytesSize): "23.4GiB". */
		static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
		double b = (double)json_integer_value(mem);
		int i = 0;
		while (b >= 1024 && i < 4) {
			b /= 1024;
			i++;
		}
		printf(" Total Memory: %.4g%s\n", b, u[i]);
	}
	line_str(v, " ", "Name", "Name");
	line_str(v, " ", "ID", "ID");
	line_str(v, " ", "Docker Root Dir", "DockerRootDir");
	json_decref(v);
	return 0;
}

const struct cli_command cli_cmd_info = {
    .name = "info",
    .usage = "info [OPTIONS]",
    .summary = "Display system-wide information",
    .flags = info_flags,
    .min_args = 0,
    .max_args = 0,
    .interspersed = true,
    .exec = info_exec,
};
