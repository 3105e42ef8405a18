/* SPDX-License-Identifier: MIT */
/*
 * One vbd: probe (open the disk the toolstack named), the xenbus
 * handshake through libxenbus (publish features, connect in the given
 * transaction: read the frontend's keys, map its rings, bind its event
 * channels, start the queue threads), teardown and error reporting.
 *
 * Runs on the daemon's main thread.  Everything the frontend wrote is
 * read with pvio_xenbus_read_uint() (strict decimal, range checked) or
 * compared against fixed strings; a bad key fails this vbd only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkback.h"

bool bb_verbose;

void bb_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "pvio-blkback: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: lines of different threads do not mix. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere else to say it */
	}
}

void bb_opts_default(struct bb_opts *o)
{
	*o = (struct bb_opts){
		.engine = PVIO_DISK_IO_URING,
		.persistent = true,
		.max_queues = 4,
		.max_ring_order = 4,
		.max_indirect = 256,
		.spin_us = 50,
		.max_grants = BB_MAPTRACK,
		.queue_grants = BB_QUEUE_GRANTS,
	};
}

/* ---------------------------------------------------------------------- */
/* Mapping budget                                                         */
/* ---------------------------------------------------------------------- */

void bb_budget_init(struct bb_ctx *c)
{
	c->budget.total = c->opts.max_grants;
	/* Kept for rings: 1/16 (1024 of 16384) maps the rings of 64 queues
	 * of the largest order even when queue budgets took the rest. */
	c->budget.reserve = c->budget.total / 16U;
	c->budget.used = 0;
}

int bb_budget_take(struct bb_ctx *c, unsigned int want, unsigned int min,
		   bool ring, unsigned int *got)
{
	unsigned int limit =
		ring ? c->budget.total : c->budget.total - c->budget.reserve;
	unsigned int left = c->budget.used < limit ? limit - c->budget.used : 0;

	if (want < min)
		want = min;
	if (left < min)
		return -ENOSPC;
	*got = want < left ? want : left;
	c->budget.used += *got;
	return 0;
}

void bb_budget_put(struct bb_ctx *c, unsigned int n)
{
	c->budget.used -= n < c->budget.used ? n : c->budget.used;
}

/* ---------------------------------------------------------------------- */
/* xenstore helpers                                                       */
/* ---------------------------------------------------------------------- */

static int read_str(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
		    const char *key, char **out)
{
	char path[256];

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return pvio_xs_read(xs, tx, path, out, NULL);
}

/*
 * Write <dir>/error (and, if 'closing', state = Closing) in one
 * transaction that first checks that the directory still exists, so a
 * removed device is never re-created (xenbus_dev_fatal style).
 */
struct error_args {
	const char *dir, *msg;
	bool closing;
};

static int write_error_tx(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg)
{
	const struct error_args *a = arg;
	char *st = NULL;
	int rc = read_str(xs, tx, a->dir, "state", &st);

	free(st);
	if (rc == 0)
		rc = pvio_xs_key_printf(xs, tx, a->dir, "error", "%s", a->msg);
	if (rc == 0 && a->closing)
		rc = pvio_xs_key_printf(xs, tx, a->dir, "state", "%d",
					XenbusStateClosing);
	return rc;
}

static int write_error(struct pvio_xs *xs, const char *dir, const char *msg,
		       bool closing)
{
	struct error_args a = {dir, msg, closing};

	return pvio_xs_transact(xs, write_error_tx, &a);
}

/* ---------------------------------------------------------------------- */
/* Handshake callbacks                                                    */
/* ---------------------------------------------------------------------- */

static int vbd_publish(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct bb_vbd *v = ctx;
	const struct pvio_disk_geom *g = pvio_disk_geom(v->disk);
	const struct bb_opts *o = &v->ctx->opts;
	const char *d = pvio_xenbus_path(dev);
	struct pvio_xs *xs = v->xs;
	int rc = 0;

	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "feature-flush-cache", "1");
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, d, "feature-barrier", "1");
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "feature-discard", "%d",
				     v->lim.discard ? 1 : 0);
	if (v->lim.discard) {
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, d, "discard-granularity",
					     "%u",
					     g->discard_granularity
						     ? g->discard_granularity
						     : g->logical_block);
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, d, "discard-alignment",
					     "%u", g->discard_alignment);
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, d, "discard-secure", "%d",
					     v->lim.secure_discard ? 1 : 0);
	}
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "feature-persistent", "%d",
				     o->persistent ? 1 : 0);
	if (v->max_indirect != 0)
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, d,
					     "feature-max-indirect-segments",
					     "%u", v->max_indirect);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "max-ring-page-order", "%u",
				     o->max_ring_order);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "multi-queue-max-queues", "%u",
				     o->max_queues);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "sectors", "%llu",
				     (unsigned long long)v->lim.sectors);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "sector-size", "%u",
				     g->logical_block);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "physical-sector-size", "%u",
				     g->physical_block);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, d, "info", "%u",
				     v->lim.readonly ? VDISK_READONLY : 0U);
	return rc;
}

static void conn_fail(struct bb_vbd *v, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_fail(struct bb_vbd *v, int rc, const char *fmt, ...)
{
	char what[120];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(v->conn_err, sizeof(v->conn_err), "%d %s", -rc, what);
}

static void queues_down(struct bb_vbd *v)
{
	struct bb_ctx *c = v->ctx;

	for (unsigned int i = 0; i < BB_MAX_QUEUES; i++) {
		struct bb_ring_map *m = &v->rings[i];

		bb_queue_destroy(v->q[i]);
		v->q[i] = NULL;
		if (m->bound)
			BB_HV_CALL(c, &v->hs,
				   pvio_dom_evtchn_close(c->dom, m->port));
		if (m->addr != NULL)
			BB_HV_CALL(c, &v->hs,
				   pvio_dom_grant_unmap_range(c->dom, m->addr,
							      m->handles,
							      m->pages));
		if (m->charged)
			bb_budget_put(c, m->pages);
		memset(m, 0, sizeof(*m));
	}
	v->nq = 0;
}

/* Map, bind and set up queue i, whose keys live in 'qdir'. */
static int queue_up(struct bb_vbd *v, pvio_xs_tx_t tx, unsigned int i,
		    const char *qdir, unsigned int order)
{
	struct bb_ctx *c = v->ctx;
	struct bb_ring_map *m = &v->rings[i];
	pvio_grant_ref_t refs[1U << BB_MAX_RING_ORDER];
	unsigned int pages = 1U << order;
	uint64_t val;
	int rc, wait_fd = -1, kick_fd = -1;

	for (unsigned int p = 0; p < pages; p++) {
		char key[24];

		if (order == 0 && p == 0)
			snprintf(key, sizeof(key), "ring-ref");
		else
			snprintf(key, sizeof(key), "ring-ref%u", p);
		rc = pvio_xenbus_read_uint(v->xs, tx, qdir, key, UINT32_MAX,
					   &val);
		/* Linux accepts ring-ref0 for an order-0 ring too. */
		if (rc == -ENOENT && order == 0)
			rc = pvio_xenbus_read_uint(v->xs, tx, qdir, "ring-ref0",
						   UINT32_MAX, &val);
		if (rc < 0) {
			conn_fail(v, rc, "reading %s/%s", qdir, key);
			return rc;
		}
		refs[p] = (pvio_grant_ref_t)val;
	}
	rc = pvio_xenbus_read_uint(v->xs, tx, qdir, "event-channel", UINT32_MAX,
				   &val);
	if (rc < 0) {
		conn_fail(v, rc, "reading %s/event-channel", qdir);
		return rc;
	}
	{
		unsigned int got;

		rc = bb_budget_take(c, pages, pages, true, &got);
		if (rc < 0) {
			conn_fail(v, rc,
				  "no grant mapping budget left for ring %u "
				  "(%u pages, %u of %u in use)",
				  i, pages, c->budget.used, c->budget.total);
			return rc;
		}
		m->pages = pages;
		m->charged = true;
	}
	m->addr =
		BB_HV_CALL(c, &v->hs,
			   pvio_dom_grant_map_range(c->dom, v->fe, refs, pages,
						    false, m->handles, &rc));
	if (m->addr == NULL) {
		conn_fail(v, rc, "mapping ring %u (%u pages)", i, pages);
		return rc < 0 ? rc : -EFAULT;
	}
	m->pages = pages;
	rc = BB_HV_CALL(c, &v->hs,
			pvio_dom_evtchn_bind(c->dom, v->fe,
					     (pvio_evtchn_port_t)val,
					     &m->port));
	if (rc < 0) {
		conn_fail(v, rc, "binding event channel %llu",
			  (unsigned long long)val);
		return rc == -ENOENT ? -EINVAL : rc;
	}
	m->bound = true;
	rc = BB_HV_CALL(
		c, &v->hs,
		pvio_dom_evtchn_take_fds(c->dom, m->port, &wait_fd, &kick_fd));
	if (rc < 0) {
		conn_fail(v, rc, "event channel fds");
		return rc == -ENOENT ? -EINVAL : rc;
	}
	v->q[i] = bb_queue_create(v, i, m->addr,
				  (size_t)pages * PVIO_DOM_PAGE_SIZE, wait_fd,
				  kick_fd, &rc);
	if (v->q[i] == NULL && rc == -ENOSPC) {
		conn_fail(v, rc,
			  "no grant mapping budget left for queue %u "
			  "(%u of %u mappings reserved)",
			  i, c->budget.used, c->budget.total);
		return rc;
	}
	if (v->q[i] == NULL) {
		conn_fail(v, rc, "queue %u setup", i);
		return rc == -ENOENT ? -EINVAL : rc;
	}
	return 0;
}

static int connect_keys(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct bb_vbd *v = ctx;
	const struct bb_opts *o = &v->ctx->opts;
	const char *fdir = pvio_xenbus_other_path(dev);
	char *proto = NULL;
	uint64_t nq = 1, order = 0, pers = 0;
	int rc;

	v->conn_err[0] = '\0';
	if (fdir == NULL)
		return -ENOENT;
	rc = read_str(v->xs, tx, fdir, "protocol", &proto);
	if (rc == 0)
		rc = bb_abi_parse(proto, &v->abi);
	else if (rc == -ENOENT)
		rc = bb_abi_parse(NULL, &v->abi);
	if (rc < 0) {
		conn_fail(v, rc, "unknown protocol '%.40s'",
			  proto ? proto : "");
		free(proto);
		return rc == -ENOENT ? -EINVAL : rc;
	}
	free(proto);
	/* Anything but a clean "1" is "no" (Linux reads it leniently). */
	if (pvio_xenbus_read_uint(v->xs, tx, fdir, "feature-persistent",
				  UINT32_MAX, &pers) < 0)
		pers = 0;
	v->persistent = o->persistent && pers != 0;
	rc = pvio_xenbus_read_uint(v->xs, tx, fdir, "multi-queue-num-queues",
				   o->max_queues, &nq);
	if (rc == -ENOENT) {
		nq = 1;
	} else if (rc < 0 || nq == 0) {
		conn_fail(v, rc < 0 ? rc : -EINVAL,
			  "bad multi-queue-num-queues (max %u)", o->max_queues);
		return -EINVAL;
	}
	rc = pvio_xenbus_read_uint(v->xs, tx, fdir, "ring-page-order",
				   o->max_ring_order, &order);
	if (rc == -ENOENT) {
		order = 0;
	} else if (rc < 0) {
		conn_fail(v, rc, "bad ring-page-order (max %u)",
			  o->max_ring_order);
		return -EINVAL;
	}
	v->nq = (unsigned int)nq;
	for (unsigned int i = 0; i < v->nq; i++) {
		char qdir[192];

		if (v->nq == 1)
			snprintf(qdir, sizeof(qdir), "%s", fdir);
		else
			snprintf(qdir, sizeof(qdir), "%s/queue-%u", fdir, i);
		rc = queue_up(v, tx, i, qdir, (unsigned int)order);
		if (rc < 0) {
			queues_down(v);
			/* A key not there yet: the lib retries at the next
			 * event.  Anything else fails the device. */
			return rc;
		}
	}
	atomic_store(&v->fatal, 0);
	v->fatal_done = false;
	for (unsigned int i = 0; i < v->nq; i++) {
		rc = bb_queue_start(v->q[i]);
		if (rc < 0) {
			conn_fail(v, rc, "starting queue %u", i);
			queues_down(v);
			return rc;
		}
	}
	bb_log("vbd %s: connected, %u queue(s), ring order %u, %s, "
	       "persistent grants %s, mapping budget %u/queue (%u of %u "
	       "reserved)",
	       v->name, v->nq, (unsigned int)order,
	       v->abi == BB_ABI_X86_32 ? "x86_32-abi" : "x86_64-abi",
	       v->persistent ? "on" : "off", bb_queue_budget(v->q[0]),
	       v->ctx->budget.used, v->ctx->budget.total);
	return 0;
}

/*
 * A frontend whose keys are bad must not make us loop (connect fails ->
 * Closing -> InitWait -> connect fails ...): a hard failure is reported
 * to the library as "not yet" (nothing stays mapped) and bb_vbd_after()
 * then writes the error node and Closing as the toolstack would, which
 * the library takes as a close request: the device stays Closing until
 * the frontend lets go, and is not reconnected.
 */
static int vbd_connect(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct bb_vbd *v = ctx;
	int rc = connect_keys(dev, tx, ctx);

	if (rc == -ENOENT || rc == -EAGAIN) {
		/* A key not written yet: the next event retries. */
		v->conn_err[0] = '\0';
		return rc;
	}
	if (rc < 0) {
		v->conn_hard = true;
		return -EAGAIN;
	}
	return rc;
}

static void log_counters(struct bb_vbd *v)
{
	bb_log("vbd %s: requests %llu, errors %llu, grant maps %llu, grant "
	       "unmaps %llu, hypercalls %llu",
	       v->name, (unsigned long long)atomic_load(&v->qs.requests),
	       (unsigned long long)atomic_load(&v->qs.errors),
	       (unsigned long long)atomic_load(&v->hs.maps),
	       (unsigned long long)atomic_load(&v->hs.unmaps),
	       (unsigned long long)atomic_load(&v->hs.hypercalls));
}

static void vbd_disconnect(struct pvio_xenbus_dev *dev, void *ctx)
{
	struct bb_vbd *v = ctx;

	(void)dev;
	/* Threads first: they finish their disk I/O and unmap segments;
	 * then the rings and ports. */
	queues_down(v);
	bb_log("vbd %s: disconnected", v->name);
	log_counters(v);
}

static void vbd_report(struct pvio_xenbus_dev *dev, void *ctx, int err,
		       const char *what)
{
	struct bb_vbd *v = ctx;

	(void)dev;
	bb_log("vbd %s: %s (%d)", v->name, what, err);
}

static void vbd_after(struct bb_vbd *v);

static const struct pvio_xenbus_ops vbd_ops = {
	.publish = vbd_publish,
	.connect = vbd_connect,
	.disconnect = vbd_disconnect,
	.report = vbd_report,
};

/* ---------------------------------------------------------------------- */
/* Probe and life cycle                                                   */
/* ---------------------------------------------------------------------- */

static int probe_disk(struct bb_vbd *v, char *msg, size_t msglen)
{
	struct bb_ctx *c = v->ctx;
	char *params = NULL, *type = NULL, *mode = NULL, *eng = NULL;
	struct pvio_disk_opts o = {.engine = c->opts.engine};
	int rc;

	rc = read_str(v->xs, PVIO_XS_TX_NONE, v->path, "params", &params);
	if (rc < 0) {
		snprintf(msg, msglen, "no params");
		goto out;
	}
	if (read_str(v->xs, PVIO_XS_TX_NONE, v->path, "type", &type) == 0) {
		if (strcmp(type, "phy") == 0)
			o.expect_blockdev = true;
		else if (strcmp(type, "file") != 0) {
			rc = -EINVAL;
			snprintf(msg, msglen, "unknown type '%.32s'", type);
			goto out;
		}
	}
	if (read_str(v->xs, PVIO_XS_TX_NONE, v->path, "mode", &mode) == 0) {
		if (strcmp(mode, "r") == 0)
			o.readonly = true;
		else if (strcmp(mode, "w") != 0) {
			rc = -EINVAL;
			snprintf(msg, msglen, "unknown mode '%.32s'", mode);
			goto out;
		}
	}
	if (read_str(v->xs, PVIO_XS_TX_NONE, v->path, "io-engine", &eng) == 0 &&
	    pvio_disk_engine_parse(eng, &o.engine) < 0) {
		rc = -EINVAL;
		snprintf(msg, msglen, "unknown io-engine '%.32s'", eng);
		goto out;
	}
	o.path = params;
	v->disk = pvio_disk_open(&o, &rc);
	if (v->disk == NULL) {
		snprintf(msg, msglen, "opening %.80s: %s", params,
			 strerror(-rc));
		goto out;
	}
	const struct pvio_disk_geom *g = pvio_disk_geom(v->disk);
	v->lim.sectors = g->bytes >> PVIO_BLKIF_SECTOR_SHIFT;
	v->lim.readonly = g->readonly || o.readonly;
	v->lim.discard = g->discard && !v->lim.readonly;
	v->lim.secure_discard = v->lim.discard && g->secure_discard;
	v->max_indirect = c->opts.max_indirect;
	v->lim.max_indirect = v->max_indirect;
	bb_log("vbd %s: %s (%s, %llu sectors, %s, engine %s%s)", v->name,
	       params, g->blockdev ? "device" : "file",
	       (unsigned long long)v->lim.sectors,
	       v->lim.readonly ? "read-only" : "read-write",
	       pvio_disk_engine_name(pvio_disk_engine(v->disk)),
	       g->direct ? ", O_DIRECT" : "");
	rc = 0;
out:
	free(params);
	free(type);
	free(mode);
	free(eng);
	return rc;
}

struct bb_vbd *bb_vbd_create(struct bb_ctx *ctx, struct pvio_xs *xs,
			     const char *path, pvio_domid_t fe, uint32_t devid,
			     int *err)
{
	struct bb_vbd *v = calloc(1, sizeof(*v));
	char msg[160];
	int rc;

	if (v == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	v->ctx = ctx;
	v->xs = xs;
	v->fe = fe;
	v->devid = devid;
	snprintf(v->path, sizeof(v->path), "%s", path);
	snprintf(v->name, sizeof(v->name), "%u/%u", fe, devid);
	atomic_init(&v->fatal, 0);

	rc = probe_disk(v, msg, sizeof(msg));
	if (rc == -ENOENT && strcmp(msg, "no params") == 0) {
		/* The toolstack has not finished writing: next event. */
		free(v);
		*err = -EAGAIN;
		return NULL;
	}
	if (rc < 0) {
		bb_log("vbd %s: %s", v->name, msg);
		write_error(xs, path, msg, true);
		v->failed = true;
		return v;
	}
	struct pvio_xenbus_cfg cfg = {
		.role = PVIO_XENBUS_BACKEND,
		.type = "vbd",
		.path = path,
		.ops = &vbd_ops,
		.ctx = v,
		.close_timeout_ms = 500,
	};
	v->dev = pvio_xenbus_open(xs, &cfg, &rc);
	if (v->dev == NULL) {
		pvio_disk_close(v->disk);
		free(v);
		*err = rc;
		return NULL;
	}
	vbd_after(v);
	return v;
}

/* After the machine ran: a refused connect becomes error + Closing. */
static void vbd_after(struct bb_vbd *v)
{
	if (!v->conn_hard)
		return;
	v->conn_hard = false;
	bb_log("vbd %s: refusing the frontend: %s", v->name, v->conn_err);
	if (!pvio_xenbus_removed(v->dev))
		write_error(v->xs, v->path, v->conn_err, true);
	v->conn_err[0] = '\0';
	pvio_xenbus_handle(v->dev, NULL, NULL);
}

int bb_vbd_handle(struct bb_vbd *v, const char *path, const char *token)
{
	int rc;

	if (v->dev == NULL)
		return 0;
	rc = pvio_xenbus_handle(v->dev, path, token);
	if (rc != 0)
		vbd_after(v);
	return rc;
}

bool bb_vbd_removed(const struct bb_vbd *v)
{
	return v->dev != NULL && pvio_xenbus_removed(v->dev);
}

void bb_vbd_fatal(struct bb_vbd *v, const char *msg)
{
	int expect = 0;

	/* 0 -> 1: this thread writes the message; 1 -> 2 (release)
	 * publishes it to the main thread's acquire load in
	 * bb_vbd_check_fatal(). */
	if (!atomic_compare_exchange_strong(&v->fatal, &expect, 1))
		return;
	snprintf(v->fatal_msg, sizeof(v->fatal_msg), "%s", msg);
	atomic_store_explicit(&v->fatal, 2, memory_order_release);
	bb_log("vbd %s: %s", v->name, msg);
	if (v->ctx->notify_fd >= 0) {
		uint64_t one = 1;

		if (write(v->ctx->notify_fd, &one, sizeof(one)) < 0) {
			/* the main loop also looks every second */
		}
	}
}

void bb_vbd_check_fatal(struct bb_vbd *v)
{
	if (v->dev == NULL || v->fatal_done ||
	    atomic_load_explicit(&v->fatal, memory_order_acquire) != 2)
		return;
	v->fatal_done = true;
	if (!pvio_xenbus_removed(v->dev))
		write_error(v->xs, v->path, v->fatal_msg, true);
	/* The machine sees our Closing as a close request: disconnect. */
	pvio_xenbus_handle(v->dev, NULL, NULL);
}

void bb_vbd_destroy(struct bb_vbd *v)
{
	if (v == NULL)
		return;
	/* Disconnects (once) if still connected. */
	pvio_xenbus_close(v->dev);
	pvio_disk_close(v->disk);
	bb_debug("vbd %s: gone", v->name);
	free(v);
}
