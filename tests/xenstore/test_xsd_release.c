/* SPDX-License-Identifier: MIT */
/* Domains coming and going: pvio_xsd_introduce() / pvio_xsd_release(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xsd_fixture.h"

static void test_release(void **state)
{
	struct xf_client *tool;
	struct xf_client *d5, *d5b, *d6;
	const char *p5[] = {"n5"};
	const char *p6[] = {"n6", "r5"};
	struct xf_msg m;
	char tok[16];
	unsigned int i, before;

	(void)state;
	xf_start();
	tool = xf_connect(0);
	assert_int_equal(xf_watch(tool, "@introduceDomain", "intro"), 0);
	assert_int_equal(xf_watch(tool, "@releaseDomain", "rel"), 0);
	assert_int_equal(xf_watch(tool, "/local/domain/5", "home5"), 0);
	assert_int_equal(xf_op1(tool, XS_MKDIR, 0, "/local/domain/5"), 0);
	assert_int_equal(xf_set_perms(tool, "/local/domain/5", p5, 1), 0);
	assert_int_equal(xf_op1(tool, XS_MKDIR, 0, "/local/domain/6"), 0);
	assert_int_equal(xf_set_perms(tool, "/local/domain/6", p6, 2), 0);
	xf_poll_events(tool);
	before = tool->nevents;

	assert_int_equal(pvio_xsd_introduce(xf_xsd, 5), 0);
	xf_poll_events(tool);
	assert_true(xf_has_event(tool, "@introduceDomain", "intro"));
	assert_int_equal(tool->nevents, before + 1);
	/* Once per domid. */
	assert_int_equal(pvio_xsd_introduce(xf_xsd, 5), 0);
	xf_poll_events(tool);
	assert_int_equal(tool->nevents, before + 1);
	xf_req(tool, XS_IS_DOMAIN_INTRODUCED, 0, "5", 2, &m);
	assert_string_equal(m.body, "T");

	d5 = xf_connect(5);
	d5b = xf_connect(5);
	d6 = xf_connect(6);
	assert_int_equal(xf_write(d5, 0, "device/vbd/1/state", "4"), 0);
	for (i = 0; i < 128; i++) {
		snprintf(tok, sizeof(tok), "w%u", i);
		assert_int_equal(xf_watch(i & 1 ? d5 : d5b, "device", tok), 0);
	}
	assert_int_equal(xf_watch(d5, "device", "more"), E2BIG);
	/* Domain 6 watches domain 5's node it may... not read. */
	assert_int_equal(xf_watch(d6, "/local/domain/5/device", "d6"), 0);
	/* And domain 5 was granted read on 6's home. */
	assert_int_equal(xf_write(tool, 0, "/local/domain/6/x", "1"), 0);
	assert_int_equal(xf_read(d5, 0, "/local/domain/6/x", NULL, 0), 0);
	xf_poll_events(tool);
	tool->nevents = 0;

	assert_int_equal(pvio_xsd_release(xf_xsd, 5), 0);
	/* Its connections are closed, its home is gone... */
	assert_true(xf_eof(d5));
	assert_true(xf_eof(d5b));
	assert_int_equal(xf_read(tool, 0, "/local/domain/5", NULL, 0), ENOENT);
	assert_int_equal(
		xf_read(tool, 0, "/local/domain/5/device/vbd/1/state", NULL, 0),
		ENOENT);
	/* ...dom0's watchers heard of both... */
	xf_poll_events(tool);
	assert_true(xf_has_event(tool, "@releaseDomain", "rel"));
	assert_true(xf_has_event(tool, "/local/domain/5", "home5"));
	xf_req(tool, XS_IS_DOMAIN_INTRODUCED, 0, "5", 2, &m);
	assert_string_equal(m.body, "F");
	/* ...domain 6 (no read right) heard nothing but its initial event. */
	xf_poll_events(d6);
	assert_int_equal(d6->nevents, 1);
	/* ...the ACL entry naming 5 is gone (a new 5 inherits nothing)... */
	xf_req(tool, XS_GET_PERMS, 0, "/local/domain/6", 16, &m);
	assert_int_equal(m.hdr.len, 3);
	assert_memory_equal(m.body, "n6\0", 3);
	/* ...and its watches are gone: a new domain 5 has its full quota. */
	assert_int_equal(pvio_xsd_introduce(xf_xsd, 5), 0);
	xf_close(d5);
	d5 = xf_connect(5);
	for (i = 0; i < 128; i++) {
		snprintf(tok, sizeof(tok), "n%u", i);
		assert_int_equal(xf_watch(d5, "/local/domain/5", tok), 0);
	}
	assert_int_equal(xf_read(d5, 0, "/local/domain/6/x", NULL, 0), EACCES);
	xf_close(d5);
	xf_close(d5b);
	xf_close(d6);
	/* Accounting balances (nodes moved, watches dropped). */
	xf_check_victim();
	xf_close(tool);
	xf_stop();
}

static void test_wire_introduce_release(void **state)
{
	struct xf_client *tool, *d7;

	(void)state;
	xf_start();
	tool = xf_connect(0);
	assert_int_equal(xf_watch(tool, "@releaseDomain", "rel"), 0);
	assert_int_equal(xf_op1(tool, XS_RELEASE, 0, "7"), ENOENT);
	{
		struct xf_msg m;

		xf_req(tool, XS_INTRODUCE, 0,
		       "7\0"
		       "123\0"
		       "4",
		       8, &m);
		assert_string_equal(m.body, "OK");
		xf_req(tool, XS_INTRODUCE, 0,
		       "x7\0"
		       "1\0"
		       "4",
		       7, &m);
		assert_string_equal(m.body, "EINVAL");
		xf_req(tool, XS_INTRODUCE, 0,
		       "7\0"
		       "1",
		       4, &m);
		assert_string_equal(m.body, "EINVAL");
		xf_req(tool, XS_GET_DOMAIN_PATH, 0, "7", 2, &m);
		assert_string_equal(m.body, "/local/domain/7");
	}
	d7 = xf_connect(7);
	assert_int_equal(xf_op1(tool, XS_RESUME, 0, "7"), 0);
	assert_int_equal(xf_op1(tool, XS_RELEASE, 0, "7"), 0);
	assert_true(xf_eof(d7));
	xf_poll_events(tool);
	assert_true(xf_has_event(tool, "@releaseDomain", "rel"));
	xf_close(d7);
	xf_close(tool);
	xf_check_victim();
	xf_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_wire_introduce_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
