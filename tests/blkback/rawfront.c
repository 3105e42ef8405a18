/* SPDX-License-Identifier: MIT */
/*
 * rawfront: see rawfront.h.  The test plays both the toolstack (dom0:
 * domains, the xenstore layout) and a frontend whose every byte it
 * chooses.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pvio/grant.h>
#include <pvio/io/protocols.h>
#include <pvio/io/xenbus.h>

#include "rawfront.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rf_wait(int (*cond)(void *), void *arg, int ms)
{
	int64_t end = now_ms() + ms;
	struct timespec ts = {0, 1000000};

	for (;;) {
		if (cond(arg))
			return 0;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}

/* ---------------------------------------------------------------------- */
/* World                                                                  */
/* ---------------------------------------------------------------------- */

int rf_world_start(struct rf_world *w)
{
	int err = 0, rc;

	memset(w, 0, sizeof(*w));
	signal(SIGPIPE, SIG_IGN);
	rc = hvtest_start(&w->hv, NULL);
	if (rc)
		return rc;
	w->dom0 = pvio_dom_open_dom0(w->hv.dir, &err);
	if (w->dom0 == NULL)
		return err;
	w->xs = pvio_xs_open(w->hv.xs_path, &err);
	if (w->xs == NULL)
		return err;
	return 0;
}

int rf_world_stop(struct rf_world *w)
{
	pvio_xs_close(w->xs);
	pvio_dom_close(w->dom0);
	w->xs = NULL;
	w->dom0 = NULL;
	return hvtest_stop(&w->hv);
}

static int mkdir_perms(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		       const struct pvio_xs_perm *p, unsigned int n)
{
	int rc = pvio_xs_mkdir(xs, tx, path);

	return rc ? rc : pvio_xs_set_perms(xs, tx, path, p, n);
}

struct dom_setup {
	pvio_domid_t id;
	const char *name;
};

/* /local/domain/<id> as libxl makes it: dom0-owned, readable by id. */
static int dom_setup(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg)
{
	struct dom_setup *d = arg;
	const struct pvio_xs_perm ro[] = {{0, 'n'}, {d->id, 'r'}};
	char path[96];
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%u", d->id);
	rc = mkdir_perms(xs, tx, path, ro, 2);
	if (!rc) {
		snprintf(path, sizeof(path), "/local/domain/%u/device", d->id);
		rc = mkdir_perms(xs, tx, path, ro, 2);
	}
	if (!rc) {
		/* Writable by the domain, as libxl makes it (the daemon
		 * announces itself in data/blkback-ready). */
		const struct pvio_xs_perm rw[] = {{d->id, 'n'}};

		snprintf(path, sizeof(path), "/local/domain/%u/data", d->id);
		rc = mkdir_perms(xs, tx, path, rw, 1);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "/local/domain/%u/name", d->id);
		rc = pvio_xs_write(xs, tx, path, d->name, strlen(d->name));
	}
	return rc;
}

static int new_domain(struct rf_world *w, const char *role, pvio_domid_t *id,
		      char *cred, unsigned int mem)
{
	struct dom_setup d;
	char name[32];
	int rc;

	snprintf(name, sizeof(name), "%s-%d", role, w->seq++);
	rc = pvio_dom_ctl_create(w->dom0, name, mem, id, cred);
	if (rc)
		return rc;
	d.id = *id;
	d.name = name;
	return pvio_xs_transact(w->xs, dom_setup, &d);
}

/* ---------------------------------------------------------------------- */
/* Backend                                                                */
/* ---------------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	char tmp[4096];
	size_t k;

	while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, k, m);
	fclose(f);
	fclose(m);
	return buf;
}

int rf_back_start(struct rf_world *w, struct rf_back *b,
		  const char *const *args)
{
	char cred[PVIO_DOM_CRED_MAX];
	const char *argv[32];
	int n = 0, rc, fd;

	memset(b, 0, sizeof(*b));
	rc = new_domain(w, "blkback", &b->domid, cred, 64);
	if (rc)
		return rc;
	snprintf(b->log, sizeof(b->log), "%s/blkback-%u.log", w->hv.dir,
		 b->domid);
	argv[n++] = PVIO_BLKBACK_BIN;
	for (int i = 0; args != NULL && args[i] != NULL && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	b->pid = fork();
	if (b->pid < 0) {
		close(fd);
		return -errno;
	}
	if (b->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		setenv(PVIO_DOM_CRED_ENV, cred, 1);
		setenv(PVIO_DOM_RUNDIR_ENV, w->hv.dir, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	explicit_bzero(cred, sizeof(cred));
	/* pvio-hv ties the domain's life to the process from now on. */
	return pvio_dom_ctl_set_pid(w->dom0, b->domid, b->pid);
}

int rf_back_wait_ready(struct rf_world *w, struct rf_back *b, int ms)
{
	char path[96];
	int64_t end = now_ms() + ms;

	snprintf(path, sizeof(path), "/local/domain/%u/data/blkback-ready",
		 b->domid);
	for (;;) {
		char *val = NULL;
		int rc = pvio_xs_read(w->xs, PVIO_XS_TX_NONE, path, &val, NULL);

		if (rc == 0) {
			rc = strcmp(val, "1") == 0 ? 0 : -EPROTO;
			free(val);
			return rc;
		}
		if (rc != -ENOENT)
			return rc;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

bool rf_back_alive(struct rf_back *b)
{
	return b->pid > 0 && waitpid(b->pid, NULL, WNOHANG) == 0;
}

int rf_back_stop(struct rf_world *w, struct rf_back *b)
{
	int64_t end = now_ms() + 10000;
	int st = 0;
	pid_t r;

	(void)w;
	if (b->pid <= 0)
		return -1;
	kill(b->pid, SIGTERM);
	while ((r = waitpid(b->pid, &st, WNOHANG)) == 0 && now_ms() < end)
		usleep(2000);
	if (r == 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &st, 0);
		b->pid = 0;
		return -1;
	}
	b->pid = 0;
	st = r < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (st != 0) {
		/* A crash or a sanitizer report: show what it said. */
		char *log = slurp(b->log);

		fprintf(stderr, "pvio-blkback exit %d; its log:\n%s\n", st,
			log != NULL ? log : "(none)");
		free(log);
	}
	return st;
}

bool rf_back_log_has(const struct rf_back *b, const char *needle)
{
	char *s = slurp(b->log);
	bool yes = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return yes;
}

int rf_back_counters(const struct rf_back *b, const char *vbd,
		     struct rf_counters *c)
{
	char *s = slurp(b->log), *p, *last = NULL;
	char key[64];
	int rc = -ENOENT;

	if (s == NULL)
		return -ENOENT;
	snprintf(key, sizeof(key), "vbd %s: requests ", vbd);
	for (p = s; (p = strstr(p, key)) != NULL; p++)
		last = p;
	if (last != NULL) {
		unsigned long long r, e, m, u, h;

		if (sscanf(last + strlen(key),
			   "%llu, errors %llu, grant maps %llu, grant unmaps "
			   "%llu, hypercalls %llu",
			   &r, &e, &m, &u, &h) == 5) {
			*c = (struct rf_counters){r, e, m, u, h};
			rc = 0;
		}
	}
	free(s);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Frontend domain and its pages                                          */
/* ---------------------------------------------------------------------- */

int rf_front_create(struct rf_world *w, struct rf_front *f,
		    unsigned int mem_pages)
{
	char cred[PVIO_DOM_CRED_MAX];
	int err = 0, rc;

	memset(f, 0, sizeof(*f));
	rc = new_domain(w, "front", &f->domid, cred, mem_pages);
	if (rc)
		return rc;
	f->dom = pvio_dom_open(w->hv.dir, cred, &err);
	explicit_bzero(cred, sizeof(cred));
	if (f->dom == NULL)
		return err;
	f->xs = pvio_dom_xs_open(f->dom, &err);
	if (f->xs == NULL)
		return err;
	if (pvio_dom_gnttab(f->dom) == NULL)
		return -EBUSY;
	return 0;
}

void rf_front_destroy(struct rf_world *w, struct rf_front *f)
{
	pvio_xs_close(f->xs);
	pvio_dom_close(f->dom);
	if (w->dom0 != NULL && f->domid != 0)
		pvio_dom_ctl_destroy(w->dom0, f->domid);
	memset(f, 0, sizeof(*f));
}

int rf_buf_alloc(struct rf_front *f, pvio_domid_t back, unsigned int n,
		 bool readonly, struct rf_buf *b)
{
	int err = 0;

	if (n == 0 || n > RF_BUF_MAX)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->addr = pvio_dom_mem_alloc(f->dom, n, &b->pfn, &err);
	if (b->addr == NULL)
		return err;
	b->n = n;
	for (unsigned int i = 0; i < n; i++) {
		int r = pvio_gnt_share_grant_access(pvio_dom_gnttab(f->dom),
						    back, b->pfn + i, readonly);
		if (r < 0)
			return r;
		b->gref[i] = (pvio_grant_ref_t)r;
	}
	return 0;
}

int rf_buf_free(struct rf_front *f, struct rf_buf *b)
{
	int rc = 0;

	for (unsigned int i = 0; i < b->n; i++) {
		int64_t end = now_ms() + 2000;
		int r;

		while ((r = pvio_dom_grant_end(f->dom, b->gref[i])) == -EBUSY &&
		       now_ms() < end)
			usleep(1000);
		if (r && !rc)
			rc = r;
	}
	if (b->n)
		pvio_dom_mem_free(f->dom, b->pfn, b->n);
	b->n = 0;
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Devices                                                                */
/* ---------------------------------------------------------------------- */

struct add_args {
	struct rf_vbd *v;
	pvio_domid_t fe, be;
	const char *image, *engine;
	bool writable;
};

static int vbd_add_tx(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg)
{
	struct add_args *a = arg;
	struct rf_vbd *v = a->v;
	const struct pvio_xs_perm fperm[] = {{a->fe, 'n'}, {a->be, 'r'}};
	const struct pvio_xs_perm bperm[] = {{a->be, 'n'}, {a->fe, 'r'}};
	const struct pvio_xs_perm bpar[] = {{a->be, 'n'}};
	const struct pvio_xs_perm fpar[] = {{0, 'n'}, {a->fe, 'r'}};
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%u/backend", a->be);
	rc = mkdir_perms(xs, tx, path, bpar, 1);
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd", a->be);
	rc = rc ? rc : mkdir_perms(xs, tx, path, bpar, 1);
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u", a->be,
		 a->fe);
	rc = rc ? rc : mkdir_perms(xs, tx, path, bpar, 1);
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd", a->fe);
	rc = rc ? rc : mkdir_perms(xs, tx, path, fpar, 2);
	rc = rc ? rc : mkdir_perms(xs, tx, v->fpath, fperm, 2);
	rc = rc ? rc : mkdir_perms(xs, tx, v->bpath, bperm, 2);
	/* Frontend dir. */
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->fpath, "backend", "%s",
				     v->bpath);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->fpath, "backend-id", "%u",
				     a->be);
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->fpath, "state", "1");
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->fpath, "virtual-device", "%u",
				     v->devid);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->fpath, "device-type", "disk");
	/* Backend dir. */
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->bpath, "frontend", "%s",
				     v->fpath);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->bpath, "frontend-id", "%u",
				     a->fe);
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->bpath, "online", "1");
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->bpath, "mode",
				     a->writable ? "w" : "r");
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->bpath, "params", "%s",
				     a->image);
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->bpath, "type", "file");
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->bpath, "dev", "xvda");
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->bpath, "device-type", "disk");
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->bpath, "removable", "0");
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->bpath, "bootable", "1");
	if (a->engine != NULL)
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, v->bpath, "io-engine",
					     "%s", a->engine);
	rc = rc ? rc : pvio_xs_key_printf(xs, tx, v->bpath, "state", "1");
	return rc;
}

int rf_vbd_add(struct rf_world *w, struct rf_vbd *v, struct rf_front *f,
	       struct rf_back *b, uint32_t devid, const char *image,
	       bool writable, const char *engine)
{
	struct add_args a = {v, f->domid, b->domid, image, engine, writable};
	int rc;

	memset(v, 0, sizeof(*v));
	v->w = w;
	v->f = f;
	v->back = b->domid;
	v->devid = devid;
	for (unsigned int i = 0; i < 16; i++)
		v->q[i].wait_fd = v->q[i].kick_fd = -1;
	snprintf(v->fpath, sizeof(v->fpath), "/local/domain/%u/device/vbd/%u",
		 f->domid, devid);
	snprintf(v->bpath, sizeof(v->bpath),
		 "/local/domain/%u/backend/vbd/%u/%u", b->domid, f->domid,
		 devid);
	rc = pvio_xs_transact(w->xs, vbd_add_tx, &a);
	if (rc)
		return rc;
	return rf_vbd_wait_state(v, XenbusStateInitWait, 5000);
}

char *rf_vbd_bkey(struct rf_vbd *v, const char *key)
{
	char path[256], *val = NULL;

	snprintf(path, sizeof(path), "%s/%s", v->bpath, key);
	if (pvio_xs_read(v->w->xs, PVIO_XS_TX_NONE, path, &val, NULL))
		return NULL;
	return val;
}

struct state_wait {
	struct rf_vbd *v;
	int state;
};

static int state_is(void *arg)
{
	struct state_wait *s = arg;
	char *val = rf_vbd_bkey(s->v, "state");
	int yes = val != NULL && atoi(val) == s->state;

	free(val);
	return yes;
}

int rf_vbd_wait_state(struct rf_vbd *v, int state, int ms)
{
	struct state_wait s = {v, state};

	return rf_wait(state_is, &s, ms);
}

int rf_vbd_fkey(struct rf_vbd *v, const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", v->fpath, key);
	return pvio_xs_write(v->f->xs, PVIO_XS_TX_NONE, path, val, strlen(val));
}

int rf_vbd_set_state(struct rf_vbd *v, int state)
{
	char val[8];

	snprintf(val, sizeof(val), "%d", state);
	return rf_vbd_fkey(v, "state", val);
}

static size_t entry_size(enum rf_abi abi)
{
	return abi == RF_ABI_X86_32
		       ? sizeof(union pvio_blkif_x86_32_sring_entry)
		       : sizeof(union pvio_blkif_x86_64_sring_entry);
}

int rf_vbd_rings(struct rf_vbd *v, const struct rf_conn *c)
{
	struct rf_front *f = v->f;
	int err = 0, rc;

	v->c = *c;
	v->nq = c->queues ? c->queues : 1;
	v->req_size = c->abi == RF_ABI_X86_32
			      ? sizeof(struct pvio_blkif_x86_32_request)
			      : sizeof(struct pvio_blkif_x86_64_request);
	v->rsp_size = c->abi == RF_ABI_X86_32
			      ? sizeof(struct pvio_blkif_x86_32_response)
			      : sizeof(struct pvio_blkif_x86_64_response);
	for (unsigned int i = 0; i < v->nq; i++) {
		struct rf_q *q = &v->q[i];

		q->pages = 1U << c->order;
		q->ring = pvio_dom_mem_alloc(f->dom, q->pages, &q->pfn, &err);
		if (q->ring == NULL)
			return err;
		for (unsigned int p = 0; p < q->pages; p++) {
			rc = pvio_gnt_share_grant_access(
				pvio_dom_gnttab(f->dom), v->back, q->pfn + p,
				false);
			if (rc < 0)
				return rc;
			q->gref[p] = (pvio_grant_ref_t)rc;
		}
		rc = pvio_ring_front_init(
			&q->r, q->ring, (size_t)q->pages * PVIO_DOM_PAGE_SIZE,
			entry_size(c->abi), v->req_size, v->rsp_size, 0);
		if (rc < 0)
			return rc;
		rc = pvio_dom_evtchn_alloc_unbound(f->dom, v->back, &q->port);
		if (rc)
			return rc;
	}
	v->rings = true;
	return 0;
}

static int keys_tx(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg)
{
	struct rf_vbd *v = arg;
	int rc = 0;

	if (!v->c.no_protocol)
		rc = pvio_xs_key_printf(xs, tx, v->fpath, "protocol", "%s",
					v->c.abi == RF_ABI_X86_32
						? XEN_IO_PROTO_ABI_X86_32
						: XEN_IO_PROTO_ABI_X86_64);
	rc = rc ? rc
		: pvio_xs_key_printf(xs, tx, v->fpath, "feature-persistent",
				     "%d", v->c.persistent ? 1 : 0);
	if (v->nq > 1)
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, v->fpath,
					     "multi-queue-num-queues", "%u",
					     v->nq);
	if (v->c.order > 0 || v->c.write_order)
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, v->fpath,
					     "ring-page-order", "%u",
					     v->c.order);
	for (unsigned int i = 0; !rc && i < v->nq; i++) {
		char dir[160];

		if (v->nq == 1)
			snprintf(dir, sizeof(dir), "%s", v->fpath);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", v->fpath, i);
		for (unsigned int p = 0; !rc && p < v->q[i].pages; p++) {
			if (v->c.order == 0)
				rc = pvio_xs_key_printf(xs, tx, dir, "ring-ref",
							"%u", v->q[i].gref[0]);
			else {
				char k[24];

				snprintf(k, sizeof(k), "ring-ref%u", p);
				rc = pvio_xs_key_printf(xs, tx, dir, k, "%u",
							v->q[i].gref[p]);
			}
		}
		rc = rc ? rc
			: pvio_xs_key_printf(xs, tx, dir, "event-channel", "%u",
					     v->q[i].port);
	}
	return rc;
}

int rf_vbd_write_keys(struct rf_vbd *v)
{
	return pvio_xs_transact(v->f->xs, keys_tx, v);
}

static int take_fds(struct rf_vbd *v)
{
	for (unsigned int i = 0; i < v->nq; i++) {
		struct rf_q *q = &v->q[i];
		int rc;

		if (q->wait_fd >= 0)
			continue;
		rc = pvio_dom_evtchn_take_fds(v->f->dom, q->port, &q->wait_fd,
					      &q->kick_fd);
		if (rc)
			return rc;
		fcntl(q->wait_fd, F_SETFL,
		      fcntl(q->wait_fd, F_GETFL) | O_NONBLOCK);
	}
	return 0;
}

int rf_vbd_connect(struct rf_vbd *v, const struct rf_conn *c)
{
	int rc = rf_vbd_rings(v, c);

	rc = rc ? rc : rf_vbd_write_keys(v);
	rc = rc ? rc : rf_vbd_set_state(v, XenbusStateInitialised);
	rc = rc ? rc : rf_vbd_wait_state(v, XenbusStateConnected, 5000);
	rc = rc ? rc : take_fds(v);
	rc = rc ? rc : rf_vbd_set_state(v, XenbusStateConnected);
	return rc;
}

int rf_vbd_close(struct rf_vbd *v, bool remove)
{
	int rc = rf_vbd_set_state(v, XenbusStateClosing);
	char *st;

	/* The backend lets go of our rings once it is Closing/Closed. */
	if (rf_vbd_wait_state(v, XenbusStateClosing, 3000) &&
	    rf_vbd_wait_state(v, XenbusStateClosed, 100))
		if ((st = rf_vbd_bkey(v, "state")) != NULL) {
			/* InitWait after a failed connect is also free. */
			if (atoi(st) != XenbusStateInitWait)
				rc = rc ? rc : -ETIMEDOUT;
			free(st);
		}
	rf_vbd_set_state(v, XenbusStateClosed);
	for (unsigned int i = 0; v->rings && i < v->nq; i++) {
		struct rf_q *q = &v->q[i];

		if (q->wait_fd >= 0)
			close(q->wait_fd);
		if (q->kick_fd >= 0)
			close(q->kick_fd);
		q->wait_fd = q->kick_fd = -1;
		pvio_dom_evtchn_close(v->f->dom, q->port);
		for (unsigned int p = 0; p < q->pages; p++) {
			int64_t end = now_ms() + 3000;
			int r;

			while ((r = pvio_dom_grant_end(v->f->dom,
						       q->gref[p])) == -EBUSY &&
			       now_ms() < end)
				usleep(1000);
			if (r && !rc)
				rc = r;
		}
		pvio_dom_mem_free(v->f->dom, q->pfn, q->pages);
	}
	v->rings = false;
	if (remove) {
		pvio_xs_rm(v->w->xs, PVIO_XS_TX_NONE, v->bpath);
		pvio_xs_rm(v->w->xs, PVIO_XS_TX_NONE, v->fpath);
	}
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Requests and responses                                                 */
/* ---------------------------------------------------------------------- */

int rf_put_raw(struct rf_vbd *v, unsigned int qi, const void *raw, size_t len)
{
	unsigned char buf[sizeof(struct pvio_blkif_x86_64_request)] = {0};

	if (len > v->req_size)
		return -EINVAL;
	memcpy(buf, raw, len);
	return pvio_ring_front_produce(&v->q[qi].r, buf, 1) == 1 ? 0 : -ENOSPC;
}

#define FILL_RW(T)                                                             \
	do {                                                                   \
		T r;                                                           \
		memset(&r, 0, sizeof(r));                                      \
		r.operation = op;                                              \
		r.nr_segments = (uint8_t)nseg;                                 \
		r.handle = (uint16_t)v->devid;                                 \
		r.id = id;                                                     \
		r.sector_number = sector;                                      \
		for (unsigned int i = 0;                                       \
		     i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {    \
			r.seg[i].gref = seg[i].gref;                           \
			r.seg[i].first_sect = seg[i].first;                    \
			r.seg[i].last_sect = seg[i].last;                      \
		}                                                              \
		return rf_put_raw(v, qi, &r, sizeof(r));                       \
	} while (0)

int rf_put_rw(struct rf_vbd *v, unsigned int qi, uint8_t op, uint64_t id,
	      uint64_t sector, unsigned int nseg, const struct rf_seg *seg)
{
	if (v->c.abi == RF_ABI_X86_32)
		FILL_RW(struct pvio_blkif_x86_32_request);
	FILL_RW(struct pvio_blkif_x86_64_request);
}

#define FILL_DISCARD(T)                                                        \
	do {                                                                   \
		T r;                                                           \
		memset(&r, 0, sizeof(r));                                      \
		r.operation = BLKIF_OP_DISCARD;                                \
		r.flag = flag;                                                 \
		r.handle = (uint16_t)v->devid;                                 \
		r.id = id;                                                     \
		r.sector_number = sector;                                      \
		r.nr_sectors = nr;                                             \
		return rf_put_raw(v, qi, &r, sizeof(r));                       \
	} while (0)

int rf_put_discard(struct rf_vbd *v, unsigned int qi, uint64_t id,
		   uint64_t sector, uint64_t nr, uint8_t flag)
{
	if (v->c.abi == RF_ABI_X86_32)
		FILL_DISCARD(struct pvio_blkif_x86_32_request_discard);
	FILL_DISCARD(struct pvio_blkif_x86_64_request_discard);
}

#define FILL_IND(T)                                                            \
	do {                                                                   \
		T r;                                                           \
		memset(&r, 0, sizeof(r));                                      \
		r.operation = BLKIF_OP_INDIRECT;                               \
		r.indirect_op = iop;                                           \
		r.nr_segments = nseg;                                          \
		r.handle = (uint16_t)v->devid;                                 \
		r.id = id;                                                     \
		r.sector_number = sector;                                      \
		for (unsigned int i = 0;                                       \
		     i < npages && i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;   \
		     i++)                                                      \
			r.indirect_grefs[i] = igrefs[i];                       \
		return rf_put_raw(v, qi, &r, sizeof(r));                       \
	} while (0)

int rf_put_indirect(struct rf_vbd *v, unsigned int qi, uint8_t iop, uint64_t id,
		    uint64_t sector, uint16_t nseg,
		    const pvio_grant_ref_t *igrefs, unsigned int npages)
{
	if (v->c.abi == RF_ABI_X86_32)
		FILL_IND(struct pvio_blkif_x86_32_request_indirect);
	FILL_IND(struct pvio_blkif_x86_64_request_indirect);
}

void rf_kick(struct rf_vbd *v, unsigned int qi)
{
	uint64_t one = 1;

	if (v->q[qi].kick_fd >= 0 &&
	    write(v->q[qi].kick_fd, &one, sizeof(one)) < 0) {
		/* backend gone */
	}
}

int rf_push(struct rf_vbd *v, unsigned int qi, bool force)
{
	int rc = pvio_ring_front_push(&v->q[qi].r);

	if (rc < 0)
		return rc;
	if (rc == 1 || force)
		rf_kick(v, qi);
	return 0;
}

int rf_get_rsp(struct rf_vbd *v, unsigned int qi, struct rf_rsp *out, int ms)
{
	struct rf_q *q = &v->q[qi];
	int64_t end = now_ms() + ms;
	unsigned char raw[sizeof(struct pvio_blkif_x86_64_response)];

	for (;;) {
		int n = pvio_ring_front_final_check(&q->r);

		if (n < 0)
			return n;
		if (n > 0)
			break;
		int left = (int)(end - now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = q->wait_fd, .events = POLLIN};
		poll(&p, 1, left > 20 ? 20 : left);
		uint64_t cnt;
		while (read(q->wait_fd, &cnt, sizeof(cnt)) > 0)
			;
	}
	if (pvio_ring_front_consume(&q->r, raw, 1) != 1)
		return -EPROTO;
	if (v->c.abi == RF_ABI_X86_32) {
		struct pvio_blkif_x86_32_response r;

		memcpy(&r, raw, sizeof(r));
		out->id = r.id;
		out->op = r.operation;
		out->status = r.status;
		out->pad_zero = r._pad1 == 0;
	} else {
		struct pvio_blkif_x86_64_response r;

		memcpy(&r, raw, sizeof(r));
		out->id = r.id;
		out->op = r.operation;
		out->status = r.status;
		out->pad_zero = r._pad1 == 0 && r._pad2 == 0;
	}
	return 0;
}

int rf_rw_pages(struct rf_vbd *v, unsigned int qi, uint8_t op, uint64_t sector,
		struct rf_buf *b, unsigned int p0, unsigned int n)
{
	struct rf_seg seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	static uint64_t next_id = 1000;
	uint64_t id = next_id++;
	struct rf_rsp r;
	int rc;

	if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST || p0 + n > b->n)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		seg[i] = (struct rf_seg){b->gref[p0 + i], 0, 7};
	rc = rf_put_rw(v, qi, op, id, sector, n, seg);
	rc = rc ? rc : rf_push(v, qi, false);
	rc = rc ? rc : rf_get_rsp(v, qi, &r, 5000);
	if (rc)
		return rc;
	if (!r.pad_zero || r.id != id || r.op != op)
		return -EPROTO;
	return r.status;
}

int rf_make_image(const char *dir, const char *name, uint64_t bytes, char *path,
		  size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

uint32_t rf_back_mapped(struct rf_world *w, const struct rf_back *b)
{
	struct pvio_dom_info info[64];
	int n = pvio_dom_ctl_list(w->dom0, info, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (info[i].domid == b->domid)
			return info[i].grants_mapped;
	return UINT32_MAX;
}
