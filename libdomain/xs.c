/* SPDX-License-Identifier: MIT */
/*
 * pvio_dom_xs_open(), in its own file so that programs which never open
 * a xenstore connection do not pull libxenbus in.
 */
#include <errno.h>
#include <unistd.h>

#include <pvio/xs.h>

#include "dom_private.h"

struct pvio_xs *pvio_dom_xs_open(struct pvio_dom *dom, int *err)
{
	unsigned int nfds;
	int fd, rc;

	if (dom == NULL) {
		rc = -EINVAL;
		goto fail;
	}
	rc = pvio__dom_call(dom, PVIO_HV_OP_XS_OPEN, 0, NULL, 0, NULL, 0, NULL,
			    NULL, &fd, 1, &nfds);
	if (rc == 0 && nfds != 1)
		rc = -EPROTO;
	if (rc < 0)
		goto fail;
	return pvio_xs_from_fd(fd, err); /* takes fd, even on failure */
fail:
	if (err != NULL)
		*err = rc;
	return NULL;
}
