/* SPDX-License-Identifier: MIT */
/*
 * Driver domains: domains whose process is a backend daemon
 * (pvio-blkback).  The toolstack starts the default one on demand, as
 * libxl expects a driver domain named in `backend=` to exist, and waits
 * until the daemon says it serves before it hands it any device.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <pvio/domain.h>
#include <pvio/io/xenbus.h>
#include <pvio/xs.h>

#include "tool.h"

/* Memory of a driver domain the toolstack starts by itself: blkback
 * maps its guests' pages and allocates only rings' worth of its own. */
#define DRIVER_MEMORY_MB 64U

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool xs_exists(struct pvio_xs *xs, const char *path)
{
	char *v = NULL;
	int rc = pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &v, NULL);

	free(v);
	return rc == 0;
}

/*
 * pvio-blkback writes data/blkback-ready once its watch on its backend
 * directory is registered and the vbds already there are scanned: from
 * then on no vbd the toolstack writes can be missed.
 */
int pvio_tool_driver_wait(struct pvio_dom *dom0, struct pvio_xs *xs,
			  pvio_domid_t domid, int timeout_ms,
			  struct pvio_tool_err *e)
{
	char ready[96], alive[96];
	long start = now_ms(), deadline = start + timeout_ms;

	(void)dom0;
	snprintf(ready, sizeof(ready), "/local/domain/%u/data/blkback-ready",
		 domid);
	/* pvio-hv removes the whole subtree when the domain dies. */
	snprintf(alive, sizeof(alive), "/local/domain/%u/domid", domid);
	for (;;) {
		if (xs_exists(xs, ready))
			return 0;
		if (!xs_exists(xs, alive))
			return pvio_tool_fail(e, -ESRCH,
					      "driver domain %u died while "
					      "starting",
					      domid);
		if (now_ms() >= deadline)
			return pvio_tool_fail(e, -ETIMEDOUT,
					      "driver domain %u: its daemon "
					      "did not report ready (%s) "
					      "within %d ms",
					      domid, ready, timeout_ms);
		/* Polling, not a watch: the node appears once, within
		 * milliseconds, and death must be noticed too. */
		usleep(10000);
	}
}

int pvio_tool_driver_start(struct pvio_dom *dom0, struct pvio_xs *xs,
			   const char *run_dir, const char *name,
			   char *const *args, FILE *out, pvio_domid_t *domid,
			   struct pvio_tool_err *e)
{
	struct pvio_tool_domcfg dc;
	size_t n = 0;
	int rc;

	while (args && args[n])
		n++;
	memset(&dc, 0, sizeof(dc));
	if (strlen(name) >= sizeof(dc.name))
		return pvio_tool_fail(e, -ENAMETOOLONG, "name too long");
	strcpy(dc.name, name);
	strcpy(dc.driver, "blkback");
	dc.memory_mb = DRIVER_MEMORY_MB;
	dc.argv = calloc(n + 2, sizeof(char *));
	if (!dc.argv)
		return -ENOMEM;
	char bin[PATH_MAX];

	pvio_tool_find_binary("pvio-blkback", "blkback", bin, sizeof(bin));
	rc = -ENOMEM;
	dc.argv[0] = strdup(bin);
	if (!dc.argv[0])
		goto out;
	for (size_t i = 0; i < n; i++) {
		dc.argv[i + 1] = strdup(args[i]);
		if (!dc.argv[i + 1])
			goto out;
	}
	/* pvio_tool_create() waits for the daemon of a driver domain. */
	rc = pvio_tool_create(dom0, xs, run_dir, &dc, false, NULL, domid, e);
	if (!rc && out)
		fprintf(out,
			"driver domain %s started: domid %u (%s, log "
			"%s/log/%s.log)\n",
			name, *domid, bin, run_dir, name);
out:
	pvio_tool_domcfg_free(&dc);
	return rc;
}

int pvio_tool_backend_resolve(struct pvio_dom *dom0, struct pvio_xs *xs,
			      const char *run_dir, const char *backend,
			      FILE *out, pvio_domid_t *domid,
			      struct pvio_tool_err *e)
{
	int rc;

	*domid = 0;
	if (!strcmp(backend, "Domain-0") || !strcmp(backend, "0"))
		return 0;
	if (backend[0]) {
		rc = pvio_tool_domid(dom0, backend, domid, e);
		if (rc == -ENOENT)
			pvio_tool_fail(e, rc,
				       "backend: no domain named '%s' (start "
				       "it: `pvio driver-domain start --name "
				       "%s`)",
				       backend, backend);
		return rc;
	}
	rc = pvio_dom_ctl_lookup(dom0, PVIO_TOOL_DEFAULT_DRIVER, domid);
	if (rc == -ENOENT) {
		rc = pvio_tool_driver_start(dom0, xs, run_dir,
					    PVIO_TOOL_DEFAULT_DRIVER, NULL, out,
					    domid, e);
		if (rc != -EEXIST)
			return rc;
		/* Another `pvio` started it in between: use that one. */
		rc = pvio_dom_ctl_lookup(dom0, PVIO_TOOL_DEFAULT_DRIVER, domid);
	}
	if (rc)
		return pvio_tool_fail(e, rc, "looking up driver domain %s: %s",
				      PVIO_TOOL_DEFAULT_DRIVER, strerror(-rc));
	/* Running, but perhaps only just started by someone else. */
	return pvio_tool_driver_wait(dom0, xs, *domid, 10000, e);
}

int pvio_tool_domain_pid(struct pvio_dom *dom0, pvio_domid_t domid)
{
	struct pvio_dom_info *info;
	int n = pvio_dom_ctl_list(dom0, NULL, 0), pid = -ESRCH;

	if (n < 0)
		return n;
	info = calloc((size_t)n + 16, sizeof(*info));
	if (!info)
		return -ENOMEM;
	n = pvio_dom_ctl_list(dom0, info, (unsigned int)n + 16);
	for (int i = 0; i < n; i++)
		if (info[i].domid == domid && info[i].pid > 0)
			pid = info[i].pid;
	free(info);
	return pid;
}

int pvio_tool_driver_stop(struct pvio_dom *dom0, struct pvio_xs *xs,
			  const char *name, int timeout_ms,
			  struct pvio_tool_err *e)
{
	pvio_domid_t domid;
	int rc = pvio_tool_domid(dom0, name, &domid, e), pid, pfd;

	if (rc)
		return rc;
	pid = pvio_tool_domain_pid(dom0, domid);
	/* SIGTERM first so the daemon closes its vbds (and frontends see
	 * Closed, not a vanished backend); a pidfd, so the wait follows
	 * this very process and not whatever reuses its pid. */
	pfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0) ==
		    0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};

			poll(&p, 1, timeout_ms);
		}
		close(pfd);
	}
	rc = pvio_tool_destroy(dom0, xs, domid, e);
	/* It may have been released already when its process exited. */
	if (rc == -ESRCH || rc == -ENOENT)
		rc = 0;
	return rc;
}
