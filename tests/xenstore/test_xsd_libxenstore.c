/* SPDX-License-Identifier: MIT */
/*
 * Debian's libxenstore.so.4 against a pvio daemon binary:
 *   test_xsd_libxenstore DAEMON [ARGS...]
 * starts "DAEMON ARGS... --run-dir DIR --foreground" in a private run dir.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <xenstore.h>

static char **daemon_argv;
static char run_dir[] = "/tmp/pvio-xs-lib.XXXXXX";
static char sock_path[256];
static pid_t daemon_pid = -1;

static int start_daemon(void **state)
{
	char **argv;
	int argc, i;
	struct stat st;

	(void)state;
	if (!mkdtemp(run_dir))
		return -1;
	for (argc = 0; daemon_argv[argc]; argc++)
		;
	argv = calloc((size_t)argc + 5, sizeof(*argv));
	if (!argv)
		return -1;
	for (i = 0; i < argc; i++)
		argv[i] = daemon_argv[i];
	argv[argc++] = "--run-dir";
	argv[argc++] = run_dir;
	argv[argc++] = "--foreground";
	daemon_pid = fork();
	if (daemon_pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	free(argv);
	snprintf(sock_path, sizeof(sock_path), "%s/xenstored/socket", run_dir);
	for (i = 0; i < 200 && stat(sock_path, &st); i++)
		usleep(10000);
	setenv("XENSTORED_PATH", sock_path, 1);
	return i < 200 ? 0 : -1;
}

static int stop_daemon(void **state)
{
	char path[300];
	int status;

	(void)state;
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, &status, 0);
	}
	snprintf(path, sizeof(path), "%s/xenstored", run_dir);
	unlink(sock_path);
	rmdir(path);
	rmdir(run_dir);
	return 0;
}

static struct xs_handle *open_xs(void)
{
	struct xs_handle *h = xs_open(0);

	assert_non_null(h);
	return h;
}

static char *read_str(struct xs_handle *h, xs_transaction_t t, const char *p)
{
	unsigned int len;

	return xs_read(h, t, p, &len);
}

static void test_transactions(void **state)
{
	struct xs_handle *a = open_xs(), *b = open_xs();
	xs_transaction_t t, t2;
	char *v;

	(void)state;
	/* Isolation, then visible after commit. */
	t = xs_transaction_start(a);
	assert_true(t != XBT_NULL);
	assert_true(xs_write(a, t, "/tx/one", "1", 1));
	errno = 0;
	assert_null(read_str(b, XBT_NULL, "/tx/one"));
	assert_int_equal(errno, ENOENT);
	v = read_str(a, t, "/tx/one");
	assert_string_equal(v, "1");
	free(v);
	assert_true(xs_transaction_end(a, t, false));
	v = read_str(b, XBT_NULL, "/tx/one");
	assert_string_equal(v, "1");
	free(v);
	/* Abort leaves nothing. */
	t = xs_transaction_start(a);
	assert_true(xs_write(a, t, "/tx/two", "2", 1));
	assert_true(xs_transaction_end(a, t, true));
	assert_null(read_str(b, XBT_NULL, "/tx/two"));
	/* Conflict: b changes what a's transaction read. */
	t = xs_transaction_start(a);
	v = read_str(a, t, "/tx/one");
	free(v);
	assert_true(xs_write(b, XBT_NULL, "/tx/one", "b", 1));
	assert_true(xs_write(a, t, "/tx/one", "a", 1));
	errno = 0;
	assert_false(xs_transaction_end(a, t, false));
	assert_int_equal(errno, EAGAIN);
	v = read_str(a, XBT_NULL, "/tx/one");
	assert_string_equal(v, "b");
	free(v);
	/* Two transactions: first commit wins. */
	t = xs_transaction_start(a);
	t2 = xs_transaction_start(b);
	assert_true(xs_write(a, t, "/tx/race", "a", 1));
	assert_true(xs_write(b, t2, "/tx/race", "b", 1));
	assert_true(xs_transaction_end(b, t2, false));
	assert_false(xs_transaction_end(a, t, false));
	assert_int_equal(errno, EAGAIN);
	xs_close(a);
	xs_close(b);
}

/* Next watch event within 2 s, or fail. */
static void expect_event(struct xs_handle *h, const char *path,
			 const char *token)
{
	struct pollfd p = {.fd = xs_fileno(h), .events = POLLIN};
	char **ev;
	unsigned int n;

	for (;;) {
		ev = xs_check_watch(h);
		if (ev)
			break;
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(poll(&p, 1, 2000), 1);
	}
	(void)n;
	assert_string_equal(ev[XS_WATCH_PATH], path);
	assert_string_equal(ev[XS_WATCH_TOKEN], token);
	free(ev);
}

static void test_watches(void **state)
{
	struct xs_handle *w = open_xs(), *a = open_xs();

	(void)state;
	assert_true(xs_mkdir(a, XBT_NULL, "/wt"));
	assert_true(xs_watch(w, "/wt", "tok"));
	expect_event(w, "/wt", "tok"); /* fires once at registration */
	assert_true(xs_write(a, XBT_NULL, "/wt/child", "1", 1));
	expect_event(w, "/wt/child", "tok");
	assert_true(xs_rm(a, XBT_NULL, "/wt/child"));
	expect_event(w, "/wt/child", "tok");
	/* Relative watch paths come back relative. */
	assert_true(xs_watch(w, "rel", "r"));
	expect_event(w, "rel", "r");
	assert_true(xs_write(a, XBT_NULL, "/local/domain/0/rel/x", "1", 1));
	expect_event(w, "rel/x", "r");
	assert_true(xs_unwatch(w, "/wt", "tok"));
	assert_false(xs_unwatch(w, "/wt", "tok"));
	assert_int_equal(errno, ENOENT);
	/* A transaction's changes fire at commit. */
	{
		xs_transaction_t t = xs_transaction_start(a);

		assert_true(xs_write(a, t, "/local/domain/0/rel/y", "1", 1));
		assert_true(xs_transaction_end(a, t, false));
		expect_event(w, "rel/y", "r");
	}
	xs_close(w);
	xs_close(a);
}

static void test_perms(void **state)
{
	struct xs_handle *h = open_xs();
	struct xs_permissions set[3] = {
		{.id = 3, .perms = XS_PERM_NONE},
		{.id = 5, .perms = XS_PERM_READ},
		{.id = 7, .perms = XS_PERM_READ | XS_PERM_WRITE},
	};
	struct xs_permissions *got;
	unsigned int n;

	(void)state;
	assert_true(xs_write(h, XBT_NULL, "/perm/node", "x", 1));
	assert_true(xs_set_permissions(h, XBT_NULL, "/perm/node", set, 3));
	got = xs_get_permissions(h, XBT_NULL, "/perm/node", &n);
	assert_non_null(got);
	assert_int_equal(n, 3);
	assert_memory_equal(got, set, sizeof(set));
	free(got);
	/* Children inherit. */
	assert_true(xs_write(h, XBT_NULL, "/perm/node/kid", "y", 1));
	got = xs_get_permissions(h, XBT_NULL, "/perm/node/kid", &n);
	assert_int_equal(n, 3);
	assert_memory_equal(got, set, sizeof(set));
	free(got);
	{
		char *p = xs_get_domain_path(h, 12);

		assert_string_equal(p, "/local/domain/12");
		free(p);
	}
	/* Introduce via the library (dom0 only; the daemon accepts any
	 * domid below DOMID_FIRST_RESERVED as existing). */
	assert_false(xs_is_domain_introduced(h, 9));
	assert_true(xs_introduce_domain(h, 9, 0, 0));
	assert_true(xs_is_domain_introduced(h, 9));
	assert_true(xs_release_domain(h, 9));
	assert_false(xs_is_domain_introduced(h, 9));
	xs_close(h);
}

static void test_large_directory(void **state)
{
	struct xs_handle *h = open_xs();
	xs_transaction_t t;
	unsigned int i, n;
	char path[128], **dir;
	bool *seen = calloc(600, sizeof(*seen));

	(void)state;
	assert_non_null(seen);
	t = xs_transaction_start(h);
	for (i = 0; i < 600; i++) {
		snprintf(path, sizeof(path),
			 "/big/entry-with-a-longish-name-%04u", i);
		assert_true(xs_write(h, t, path, "", 0));
	}
	assert_true(xs_transaction_end(h, t, false));
	/* 600 * 36 bytes > 4096: XS_DIRECTORY says E2BIG and the library
	 * continues with XS_DIRECTORY_PART. */
	dir = xs_directory(h, XBT_NULL, "/big", &n);
	assert_non_null(dir);
	assert_int_equal(n, 600);
	for (i = 0; i < n; i++) {
		unsigned int k;

		assert_int_equal(
			sscanf(dir[i], "entry-with-a-longish-name-%u", &k), 1);
		assert_true(k < 600);
		assert_false(seen[k]);
		seen[k] = true;
		assert_int_equal(k, i); /* creation order kept */
	}
	free(dir);
	free(seen);
	assert_true(xs_rm(h, XBT_NULL, "/big"));
	errno = 0;
	assert_null(xs_directory(h, XBT_NULL, "/big", &n));
	assert_int_equal(errno, ENOENT);
	xs_close(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_watches),
		cmocka_unit_test(test_perms),
		cmocka_unit_test(test_large_directory),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s DAEMON [ARGS...]\n", argv[0]);
		return 2;
	}
	daemon_argv = argv + 1;
	return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}
