/* Unit tests for which archives the CLI sends to the agent by path (cli_archive_path): regular
 * files, relative or absolute, and stdin redirected from one; not pipes, FIFOs or dirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_cli_archive.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char p[128];
	snprintf(p, sizeof(p), "%s/a.tar", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("not really a tar", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_files(void **state)
{
	char want[128], p[128];
	snprintf(want, sizeof(want), "%s/a.tar", dir);
	char *got = cli_archive_path(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	/* relative, with a detour: made absolute and canonical */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	snprintf(p, sizeof(p), "../%s/./a.tar", strrchr(dir, '/') + 1);
	got = cli_archive_path(p);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(chdir(cwd), 0);
	/* not regular files, or missing: sent as a body (which reports the error) */
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_null(cli_archive_path(p));
	assert_null(cli_archive_path(dir));
	snprintf(p, sizeof(p), "%s/missing.tar", dir);
	assert_null(cli_archive_path(p));
	assert_null(cli_archive_path("/dev/null"));
}

static void test_stdin(void **state)
{
	int saved = dup(STDIN_FILENO);
	char want[128];
	snprintf(want, sizeof(want), "%s/a.tar", dir);
	int fd = open(want, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	char *got = cli_archive_path("-");
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	/* read part-way: the rest only can go, as a body */
	char c;
	assert_int_equal(read(STDIN_FILENO, &c, 1), 1);
	assert_null(cli_archive_path("-"));
	/* a pipe */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	assert_null(cli_archive_path("-"));
	close(p[0]);
	close(p[1]);
	close(fd);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_stdin),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
