/* Docker's seccomp profile format (moby profiles/seccomp) read into a flat rule list: JSON in,
 * the rules that apply to one container out. Includes and excludes are evaluated here as
 * Docker's daemon evaluates them (caps against the container's set, arches against the native
 * arch, minKernel against the running kernel). No I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "berth/capability.h"
#include "berth/cleanup.h"
#include "berth/seccomp_profile.h"

#define PFX "decoding seccomp profile failed: "

static const struct {
	const char *name;
	enum seccomp_action action;
} actions[] = {
    {"SCMP_ACT_KILL", SECCOMP_ACTION_KILL_THREAD},
    {"SCMP_ACT_KILL_THREAD", SECCOMP_ACTION_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SECCOMP_ACTION_KILL_PROCESS},
    {"SCMP_ACT_TRAP", SECCOMP_ACTION_TRAP},
    {"SCMP_ACT_ERRNO", SECCOMP_ACTION_ERRNO},
    {"SCMP_ACT_TRACE", SECCOMP_ACTION_TRACE},
    {"SCMP_ACT_LOG", SECCOMP_ACTION_LOG},
    {"SCMP_ACT_ALLOW", SECCOMP_ACTION_ALLOW},
};

static const struct {
	const char *name;
	enum seccomp_op op;
} ops[] = {
    {"SCMP_CMP_NE", SECCOMP_OP_NE},
    {"SCMP_CMP_LT", SECCOMP_OP_LT},
    {"SCMP_CMP_LE", SECCOMP_OP_LE},
    {"SCMP_CMP_EQ", SECCOMP_OP_EQ},
    {"SCMP_CMP_GE", SECCOMP_OP_GE},
    {"SCMP_CMP_GT", SECCOMP_OP_GT},
    {"SCMP_CMP_MASKED_EQ", SECCOMP_OP_MASKED_EQ},
};

/* Go's arch names (Docker matches includes.arches against these) and libseccomp's. */
static const char *const native_arches[][3] = {
    {"x86_64", "amd64", "SCMP_ARCH_X86_64"},
    {"i686", "x86", "SCMP_ARCH_X86"},
    {"i386", "x86", "SCMP_ARCH_X86"},
    {"aarch64", "arm64", "SCMP_ARCH_AARCH64"},
    {"armv7l", "arm", "SCMP_ARCH_ARM"},
    {"s390x", "s390x", "SCMP_ARCH_S390X"},
    {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE"},
    {"riscv64", "riscv64", "SCMP_ARCH_RISCV64"},
};

const char *seccomp_native_arch(const char *machine)
{
	for (size_t i = 0; i < sizeof(native_arches) / sizeof(native_arches[0]); i++)
		if (!strcmp(machine, native_arches[i][0]))
			return native_arches[i][1];
	return NULL;
}

static const char *scmp_arch_of(const char *go_arch)
{
	for (size_t i = 0; go_arch && i < sizeof(native_arches) / sizeof(native_arches[0]); i++)
		if (!strcmp(go_arch, native_arches[i][1]))
			return native_arches[i][2];
	return NULL;
}

static int parse_action(json_t *v, const char *where, enum seccomp_action *out,
			struct berth_error *err)
{
	const char *s = json_string_value(v);
	for (size_t i = 0; s && i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!strcmp(s, actions[i].name)) {
			*out = actions[i].action;
			return 0;
		}
	}
	if (s && !strcmp(s, "SCMP_ACT_NOTIFY"))
		return berth_err(err, 400, PFX "%s: SCMP_ACT_NOTIFY is not supported by berth",
				 where);
	return berth_err(err, 400, PFX "%s: unknown action %s%s%s", where, s ? "\"" : "",
			 s ? s : "(not a string)", s ? "\"" : "");
}

/* A non-negative integer that fits max. */
static int parse_uint(json_t *v, uint64_t max, const char *what, uint64_t *out,
		      struct berth_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return berth_err(err, 400, PFX "%s: not an integer from 0 to %llu", what,
				 (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int check_strings(json_t *arr, const char *what, struct berth_error *err)
{
	if (arr && !json_is_null(arr) && !json_is_array(arr))
		return berth_err(err, 400, PFX "%s: not a list", what);
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_string(e))
			return berth_err(err, 400, PFX "%s: not a list of strings", what);
	}
	return 0;
}

static bool has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		if (s && !strcmp(json_string_value(e), s))
			return true;
	}
	return false;
}

/* "4.8" or "5.10.1" (only major.minor count); -1 when not a version. */
static int parse_kernel(const char *s, unsigned *major, unsigned *minor)
{
	char *end;
	errno = 0;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s || *end != '.' || errno || a > 100000)
		return -1;
	const char *m = end + 1;
	unsigned long b = strtoul(m, &end, 10);
	if (end == m || (*end && *end != '.' && *end != '-') || errno || b > 100000)
		return -1;
	*major = (unsigned)a, *minor = (unsigned)b;
	return 0;
}

/* The "includes"/"excludes" object: 1 when it matches target, 0 when not (an empty filter
 * matches nothing for excludes and everything for includes: inc says which). */
static int filter_match(json_t *f, bool inc, const struct seccomp_target *t, size_t idx,
			struct berth_error *err)
{
	const char *what = inc ? "includes" : "excludes";
	char where[64];
	snprintf(where, sizeof(where), "syscalls[%zu].%s", idx, what);
	if (!f || json_is_null(f))
		return inc ? 1 : 0;
	if (!json_is_object(f))
		return berth_err(err, 400, PFX "%s: not an object", where);
	json_t *caps = json_object_get(f, "caps"), *arches = json_object_get(f, "arches");
	json_t *kernel = json_object_get(f, "minKernel");
	if (check_strings(caps, where, err) < 0 || check_strings(arches, where, err) < 0)
		return -1;
	unsigned kmaj = 0, kmin = 0;
	bool has_kernel = kernel && !json_is_null(kernel) && json_string_length(kernel) > 0;
	if (kernel && !json_is_null(kernel) && !json_is_string(kernel))
		return berth_err(err, 400, PFX "%s.minKernel: not a string", where);
	if (has_kernel && parse_kernel(json_string_value(kernel), &kmaj, &kmin) < 0)
		return berth_err(err, 400, PFX "%s.minKernel: invalid kernel version \"%s\"", where,
				 json_string_value(kernel));
	bool kernel_ge =
	    t->kernel_major > kmaj || (t->kernel_major == kmaj && t->kernel_minor >= kmin);
	size_t i;
	json_t *e;
	if (inc) {
		if (json_array_size(arches) && !has_string(arches, t->arch))
			return 0;
		json_array_foreach(caps, i, e)
		{
			uint64_t m;
			if (berth_cap_from_name(json_string_value(e), &m) < 0 || m == ~0ULL ||
			    !(t->caps & m))
				return 0;
		}
		return has_kernel && !kernel_ge ? 0 : 1;
	}
	if (json_array_size(arches) && has_string(arches, t->arch))
		return 1;
	json_array_foreach(caps, i, e)
	{
		uint64_t m;
		if (berth_cap_from_name(json_string_value(e), &m) == 0 && m != ~0ULL &&
		    (t->caps & m))
			return 1;
	}
	return has_kernel && kernel_ge ? 1 : 0;
}

static int parse_args(json_t *args, size_t idx, struct seccomp_arg *out, unsigned *n,
		      struct berth_error *err)
{
	char where[64];
	snprintf(where, sizeof(where), "syscalls[%zu].args", idx);
	*n = 0;
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args))
		return berth_err(err, 400, PFX "%s: not a list", where);
	if (json_array_size(args) > SECCOMP_PROFILE_MAX_ARGS)
		return berth_err(err, 400, PFX "%s: more than %d comparisons", where,
				 SECCOMP_PROFILE_MAX_ARGS);
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a)
	{
		struct seccomp_arg *o = &out[i];
		uint64_t index = 0;
		if (!json_is_object(a))
			return berth_err(err, 400, PFX "%s[%zu]: not an object", where, i);
		if (parse_uint(json_object_get(a, "index"), 5, "args.index", &index, err) < 0)
			return -1;
		o->index = (unsigned)index;
		json_t *v = json_object_get(a, "value"), *v2 = json_object_get(a, "valueTwo");
		o->value = o->value_two = 0;
		if (v && parse_uint(v, INT64_MAX, "args.value", &o->value, err) < 0)
			return -1;
		if (v2 && parse_uint(v2, INT64_MAX, "args.valueTwo", &o->value_two, err) < 0)
			return -1;
		const char *op = json_string_value(json_object_get(a, "op"));
		o->op = 0;
		for (size_t k = 0; op && k < sizeof(ops) / sizeof(ops[0]); k++)
			if (!strcmp(op, ops[k].name))
				o->op = ops[k].op;
		if (!o->op)
			return berth_err(err, 400, PFX "%s[%zu]: unknown op \"%s\"", where, i,
					 op ? op : "");
		/* Docker's profile gives MASKED_EQ as (mask, value): valueTwo defaults to 0 */
	}
	*n = (unsigned)json_array_size(args);
	return 0;
}

static int add_rule(struct seccomp_profile *p, size_t *cap, const char *name,
		    enum seccomp_action action, uint32_t errno_ret, const struct seccomp_arg *args,
		    unsigned n_args, struct berth_error *err)
{
	if (p->n_rules >= SECCOMP_PROFILE_MAX_RULES)
		return berth_err(err, 400, PFX "more than %d rules", SECCOMP_PROFILE_MAX_RULES);
	if (p->n_rules == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct seccomp_rule *r = realloc(p->rules, ncap * sizeof(*r));
		if (!r)
			return berth_err(err, 500, "out of memory");
		p->rules = r, *cap = ncap;
	}
	struct seccomp_rule *r = &p->rules[p->n_rules++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->action = action;
	r->errno_ret = errno_ret;
	r->n_args = n_args;
	if (n_args)
		memcpy(r->args, args, n_args * sizeof(*args));
	return 0;
}

static int parse_syscall(struct seccomp_profile *p, size_t *cap, json_t *sc, size_t idx,
			 const struct seccomp_target *t, struct berth_error *err)
{
	char where[64];
	snprintf(where, sizeof(where), "syscalls[%zu]", idx);
	if (!json_is_object(sc))
		return berth_err(err, 400, PFX "%s: not an object", where);
	json_t *name = json_object_get(sc, "name"), *names = json_object_get(sc, "names");
	if (name && !json_is_null(name) && !json_is_string(name))
		return berth_err(err, 400, PFX "%s.name: not a string", where);
	if (check_strings(names, where, err) < 0)
		return -1;
	if (json_string_length(name) && json_array_size(names))
		return berth_err(err, 400,
				 PFX "'name' and 'names' were specified in the seccomp profile, "
				     "use either 'name' or 'names'");
	enum seccomp_action action;
	if (parse_action(json_object_get(sc, "action"), where, &action, err) < 0)
		return -1;
	uint64_t errno_ret = action == SECCOMP_ACTION_ERRNO ? EPERM : 0;
	json_t *ret = json_object_get(sc, "errnoRet");
	if (ret && !json_is_null(ret) && parse_uint(ret, 4095, "errnoRet", &errno_ret, err) < 0)
		return -1;
	struct seccomp_arg args[SECCOMP_PROFILE_MAX_ARGS];
	unsigned n_args;
	if (parse_args(json_object_get(sc, "args"), idx, args, &n_args, err) < 0)
		return -1;
	/* Both filters are checked for errors before either decides. */
	int exc = filter_match(json_object_get(sc, "excludes"), false, t, idx, err);
	int inc = exc < 0 ? -1 : filter_match(json_object_get(sc, "includes"), true, t, idx, err);
	if (inc < 0)
		return -1;
	if (exc || !inc)
		return 0;
	/* libseccomp takes one comparison per argument in a rule: a block that compares one
	 * argument twice becomes one rule per comparison (any may match), as runc does. */
	bool split = false;
	for (unsigned i = 0; i < n_args; i++)
		for (unsigned j = i + 1; j < n_args; j++)
			split |= args[i].index == args[j].index;
	size_t n_names = json_string_length(name) ? 1 : json_array_size(names);
	for (size_t k = 0; k < n_names; k++) {
		const char *s = json_string_length(name)
				    ? json_string_value(name)
				    : json_string_value(json_array_get(names, k));
		if (!*s || strlen(s) >= SECCOMP_PROFILE_NAME_MAX)
			return berth_err(err, 400, PFX "%s: invalid syscall name \"%.80s\"", where,
					 s);
		if (!split) {
			if (add_rule(p, cap, s, action, (uint32_t)errno_ret, args, n_args, err) < 0)
				return -1;
			continue;
		}
		for (unsigned i = 0; i < n_args; i++)
			if (add_rule(p, cap, s, action, (uint32_t)errno_ret, &args[i], 1, err) < 0)
				return -1;
	}
	return 0;
}

/* The architectures libseccomp knows, as the profile format spells them. */
static bool known_arch(const char *s)
{
	static const char *const arches[] = {
	    "X86",	 "X86_64", "X32",      "ARM",	      "AARCH64", "MIPS",  "MIPS64",
	    "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32", "PPC",	 "PPC64", "PPC64LE",
	    "S390",	 "S390X",  "PARISC",   "PARISC64",    "RISCV64",
	};
	if (!s || strncmp(s, "SCMP_ARCH_", 10))
		return false;
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (!strcmp(s + 10, arches[i]))
			return true;
	return false;
}

static int add_arch(struct seccomp_profile *p, json_t *v, struct berth_error *err)
{
	const char *s = json_string_value(v);
	if (!known_arch(s))
		return berth_err(err, 400, PFX "invalid architecture %.64s",
				 s ? s : "(not a string)");
	for (size_t i = 0; i < p->n_arches; i++)
		if (!strcmp(p->arches[i], s))
			return 0;
	if (p->n_arches >= SECCOMP_PROFILE_MAX_ARCHES)
		return berth_err(err, 400, PFX "more than %d architectures",
				 SECCOMP_PROFILE_MAX_ARCHES);
	snprintf(p->arches[p->n_arches++], sizeof(p->arches[0]), "%s", s);
	return 0;
}

static int parse_arches(struct seccomp_profile *p, json_t *root, const struct seccomp_target *t,
			struct berth_error *err)
{
	json_t *list = json_object_get(root, "architectures");
	json_t *map = json_object_get(root, "archMap");
	if (list && !json_is_null(list) && !json_is_array(list))
		return berth_err(err, 400, PFX "architectures: not a list");
	if (map && !json_is_null(map) && !json_is_array(map))
		return berth_err(err, 400, PFX "archMap: not a list");
	if (json_array_size(list) && json_array_size(map))
		return berth_err(err, 400,
				 PFX "'architectures' and 'archMap' were specified in the seccomp "
				     "profile, use either 'architectures' or 'archMap'");
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		if (add_arch(p, e, err) < 0)
			return -1;
	}
	const char *native = scmp_arch_of(t->arch);
	json_array_foreach(map, i, e)
	{
		json_t *a = json_object_get(e, "architecture"), *subs;
		subs = json_object_get(e, "subArchitectures");
		if (!json_is_string(a) || (subs && !json_is_null(subs) && !json_is_array(subs)))
			return berth_err(err, 400, PFX "archMap[%zu]: invalid entry", i);
		if (!native || strcmp(json_string_value(a), native))
			continue;
		if (add_arch(p, a, err) < 0)
			return -1;
		size_t k;
		json_t *s;
		json_array_foreach(subs, k, s)
		{
			if (add_arch(p, s, err) < 0)
				return -1;
		}
	}
	return 0;
}

int seccomp_profile_parse(const char *json, size_t len, const struct seccomp_target *t,
			  struct seccomp_profile *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(json, len, 0, &jerr);
	if (!root)
		return berth_err(err, 400, PFX "%s (line %d)", jerr.text, jerr.line);
	if (!json_is_object(root))
		return berth_err(err, 400, PFX "not a JSON object");
	json_t *def = json_object_get(root, "defaultAction");
	json_t *syscalls = json_object_get(root, "syscalls");
	if (syscalls && !json_is_null(syscalls) && !json_is_array(syscalls))
		return berth_err(err, 400, PFX "syscalls: not a list");
	json_t *flags = json_object_get(root, "flags");
	if (check_strings(flags, "flags", err) < 0)
		return -1;
	if (json_array_size(flags))
		return berth_err(err, 400, PFX "flags (%s) are not supported by berth",
				 json_string_value(json_array_get(flags, 0)));
	if (json_string_length(json_object_get(root, "listenerPath")))
		return berth_err(err, 400, PFX "listenerPath is not supported by berth");
	/* Docker: no default action and no syscalls means no filter at all. */
	if ((!def || json_is_null(def) || (json_is_string(def) && !json_string_length(def))) &&
	    !json_array_size(syscalls)) {
		out->disabled = 1;
		return 0;
	}
	if (parse_action(def, "defaultAction", &out->default_action, err) < 0)
		return -1;
	uint64_t def_errno = out->default_action == SECCOMP_ACTION_ERRNO ? EPERM : 0;
	json_t *ret = json_object_get(root, "defaultErrnoRet");
	if (ret && !json_is_null(ret) &&
	    parse_uint(ret, 4095, "defaultErrnoRet", &def_errno, err) < 0)
		return -1;
	out->default_errno = (uint32_t)def_errno;
	if (parse_arches(out, root, t, err) < 0)
		goto fail;
	size_t cap = 0, i;
	json_t *sc;
	json_array_foreach(syscalls, i, sc)
	{
		if (parse_syscall(out, &cap, sc, i, t, err) < 0)
			goto fail;
	}
	return 0;
fail:
	seccomp_profile_free(out);
	return -1;
}

void seccomp_profile_free(struct seccomp_profile *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n_rules = 0;
}
