/* One instruction's own rules: its flags, arguments and Docker's messages for each. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/duration.h"
#include "dockerfile_internal.h"

static const char *const kind_names[] = {
    [DF_FROM] = "FROM",
    [DF_RUN] = "RUN",
    [DF_CMD] = "CMD",
    [DF_ENTRYPOINT] = "ENTRYPOINT",
    [DF_COPY] = "COPY",
    [DF_ADD] = "ADD",
    [DF_ENV] = "ENV",
    [DF_ARG] = "ARG",
    [DF_WORKDIR] = "WORKDIR",
    [DF_EXPOSE] = "EXPOSE",
    [DF_LABEL] = "LABEL",
    [DF_USER] = "USER",
    [DF_VOLUME] = "VOLUME",
    [DF_HEALTHCHECK] = "HEALTHCHECK",
    [DF_STOPSIGNAL] = "STOPSIGNAL",
    [DF_SHELL] = "SHELL",
    [DF_ONBUILD] = "ONBUILD",
    [DF_MAINTAINER] = "MAINTAINER",
};

const char *dockerfile_kind_name(enum dockerfile_kind kind)
{
	if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "?";
	return kind_names[kind];
}

int df_kind_lookup(const char *word)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcasecmp(word, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

/* The flags an instruction accepts (Docker's BFlags); every other one is "Unknown flag". */
enum flag_type { FLAG_STRING, FLAG_BOOL, FLAG_MULTI };
struct flag_def {
	const char *name;
	enum flag_type type;
};
struct flag_val {
	const char *value; /* "true" for a bool given bare */
	bool set;
	struct df_words multi;
};

static const struct flag_def from_flags[] = {{"platform", FLAG_STRING}, {0}};
static const struct flag_def run_flags[] = {{"mount", FLAG_MULTI}, {"network", FLAG_STRING}, {0}};
static const struct flag_def copy_flags[] = {{"from", FLAG_STRING},
					     {"chown", FLAG_STRING},
					     {"chmod", FLAG_STRING},
					     {"link", FLAG_BOOL},
					     {0}};
static const struct flag_def add_flags[] = {
    {"chown", FLAG_STRING}, {"chmod", FLAG_STRING}, {"link", FLAG_BOOL}, {0}};
static const struct flag_def health_flags[] = {
    {"interval", FLAG_STRING},	     {"timeout", FLAG_STRING}, {"start-period", FLAG_STRING},
    {"start-interval", FLAG_STRING}, {"retries", FLAG_STRING}, {0}};
static const struct flag_def no_flags[] = {{0}};

#define MAX_FLAGS 6

static int parse_flags(struct dockerfile_arena **arena, const struct df_words *words,
		       const struct flag_def *defs, struct flag_val *vals, struct berth_error *err)
{
	for (size_t i = 0; i < words->n; i++) {
		const char *arg = words->v[i];
		if (strncmp(arg, "--", 2) != 0)
			return berth_err(err, 400, "Arg should start with -- : %s", arg);
		arg += 2;
		const char *eq = strchr(arg, '=');
		size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		size_t d = 0;
		while (defs[d].name &&
		       (strlen(defs[d].name) != nlen || strncmp(defs[d].name, arg, nlen)))
			d++;
		if (!defs[d].name)
			return berth_err(err, 400, "Unknown flag: %.*s", (int)nlen, arg);
		struct flag_val *v = &vals[d];
		if (v->set && defs[d].type != FLAG_MULTI)
			return berth_err(err, 400, "Duplicate flag specified: %.*s", (int)nlen,
					 arg);
		v->set = true;
		if (defs[d].type == FLAG_BOOL) {
			const char *val = eq ? eq + 1 : "true";
			if (strcasecmp(val, "true") && strcasecmp(val, "false"))
				return berth_err(err, 400,
						 "Expecting boolean value for flag %.*s, not: %s",
						 (int)nlen, arg, val);
			v->value = strcasecmp(val, "true") == 0 ? "true" : "false";
			continue;
		}
		if (!eq)
			return berth_err(err, 400, "Missing a value on flag: %.*s", (int)nlen, arg);
		v->value = eq + 1;
		if (defs[d].type == FLAG_MULTI)
			df_words_push(arena, &v->multi, df_strdup(arena, eq + 1));
	}
	return 0;
}

static int one_mount(struct dockerfile_arena **arena, const char *spec, struct dockerfile_mount *m,
		     struct berth_error *err)
{
	memset(m, 0, sizeof(*m));
	m->mode = m->uid = m->gid = -1;
	bool ro_auto = true;
	/* First pass for the type: other keys depend on it. */
	char *copy = df_strdup(arena, spec);
	struct df_words fields = {0};
	for (char *save = NULL, *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save))
		df_words_push(arena, &fields, f);
	for (size_t i = 0; i < fields.n; i++) {
		if (strncasecmp(fields.v[i], "type=", 5))
			continue;
		const char *t = fields.v[i] + 5;
		if (strcmp(t, "bind") == 0)
			m->type = DF_MOUNT_BIND;
		else if (strcmp(t, "cache") == 0)
			m->type = DF_MOUNT_CACHE;
		else if (strcmp(t, "tmpfs") == 0)
			m->type = DF_MOUNT_TMPFS;
		else if (strcmp(t, "secret") == 0 || strcmp(t, "ssh") == 0)
			return berth_err(err, 400, "mount type %s is not supported by berth", t);
		else
			return berth_err(err, 400, "unsupported mount type \"%s\"", t);
	}
	static const char *const type_names[] = {"bind", "cache", "tmpfs"};
	const char *tname = type_names[m->type];
	for (size_t i = 0; i < fields.n; i++) {
		char *f = fields.v[i];
		char *eq = strchr(f, '=');
		if (eq)
			*eq = '\0';
		for (char *k = f; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		const char *val = eq ? eq + 1 : NULL;
		if (!val) {
			if (!strcmp(f, "readonly") || !strcmp(f, "ro")) {
				m->readonly = true;
				ro_auto = false;
			} else if (!strcmp(f, "readwrite") || !strcmp(f, "rw")) {
				m->readonly = false;
				ro_auto = false;
			} else {
				return berth_err(err, 400,
						 "invalid field '%s' must be a key=value pair", f);
			}
			continue;
		}
		if (!strcmp(f, "type"))
			continue;
		if (!strcmp(f, "from")) {
			m->from = (char *)val;
		} else if (!strcmp(f, "source") || !strcmp(f, "src")) {
			m->source = (char *)val;
		} else if (!strcmp(f, "target") || !strcmp(f, "dst") || !strcmp(f, "destination")) {
			m->target = (char *)val;
		} else if (!strcmp(f, "readonly") || !strcmp(f, "ro") || !strcmp(f, "readwrite") ||
			   !strcmp(f, "rw")) {
			bool t = !strcasecmp(val, "true") || !strcmp(val, "1");
			if (!t && strcasecmp(val, "false") && strcmp(val, "0"))
				return berth_err(err, 400, "invalid value for %s: %s", f, val);
			bool ro_key = !strcmp(f, "readonly") || !strcmp(f, "ro");
			m->readonly = ro_key ? t : !t;
			ro_auto = false;
		} else if (!strcmp(f, "id")) {
			if (m->type != DF_MOUNT_CACHE)
				return berth_err(
				    err, 400, "unexpected key '%s' for mount type '%s'", f, tname);
			m->id = (char *)val;
		} else if (!strcmp(f, "sharing")) {
			if (!strcmp(val, "shared"))
				m->sharing = DF_SHARING_SHARED;
			else if (!strcmp(val, "private"))
				m->sharing = DF_SHARING_PRIVATE;
			else if (!strcmp(val, "locked"))
				m->sharing = DF_SHARING_LOCKED;
			else
				return berth_err(err, 400, "unsupported sharing value \"%s\"", val);
			if (m->type != DF_MOUNT_CACHE)
				return berth_err(err, 400, "invalid cache sharing set for %s mount",
						 tname);
		} else if (!strcmp(f, "mode") || !strcmp(f, "uid") || !strcmp(f, "gid")) {
			char *end;
			errno = 0;
			long v = strtol(val, &end, f[0] == 'm' ? 8 : 10);
			if (errno || end == val || *end || v < 0 ||
			    v > (f[0] == 'm' ? 07777 : 0x7fffffff)) {
				if (f[0] == 'm')
					return berth_err(err, 400, "invalid value %s for mode",
							 val);
				return berth_err(err, 400, "invalid value %s for %s", val, f);
			}
			if (m->type != DF_MOUNT_CACHE)
				return berth_err(err, 400, "%s not allowed for \"%s\" type mounts",
						 f, tname);
			*(f[0] == 'm' ? &m->mode : f[0] == 'u' ? &m->uid : &m->gid) = (int)v;
		} else {
			return berth_err(err, 400, "unexpected key '%s' in '%s=%s'", f, f, val);
		}
	}
	if (ro_auto && m->type == DF_MOUNT_BIND)
		m->readonly = true;
	if (!m->target || !*m->target)
		return berth_err(err, 400, "mount %s requires a target", spec);
	return 0;
}

static int parse_interval(const char *name, const struct flag_val *v, int64_t *out,
			  struct berth_error *err)
{
	*out = 0;
	if (!v->set || !*v->value)
		return 0;
	int64_t ns = berth_parse_duration_ns(v->value);
	/* Go's time.ParseDuration wants a unit; berth_parse_duration_ns also takes bare seconds */
	size_t n = strlen(v->value);
	if (ns < 0 || isdigit((unsigned char)v->value[n - 1]))
		return berth_err(err, 400, "time: invalid duration \"%s\"", v->value);
	if (ns < 1000000)
		return berth_err(err, 400, "Interval \"%s\" cannot be less than 1ms", name);
	*out = ns;
	return 0;
}

static int build_healthcheck(struct dockerfile_arena **arena, const struct df_node *node,
			     struct dockerfile_instr *in, struct flag_val *fl,
			     struct berth_error *err)
{
	const char *rest = node->rest;
	size_t sep = 0;
	while (rest[sep] && !isspace((unsigned char)rest[sep]))
		sep++;
	if (sep == 0)
		return berth_err(err, 400, "HEALTHCHECK requires at least one argument");
	char *typ = df_strndup(arena, rest, sep);
	const char *cmd = rest + sep;
	while (isspace((unsigned char)*cmd))
		cmd++;
	if (strcasecmp(typ, "NONE") == 0) {
		if (*cmd)
			return berth_err(err, 400, "HEALTHCHECK NONE takes no arguments");
		for (int i = 0; i < 5; i++)
			if (fl[i].set) /* Docker ignores them; berth says so */
				return berth_err(err, 400, "HEALTHCHECK NONE takes no flags (--%s)",
						 health_flags[i].name);
		in->health_none = true;
		return 0;
	}
	if (strcasecmp(typ, "CMD") != 0) {
		for (char *p = typ; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return berth_err(err, 400, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
	}
	struct df_words args = {0};
	int j = *cmd ? df_parse_json_array(arena, cmd, &args) : 0;
	if (j == -2)
		return berth_err(err, 400,
				 "when using JSON array syntax, strings must not hold "
				 "\\u0000");
	if (j < 0)
		return berth_err(err, 400,
				 "when using JSON array syntax, arrays must be comprised "
				 "of strings only");
	if (j == 0 && *cmd)
		df_words_push(arena, &args, df_strdup(arena, cmd));
	if (args.n == 0)
		return berth_err(err, 400, "Missing command after HEALTHCHECK CMD");
	in->json = j > 0;
	in->args = args.v;
	in->nargs = args.n;
	if (parse_interval("interval", &fl[0], &in->interval_ns, err) < 0 ||
	    parse_interval("timeout", &fl[1], &in->timeout_ns, err) < 0 ||
	    parse_interval("start-period", &fl[2], &in->start_period_ns, err) < 0 ||
	    parse_interval("start-interval", &fl[3], &in->start_interval_ns, err) < 0)
		return -1;
	if (fl[4].set && *fl[4].value) {
		char *end;
		errno = 0;
		long r = strtol(fl[4].value, &end, 10);
		if (errno || end == fl[4].value || *end || r > 0x7fffffff || r < -0x7fffffff)
			return berth_err(err, 400,
					 "strconv.ParseInt: parsing \"%s\": invalid syntax",
					 fl[4].value);
		if (r < 1)
			return berth_err(err, 400, "--retries must be at least 1 (not %ld)", r);
		in->retries = (int)r;
	}
	return 0;
}

static const struct flag_def *flags_of(enum dockerfile_kind kind)
{
	switch (kind) {
	case DF_FROM:
		return from_flags;
	case DF_RUN:
		return run_flags;
	case DF_COPY:
		return copy_flags;
	case DF_ADD:
		return add_flags;
	case DF_HEALTHCHECK:
		return health_flags;
	default:
		return no_flags;
	}
}

int df_instr_build(struct dockerfile_arena **arena, const struct df_node *node, char escape,
		   struct dockerfile_instr *in, struct berth_error *err)
{
	int k = df_kind_lookup(node->cmd);
	if (k < 0) {
		/* Docker's classic builder upper-cases the whole word: CMD["HELLOWORLD"] */
		char *up = df_strdup(arena, node->cmd);
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return berth_err(err, 400, "unknown instruction: %s", up);
	}
	in->kind = (enum dockerfile_kind)k;
	in->heredocs = node->heredocs;
	in->nheredocs = node->nheredocs;
	if (df_instr_args(arena, node, escape, in, err) < 0)
		return -1;
	struct flag_val fl[MAX_FLAGS];
	memset(fl, 0, sizeof(fl));
	if (parse_flags(arena, &node->flags, flags_of(in->kind), fl, err) < 0)
		return -1;
	switch (in->kind) {
	case DF_FROM:
		in->platform = fl[0].set ? (char *)fl[0].value : NULL;
		break;
	case DF_RUN:
		if (fl[0].set) {
			in->mounts = df_alloc(arena, fl[0].multi.n * sizeof(*in->mounts));
			for (size_t i = 0; i < fl[0].multi.n; i++)
				if (one_mount(arena, fl[0].multi.v[i], &in->mounts[i], err) < 0)
					return -1;
			in->nmounts = fl[0].multi.n;
		}
		if (fl[1].set) {
			if (!strcmp(fl[1].value, "default"))
				in->network = DF_NETWORK_DEFAULT;
			else if (!strcmp(fl[1].value, "none"))
				in->network = DF_NETWORK_NONE;
			else if (!strcmp(fl[1].value, "host"))
				in->network = DF_NETWORK_HOST;
			else
				return berth_err(err, 400, "invalid network mode \"%s\"",
						 fl[1].value);
		}
		break;
	case DF_COPY:
	case DF_ADD: {
		const struct flag_val *from = in->kind == DF_COPY ? &fl[0] : NULL;
		const struct flag_val *rest = in->kind == DF_COPY ? &fl[1] : &fl[0];
		if (from && from->set)
			in->copy_from = (char *)from->value;
		if (rest[0].set)
			in->chown = (char *)rest[0].value;
		if (rest[1].set)
			in->chmod = (char *)rest[1].value;
		if (rest[2].set && !strcmp(rest[2].value, "true"))
			return berth_err(err, 400, "%s --link is not supported by berth",
					 dockerfile_kind_name(in->kind));
		break;
	}
	case DF_HEALTHCHECK:
		return build_healthcheck(arena, node, in, fl, err);
	default:
		break;
	}
	return 0;
}
