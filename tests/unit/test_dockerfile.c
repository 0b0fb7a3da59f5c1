/* Unit tests for the Dockerfile parser: real Dockerfiles against golden dumps, Docker's error
 * texts and line numbers, heredocs, directives, flags, and the stage graph. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

struct out {
	char buf[8192];
	size_t n;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		o->n += (size_t)w;
	assert_true(o->n < sizeof(o->buf));
}

/* One line per instruction: "3-4 KIND[ json] [arg|arg] {k=v} <flags> <<heredocs" */
static void dump(const struct dockerfile *df, struct out *o)
{
	for (size_t i = 0; i < df->ninstrs; i++) {
		const struct dockerfile_instr *in = &df->instrs[i];
		outf(o, "%d-%d %s%s [", in->line, in->end_line, dockerfile_kind_name(in->kind),
		     in->json ? " json" : "");
		for (size_t a = 0; a < in->nargs; a++)
			outf(o, "%s%s", a ? "|" : "", in->args[a]);
		outf(o, "]");
		for (size_t k = 0; k < in->nkvs; k++)
			outf(o, " {%s=%s}", in->kvs[k].key,
			     in->kvs[k].value ? in->kvs[k].value : "(nil)");
		if (in->stage_name)
			outf(o, " as=%s", in->stage_name);
		if (in->platform)
			outf(o, " platform=%s", in->platform);
		if (in->copy_from)
			outf(o, " from=%s", in->copy_from);
		if (in->chown)
			outf(o, " chown=%s", in->chown);
		if (in->chmod)
			outf(o, " chmod=%s", in->chmod);
		for (size_t m = 0; m < in->nmounts; m++) {
			const struct dockerfile_mount *mt = &in->mounts[m];
			outf(o, " mount=%d:%s:%s:%s:%s:%s:%d:%o:%d:%d", mt->type, mt->target,
			     mt->source ? mt->source : "-", mt->from ? mt->from : "-",
			     mt->id ? mt->id : "-", mt->readonly ? "ro" : "rw", mt->sharing,
			     mt->mode < 0 ? 0 : mt->mode, mt->uid, mt->gid);
		}
		if (in->network)
			outf(o, " network=%d", in->network);
		if (in->kind == DF_HEALTHCHECK)
			outf(o, " hc=%s/%lld/%lld/%lld/%lld/%d", in->health_none ? "none" : "cmd",
			     (long long)in->interval_ns / 1000000,
			     (long long)in->timeout_ns / 1000000,
			     (long long)in->start_period_ns / 1000000,
			     (long long)in->start_interval_ns / 1000000, in->retries);
		if (in->onbuild)
			outf(o, " onbuild=%s", in->onbuild);
		for (size_t h = 0; h < in->nheredocs; h++) {
			const struct dockerfile_heredoc *hd = &in->heredocs[h];
			outf(o, " <<%s%s%s fd%d=", hd->chomp ? "-" : "", hd->name,
			     hd->expand ? "" : "(raw)", hd->fd);
			for (const char *c = hd->content; *c; c++)
				outf(o, *c == '\n' ? "\\n" : *c == '\t' ? "\\t" : "%c", *c);
		}
		outf(o, "\n");
	}
}

struct golden {
	const char *name;
	const char *text;
	const char *want; /* a dump, or "error: <message>" */
};

static const struct golden goldens[] = {
    {"tutorial corrected",
     "FROM busybox\n\nCOPY helloworld /usr/local/bin\nRUN chmod +x "
     "/usr/local/bin/helloworld\n\nCMD [\"helloworld\"]\n",
     "1-1 FROM [busybox]\n"
     "3-3 COPY [helloworld|/usr/local/bin]\n"
     "4-4 RUN [chmod +x /usr/local/bin/helloworld]\n"
     "6-6 CMD json [helloworld]\n"},
    {"tutorial as printed (typos): Docker's classic message, upper-cased word, line 6",
     "FROM busybox\n\nCOPY helloworld /usr/loca/bin\nRUN chmod +x "
     "/usr/local/bin/helloworld\n\nCMD[\"helloworld\"]\n",
     "error: dockerfile parse error line 6: unknown instruction: CMD[\"HELLOWORLD\"]"},
    {"go multi-stage",
     "# syntax=docker/dockerfile:1.6\n"
     "ARG GO_VERSION=1.22\n"
     "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS Build\n"
     "WORKDIR /src\n"
     "COPY go.mod go.sum ./\n"
     "RUN --mount=type=cache,target=/go/pkg/mod \\\n"
     "    --mount=type=bind,source=go.sum,target=go.sum \\\n"
     "    go mod download\n"
     "COPY . .\n"
     "RUN --mount=type=cache,id=gobuild,target=/root/.cache/go-build,sharing=locked "
     "CGO_ENABLED=0 go build -o /out/app ./cmd/app\n"
     "\n"
     "FROM gcr.io/distroless/static:nonroot\n"
     "COPY --from=build --chown=nonroot:nonroot --chmod=0755 /out/app /app\n"
     "USER nonroot:nonroot\n"
     "EXPOSE 8080/tcp 9090\n"
     "ENTRYPOINT [\"/app\"]\n",
     "2-2 ARG [] {GO_VERSION=1.22}\n"
     "3-3 FROM [golang:${GO_VERSION}-alpine] as=build platform=$BUILDPLATFORM\n"
     "4-4 WORKDIR [/src]\n"
     "5-5 COPY [go.mod|go.sum|./]\n"
     "6-8 RUN [go mod download] mount=1:/go/pkg/mod:-:-:-:rw:0:0:-1:-1 "
     "mount=0:go.sum:go.sum:-:-:ro:0:0:-1:-1\n"
     "9-9 COPY [.|.]\n"
     "10-10 RUN [CGO_ENABLED=0 go build -o /out/app ./cmd/app] "
     "mount=1:/root/.cache/go-build:-:-:gobuild:rw:2:0:-1:-1\n"
     "12-12 FROM [gcr.io/distroless/static:nonroot]\n"
     "13-13 COPY [/out/app|/app] from=build chown=nonroot:nonroot chmod=0755\n"
     "14-14 USER [nonroot:nonroot]\n"
     "15-15 EXPOSE [8080/tcp|9090]\n"
     "16-16 ENTRYPOINT json [/app]\n"},
    {"node with comments inside continuations and env forms",
     "FROM node:20-slim AS deps\n"
     "ENV NODE_ENV=production \\\n"
     "    # a comment inside the continuation is skipped\n"
     "    NPM_CONFIG_LOGLEVEL=warn\n"
     "ENV PATH /app/node_modules/.bin:$PATH\n"
     "LABEL org.opencontainers.image.title=\"my app\" version=1.0 \"with space\"=yes\n"
     "WORKDIR /app\n"
     "COPY [\"package.json\", \"package-lock.json*\", \"./\"]\n"
     "RUN npm ci --omit=dev \\\n"
     "\n"
     "  && npm cache clean --force\n"
     "VOLUME [\"/data\", \"/logs\"]\n"
     "VOLUME /cache /tmp/x\n"
     "STOPSIGNAL SIGTERM\n"
     "CMD node server.js\n",
     "1-1 FROM [node:20-slim] as=deps\n"
     "2-4 ENV [] {NODE_ENV=production} {NPM_CONFIG_LOGLEVEL=warn}\n"
     "5-5 ENV [] {PATH=/app/node_modules/.bin:$PATH}\n"
     "6-6 LABEL [] {org.opencontainers.image.title=\"my app\"} {version=1.0} {\"with "
     "space\"=yes}\n"
     "7-7 WORKDIR [/app]\n"
     "8-8 COPY json [package.json|package-lock.json*|./]\n"
     "9-11 RUN [npm ci --omit=dev   && npm cache clean --force]\n"
     "12-12 VOLUME json [/data|/logs]\n"
     "13-13 VOLUME [/cache|/tmp/x]\n"
     "14-14 STOPSIGNAL [SIGTERM]\n"
     "15-15 CMD [node server.js]\n"},
    {"python with heredocs",
     "FROM python:3.12-slim\n"
     "RUN <<EOF\n"
     "set -e\n"
     "pip install --no-cache-dir flask\n"
     "EOF\n"
     "RUN <<-'SCRIPT' bash\n"
     "\techo $HOME\n"
     "\t\tindented\n"
     "\tSCRIPT\n"
     "COPY <<EOF /app/config.ini\n"
     "[main]\n"
     "port = ${PORT:-8000}\n"
     "EOF\n"
     "RUN <<A cat && 3<<\"B\" cat /dev/fd/3\n"
     "first\n"
     "A\n"
     "second\n"
     "B\n"
     "HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --start-interval=1s "
     "--retries=3 CMD curl -f http://localhost/ || exit 1\n"
     "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
     "ONBUILD RUN pip install -r requirements.txt\n"
     "MAINTAINER Jane <jane@example.com>\n",
     "1-1 FROM [python:3.12-slim]\n"
     "2-5 RUN [<<EOF] <<EOF fd0=set -e\\npip install --no-cache-dir flask\\n\n"
     "6-9 RUN [<<-'SCRIPT' bash] <<-SCRIPT(raw) fd0=echo $HOME\\nindented\\n\n"
     "10-13 COPY [<<EOF|/app/config.ini] <<EOF fd0=[main]\\nport = ${PORT:-8000}\\n\n"
     "14-18 RUN [<<A cat && 3<<\"B\" cat /dev/fd/3] <<A fd0=first\\n <<B(raw) "
     "fd3=second\\n\n"
     "19-19 HEALTHCHECK [curl -f http://localhost/ || exit 1] hc=cmd/30000/3000/5000/1000/3\n"
     "20-20 SHELL json [/bin/bash|-o|pipefail|-c]\n"
     "21-21 ONBUILD [] onbuild=RUN pip install -r requirements.txt\n"
     "22-22 MAINTAINER [Jane <jane@example.com>]\n"},
    {"escape directive: backtick continues lines, backslash is literal",
     "# escape=`\n"
     "FROM mcr.microsoft.com/windows/servercore\n"
     "COPY testfile.txt c:\\\n"
     "RUN dir c:\\ `\n"
     "    && echo done\n",
     "2-2 FROM [mcr.microsoft.com/windows/servercore]\n"
     "3-3 COPY [testfile.txt|c:\\]\n"
     "4-5 RUN [dir c:\\     && echo done]\n"},
    {"directive after a comment is only a comment",
     "# hello\n# escape=`\nFROM a\nRUN echo \\\n  x\n", "3-3 FROM [a]\n4-5 RUN [echo   x]\n"},
    {"bad JSON in exec form falls back to the shell form",
     "FROM a\nCMD [\"echo\", 'hi']\nENTRYPOINT [\"a\",]\n",
     "1-1 FROM [a]\n2-2 CMD [[\"echo\", 'hi']]\n3-3 ENTRYPOINT [[\"a\",]]\n"},
    {"ARG forms, HEALTHCHECK NONE, BOM, CRLF, case-insensitive words",
     "\xef\xbb\xbf"
     "arg A\r\nARG B=2 C=\"x y\"\r\nfrom a:${A:-latest} as One\r\nhealthcheck NONE\r\n"
     "run --network=none echo hi\r\n",
     "1-1 ARG [] {A=(nil)}\n"
     "2-2 ARG [] {B=2} {C=\"x y\"}\n"
     "3-3 FROM [a:${A:-latest}] as=one\n"
     "4-4 HEALTHCHECK [] hc=none/0/0/0/0/0\n"
     "5-5 RUN [echo hi] network=1\n"},
    {"exec form with a flag terminator", "FROM a\nRUN -- --not-a-flag\n",
     "1-1 FROM [a]\n2-2 RUN [--not-a-flag]\n"},
    {"heredocs: not in JSON form, yes as an ONBUILD trigger",
     "FROM a\nRUN [\"cat\", \"<<EOF\"]\nONBUILD RUN <<EOF\nx\nEOF\nCMD <<EOF\n",
     "1-1 FROM [a]\n2-2 RUN json [cat|<<EOF]\n3-5 ONBUILD [] onbuild=RUN <<EOF <<EOF fd0=x\\n\n"
     "6-6 CMD [<<EOF]\n"},
    /* Docker's messages, with the line where Docker puts one */
    {"FROM arity", "FROM a b\n",
     "error: dockerfile parse error line 1: FROM requires either one or three arguments"},
    {"stage name", "FROM a AS 1st\n",
     "error: dockerfile parse error line 1: invalid name for build stage: \"1st\", name "
     "can't start with a number or contain symbols"},
    {"only comments", "# nothing\n\n   \n# here\n", "error: file with no instructions"},
    {"empty", "", "error: file with no instructions"},
    {"missing FROM", "RUN echo hi\n", "error: no build stage in current context"},
    {"missing FROM after ARG", "ARG X\nCOPY . /\n", "error: no build stage in current context"},
    {"only ARG", "ARG X=1\n", "error: no build stage in current context"},
    {"unknown flag", "FROM a\nCOPY --foo=bar x y\n",
     "error: dockerfile parse error line 2: Unknown flag: foo"},
    {"ADD has no --from", "FROM a\nADD --from=b x y\n",
     "error: dockerfile parse error line 2: Unknown flag: from"},
    {"--link refused", "FROM a\nCOPY --link x y\n",
     "error: dockerfile parse error line 2: COPY --link is not supported by berth"},
    {"missing flag value", "FROM a\nCOPY --chown x y\n",
     "error: dockerfile parse error line 2: Missing a value on flag: chown"},
    {"duplicate flag", "FROM a\nCOPY --from=a --from=b x y\n",
     "error: dockerfile parse error line 2: Duplicate flag specified: from"},
    {"flags on an instruction that has none", "FROM a\nWORKDIR --x=1 /a\n",
     "error: dockerfile parse error line 2: Unknown flag: x"},
    {"COPY destination", "FROM a\n\nCOPY onlyone\n",
     "error: dockerfile parse error line 3: COPY requires at least two arguments, but only "
     "one was provided. Destination could not be determined."},
    {"JSON of non-strings", "FROM a\nCMD [1, 2]\n",
     "error: dockerfile parse error line 2: when using JSON array syntax, arrays must be "
     "comprised of strings only"},
    {"ENV without value", "FROM a\nENV FOO\n",
     "error: dockerfile parse error line 2: ENV must have two arguments"},
    {"ENV mixed", "FROM a\nENV A=1 B\n",
     "error: dockerfile parse error line 2: Syntax error - can't find = in \"B\". Must be "
     "of the form: name=value"},
    {"LABEL blank name", "FROM a\nLABEL =x\n",
     "error: dockerfile parse error line 2: LABEL names can not be blank"},
    {"WORKDIR empty", "FROM a\nWORKDIR\n",
     "error: dockerfile parse error line 2: WORKDIR requires exactly one argument"},
    {"SHELL not JSON", "FROM a\nSHELL /bin/bash -c\n",
     "error: dockerfile parse error line 2: SHELL requires the arguments to be in JSON form"},
    {"ONBUILD chained", "FROM a\nONBUILD ONBUILD RUN x\n",
     "error: dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't "
     "allowed"},
    {"ONBUILD FROM", "FROM a\nONBUILD from b\n",
     "error: dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger"},
    {"HEALTHCHECK type", "FROM a\nHEALTHCHECK CMDX true\n",
     "error: dockerfile parse error line 2: Unknown type \"CMDX\" in HEALTHCHECK (try CMD)"},
    {"HEALTHCHECK empty CMD", "FROM a\nHEALTHCHECK CMD\n",
     "error: dockerfile parse error line 2: Missing command after HEALTHCHECK CMD"},
    {"HEALTHCHECK interval", "FROM a\nHEALTHCHECK --interval=10us CMD true\n",
     "error: dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms"},
    {"HEALTHCHECK retries", "FROM a\nHEALTHCHECK --retries=0 CMD true\n",
     "error: dockerfile parse error line 2: --retries must be at least 1 (not 0)"},
    {"HEALTHCHECK duration", "FROM a\nHEALTHCHECK --timeout=5 CMD true\n",
     "error: dockerfile parse error line 2: time: invalid duration \"5\""},
    {"HEALTHCHECK NONE args", "FROM a\nHEALTHCHECK NONE x\n",
     "error: dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments"},
    {"mount type", "FROM a\nRUN --mount=type=nfs,target=/x true\n",
     "error: dockerfile parse error line 2: unsupported mount type \"nfs\""},
    {"mount secret", "FROM a\nRUN --mount=type=secret,id=x true\n",
     "error: dockerfile parse error line 2: mount type secret is not supported by berth"},
    {"mount key", "FROM a\nRUN --mount=type=cache,target=/x,colour=red true\n",
     "error: dockerfile parse error line 2: unexpected key 'colour' in 'colour=red'"},
    {"mount field", "FROM a\nRUN --mount=type=cache,target=/x,shared true\n",
     "error: dockerfile parse error line 2: invalid field 'shared' must be a key=value pair"},
    {"mount target", "FROM a\nRUN --mount=type=cache true\n",
     "error: dockerfile parse error line 2: mount type=cache requires a target"},
    {"mount mode on bind", "FROM a\nRUN --mount=type=bind,target=/x,mode=0700 true\n",
     "error: dockerfile parse error line 2: mode not allowed for \"bind\" type mounts"},
    {"network", "FROM a\nRUN --network=bridge true\n",
     "error: dockerfile parse error line 2: invalid network mode \"bridge\""},
    {"unterminated heredoc", "FROM a\nRUN <<EOF\necho\n", "error: unterminated heredoc"},
    {"escape directive value", "# escape=x\nFROM a\n",
     "error: invalid escape token 'x' does not match ` or \\"},
    {"directive twice", "# escape=`\n# escape=\\\nFROM a\n",
     "error: only one escape parser directive can be used"},
    {"duplicate stage", "FROM a AS x\nFROM b AS X\n", "error: duplicate stage name \"x\""},
    {"unknown instruction after valid ones, line counted through continuations",
     "FROM a\nRUN a \\\n  b\n# c\nFORM b\n",
     "error: dockerfile parse error line 5: unknown instruction: FORM"},
    {"RUN with nothing to run", "FROM a\nRUN []\n",
     "error: dockerfile parse error line 2: RUN requires at least one argument"},
    {"ENTRYPOINT [] clears", "FROM a\nENTRYPOINT []\nCMD []\nENTRYPOINT\n",
     "1-1 FROM [a]\n2-2 ENTRYPOINT json []\n3-3 CMD json []\n4-4 ENTRYPOINT []\n"},
    {"JSON with a NUL", "FROM a\nCMD [\"a\\u0000b\"]\n",
     "error: dockerfile parse error line 2: when using JSON array syntax, strings must not "
     "hold \\u0000"},
    {"JSON escapes", "FROM a\nCMD [\"\\\" \\\\ \\/ \\t \\u2665\"]\n",
     "1-1 FROM [a]\n2-2 CMD json [\" \\ / \t \xe2\x99\xa5]\n"},
    {"HEALTHCHECK NONE with flags", "FROM a\nHEALTHCHECK --retries=3 NONE\n",
     "error: dockerfile parse error line 2: HEALTHCHECK NONE takes no flags (--retries)"},
    {"mount rw= without a value", "FROM a\nRUN --mount=type=bind,target=/x,rw= true\n",
     "error: dockerfile parse error line 2: invalid value for rw: "},
    {"mount rw and ro values",
     "FROM a\nRUN --mount=target=/x,rw=true --mount=target=/y,ro=false true\n",
     "1-1 FROM [a]\n2-2 RUN [true] mount=0:/x:-:-:-:rw:0:0:-1:-1 mount=0:/y:-:-:-:rw:0:0:-1:-1\n"},
    {"VOLUME empty string", "FROM a\nVOLUME [\"\"]\n",
     "error: dockerfile parse error line 2: VOLUME specified can not be an empty string"},
};

static void test_goldens(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];
		struct dockerfile *df = NULL;
		struct berth_error err = {0};
		struct out o = {0};
		if (dockerfile_parse(g->text, strlen(g->text), &df, &err) < 0)
			outf(&o, "error: %s", err.msg);
		else
			dump(df, &o);
		if (strcmp(o.buf, g->want) != 0) {
			print_error("case '%s'\n got:\n%s\nwant:\n%s\n", g->name, o.buf, g->want);
			fail();
		}
		dockerfile_free(df);
	}
}

/* Step N/M output prints the instruction as written; continuation lines are joined. */
static void test_original_text(void **state)
{
	(void)state;
	const char *t = "  FROM busybox  \t\nRUN echo a \\\n    && echo b\n";
	struct dockerfile *df = NULL;
	struct berth_error err = {0};
	assert_int_equal(dockerfile_parse(t, strlen(t), &df, &err), 0);
	assert_string_equal(df->instrs[0].original, "FROM busybox");
	assert_string_equal(df->instrs[1].original, "RUN echo a     && echo b");
	assert_int_equal(df->nstages, 1);
	assert_int_equal(df->stages[0].ninstrs, 2);
	dockerfile_free(df);
}

static struct dockerfile *parse_ok(const char *t)
{
	struct dockerfile *df = NULL;
	struct berth_error err = {0};
	if (dockerfile_parse(t, strlen(t), &df, &err) < 0)
		print_error("%s\n", err.msg);
	assert_non_null(df);
	return df;
}

static void test_stages(void **state)
{
	(void)state;
	const char *t =
	    "ARG BASE=alpine\n"
	    "FROM $BASE AS base\nRUN true\n"
	    "FROM base AS build\nRUN make\n"
	    "FROM golang AS tools\nRUN go install x\n"
	    "FROM alpine AS docs\nRUN --mount=type=bind,from=tools,target=/t cp /t/x /\n"
	    "FROM scratch AS final\nCOPY --from=build /out /out\nCOPY --from=0 /etc/x /x\n"
	    "COPY --from=nginx:latest /etc/nginx /n\n";
	struct dockerfile *df = parse_ok(t);
	assert_int_equal(df->nmeta_args, 1);
	assert_int_equal(df->nstages, 5);
	bool need[5];
	struct berth_error err = {0};
	assert_int_equal(dockerfile_stages_needed(df, NULL, NULL, need, &err), 4);
	assert_true(need[0] && need[1] && !need[2] && !need[3] && need[4]);
	assert_int_equal(dockerfile_stages_needed(df, "docs", NULL, need, &err), 3);
	assert_true(!need[0] && !need[1] && need[2] && need[3] && !need[4]);
	assert_int_equal(dockerfile_stages_needed(df, "BUILD", NULL, need, &err), 1);
	assert_true(need[0] && need[1] && !need[2]);
	assert_int_equal(dockerfile_stages_needed(df, "nope", NULL, need, &err), -1);
	assert_string_equal(err.msg, "failed to reach build target nope in Dockerfile");
	assert_int_equal(dockerfile_stage_find(df, "tools"), 2);
	dockerfile_free(df);
}

/* A stage cannot pull in itself or a later stage (FROM x AS x names an image). */
static void test_stage_self_reference(void **state)
{
	(void)state;
	struct dockerfile *df = parse_ok("FROM alpine AS alpine\nFROM x\nCOPY --from=1 a b\n");
	bool need[2];
	struct berth_error err = {0};
	assert_int_equal(dockerfile_stages_needed(df, NULL, NULL, need, &err), 1);
	assert_false(need[0]);
	assert_int_equal(dockerfile_stages_needed(df, "alpine", NULL, need, &err), 0);
	assert_true(need[0] && !need[1]);
	dockerfile_free(df);
}

/* FROM ${ARG} naming a stage counts once the meta ARGs expand it. */
static void test_stage_via_arg(void **state)
{
	(void)state;
	struct dockerfile *df =
	    parse_ok("ARG FLAVOUR=slim\nFROM alpine AS slim\nFROM debian AS full\n"
		     "FROM ${FLAVOUR}\nRUN true\n");
	struct dockerfile_env meta = {0};
	struct berth_error err = {0};
	bool need[3];
	assert_int_equal(dockerfile_meta_args(df, NULL, NULL, &meta, &err), 0);
	assert_int_equal(dockerfile_stages_needed(df, NULL, &meta, need, &err), 2);
	assert_true(need[0] && !need[1] && need[2]);
	dockerfile_env_free(&meta);
	dockerfile_env_set(&meta, "FLAVOUR", "full", false);
	assert_int_equal(dockerfile_stages_needed(df, NULL, &meta, need, &err), 2);
	assert_true(!need[0] && need[1] && need[2]);
	dockerfile_env_free(&meta);
	dockerfile_free(df);
}

static void test_from_indexes(void **state)
{
	(void)state;
	struct berth_error err = {0};
	struct dockerfile *df = parse_ok("FROM a\nFROM b\nCOPY --from=0 x y\nCOPY --from=b2 x y\n");
	assert_int_equal(dockerfile_check_from_indexes(df, &err), 0);
	dockerfile_free(df);
	df = parse_ok("FROM a\nFROM b\nCOPY --from=1 x y\n");
	assert_int_equal(dockerfile_check_from_indexes(df, &err), -1);
	assert_string_equal(err.msg, "invalid from flag value 1: refers to current build stage");
	dockerfile_free(df);
	df = parse_ok("FROM a\nRUN --mount=from=7,target=/m true\n");
	assert_int_equal(dockerfile_check_from_indexes(df, &err), -1);
	assert_string_equal(err.msg, "invalid from flag value 7: index out of bounds");
	dockerfile_free(df);
	df = parse_ok("FROM a\nCOPY --from=-1 x y\n");
	assert_int_equal(dockerfile_check_from_indexes(df, &err), -1);
	assert_string_equal(err.msg, "invalid from flag value -1: index out of bounds");
	dockerfile_free(df);
}

static void test_limits(void **state)
{
	(void)state;
	struct berth_error err = {0};
	struct dockerfile *df = NULL;
	size_t n = 70000;
	char *big = malloc(n + 16);
	memcpy(big, "FROM a\nRUN ", 11);
	memset(big + 11, 'x', n);
	big[n + 11] = '\0';
	assert_int_equal(dockerfile_parse(big, strlen(big), &df, &err), -1);
	assert_string_equal(err.msg, "dockerfile line greater than max allowed size of 65535");
	free(big);
	/* many instructions: bounded */
	size_t cnt = DOCKERFILE_MAX_INSTRUCTIONS + 1;
	char *many = malloc(cnt * 7 + 8);
	char *p = many;
	p += sprintf(p, "FROM a\n");
	for (size_t i = 1; i < cnt - 1; i++)
		p += sprintf(p, "RUN x\n");
	assert_int_equal(dockerfile_parse(many, strlen(many), &df, &err), 0);
	assert_int_equal(df->ninstrs, DOCKERFILE_MAX_INSTRUCTIONS);
	dockerfile_free(df);
	p += sprintf(p, "RUN x\n");
	assert_int_equal(dockerfile_parse(many, strlen(many), &df, &err), -1);
	assert_string_equal(err.msg, "Dockerfile has more than 4096 instructions");
	free(many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_goldens),	  cmocka_unit_test(test_original_text),
	    cmocka_unit_test(test_stages),	  cmocka_unit_test(test_stage_self_reference),
	    cmocka_unit_test(test_stage_via_arg), cmocka_unit_test(test_from_indexes),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
