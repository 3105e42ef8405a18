/* SPDX-License-Identifier: MIT */
/*
 * pvio-domain-hello: the smallest guest.  Run by `pvio create` (which puts
 * the domain's credential in its environment), it connects to pvio-hv as
 * its own domain, takes a page of its grantable memory and grants it to
 * dom0, and says so in xenstore under its own data/ directory, through
 * its own xenstore connection (so the permissions are a guest's, not
 * dom0's).  Then it waits for the toolstack to destroy it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pvio/domain.h>
#include <pvio/grant.h>
#include <pvio/xs.h>

int main(void)
{
	struct pvio_dom *dom;
	struct pvio_xs *xs;
	uint32_t pfn;
	char *page;
	int err = 0, ref, rc;

	dom = pvio_dom_open(NULL, NULL, &err);
	if (!dom) {
		fprintf(stderr, "pvio-domain-hello: no domain: %s\n",
			strerror(-err));
		return 1;
	}
	xs = pvio_dom_xs_open(dom, &err);
	page = pvio_dom_mem_alloc(dom, 1, &pfn, &err);
	if (!xs || !page) {
		fprintf(stderr, "pvio-domain-hello: %s\n", strerror(-err));
		return 1;
	}
	snprintf(page, 4096, "hello from domain %u", pvio_dom_id(dom));
	ref = pvio_gnt_share_grant_access(pvio_dom_gnttab(dom), 0, pfn, true);

	/* Relative paths are under /local/domain/<own id>. */
	rc = pvio_xs_printf(xs, PVIO_XS_TX_NONE, "data/hello", "%s", page);
	if (!rc)
		rc = pvio_xs_printf(xs, PVIO_XS_TX_NONE, "data/grant-ref", "%d",
				    ref);
	if (rc) {
		fprintf(stderr, "pvio-domain-hello: xenstore: %s\n",
			strerror(-rc));
		return 1;
	}
	printf("domain %u: granted frame %u to dom0 as ref %d\n",
	       pvio_dom_id(dom), pfn, ref);
	fflush(stdout);
	for (;;)
		pause();
}
