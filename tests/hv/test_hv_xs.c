/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv's xenstore side: a domain's own xenstore connection
 * (pvio_dom_xs_open) and what its death does to xenstore (@releaseDomain
 * to a dom0 watcher, its /local/domain/<domid> subtree removed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <pvio/domain.h>
#include <pvio/xs.h>

#include "hvtest.h"

/* Wait for a watch event with 'token'; returns its path (malloc'd). */
static char *wait_event(struct pvio_xs *xs, const char *token)
{
	for (int i = 0; i < 50; i++) {
		char *path = NULL, *tok = NULL;
		int rc = pvio_xs_read_watch(xs, &path, &tok, 100);

		if (rc == 0 && strcmp(tok, token) == 0) {
			free(tok);
			return path;
		}
		free(path);
		free(tok);
	}
	return NULL;
}

static void test_domain_xs_and_death(void **state)
{
	struct hvtest hv;
	struct hvtest_agent ag;
	struct pvio_dom *dom0, *d;
	struct pvio_xs *xs0, *xsd;
	char cred[PVIO_DOM_CRED_MAX], base[64], key[96];
	struct pvio_xs_perm perm = {0, 'n'};
	pvio_domid_t id;
	char *val = NULL, *ev;
	int err = 0;

	(void)state;
	assert_int_equal(hvtest_start(&hv, NULL), 0);
	dom0 = pvio_dom_open_dom0(hv.dir, &err);
	assert_non_null(dom0);
	xs0 = pvio_xs_open(hv.xs_path, &err);
	assert_non_null(xs0);
	assert_int_equal(pvio_xs_watch(xs0, "@releaseDomain", "rel"), 0);
	ev = wait_event(xs0, "rel"); /* the firing at registration */
	assert_non_null(ev);
	free(ev);

	assert_int_equal(pvio_dom_ctl_create(dom0, "xsdom", 4, &id, cred), 0);
	/* the toolstack's part: the domain's home, owned by it */
	snprintf(base, sizeof(base), "/local/domain/%u", id);
	assert_int_equal(pvio_xs_mkdir(xs0, PVIO_XS_TX_NONE, base), 0);
	perm.domid = id;
	assert_int_equal(
		pvio_xs_set_perms(xs0, PVIO_XS_TX_NONE, base, &perm, 1), 0);

	/* the domain's own connection acts as the domain */
	d = pvio_dom_open(hv.dir, cred, &err);
	assert_non_null(d);
	xsd = pvio_dom_xs_open(d, &err);
	assert_non_null(xsd);
	snprintf(key, sizeof(key), "%s/data/hello", base);
	assert_int_equal(pvio_xs_write(xsd, PVIO_XS_TX_NONE, key, "hi", 2), 0);
	assert_int_equal(pvio_xs_read(xs0, PVIO_XS_TX_NONE, key, &val, NULL),
			 0);
	assert_string_equal(val, "hi");
	free(val);
	val = NULL;
	/* not dom0: another domain's area is off limits */
	assert_int_equal(pvio_xs_write(xsd, PVIO_XS_TX_NONE, "/tool/x", "1", 1),
			 -EACCES);

	/* the domain's process dies (kill -9) */
	assert_int_equal(hvtest_agent_start(&ag, &hv, cred), 0);
	assert_int_equal(pvio_dom_ctl_set_pid(dom0, id, ag.pid), 0);
	hvtest_agent_kill(&ag);
	ev = wait_event(xs0, "rel");
	assert_non_null(ev);
	assert_string_equal(ev, "@releaseDomain");
	free(ev);
	assert_int_equal(pvio_xs_read(xs0, PVIO_XS_TX_NONE, base, &val, NULL),
			 -ENOENT);
	/* its connections are gone with it */
	assert_int_not_equal(
		pvio_xs_read(xsd, PVIO_XS_TX_NONE, key, &val, NULL), 0);
	pvio_xs_close(xsd);
	pvio_dom_close(d);
	pvio_xs_close(xs0);
	pvio_dom_close(dom0);
	assert_int_equal(hvtest_stop(&hv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_xs_and_death),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
