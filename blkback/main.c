/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkback: the block backend daemon of a driver domain.
 *
 * Opens its domain from the environment (PVIO_DOMAIN_CRED, PVIO_RUN_DIR),
 * watches /local/domain/<self>/backend/vbd and serves every
 * <frontend>/<devid> directory that appears there, until SIGTERM/SIGINT
 * (orderly shutdown: every vbd disconnects, its I/O drained) or until
 * pvio-hv goes away.  One vbd's failure never affects another.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "blkback.h"

#define ROOT_TOKEN "pvio-blkback:root"
/* Smallest --max-grants: the rings of one vbd of the largest size
 * (16 x 16 pages) plus one worst-case request of one queue. */
#define BB_MIN_GRANTS 1024U

struct daemon {
	struct bb_ctx ctx;
	struct pvio_xs *xs;
	char root[96];
	struct bb_vbd **v;
	unsigned int nv, cap;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvio-blkback [options]\n"
		"  --engine io_uring|libaio|psync  default I/O engine "
		"(io_uring)\n"
		"  --no-persistent                 do not offer persistent "
		"grants\n"
		"  --max-queues N                  1..%u (4)\n"
		"  --max-ring-order N              0..%u (4)\n"
		"  --max-indirect N                0 or 11..%u (256)\n"
		"  --spin-us N                     busy-poll budget (50)\n"
		"  --max-grants N                  grant mappings of the "
		"daemon, %u..%u (%u)\n"
		"  --queue-grants N                mapping budget a queue "
		"asks for (%u)\n"
		"  --no-sandbox                    no seccomp filter\n"
		"  --verbose\n"
		"The domain comes from $PVIO_DOMAIN_CRED and $PVIO_RUN_DIR.\n",
		BB_MAX_QUEUES, BB_MAX_RING_ORDER, BB_MAX_INDIRECT,
		BB_MIN_GRANTS, BB_MAPTRACK, BB_MAPTRACK, BB_QUEUE_GRANTS);
}

static int parse_uint(const char *s, unsigned int lo, unsigned int hi,
		      unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct bb_opts *o, bool *sandbox)
{
	static const struct option lo[] = {
		{"engine", required_argument, NULL, 'e'},
		{"no-persistent", no_argument, NULL, 'P'},
		{"max-queues", required_argument, NULL, 'q'},
		{"max-ring-order", required_argument, NULL, 'o'},
		{"max-indirect", required_argument, NULL, 'i'},
		{"spin-us", required_argument, NULL, 's'},
		{"max-grants", required_argument, NULL, 'g'},
		{"queue-grants", required_argument, NULL, 'G'},
		{"no-sandbox", no_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case 'e':
			rc = pvio_disk_engine_parse(optarg, &o->engine);
			break;
		case 'P':
			o->persistent = false;
			break;
		case 'q':
			rc = parse_uint(optarg, 1, BB_MAX_QUEUES,
					&o->max_queues);
			break;
		case 'o':
			rc = parse_uint(optarg, 0, BB_MAX_RING_ORDER,
					&o->max_ring_order);
			break;
		case 'i':
			rc = parse_uint(optarg, 0, BB_MAX_INDIRECT,
					&o->max_indirect);
			if (!rc && o->max_indirect != 0 &&
			    o->max_indirect <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
				rc = -EINVAL;
			break;
		case 's':
			rc = parse_uint(optarg, 0, 1000000, &o->spin_us);
			break;
		case 'g':
			rc = parse_uint(optarg, BB_MIN_GRANTS, BB_MAPTRACK,
					&o->max_grants);
			break;
		case 'G':
			rc = parse_uint(optarg, 1, BB_MAPTRACK,
					&o->queue_grants);
			break;
		case 'S':
			*sandbox = false;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (rc) {
			fprintf(stderr, "pvio-blkback: bad value '%s'\n",
				optarg != NULL ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* vbd table                                                              */
/* ---------------------------------------------------------------------- */

static struct bb_vbd *find(struct daemon *d, pvio_domid_t fe, uint32_t devid)
{
	for (unsigned int i = 0; i < d->nv; i++)
		if (d->v[i]->fe == fe && d->v[i]->devid == devid)
			return d->v[i];
	return NULL;
}

static void drop(struct daemon *d, unsigned int i)
{
	bb_vbd_destroy(d->v[i]);
	d->v[i] = d->v[--d->nv];
}

static bool decimal(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Look for <F>/<devid> directories we do not serve yet. */
static void rescan(struct daemon *d)
{
	char **fes = NULL, **devs = NULL;
	unsigned int nf = 0, nd = 0;

	if (pvio_xs_directory(d->xs, PVIO_XS_TX_NONE, d->root, &fes, &nf) < 0)
		return;
	for (unsigned int i = 0; i < nf; i++) {
		uint32_t fe, devid;
		char dir[160];

		if (!decimal(fes[i], DOMID_FIRST_RESERVED - 1, &fe))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", d->root, fes[i]);
		if (pvio_xs_directory(d->xs, PVIO_XS_TX_NONE, dir, &devs, &nd) <
		    0)
			continue;
		for (unsigned int j = 0; j < nd; j++) {
			char path[192];
			struct bb_vbd *v;
			int err = 0;

			if (!decimal(devs[j], UINT32_MAX, &devid) ||
			    find(d, (pvio_domid_t)fe, devid) != NULL)
				continue;
			if (d->nv == d->cap) {
				unsigned int cap = d->cap ? d->cap * 2 : 8;
				struct bb_vbd **n =
					realloc(d->v, cap * sizeof(*n));

				if (n == NULL)
					break;
				d->v = n;
				d->cap = cap;
			}
			snprintf(path, sizeof(path), "%s/%s", dir, devs[j]);
			v = bb_vbd_create(&d->ctx, d->xs, path,
					  (pvio_domid_t)fe, devid, &err);
			if (v == NULL) {
				if (err != -EAGAIN && err != -ENOENT)
					bb_log("vbd %u/%u: %s", fe, devid,
					       strerror(-err));
				continue;
			}
			d->v[d->nv++] = v;
		}
		free(devs);
		devs = NULL;
	}
	free(fes);
}

/* Does an event under the root ask for a rescan?  Only the shape of the
 * tree matters: <F>, <F>/<D>, <F>/<D>/state or params appearing. */
static bool wants_rescan(const struct daemon *d, const char *path)
{
	size_t n = strlen(d->root);
	int depth = 0;
	const char *last = NULL;

	if (strncmp(path, d->root, n) != 0)
		return false;
	for (const char *p = path + n; *p; p++)
		if (*p == '/') {
			depth++;
			last = p + 1;
		}
	if (depth <= 2)
		return true;
	return depth == 3 &&
	       (strcmp(last, "state") == 0 || strcmp(last, "params") == 0);
}

static void on_watch(struct daemon *d, const char *path, const char *token)
{
	if (strcmp(token, ROOT_TOKEN) == 0) {
		if (wants_rescan(d, path))
			rescan(d);
		return;
	}
	for (unsigned int i = 0; i < d->nv; i++)
		if (bb_vbd_handle(d->v[i], path, token) != 0)
			return;
}

static void reap_removed(struct daemon *d)
{
	for (unsigned int i = 0; i < d->nv;) {
		struct bb_vbd *v = d->v[i];
		char st[256];
		char *val = NULL;
		bool gone = bb_vbd_removed(v);

		if (!gone && v->failed) {
			/* Never served: kept only while its dir exists. */
			snprintf(st, sizeof(st), "%s/state", v->path);
			gone = pvio_xs_read(d->xs, PVIO_XS_TX_NONE, st, &val,
					    NULL) == -ENOENT;
			free(val);
		}
		if (gone)
			drop(d, i);
		else
			i++;
	}
}

/*
 * /local/domain/<self>/data/blkback-ready = "1": the toolstack waits for
 * it instead of guessing from the process being alive.  Written once the
 * root watch is registered and the first scan done.  Failing to write it
 * (no data dir: a toolstack that does not wait) is logged, not fatal.
 */
static void announce_ready(struct daemon *d)
{
	char path[96];
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%u/data/blkback-ready",
		 pvio_dom_id(d->ctx.dom));
	rc = pvio_xs_write(d->xs, PVIO_XS_TX_NONE, path, "1", 1);
	if (rc < 0)
		bb_log("cannot write %s: %s", path, strerror(-rc));
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	struct bb_opts *o = &d.ctx.opts;
	bool sandbox = true;
	int err = 0, sfd, rc = 0;
	sigset_t ss;

	bb_opts_default(o);
	if (parse_args(argc, argv, o, &sandbox) < 0)
		return 2;
	bb_verbose = o->verbose;
	bb_budget_init(&d.ctx);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	/* Blocked before any thread starts, so queue threads inherit it. */
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);

	pthread_mutex_init(&d.ctx.hv_lock, NULL);
	d.ctx.dom = pvio_dom_open(NULL, NULL, &err);
	if (d.ctx.dom == NULL) {
		bb_log("cannot open the domain: %s", strerror(-err));
		return 1;
	}
	d.xs = pvio_dom_xs_open(d.ctx.dom, &err);
	if (d.xs == NULL) {
		bb_log("cannot open xenstore: %s", strerror(-err));
		pvio_dom_close(d.ctx.dom);
		return 1;
	}
	d.ctx.notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(d.root, sizeof(d.root), "/local/domain/%u/backend/vbd",
		 pvio_dom_id(d.ctx.dom));
	rc = pvio_xs_watch(d.xs, d.root, ROOT_TOKEN);
	if (rc < 0 || sfd < 0 || d.ctx.notify_fd < 0) {
		bb_log("cannot watch %s: %s", d.root, strerror(-rc));
		return 1;
	}
	if (sandbox) {
		rc = bb_sandbox_apply();
		if (rc < 0) {
			bb_log("sandbox: %s", strerror(-rc));
			return 1;
		}
	}
	bb_log("domain %u serving %s (engine %s, persistent %s, queues %u, "
	       "ring order %u, indirect %u, spin %u us, grants %u, %u/queue%s)",
	       pvio_dom_id(d.ctx.dom), d.root, pvio_disk_engine_name(o->engine),
	       o->persistent ? "on" : "off", o->max_queues, o->max_ring_order,
	       o->max_indirect, o->spin_us, o->max_grants, o->queue_grants,
	       sandbox ? ", sandboxed" : "");
	/* Serve what is there already, then tell the toolstack we watch:
	 * from now on no backend dir it writes can be missed. */
	rescan(&d);
	announce_ready(&d);

	for (;;) {
		struct pollfd p[4] = {
			{.fd = pvio_xs_fd(d.xs), .events = POLLIN},
			{.fd = d.ctx.notify_fd, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
			{.fd = pvio_dom_fd(d.ctx.dom), .events = POLLIN},
		};
		char *wpath, *tok;
		uint64_t cnt;
		bool any = false;

		if (poll(p, 4, 1000) < 0 && errno != EINTR)
			break;
		if (p[2].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				bb_log("signal %u: shutting down",
				       si.ssi_signo);
				break;
			}
		}
		if (p[3].revents & (POLLHUP | POLLERR)) {
			bb_log("pvio-hv went away");
			rc = 1;
			break;
		}
		if (p[3].revents & POLLIN) {
			pvio_evtchn_port_t ports[16];
			int n;

			/* Nothing of ours arrives here (queue ports were
			 * taken); drain so the fd does not stay ready. */
			pthread_mutex_lock(&d.ctx.hv_lock);
			while ((n = pvio_dom_evtchn_pending(d.ctx.dom, ports,
							    16)) > 0)
				for (int i = 0; i < n; i++)
					pvio_dom_evtchn_unmask(d.ctx.dom,
							       ports[i]);
			pthread_mutex_unlock(&d.ctx.hv_lock);
			if (n == -ECONNRESET) {
				bb_log("pvio-hv went away");
				rc = 1;
				break;
			}
		}
		while (pvio_xs_read_watch(d.xs, &wpath, &tok, 0) == 0) {
			on_watch(&d, wpath, tok);
			free(wpath);
			free(tok);
			any = true;
		}
		if (read(d.ctx.notify_fd, &cnt, sizeof(cnt)) < 0) {
			/* nothing pending */
		}
		for (unsigned int i = 0; i < d.nv; i++)
			bb_vbd_check_fatal(d.v[i]);
		if (any)
			reap_removed(&d);
	}
	while (d.nv > 0)
		drop(&d, d.nv - 1);
	free(d.v);
	pvio_xs_close(d.xs);
	pvio_dom_close(d.ctx.dom);
	close(d.ctx.notify_fd);
	close(sfd);
	bb_log("exit");
	return rc;
}
