/* berth images (image ls): GET /images/json as docker's REPOSITORY TAG IMAGE ID CREATED SIZE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "objects.h"
#include "output.h"

enum { F_ALL, F_QUIET, F_NO_TRUNC, F_FORMAT, F_FILTER, F_DIGESTS };
static const struct cli_flag images_flags[] = {
    [F_ALL] = {"all", 'a', CLI_BOOL, NULL, "Show all images (default hides intermediate images)"},
    [F_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Only show image IDs"},
    [F_NO_TRUNC] = {"no-trunc", 0, CLI_BOOL, NULL, "Don't truncate output"},
    [F_FORMAT] = {"format", 0, CLI_STRING, "string", "Format output using a custom template"},
    [F_FILTER] = {"filter", 'f', CLI_LIST, "filter", "Filter output based on conditions provided"},
    [F_DIGESTS] = {"digests", 0, CLI_BOOL, NULL, "Show digests"},
    {0},
};

/* The rows docker's image formatter makes: one per repository tag, or one "<none>" row. */
json_t *cli_image_rows(json_t *images, bool trunc)
{
	json_t *rows = json_array();
	size_t i;
	json_t *img;
	json_array_foreach(images, i, img)
	{
		const char *id = json_string_value(json_object_get(img, "Id"));
		id = id ? id : "";
		char idbuf[128], ago[64], size[32], created_at[64];
		if (trunc)
			snprintf(idbuf, sizeof(idbuf), "%.12s",
				 !strncmp(id, "sha256:", 7) ? id + 7 : id);
		else
			snprintf(idbuf, sizeof(idbuf), "%s", id);
		long long created = json_integer_value(json_object_get(img, "Created"));
		cli_format_ago(created, ago, sizeof(ago));
		time_t t = (time_t)created;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(created_at, sizeof(created_at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
		cli_human_size((double)json_integer_value(json_object_get(img, "Size")), 3, size,
			       sizeof(size));
		json_t *tags = json_object_get(img, "RepoTags");
		size_t ntags = json_array_size(tags);
		for (size_t k = 0; k < (ntags ? ntags : 1); k++) {
			char repo[512] = "<none>", tag[128] = "<none>";
			const char *rt = ntags ? json_string_value(json_array_get(tags, k)) : NULL;
			if (rt && strcmp(rt, "<none>:<none>")) {
				const char *slash = strrchr(rt, '/');
				const char *colon = strrchr(slash ? slash : rt, ':');
				if (colon) {
					snprintf(repo, sizeof(repo), "%.*s", (int)(colon - rt), rt);
					snprintf(tag, sizeof(tag), "%s", colon + 1);
				} else {
					snprintf(repo, sizeof(repo), "%s", rt);
				}
			}
			json_t *containers = json_object_get(img, "Containers");
			char nc[32];
			snprintf(nc, sizeof(nc), "%lld",
				 containers ? (long long)json_integer_value(containers) : -1LL);
			json_array_append_new(
			    rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
					    "Containers", nc, "CreatedAt", created_at,
					    "CreatedSince", ago, "Digest", "<none>", "ID", idbuf,
					    "Repository", repo, "SharedSize", "N/A", "Size", size,
					    "Tag", tag, "UniqueSize", "N/A", "VirtualSize", size));
		}
	}
	return rows;
}

static int images_list(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	struct berth_error err = {0};
	char *q = cli_filters_query(&v[F_FILTER], a->npos ? "reference" : NULL,
				    a->npos ? a->pos[0] : NULL);
	char path[4096];
	snprintf(path, sizeof(path), "/images/json%s%s", q,
		 v[F_ALL].b ? (*q ? "&all=1" : "?all=1") : "");
	free(q);
	json_t *list = NULL;
	if (cli_api(cli, "GET", path, NULL, &list, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	bool trunc = !v[F_NO_TRUNC].b;
	if (v[F_QUIET].b) {
		size_t i;
		json_t *img;
		json_array_foreach(list, i, img)
		{
			const char *id = json_string_value(json_object_get(img, "Id"));
			id = id ? id : "";
			if (trunc)
				printf("%.12s\n", !strncmp(id, "sha256:", 7) ? id + 7 : id);
			else
				printf("%s\n", id);
		}
		json_decref(list);
		return 0;
	}
	json_t *rows = cli_image_rows(list, trunc);
	json_decref(list);
	int rc = cli_objects_print_rows(
	    v[F_FORMAT].s,
	    v[F_DIGESTS].b
		? "table "
		  "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
	    rows,
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", "REPOSITORY",
		      "Tag", "TAG", "ID", "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt",
		      "CREATED AT", "Size", "SIZE", "Digest", "DIGEST", "Containers", "CONTAINERS",
		      "SharedSize", "SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "VirtualSize",
		      "VIRTUAL SIZE"));
	json_decref(rows);
	return rc;
}

const struct cli_command cli_cmd_images = {
    .name = "images",
    .usage = "images [OPTIONS] [REPOSITORY[:TAG]]",
    .summary = "List images",
    .flags = images_flags,
    .min_args = 0,
    .max_args = 1,
    .interspersed = true,
    .exec = images_list,
};

const struct cli_command cli_cmd_image_ls = {
    .name = "ls",
    .usage = "ls [OPTIONS] [REPOSITORY[:TAG]]",
    .summary = "List images",
    .flags = images_flags,
    .min_args = 0,
    .max_args = 1,
    .interspersed = true,
    .exec = images_list,
};
