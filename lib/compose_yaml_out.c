/* compose_write_yaml: the canonical model back to YAML that loads again (`berth compose config`).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "berth/compose.h"
#include "berth/error.h"

/* Go's time.Duration.String(): "1m30s", "500ms", "1.5s", "0s". */
static void go_duration(int64_t ns, char *out, size_t size)
{
	if (ns == 0) {
		snprintf(out, size, "0s");
		return;
	}
	if (ns < 1000000000LL) {
		const char *unit = ns < 1000 ? "ns" : ns < 1000000 ? "us" : "ms";
		int64_t div = ns < 1000 ? 1 : ns < 1000000 ? 1000 : 1000000;
		char frac[32] = "";
		if (ns % div) {
			snprintf(frac, sizeof(frac), ".%0*" PRId64, div == 1000 ? 3 : 6, ns % div);
			for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
				frac[n - 1] = '\0';
		}
		snprintf(out, size, "%" PRId64 "%s%s", ns / div, frac, unit);
		return;
	}
	int64_t h = ns / 3600000000000LL, m = ns / 60000000000LL % 60;
	int64_t s = ns / 1000000000LL % 60, rest = ns % 1000000000LL;
	char sec[48];
	snprintf(sec, sizeof(sec), "%" PRId64, s);
	if (rest) {
		char frac[16];
		snprintf(frac, sizeof(frac), ".%09" PRId64, rest);
		for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
		strncat(sec, frac, sizeof(sec) - strlen(sec) - 1);
	}
	if (h)
		snprintf(out, size, "%" PRId64 "h%" PRId64 "m%ss", h, m, sec);
	else if (m)
		snprintf(out, size, "%" PRId64 "m%ss", m, sec);
	else
		snprintf(out, size, "%ss", sec);
}

/* Would this string read back as something other than a string if written plain? */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = {"null", "~", "true", "false", "yes",   "no",  "on",
					    "off",  "y", "n",	 ".inf",  "-.inf", ".nan"};
	if (!*s)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	char *end;
	strtod(s, &end);
	if (*end == '\0')
		return true;
	strtoll(s, &end, 0);
	return *end == '\0';
}

static bool is_duration(const char *parent, const char *key)
{
	if (!parent || !key)
		return false;
	if (!strcmp(key, "stop_grace_period"))
		return true;
	if (!strcmp(parent, "healthcheck"))
		return !strcmp(key, "interval") || !strcmp(key, "timeout") ||
		       !strcmp(key, "start_period") || !strcmp(key, "start_interval");
	if (!strcmp(parent, "restart_policy"))
		return !strcmp(key, "delay") || !strcmp(key, "window");
	if (!strcmp(parent, "update_config") || !strcmp(parent, "rollback_config"))
		return !strcmp(key, "delay") || !strcmp(key, "monitor");
	return false;
}

static int scalar(yaml_emitter_t *e, const char *s, bool typed)
{
	yaml_event_t ev;
	bool quote = !typed && needs_quotes(s);
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !quote, 1,
				     YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int emit(yaml_emitter_t *e, const json_t *j, const char *parent, const char *key,
		bool in_extension)
{
	yaml_event_t ev;
	char buf[64];
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return -1;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
		{
			bool ext = in_extension || !strncmp(k, "x-", 2);
			/* read from the files security_opt names: printed as those names */
			if (!in_extension && parent && !strcmp(parent, "services") &&
			    !strcmp(k, COMPOSE_SECCOMP_PROFILES))
				continue;
			if (scalar(e, k, false) < 0 || emit(e, v, key, k, ext) < 0)
				return -1;
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? 0 : -1;
	}
	case JSON_ARRAY: {
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return -1;
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
		{
			if (emit(e, v, key, NULL, in_extension) < 0)
				return -1;
		}
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? 0 : -1;
	}
	case JSON_STRING: {
		/* Values are interpolated when loaded: a literal $ is written $$ to stay one. */
		const char *v = json_string_value(j);
		if (!strchr(v, '$'))
			return scalar(e, v, false);
		char *esc = malloc(strlen(v) * 2 + 1), *o = esc;
		if (!esc)
			return -1;
		for (; *v; v++) {
			if (*v == '$')
				*o++ = '$';
			*o++ = *v;
		}
		*o = '\0';
		int rc = scalar(e, esc, false);
		free(esc);
		return rc;
	}
	case JSON_INTEGER:
		if (!in_extension && is_duration(parent, key))
			go_duration(json_integer_value(j), buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return scalar(e, buf, true);
	case JSON_REAL:
		/* the shortest of the two that reads back as the same double */
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(j));
		if (strtod(buf, NULL) != json_real_value(j))
			snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
		if (!strpbrk(buf, ".eEn"))
			strcat(buf, ".0");
		return scalar(e, buf, true);
	case JSON_TRUE:
		return scalar(e, "true", true);
	case JSON_FALSE:
		return scalar(e, "false", true);
	default:
		return scalar(e, "null", true);
	}
}

int compose_write_yaml(const json_t *project, FILE *out, struct berth_error *err)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	if (!yaml_emitter_initialize(&e))
		return berth_err(err, 500, "cannot initialise the YAML emitter");
	yaml_emitter_set_output_file(&e, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	yaml_emitter_set_width(&e, -1);
	int rc = -1;
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&e, &ev))
		goto done;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&e, &ev) || emit(&e, project, NULL, NULL, false) < 0)
		goto done;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&e, &ev))
		goto done;
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&e, &ev) || !yaml_emitter_flush(&e))
		goto done;
	rc = 0;
done:
	if (rc < 0)
		berth_err(err, 500, "write YAML: %s", e.problem ? e.problem : "emitter error");
	yaml_emitter_delete(&e);
	return rc;
}
