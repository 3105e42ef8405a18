/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients against the in-process daemon: broken framing, bad
 * arguments, floods, permission and quota abuse.  After every attack the
 * victim's data must be intact and the daemon must still answer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xsd_fixture.h"

static int setup(void **state)
{
	(void)state;
	xf_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xf_stop();
	return 0;
}

/* dom0 makes /local/domain/<d> owned by d, as a toolstack does. */
static void make_home(uint32_t d)
{
	struct xf_client *t = xf_connect(0);
	char path[64], owner[16];
	const char *p[1] = {owner};

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	snprintf(owner, sizeof(owner), "n%u", d);
	assert_int_equal(xf_op1(t, XS_MKDIR, 0, path), 0);
	assert_int_equal(xf_set_perms(t, path, p, 1), 0);
	xf_close(t);
}

static void test_truncated_header(void **state)
{
	struct xf_client *c = xf_connect(5);
	struct pvio_xsd_sockmsg h = {XS_READ, 1, 0, 8};

	(void)state;
	assert_int_equal(xf_send_raw(c, &h, 7), 7);
	xf_pump();
	xf_check_victim(); /* a half header blocks nobody */
	assert_int_equal(xf_send_raw(c, (char *)&h + 7, 3), 3);
	xf_pump();
	xf_check_victim();
	xf_close(c); /* then close mid-header */
	xf_check_victim();
}

static void test_oversized_len(void **state)
{
	struct xf_client *c = xf_connect(0);
	struct pvio_xsd_sockmsg h = {XS_WRITE, 1, 0, XENSTORE_PAYLOAD_MAX + 1};

	(void)state;
	assert_int_equal(xf_send_raw(c, &h, sizeof(h)), sizeof(h));
	xf_pump();
	assert_true(xf_eof(c)); /* dropped, no reply */
	xf_close(c);
	/* Exactly the maximum is fine. */
	c = xf_connect(0);
	{
		static char buf[XENSTORE_PAYLOAD_MAX];
		struct xf_msg m;

		memset(buf, 'v', sizeof(buf));
		strcpy(buf, "/big");
		xf_req(c, XS_WRITE, 0, buf, sizeof(buf), &m);
		assert_int_equal(m.hdr.type, XS_WRITE);
		xf_req(c, XS_READ, 0, "/big", 5, &m);
		assert_int_equal(m.hdr.len, XENSTORE_PAYLOAD_MAX - 5);
	}
	xf_close(c);
	xf_check_victim();
}

static void test_len_beyond_message(void **state)
{
	struct xf_client *c = xf_connect(5);
	struct pvio_xsd_sockmsg h = {XS_READ, 1, 0, 100};
	struct xf_msg m;

	(void)state;
	assert_int_equal(xf_send_raw(c, &h, sizeof(h)), sizeof(h));
	assert_int_equal(xf_send_raw(c, "/victim/da", 10), 10);
	xf_pump();
	/* The daemon waits for the rest and serves everyone else. */
	xf_check_victim();
	assert_false(xf_recv(c, &m)); /* nothing for the partial request */
	xf_close(c);
	xf_check_victim();
}

static void test_missing_nul(void **state)
{
	struct xf_client *c = xf_connect(0);
	struct xf_msg m;

	(void)state;
	xf_req(c, XS_READ, 0, "/victim/data", 12, &m);
	assert_int_equal(m.hdr.type, XS_ERROR);
	assert_string_equal(m.body, "EINVAL");
	xf_req(c, XS_WRITE, 0, "/victim/data", 12, &m); /* no NUL at all */
	assert_string_equal(m.body, "EINVAL");
	xf_req(c, XS_READ, 0, "/victim/data\0x", 14, &m); /* two strings */
	assert_string_equal(m.body, "EINVAL");
	xf_req(c, XS_READ, 0, "", 0, &m);
	assert_string_equal(m.body, "EINVAL");
	xf_req(c, XS_WATCH, 0, "/victim\0tok", 11, &m);
	assert_string_equal(m.body, "EINVAL");
	xf_req(c, XS_SET_PERMS, 0, "/victim\0b0", 10, &m);
	assert_string_equal(m.body, "EINVAL");
	xf_close(c);
	xf_check_victim();
}

static void test_unknown_type(void **state)
{
	struct xf_client *c = xf_connect(5);
	const uint32_t types[] = {XS_TYPE_COUNT, 20,  XS_WATCH_EVENT,
				  XS_ERROR,	 999, 0xffffffffu};
	struct xf_msg m;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		xf_req(c, types[i], 0, "x", 2, &m);
		assert_int_equal(m.hdr.type, XS_ERROR);
		assert_string_equal(m.body, "ENOSYS");
	}
	/* Privileged types from a domain. */
	xf_req(c, XS_INTRODUCE, 0,
	       "6\0"
	       "0\0"
	       "0",
	       6, &m);
	assert_string_equal(m.body, "EACCES");
	xf_req(c, XS_CONTROL, 0, "check", 6, &m);
	assert_string_equal(m.body, "EACCES");
	xf_req(c, XS_RELEASE, 0, "6", 2, &m);
	assert_string_equal(m.body, "EACCES");
	/* A transaction id that does not exist. */
	assert_int_equal(xf_read(c, 77, "/victim/data", NULL, 0), ENOENT);
	xf_close(c);
	c = xf_connect(0);
	xf_req(c, XS_CONTROL, 0, "frobnicate", 11, &m);
	assert_string_equal(m.body, "EINVAL");
	xf_close(c);
	xf_check_victim();
}

static void test_bad_paths(void **state)
{
	static const char *bad[] = {"/a b",
				    "/a//b",
				    "/a/",
				    "/a\xff",
				    "a/",
				    "/a\tb",
				    "@introduceDomain",
				    "/a*",
				    ""};
	struct xf_client *c = xf_connect(0);
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xf_write(c, 0, bad[i], "1"), EINVAL);
		assert_int_equal(xf_read(c, 0, bad[i], NULL, 0), EINVAL);
		assert_int_equal(xf_op1(c, XS_RM, 0, bad[i]), EINVAL);
	}
	assert_int_equal(xf_watch(c, "/a//b", "t"), EINVAL);
	xf_close(c);
	xf_check_victim();
}

static void test_path_limits(void **state)
{
	static char p[XENSTORE_PAYLOAD_MAX];
	struct xf_client *c = xf_connect(0);
	struct xf_client *d = xf_connect(5);
	size_t i;

	(void)state;
	make_home(5);
	/* Outside a domain's home the whole path counts: 2048. */
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[XENSTORE_REL_PATH_MAX] = '\0';
	assert_int_equal(xf_write(c, 0, p, "1"), 0);
	p[XENSTORE_REL_PATH_MAX] = 'a';
	p[XENSTORE_REL_PATH_MAX + 1] = '\0';
	assert_int_equal(xf_write(c, 0, p, "1"), EINVAL);
	/* Absolute limit. */
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[XENSTORE_ABS_PATH_MAX + 1] = '\0';
	assert_int_equal(xf_read(c, 0, p, NULL, 0), EINVAL);
	/* Relative: 2048 below /local/domain/5/ is fine, 2049 is not (in
	 * 100-char components: one 2048-char name would not fit in the
	 * parent's 2048-byte record, a quota of its own). */
	for (i = 0; i < sizeof(p); i++)
		p[i] = i % 100 == 99 ? '/' : 'r';
	p[XENSTORE_REL_PATH_MAX] = '\0';
	assert_int_equal(xf_write(d, 0, p, "1"), 0);
	p[XENSTORE_REL_PATH_MAX] = 'r';
	p[XENSTORE_REL_PATH_MAX + 1] = '\0';
	assert_int_equal(xf_write(d, 0, p, "1"), EINVAL);
	xf_close(c);
	xf_close(d);
	xf_check_victim();
}

static void test_watch_flood(void **state)
{
	struct xf_client *d = xf_connect(5);
	struct xf_client *d2 = xf_connect(5);
	unsigned int i, ok = 0, big = 0;
	char tok[32];

	(void)state;
	make_home(5);
	for (i = 0; i < 10000; i++) {
		int e;

		snprintf(tok, sizeof(tok), "t%u", i);
		e = xf_watch(i & 1 ? d2 : d, "/local/domain/5", tok);
		if (!e)
			ok++;
		else if (e == E2BIG)
			big++;
		else
			fail_msg("watch %u: errno %d", i, e);
		if (!(i % 64))
			xf_poll_events(i & 1 ? d2 : d);
	}
	/* The quota is per domain, over all its connections. */
	assert_int_equal(ok, 128);
	assert_int_equal(big, 10000 - 128);
	/* Duplicates are refused before the quota. */
	assert_int_equal(xf_watch(d, "/local/domain/5", "t0"), EEXIST);
	xf_close(d);
	xf_close(d2);
	/* Gone with the connections: the domain may watch again. */
	d = xf_connect(5);
	assert_int_equal(xf_watch(d, "/local/domain/5", "again"), 0);
	xf_close(d);
	xf_check_victim();
}

static void test_request_flood_unread(void **state)
{
	struct xf_client *d = xf_connect(5);
	struct pvio_xsd_sockmsg h = {XS_READ, 0, 0, 13};
	char msg[16 + 13];
	size_t bytes = 0, pos = 0, n, expect, got = 0;
	unsigned int stuck = 0;
	struct xf_msg m;

	(void)state;
	memcpy(msg, &h, 16);
	memcpy(msg + 16, "/victim/data", 13);
	/* Pipeline requests and never read the replies: once the client's
	 * receive buffer is full the daemon must stop reading it (bounded
	 * output queue) and the client's sends must stall. */
	while (stuck < 3) {
		n = xf_send_raw(d, msg + pos, sizeof(msg) - pos);
		if (!n) {
			xf_pump();
			stuck++;
			continue;
		}
		stuck = 0;
		bytes += n;
		pos = (pos + n) % sizeof(msg);
		if (!(bytes % (sizeof(msg) * 256)))
			xf_pump();
		if (bytes > 64u * 1024 * 1024)
			fail_msg("daemon never pushed back");
	}
	xf_check_victim();
	/* Every complete request is answered, in order, once it reads. */
	expect = bytes / sizeof(msg);
	while (got < expect && xf_recv(d, &m)) {
		assert_int_equal(m.hdr.type, XS_ERROR);
		assert_string_equal(m.body, "EACCES");
		got++;
	}
	assert_int_equal(got, expect);
	xf_close(d);
	xf_check_victim();
}

static void test_event_storm(void **state)
{
	struct pvio_xsd_quota q;
	struct xf_client *w0 = xf_connect(0); /* watches, never reads */
	struct xf_client *w5 = xf_connect(5); /* watches, never reads */
	struct xf_client *a = xf_connect(5);  /* the attacker */
	struct xf_client *good = xf_connect(0);
	char path[64];
	unsigned int i, g;

	(void)state;
	make_home(5);
	pvio_xsd_get_quota(xf_xsd, &q);
	q.memory_bytes = 64 * 1024; /* the smallest output cap */
	assert_int_equal(pvio_xsd_set_quota(xf_xsd, &q), 0);
	assert_int_equal(xf_watch(w0, "/local/domain/5", "w0"), 0);
	assert_int_equal(xf_watch(w5, "/local/domain/5", "w5"), 0);
	assert_int_equal(xf_watch(good, "/local/domain/5", "good"), 0);
	/* One node written 20000 times: identical pending events merge. */
	for (i = 0; i < 20000; i++)
		assert_int_equal(xf_write(a, 0, "/local/domain/5/x", "1"), 0);
	assert_int_equal(xf_read(w5, 0, "/local/domain/5/x", NULL, 0), 0);
	/* Distinct nodes, created and removed in generations: the domain
	 * reader's queue passes its cap and it is dropped; the attacker,
	 * the readers and the victim are served throughout. */
	for (g = 0; g < 50; g++) {
		/* 300 names keep g<N>'s record under 2048 bytes. */
		for (i = 0; i < 300; i++) {
			snprintf(path, sizeof(path), "/local/domain/5/g%u/n%u",
				 g, i);
			assert_int_equal(xf_write(a, 0, path, "1"), 0);
			if (!(i % 100))
				xf_poll_events(good);
		}
		snprintf(path, sizeof(path), "/local/domain/5/g%u", g);
		assert_int_equal(xf_op1(a, XS_RM, 0, path), 0);
	}
	xf_poll_events(good);
	assert_true(xf_has_event(good, "/local/domain/5/g49", "good"));
	assert_true(xf_eof(w5));
	xf_check_victim();
	xf_close(w0);
	xf_close(w5);
	xf_close(a);
	xf_close(good);
	xf_check_victim();
}

static void test_transaction_storm(void **state)
{
	struct xf_client *d = xf_connect(5);
	struct xf_client *o = xf_connect(0);
	uint32_t ids[11], t1, t2;
	unsigned int i, round;
	char buf[32];

	(void)state;
	make_home(5);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < 10; i++)
			assert_int_equal(xf_tx_start(d, &ids[i]), 0);
		assert_int_equal(xf_tx_start(d, &ids[10]), ENOSPC);
		for (i = 0; i < 10; i++)
			assert_int_equal(
				xf_write(d, ids[i], "/local/domain/5/t", "x"),
				0);
		if (round & 1) {
			/* Abandon them all with the connection. */
			xf_close(d);
			d = xf_connect(5);
		} else {
			for (i = 0; i < 10; i++)
				assert_int_equal(xf_tx_end(d, ids[i], false),
						 0);
		}
	}
	assert_int_equal(xf_read(d, 0, "/local/domain/5/t", NULL, 0), ENOENT);
	/* Starting a transaction inside one. */
	assert_int_equal(xf_tx_start(d, &t1), 0);
	{
		struct xf_msg m;

		xf_req(d, XS_TRANSACTION_START, t1, "", 1, &m);
		assert_string_equal(m.body, "EBUSY");
	}
	assert_int_equal(xf_op1(d, XS_TRANSACTION_END, t1, "X"), EINVAL);
	assert_int_equal(xf_tx_end(d, t1, false), 0);
	assert_int_equal(xf_tx_end(d, t1, false), ENOENT);
	/* Conflicting commits: the second loses with EAGAIN. */
	assert_int_equal(xf_write(o, 0, "/local/domain/5/k", "0"), 0);
	assert_int_equal(xf_tx_start(d, &t1), 0);
	assert_int_equal(xf_tx_start(o, &t2), 0);
	assert_int_equal(xf_read(d, t1, "/local/domain/5/k", buf, 32), 0);
	assert_int_equal(xf_read(o, t2, "/local/domain/5/k", buf, 32), 0);
	assert_int_equal(xf_write(d, t1, "/local/domain/5/k", "d"), 0);
	assert_int_equal(xf_write(o, t2, "/local/domain/5/k", "o"), 0);
	assert_int_equal(xf_tx_end(o, t2, true), 0);
	assert_int_equal(xf_tx_end(d, t1, true), EAGAIN);
	assert_int_equal(xf_read(d, 0, "/local/domain/5/k", buf, 32), 0);
	assert_string_equal(buf, "o");
	/* Many conflicting rounds leave consistent books. */
	for (round = 0; round < 200; round++) {
		assert_int_equal(xf_tx_start(d, &t1), 0);
		snprintf(buf, sizeof(buf), "/local/domain/5/c%u", round % 7);
		assert_int_equal(xf_write(d, t1, buf, "1"), 0);
		assert_int_equal(xf_op1(o, XS_RM, 0, "/local/domain/5/k"), 0);
		assert_int_equal(xf_write(o, 0, "/local/domain/5/k", "1"), 0);
		/* The parent's child list changed under it: conflict. */
		assert_int_equal(xf_tx_end(d, t1, true), EAGAIN);
	}
	assert_int_equal(xf_read(d, 0, "/local/domain/5/c0", NULL, 0), ENOENT);
	xf_close(d);
	xf_close(o);
	xf_check_victim();
}

static void test_no_permission(void **state)
{
	struct xf_client *d5 = xf_connect(5);
	struct xf_client *d6 = xf_connect(6);
	char buf[64];

	(void)state;
	make_home(5);
	make_home(6);
	assert_int_equal(xf_write(d6, 0, "secret", "six"), 0);
	/* dom0's node and another domain's node: neither read nor write. */
	assert_int_equal(xf_read(d5, 0, "/victim/data", buf, 64), EACCES);
	assert_int_equal(xf_write(d5, 0, "/victim/data", "pwned"), EACCES);
	assert_int_equal(xf_write(d5, 0, "/victim/new", "pwned"), EACCES);
	assert_int_equal(xf_op1(d5, XS_RM, 0, "/victim"), EACCES);
	assert_int_equal(xf_op1(d5, XS_MKDIR, 0, "/victim/dir"), EACCES);
	assert_int_equal(xf_read(d5, 0, "/local/domain/6/secret", buf, 64),
			 EACCES);
	assert_int_equal(xf_write(d5, 0, "/local/domain/6/secret", "x"),
			 EACCES);
	assert_int_equal(xf_op1(d5, XS_DIRECTORY, 0, "/local/domain/6"),
			 EACCES);
	assert_int_equal(xf_op1(d5, XS_GET_PERMS, 0, "/local/domain/6"),
			 EACCES);
	/* Absent nodes under unreadable parents do not leak: EACCES. */
	assert_int_equal(xf_read(d5, 0, "/local/domain/6/nothing", buf, 64),
			 EACCES);
	assert_int_equal(xf_read(d5, 0, "/local/domain/5/nothing", buf, 64),
			 ENOENT);
	/* Not even a watch event for a node it cannot read. */
	assert_int_equal(xf_watch(d5, "/local/domain/6", "spy"), 0);
	xf_poll_events(d5);
	assert_int_equal(d5->nevents, 1); /* only the initial one */
	assert_int_equal(xf_write(d6, 0, "secret", "changed"), 0);
	xf_poll_events(d5);
	assert_int_equal(d5->nevents, 1);
	/* Owner rules: a domain cannot give its node away... */
	{
		const char *give[] = {"n6"};
		const char *share[] = {"n5", "r6"};
		const char *take[] = {"b5"};

		assert_int_equal(xf_write(d5, 0, "mine", "1"), 0);
		assert_int_equal(
			xf_set_perms(d5, "/local/domain/5/mine", give, 1),
			EPERM);
		/* ...may share it... */
		assert_int_equal(
			xf_set_perms(d5, "/local/domain/5/mine", share, 2), 0);
		assert_int_equal(
			xf_read(d6, 0, "/local/domain/5/mine", buf, 64), 0);
		assert_int_equal(xf_write(d6, 0, "/local/domain/5/mine", "x"),
				 EACCES);
		/* ...and cannot take another's. */
		assert_int_equal(
			xf_set_perms(d5, "/local/domain/6/secret", take, 1),
			EACCES);
		assert_int_equal(xf_set_perms(d5, "@releaseDomain", take, 1),
				 EACCES);
	}
	/* New nodes inherit the parent's perms, owned by their creator. */
	{
		struct xf_msg m;

		xf_req(d5, XS_GET_PERMS, 0, "mine/sub", 9, &m);
		assert_string_equal(m.body, "ENOENT");
		assert_int_equal(xf_write(d5, 0, "mine/sub", "1"), 0);
		xf_req(d5, XS_GET_PERMS, 0, "mine/sub", 9, &m);
		assert_int_equal(m.hdr.len, 6);
		assert_memory_equal(m.body, "n5\0r6\0", 6);
	}
	xf_close(d5);
	xf_close(d6);
	xf_check_victim();
}

static void test_quotas(void **state)
{
	static char big[XENSTORE_PAYLOAD_MAX];
	struct xf_client *d = xf_connect(5);
	struct xf_msg m;
	unsigned int i, made = 0;
	char path[64];
	int e;

	(void)state;
	make_home(5);
	/* Node size: 24 + 8 per perm + value must stay below 2048. */
	memset(big, 'v', sizeof(big));
	big[2048] = '\0';
	assert_int_equal(xf_write(d, 0, "/local/domain/5/v", big), ENOSPC);
	big[2048 - 24 - 8 - 1] = '\0';
	assert_int_equal(xf_write(d, 0, "/local/domain/5/v", big), 0);
	big[2048 - 24 - 8 - 1] = 'v'; /* one more byte: exactly 2048 */
	big[2048 - 24 - 8] = '\0';
	assert_int_equal(xf_write(d, 0, "/local/domain/5/v", big), ENOSPC);
	assert_int_equal(xf_op1(d, XS_RM, 0, "/local/domain/5/v"), 0);
	/* Perms per node: 5. */
	{
		const char *p6[] = {"n5", "r1", "r2", "r3", "r4", "r6"};

		assert_int_equal(xf_write(d, 0, "p", ""), 0);
		assert_int_equal(xf_set_perms(d, "/local/domain/5/p", p6, 6),
				 ENOSPC);
		assert_int_equal(xf_set_perms(d, "/local/domain/5/p", p6, 5),
				 0);
	}
	/* Nodes: 1000 per domain, the home, p, q and q/d0..9 included;
	 * 10 directories of at most 100 names keep each record small. */
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "q/d%u", i);
		assert_int_equal(xf_op1(d, XS_MKDIR, 0, path), 0);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "q/d%u/n%u", i / 100, i % 100);
		e = xf_write(d, 0, path, "");
		if (e) {
			assert_int_equal(e, ENOSPC);
			break;
		}
		made++;
	}
	assert_int_equal(made, 1000 - 13);
	/* A write that would create several levels fails as a whole. */
	assert_int_equal(xf_write(d, 0, "r/s/t", "1"), ENOSPC);
	assert_int_equal(xf_read(d, 0, "r", NULL, 0), ENOENT);
	/* Freeing nodes gives room back. */
	assert_int_equal(xf_op1(d, XS_RM, 0, "q"), 0);
	assert_int_equal(xf_write(d, 0, "r/s/t", "1"), 0);
	/* Directory reply over 4096: E2BIG, DIRECTORY_PART works. */
	xf_req(d, XS_DIRECTORY, 0, "/local/domain/5", 16, &m);
	assert_int_equal(m.hdr.type, XS_DIRECTORY);
	/* dom0 is exempt from node quotas. */
	{
		struct xf_client *z = xf_connect(0);

		for (i = 0; i < 1100; i++) {
			snprintf(path, sizeof(path), "/dom0/n%u", i);
			assert_int_equal(xf_write(z, 0, path, ""), 0);
		}
		xf_req(z, XS_DIRECTORY, 0, "/dom0", 6, &m);
		assert_string_equal(m.body, "E2BIG");
		xf_close(z);
	}
	xf_close(d);
	xf_check_victim();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_truncated_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oversized_len, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_len_beyond_message, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_nul, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_path_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch_flood, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_request_flood_unread,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_storm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transaction_storm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_permission, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quotas, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
