/* Unit tests for .dockerignore: parsing (comments, cleaning, `!`), Docker's pattern semantics
 * (**, *, ?, classes, escapes, parent directories), exceptions and the build files kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerignore.h"

static bool excluded_by(const char *file, const char *path)
{
	struct dockerignore di;
	struct berth_error err = {0};
	if (dockerignore_parse(file, strlen(file), &di, &err) < 0) {
		print_error("parse: %s\n", err.msg);
		fail();
	}
	bool r = dockerignore_excluded(&di, path);
	dockerignore_free(&di);
	return r;
}

struct match_case {
	const char *pattern, *path;
	bool excluded;
};

/* One pattern, one path: the cases moby/patternmatcher's own tests pin down. */
static const struct match_case single[] = {
    {"**", "file", true},
    {"**/", "file", true},
    {"**", "dir/file", true},
    {"**/**", "dir/file", true},
    {"dir/**", "dir/file", true},
    {"dir/**", "dir/dir2/file", true},
    {"**/dir", "dir", true},
    {"**/dir", "dir/file", true},
    {"**/dir2/*", "dir/dir2/file", true},
    {"**/dir2/**", "dir/dir2/dir3/file", true},
    {"**file", "file", true},
    {"**file", "dir/file", true},
    {"**file", "dir/dir/file", true},
    {"**/file", "dir/dir/file", true},
    {"**/file*", "dir/dir/file.txt", true},
    {"**/file*txt", "dir/dir/file.txt", true},
    {"**/**/*.txt", "dir/dir/file.txt", true},
    {"**/**/*.txt2", "dir/dir/file.txt", false},
    {"**/*.txt", "file.txt", true},
    {"a**/*.txt", "a/file.txt", true},
    {"a**/*.txt", "a/dir/dir/file.txt", true},
    {"a/*.txt", "a/dir/file.txt", false},
    {"a/*.txt", "a/file.txt", true},
    {"a/*.txt**", "a/file.txt", true},
    {"a[b-d]e", "ae", false},
    {"a[b-d]e", "ace", true},
    {"a[b-d]e", "aae", false},
    {"a[^b-d]e", "aze", true},
    {".*", ".foo", true},
    {".*", "foo", false},
    {"abc.def", "abcdef", false},
    {"abc.def", "abc.def", true},
    {"abc?def", "abcZdef", true},
    {"abc?def", "abcdef", false},
    {"abc?def", "abc/def", false},
    {"a\\\\", "a\\", true},
    {"a\\*b", "a*b", true},
    {"a\\*b", "axb", false},
    {"**/foo/bar", "foo/bar", true},
    {"**/foo/bar", "dir/dir2/foo/bar", true},
    {"abc/**", "abc", false},
    {"abc/**", "abc/def/ghi", true},
    {"**/.foo", ".foo", true},
    {"**/.foo", "bar.foo", false},
    {"a(b)c/def", "a(b)c/def", true},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
    /* parent directories: a pattern naming a directory excludes what is inside */
    {"node_modules", "node_modules/a/b.js", true},
    {"*/temp*", "somedir/temporary.txt", true},
    {"*/temp*", "somedir/temp/x", true},
    {"*/*/temp*", "somedir/subdir/temporary.txt", true},
    {"temp?", "tempa", true},
    {"temp?", "temp", false},
    {"*.md", "docs/README.md", false},
    {"**/*.md", "docs/README.md", true},
    /* cleaning: leading slash, ./, trailing slash, .. */
    {"/secret", "secret", true},
    {"./build/", "build/out.o", true},
    {"a/../b", "b", true},
    {"  spaced  ", "spaced", true},
};

static void test_single_patterns(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		bool got = excluded_by(single[i].pattern, single[i].path);
		if (got != single[i].excluded) {
			print_error("pattern [%s] path [%s]: got %d want %d\n", single[i].pattern,
				    single[i].path, got, single[i].excluded);
			fail();
		}
	}
}

/* A realistic file: comments, blank lines, exceptions, last match wins. */
static void test_file(void **state)
{
	(void)state;
	const char *f = "# dependencies\n"
			"node_modules\n"
			"\n"
			"   # not a comment: leading space makes it a pattern\n"
			"*.log\n"
			"!important.log\n"
			"docs/**\n"
			"!docs/keep/**\n"
			"docs/keep/secret.md\n"
			"**/.git\n"
			".env*\n"
			"!.env.example\n";
	struct dockerignore di;
	struct berth_error err = {0};
	assert_int_equal(dockerignore_parse(f, strlen(f), &di, &err), 0);
	assert_int_equal(di.npatterns, 10);
	assert_true(di.exclusions);
	assert_true(dockerignore_excluded(&di, "node_modules"));
	assert_true(dockerignore_excluded(&di, "node_modules/left-pad/index.js"));
	assert_true(dockerignore_excluded(&di, "debug.log"));
	assert_false(dockerignore_excluded(&di, "important.log"));
	assert_false(dockerignore_excluded(&di, "src/debug.log")); /* *.log is top level only */
	assert_true(dockerignore_excluded(&di, "docs/index.md"));
	assert_false(dockerignore_excluded(&di, "docs/keep/a.md"));
	assert_true(dockerignore_excluded(&di, "docs/keep/secret.md"));
	assert_true(dockerignore_excluded(&di, "vendor/x/.git/config"));
	assert_true(dockerignore_excluded(&di, ".env.local"));
	assert_false(dockerignore_excluded(&di, ".env.example"));
	assert_false(dockerignore_excluded(&di, "Dockerfile"));
	assert_false(dockerignore_excluded(&di, "#"));
	/* docs is excluded but an exception lives below it: the walk must descend */
	assert_true(dockerignore_dir_may_include(&di, "docs"));
	assert_true(dockerignore_dir_may_include(&di, "docs/keep"));
	assert_false(dockerignore_dir_may_include(&di, "node_modules"));
	dockerignore_free(&di);
}

static void test_exceptions(void **state)
{
	(void)state;
	assert_false(excluded_by("**\n!util/docker/web\n", "util/docker/web/foo"));
	assert_true(
	    excluded_by("**\n!util/docker/web\nutil/docker/web/foo\n", "util/docker/web/foo"));
	assert_false(excluded_by("**\n!dist/*.whl\n", "dist/a-1.0-py3-none-any.whl"));
	assert_true(excluded_by("!a\na\n", "a"));
	assert_false(excluded_by("a\n!a\n", "a"));
	/* an exception for a file inside an excluded directory */
	assert_false(excluded_by("build\n!build/keep.txt\n", "build/keep.txt"));
	assert_true(excluded_by("build\n!build/keep.txt\n", "build/other.txt"));
}

static void test_build_files_kept(void **state)
{
	(void)state;
	const char *f = "*\n";
	struct dockerignore di;
	struct berth_error err = {0};
	assert_int_equal(dockerignore_parse(f, strlen(f), &di, &err), 0);
	assert_true(dockerignore_excluded(&di, "Dockerfile"));
	assert_int_equal(dockerignore_keep_build_files(&di, "./build/Dockerfile.prod"), 0);
	assert_false(dockerignore_excluded(&di, ".dockerignore"));
	assert_false(dockerignore_excluded(&di, "build/Dockerfile.prod"));
	assert_true(dockerignore_excluded(&di, "Dockerfile"));
	assert_true(dockerignore_excluded(&di, "main.go"));
	dockerignore_free(&di);

	/* nothing added when they are not excluded */
	assert_int_equal(dockerignore_parse("x\n", 2, &di, &err), 0);
	assert_int_equal(dockerignore_keep_build_files(&di, "Dockerfile"), 0);
	assert_int_equal(di.npatterns, 1);
	dockerignore_free(&di);
}

static void test_errors(void **state)
{
	(void)state;
	struct dockerignore di;
	struct berth_error err = {0};
	assert_int_equal(dockerignore_parse("a\n!\n", 4, &di, &err), -1);
	assert_string_equal(err.msg, "illegal exclusion pattern: \"!\"");
	assert_int_equal(dockerignore_parse("[\n", 2, &di, &err), -1);
	assert_string_equal(err.msg, "syntax error in pattern");
	assert_int_equal(dockerignore_parse("a\\", 2, &di, &err), -1);
	assert_int_equal(dockerignore_parse("\xef\xbb\xbf# c\n\n\r\n", 8, &di, &err), 0);
	assert_int_equal(di.npatterns, 0);
	dockerignore_free(&di);
}

/* Long paths against many stars stay linear: no backtracking blow-up. */
static void test_linear_time(void **state)
{
	(void)state;
	char pat[512], path[8192];
	size_t n = 0;
	for (int i = 0; i < 100; i++) {
		pat[n++] = '*';
		pat[n++] = 'a';
	}
	pat[n++] = 'b';
	pat[n] = '\0';
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_false(dockerignore_match(pat, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_patterns), cmocka_unit_test(test_file),
	    cmocka_unit_test(test_exceptions),	    cmocka_unit_test(test_build_files_kept),
	    cmocka_unit_test(test_errors),	    cmocka_unit_test(test_linear_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
