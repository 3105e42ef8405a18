/* SPDX-License-Identifier: MIT */
/*
 * pvio_xs against a real pvio-xenstored: every request type, watches,
 * the queue and its overflow contract, transactions and conflicts, large
 * directories (XS_DIRECTORY_PART), reply timeouts and a daemon that dies.
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
#include <unistd.h>

#include <cmocka.h>

#include "pvio/io/xs_wire.h"
#include "pvio/xs.h"
#include "xsd_fixture.h"

struct env {
	struct xsd_fixture d;
	struct pvio_xs *a, *b;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	int err;

	if (e == NULL)
		return -1;
	/* cmocka skips teardown when setup fails: clean up here. */
	if (xsd_start(&e->d) < 0 ||
	    (e->a = pvio_xs_open(e->d.sock, &err)) == NULL ||
	    (e->b = pvio_xs_open(e->d.sock, &err)) == NULL) {
		pvio_xs_close(e->a);
		xsd_stop(&e->d);
		free(e);
		return -1;
	}
	pvio_xs_set_timeout(e->a, 5000);
	pvio_xs_set_timeout(e->b, 5000);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	pvio_xs_close(e->a);
	pvio_xs_close(e->b);
	xsd_stop(&e->d);
	free(e);
	return 0;
}

static void expect_event(struct pvio_xs *xs, const char *path,
			 const char *token)
{
	char *p = NULL, *t = NULL;

	assert_int_equal(pvio_xs_read_watch(xs, &p, &t, 2000), 0);
	assert_string_equal(p, path);
	assert_string_equal(t, token);
	free(p);
	free(t);
}

static void expect_no_event(struct pvio_xs *xs)
{
	char *p = NULL, *t = NULL;

	assert_int_equal(pvio_xs_read_watch(xs, &p, &t, 0), -EAGAIN);
	assert_null(p);
	assert_int_equal(pvio_xs_read_watch(xs, &p, &t, 50), -ETIMEDOUT);
}

static void test_read_write(void **state)
{
	struct env *e = *state;
	static const char bin[] = {'a', '\0', 'b', '\xff'};
	char *v = NULL;
	size_t len = 99;

	assert_int_equal(pvio_xs_write(e->a, 0, "/t/x", "hello", 5), 0);
	assert_int_equal(pvio_xs_read(e->b, 0, "/t/x", &v, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(v, "hello");
	free(v);
	/* Values may hold NULs; the copy is terminated anyway. */
	assert_int_equal(pvio_xs_write(e->a, 0, "/t/bin", bin, sizeof(bin)), 0);
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/bin", &v, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(v, bin, sizeof(bin));
	assert_int_equal(v[len], '\0');
	free(v);
	assert_int_equal(pvio_xs_printf(e->a, 0, "/t/n", "%d-%s", 42, "z"), 0);
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/n", &v, NULL), 0);
	assert_string_equal(v, "42-z");
	free(v);
	/* Empty value. */
	assert_int_equal(pvio_xs_write(e->a, 0, "/t/empty", "", 0), 0);
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/empty", &v, &len), 0);
	assert_int_equal(len, 0);
	free(v);
	v = (char *)1;
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/missing", &v, NULL),
			 -ENOENT);
	assert_null(v);
	assert_int_equal(pvio_xs_mkdir(e->a, 0, "/t/d/e"), 0);
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/d/e", &v, &len), 0);
	assert_int_equal(len, 0);
	free(v);
	assert_int_equal(pvio_xs_rm(e->a, 0, "/t/d"), 0);
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/d/e", &v, NULL), -ENOENT);
	/* Client-side checks: no request reaches the daemon. */
	assert_int_equal(pvio_xs_read(e->a, 0, "", &v, NULL), -EINVAL);
	{
		char big[XENSTORE_PAYLOAD_MAX + 10];

		memset(big, 'v', sizeof(big));
		assert_int_equal(
			pvio_xs_write(e->a, 0, "/t/big", big, sizeof(big)),
			-E2BIG);
	}
	/* The handle is still fine. */
	assert_int_equal(pvio_xs_read(e->a, 0, "/t/x", &v, NULL), 0);
	free(v);
}

static void test_directory(void **state)
{
	struct env *e = *state;
	char **names = NULL;
	unsigned int n = 0, i;
	bool seen[3] = {false, false, false};

	assert_int_equal(pvio_xs_write(e->a, 0, "/dir/c0", "", 0), 0);
	assert_int_equal(pvio_xs_write(e->a, 0, "/dir/c1/deeper", "", 0), 0);
	assert_int_equal(pvio_xs_write(e->a, 0, "/dir/c2", "x", 1), 0);
	assert_int_equal(pvio_xs_directory(e->a, 0, "/dir", &names, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(strlen(names[i]), 2);
		assert_int_equal(names[i][0], 'c');
		seen[names[i][1] - '0'] = true;
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	free(names);
	assert_int_equal(pvio_xs_mkdir(e->a, 0, "/emptydir"), 0);
	assert_int_equal(pvio_xs_directory(e->a, 0, "/emptydir", &names, &n),
			 0);
	assert_int_equal(n, 0);
	free(names);
	assert_int_equal(pvio_xs_directory(e->a, 0, "/nodir", &names, &n),
			 -ENOENT);
}

/* More than 4096 bytes of names: only XS_DIRECTORY_PART can list them. */
static void test_directory_large(void **state)
{
	struct env *e = *state;
	enum { N = 300 };
	char path[128], **names = NULL;
	unsigned int n = 0, i;
	static bool seen[N];
	pvio_xs_tx_t tx;

	assert_int_equal(pvio_xs_tx_start(e->a, &tx), 0);
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path),
			 "/big/child-with-a-rather-long-name-%04u", i);
		assert_int_equal(pvio_xs_write(e->a, tx, path, "", 0), 0);
	}
	assert_int_equal(pvio_xs_tx_end(e->a, tx, true), 0);
	assert_int_equal(pvio_xs_directory(e->b, 0, "/big", &names, &n), 0);
	assert_int_equal(n, N);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		unsigned int k;

		assert_int_equal(sscanf(names[i],
					"child-with-a-rather-long-name-%04u",
					&k),
				 1);
		assert_true(k < N);
		assert_false(seen[k]);
		seen[k] = true;
	}
	free(names);
	/* The same through the raw call: XS_DIRECTORY alone says E2BIG. */
	{
		uint32_t type = 0;
		char *rep = NULL;
		size_t rlen = 0;

		assert_int_equal(pvio_xs_raw(e->a, XS_DIRECTORY, 0, "/big", 5,
					     &type, &rep, &rlen),
				 0);
		assert_int_equal(type, XS_ERROR);
		assert_string_equal(rep, "E2BIG");
		free(rep);
	}
}

static void test_perms(void **state)
{
	struct env *e = *state;
	struct pvio_xs_perm set[3] = {{5, 'n'}, {7, 'r'}, {9, 'b'}}, *got;
	unsigned int n = 0;

	assert_int_equal(pvio_xs_write(e->a, 0, "/p", "", 0), 0);
	assert_int_equal(pvio_xs_set_perms(e->a, 0, "/p", set, 3), 0);
	assert_int_equal(pvio_xs_get_perms(e->b, 0, "/p", &got, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(got[0].domid, 5);
	assert_int_equal(got[0].mode, 'n');
	assert_int_equal(got[1].domid, 7);
	assert_int_equal(got[1].mode, 'r');
	assert_int_equal(got[2].domid, 9);
	assert_int_equal(got[2].mode, 'b');
	free(got);
	set[0].mode = 'x';
	assert_int_equal(pvio_xs_set_perms(e->a, 0, "/p", set, 1), -EINVAL);
	assert_int_equal(pvio_xs_set_perms(e->a, 0, "/p", set, 0), -EINVAL);
}

static void test_transactions(void **state)
{
	struct env *e = *state;
	pvio_xs_tx_t t1, t2;
	char *v = NULL;

	assert_int_equal(pvio_xs_write(e->a, 0, "/tx/k", "0", 1), 0);
	assert_int_equal(pvio_xs_tx_start(e->a, &t1), 0);
	assert_int_not_equal(t1, PVIO_XS_TX_NONE);
	assert_int_equal(pvio_xs_write(e->a, t1, "/tx/k", "1", 1), 0);
	/* Not visible outside before commit. */
	assert_int_equal(pvio_xs_read(e->b, 0, "/tx/k", &v, NULL), 0);
	assert_string_equal(v, "0");
	free(v);
	assert_int_equal(pvio_xs_tx_end(e->a, t1, true), 0);
	assert_int_equal(pvio_xs_read(e->b, 0, "/tx/k", &v, NULL), 0);
	assert_string_equal(v, "1");
	free(v);
	/* Abort discards. */
	assert_int_equal(pvio_xs_tx_start(e->a, &t1), 0);
	assert_int_equal(pvio_xs_write(e->a, t1, "/tx/k", "2", 1), 0);
	assert_int_equal(pvio_xs_tx_end(e->a, t1, false), 0);
	assert_int_equal(pvio_xs_read(e->a, 0, "/tx/k", &v, NULL), 0);
	assert_string_equal(v, "1");
	free(v);
	/* Conflict: both read k, both write, the second commit fails. */
	assert_int_equal(pvio_xs_tx_start(e->a, &t1), 0);
	assert_int_equal(pvio_xs_tx_start(e->b, &t2), 0);
	assert_int_equal(pvio_xs_read(e->a, t1, "/tx/k", &v, NULL), 0);
	free(v);
	assert_int_equal(pvio_xs_read(e->b, t2, "/tx/k", &v, NULL), 0);
	free(v);
	assert_int_equal(pvio_xs_write(e->a, t1, "/tx/k", "a", 1), 0);
	assert_int_equal(pvio_xs_write(e->b, t2, "/tx/k", "b", 1), 0);
	assert_int_equal(pvio_xs_tx_end(e->a, t1, true), 0);
	assert_int_equal(pvio_xs_tx_end(e->b, t2, true), -EAGAIN);
	assert_int_equal(pvio_xs_read(e->b, 0, "/tx/k", &v, NULL), 0);
	assert_string_equal(v, "a");
	free(v);
	assert_int_equal(pvio_xs_tx_end(e->a, PVIO_XS_TX_NONE, true), -EINVAL);
}

/* transact's fn: bump /tx/n by one, reading it inside the transaction. */
struct bump {
	struct pvio_xs
		*other; /* if set: conflicts the first 'conflicts' runs */
	int conflicts;
	int runs;
	int fail;
};

static int bump(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg)
{
	struct bump *b = arg;
	char *v = NULL;
	long n;
	int rc;

	b->runs++;
	if (b->fail)
		return b->fail;
	rc = pvio_xs_read(xs, tx, "/tx/n", &v, NULL);
	if (rc)
		return rc;
	n = strtol(v, NULL, 10);
	free(v);
	if (b->other != NULL && b->conflicts > 0) {
		/* Someone else changes what we read: our commit must fail. */
		b->conflicts--;
		rc = pvio_xs_printf(b->other, 0, "/tx/n", "%ld", n + 100);
		if (rc)
			return rc;
	}
	return pvio_xs_key_printf(xs, tx, "/tx", "n", "%ld", n + 1);
}

static void test_transact_key_printf(void **state)
{
	struct env *e = *state;
	struct bump b = {0};
	char *v = NULL;
	char longkey[XENSTORE_ABS_PATH_MAX];

	assert_int_equal(pvio_xs_key_printf(e->a, 0, "/tx", "n", "%d", 5), 0);
	assert_int_equal(pvio_xs_read(e->b, 0, "/tx/n", &v, NULL), 0);
	assert_string_equal(v, "5");
	free(v);
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(pvio_xs_key_printf(e->a, 0, "/tx", longkey, "1"),
			 -ENAMETOOLONG);

	/* Plain run: one pass, committed. */
	assert_int_equal(pvio_xs_transact(e->a, bump, &b), 0);
	assert_int_equal(b.runs, 1);
	/* Two conflicts: redone until it commits on top of the others. */
	b = (struct bump){.other = e->b, .conflicts = 2};
	assert_int_equal(pvio_xs_transact(e->a, bump, &b), 0);
	assert_int_equal(b.runs, 3);
	assert_int_equal(pvio_xs_read(e->b, 0, "/tx/n", &v, NULL), 0);
	assert_string_equal(v, "207"); /* 6 +100 +100, then +1 */
	free(v);
	/* Endless conflicts: gives up with -EAGAIN after the retries. */
	b = (struct bump){.other = e->b, .conflicts = 1000};
	assert_int_equal(pvio_xs_transact(e->a, bump, &b), -EAGAIN);
	assert_int_equal(b.runs, PVIO_XS_TX_RETRIES);
	/* fn's error aborts: nothing written, returned as is. */
	assert_int_equal(pvio_xs_printf(e->a, 0, "/tx/n", "1"), 0);
	b = (struct bump){.fail = -ENOSPC};
	assert_int_equal(pvio_xs_transact(e->a, bump, &b), -ENOSPC);
	assert_int_equal(b.runs, 1);
	assert_int_equal(pvio_xs_read(e->b, 0, "/tx/n", &v, NULL), 0);
	assert_string_equal(v, "1");
	free(v);
	assert_int_equal(pvio_xs_transact(e->a, NULL, NULL), -EINVAL);
}

static void test_watch(void **state)
{
	struct env *e = *state;

	assert_int_equal(pvio_xs_watch(e->a, "/w", "tok"), 0);
	expect_event(e->a, "/w", "tok"); /* fires at registration */
	expect_no_event(e->a);
	assert_int_equal(pvio_xs_write(e->b, 0, "/w/x", "1", 1), 0);
	expect_event(e->a, "/w/x", "tok");
	assert_int_equal(pvio_xs_write(e->b, 0, "/other", "1", 1), 0);
	expect_no_event(e->a);
	/* Events that arrive during a request wait in the queue, and the
	 * fd says so even though the socket has been drained. */
	assert_int_equal(pvio_xs_write(e->b, 0, "/w/y", "1", 1), 0);
	usleep(50 * 1000);
	{
		char *v = NULL;
		struct pollfd pfd = {.fd = pvio_xs_fd(e->a), .events = POLLIN};

		assert_int_equal(pvio_xs_read(e->a, 0, "/w/y", &v, NULL), 0);
		free(v);
		assert_int_equal(poll(&pfd, 1, 0), 1);
		expect_event(e->a, "/w/y", "tok");
		assert_int_equal(poll(&pfd, 1, 0), 0);
	}
	/* Unwatch also drops queued events of that watch. */
	assert_int_equal(pvio_xs_write(e->b, 0, "/w/z", "1", 1), 0);
	usleep(50 * 1000);
	{
		char *v = NULL;

		assert_int_equal(pvio_xs_read(e->a, 0, "/w/z", &v, NULL), 0);
		free(v);
	}
	assert_int_equal(pvio_xs_unwatch(e->a, "/w", "tok"), 0);
	expect_no_event(e->a);
	assert_int_equal(pvio_xs_unwatch(e->a, "/w", "tok"), -ENOENT);
	/* reset_watches drops everything. */
	assert_int_equal(pvio_xs_watch(e->a, "/w", "t2"), 0);
	assert_int_equal(pvio_xs_reset_watches(e->a), 0);
	assert_int_equal(pvio_xs_write(e->b, 0, "/w/q", "1", 1), 0);
	expect_no_event(e->a);
}

/* More events than the queue holds arrive while a request waits: the
 * oldest go, and one synthetic event per watch follows the rest. */
static void test_watch_overflow(void **state)
{
	struct env *e = *state;
	enum { N = PVIO_XS_QUEUE_EVENTS + 300 };
	char path[64], *p = NULL, *t = NULL, *v = NULL;
	unsigned int i, got = 0, synth_w = 0, synth_o = 0;
	int r;

	assert_int_equal(pvio_xs_watch(e->a, "/ov", "big"), 0);
	assert_int_equal(pvio_xs_watch(e->a, "/quiet", "small"), 0);
	expect_event(e->a, "/ov", "big");
	expect_event(e->a, "/quiet", "small");
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/ov/n%u", i);
		assert_int_equal(pvio_xs_write(e->b, 0, path, "", 0), 0);
	}
	/* All N events were sent before this reply. */
	assert_int_equal(pvio_xs_read(e->a, 0, "/ov/n0", &v, NULL), 0);
	free(v);
	assert_true(pvio_xs_dropped_events(e->a) >= N - PVIO_XS_QUEUE_EVENTS);
	while ((r = pvio_xs_read_watch(e->a, &p, &t, 0)) == 0) {
		if (strcmp(p, "/ov") == 0 && strcmp(t, "big") == 0)
			synth_w++;
		else if (strcmp(p, "/quiet") == 0 && strcmp(t, "small") == 0)
			synth_o++;
		else {
			assert_string_equal(t, "big");
			/* Only the newest survive, in order. */
			snprintf(path, sizeof(path), "/ov/n%u",
				 N - PVIO_XS_QUEUE_EVENTS + got);
			assert_string_equal(p, path);
			got++;
		}
		free(p);
		free(t);
	}
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(got, PVIO_XS_QUEUE_EVENTS);
	assert_int_equal(synth_w, 1);
	assert_int_equal(synth_o, 1);
	expect_no_event(e->a);
}

static void test_domain_calls(void **state)
{
	struct env *e = *state;
	char *p = NULL;
	bool yes = true;
	uint32_t type = 0;
	char *rep = NULL;
	size_t rlen = 0;

	assert_int_equal(pvio_xs_get_domain_path(e->a, 7, &p), 0);
	assert_string_equal(p, "/local/domain/7");
	free(p);
	assert_int_equal(pvio_xs_is_introduced(e->a, 12, &yes), 0);
	assert_false(yes);
	/* An unknown message type: ENOSYS, through the raw call. */
	assert_int_equal(pvio_xs_raw(e->a, 99, 0, "x", 2, &type, &rep, &rlen),
			 0);
	assert_int_equal(type, XS_ERROR);
	assert_string_equal(rep, "ENOSYS");
	free(rep);
}

/* A daemon that stops answering: -ETIMEDOUT, and the handle recovers
 * (the late reply is dropped by its req_id). */
static void test_timeout(void **state)
{
	struct env *e = *state;
	char *v = NULL;

	assert_int_equal(pvio_xs_write(e->a, 0, "/to", "1", 1), 0);
	assert_int_equal(kill(e->d.pid, SIGSTOP), 0);
	pvio_xs_set_timeout(e->a, 100);
	assert_int_equal(pvio_xs_write(e->a, 0, "/to", "2", 1), -ETIMEDOUT);
	assert_int_equal(kill(e->d.pid, SIGCONT), 0);
	pvio_xs_set_timeout(e->a, 5000);
	assert_int_equal(pvio_xs_read(e->a, 0, "/to", &v, NULL), 0);
	assert_string_equal(v, "2");
	free(v);
}

static void test_daemon_dies(void **state)
{
	struct env *e = *state;
	char *v = NULL, *p = NULL, *t = NULL;

	xsd_stop(&e->d);
	assert_int_equal(pvio_xs_read(e->a, 0, "/x", &v, NULL), -EIO);
	assert_int_equal(pvio_xs_write(e->a, 0, "/x", "1", 1), -EIO);
	assert_int_equal(pvio_xs_read_watch(e->b, &p, &t, 1000), -EIO);
}

static void test_open_discovery(void **state)
{
	struct env *e = *state;
	struct pvio_xs *xs;
	char rundir[160];
	int err;

	unsetenv("XENSTORED_RUNDIR");
	setenv("XENSTORED_PATH", e->d.sock, 1);
	xs = pvio_xs_open(NULL, &err);
	assert_non_null(xs);
	pvio_xs_close(xs);
	unsetenv("XENSTORED_PATH");
	snprintf(rundir, sizeof(rundir), "%s/xenstored", e->d.dir);
	setenv("XENSTORED_RUNDIR", rundir, 1);
	xs = pvio_xs_open(NULL, &err);
	assert_non_null(xs);
	pvio_xs_close(xs);
	setenv("XENSTORED_RUNDIR", "/nonexistent-pvio", 1);
	assert_null(pvio_xs_open(NULL, &err));
	assert_int_equal(err, -ENOENT);
	unsetenv("XENSTORED_RUNDIR");
	pvio_xs_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_directory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_directory_large, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_perms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transact_key_printf, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_overflow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_domain_calls, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_dies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_discovery, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
