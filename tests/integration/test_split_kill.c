/* SPDX-License-Identifier: MIT */
/*
 * A split device across two real domains, and kill -9 of either end in
 * every phase of its handshake.
 *
 * The device is the smallest thing with every moving part of a real one:
 * the frontend grants a page and allocates an event channel and publishes
 * both through the xenbus handshake; the backend maps the page, binds the
 * channel, reads the frontend's word and answers in the same page with an
 * event.  Each end is its own process, opened as its own domain with the
 * credential pvio-hv gave the toolstack (this test plays the toolstack and
 * writes xenstore through the toolstack library).
 *
 * For each phase, the victim is killed with SIGKILL and the test checks
 * that pvio-hv released everything it held (the domain is gone from the
 * list and from xenstore, its pins no longer stop the granter's end
 * access, its event channels are unbound at the survivor) and that the
 * survivor saw it (it disconnected and went back to waiting).  Where the
 * backend died, a new backend domain is then started for the same
 * frontend and the device must work again.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pvio/domain.h>
#include <pvio/grant.h>
#include <pvio/xenbus.h>
#include <pvio/xs.h>

#include "hvtest.h"
#include "tool.h"

#define MAGIC 0x5056494f2d4b494cULL /* "PVIO-KIL" */
#define WAIT_MS 5000

/* Where a child stops on purpose, to be killed there. */
enum hold {
	HOLD_NONE = 0,
	HOLD_BEFORE_OPEN, /* before the handshake starts */
	HOLD_IN_CONNECT,  /* inside connect, after granting / mapping */
};

/* ====================================================================== */
/* The two ends (run in child processes)                                  */
/* ====================================================================== */

struct end {
	bool front;
	enum hold hold;
	int report;
	struct pvio_dom *dom;
	struct pvio_xs *xs;
	struct pvio_xenbus_dev *dev;
	volatile uint64_t *page;
	bool data_ok;
	/* frontend */
	uint32_t pfn;
	int gref;
	pvio_evtchn_port_t port;
	/* backend */
	struct pvio_dom_map map;
	bool mapped;
	pvio_evtchn_port_t lport;
	bool bound;
};

static void say(struct end *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct end *e, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(e->report, line, (size_t)n) != n)
		_exit(3);
}

static void hold_here(struct end *e, const char *where)
{
	say(e, "holding %s", where);
	for (;;)
		pause();
}

static uint32_t port_status(struct end *e, pvio_evtchn_port_t port)
{
	struct pvio_evtchn_status st = {.dom = DOMID_SELF, .port = port};

	if (pvio_dom_evtchn_status(e->dom, DOMID_SELF, port, &st))
		return 99;
	return st.status;
}

static int f_connect(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct end *e = ctx;
	pvio_domid_t back = (pvio_domid_t)pvio_xenbus_other_id(dev);
	int err = 0, rc;

	(void)tx;
	if (!e->page) {
		e->page = pvio_dom_mem_alloc(e->dom, 1, &e->pfn, &err);
		if (!e->page)
			return err;
	}
	e->page[0] = MAGIC;
	e->page[1] = 0;
	e->gref = pvio_gnt_share_grant_access(pvio_dom_gnttab(e->dom), back,
					      e->pfn, false);
	if (e->gref < 0)
		return e->gref;
	rc = pvio_dom_evtchn_alloc_unbound(e->dom, back, &e->port);
	if (rc) {
		pvio_dom_grant_end(e->dom, (pvio_grant_ref_t)e->gref);
		return rc;
	}
	e->data_ok = false;
	say(e, "F granted ref %d port %u to %u", e->gref, e->port, back);
	if (e->hold == HOLD_IN_CONNECT)
		hold_here(e, "in connect");
	return 0;
}

static int f_write_keys(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct end *e = ctx;
	char path[256];
	int rc;

	snprintf(path, sizeof(path), "%s/ring-ref", pvio_xenbus_path(dev));
	rc = pvio_xs_printf(e->xs, tx, path, "%d", e->gref);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/event-channel",
			 pvio_xenbus_path(dev));
		rc = pvio_xs_printf(e->xs, tx, path, "%u", e->port);
	}
	return rc;
}

static int f_connected(struct pvio_xenbus_dev *dev, void *ctx)
{
	(void)dev;
	say(ctx, "F connected");
	return 0;
}

static void f_disconnect(struct pvio_xenbus_dev *dev, void *ctx)
{
	struct end *e = ctx;
	uint32_t st = port_status(e, e->port);
	int end_rc;

	(void)dev;
	pvio_dom_evtchn_close(e->dom, e->port);
	/* The backend is gone or closing: its pins must be gone too. */
	end_rc = pvio_dom_grant_end(e->dom, (pvio_grant_ref_t)e->gref);
	say(e, "F disconnect end=%d port_status=%u", end_rc, st);
}

static int b_publish(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct end *e = ctx;
	char path[256];

	snprintf(path, sizeof(path), "%s/feature-echo", pvio_xenbus_path(dev));
	return pvio_xs_write(e->xs, tx, path, "1", 1);
}

static int b_connect(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct end *e = ctx;
	const char *fpath = pvio_xenbus_other_path(dev);
	pvio_domid_t front = (pvio_domid_t)pvio_xenbus_other_id(dev);
	uint64_t ref, port;
	int rc;

	/* The frontend's keys are hostile: strict decimal, in range. */
	rc = pvio_xenbus_read_uint(e->xs, tx, fpath, "ring-ref", UINT32_MAX,
				   &ref);
	if (!rc)
		rc = pvio_xenbus_read_uint(e->xs, tx, fpath, "event-channel",
					   4095, &port);
	if (rc)
		return rc;
	e->map = (struct pvio_dom_map){
		.dom = front, .ref = (pvio_grant_ref_t)ref, .flags = 0};
	rc = pvio_dom_grant_map(e->dom, &e->map, 1);
	if (rc)
		return rc;
	if (e->map.status != GNTST_okay)
		return -EACCES;
	e->mapped = true;
	rc = pvio_dom_evtchn_bind(e->dom, front, (pvio_evtchn_port_t)port,
				  &e->lport);
	if (rc) {
		pvio_dom_grant_unmap(e->dom, &e->map, 1);
		e->mapped = false;
		return rc;
	}
	e->bound = true;
	say(e, "B mapped ref %u bound port %u", e->map.ref, e->lport);
	if (e->hold == HOLD_IN_CONNECT)
		hold_here(e, "in connect");
	volatile uint64_t *p = e->map.addr;
	if (p[0] != MAGIC)
		say(e, "B bad magic %llx", (unsigned long long)p[0]);
	p[1] = ~(uint64_t)MAGIC;
	pvio_dom_evtchn_send(e->dom, e->lport);
	say(e, "B connected");
	return 0;
}

static void b_disconnect(struct pvio_xenbus_dev *dev, void *ctx)
{
	struct end *e = ctx;
	uint32_t st = e->bound ? port_status(e, e->lport) : 0;
	int rc = 0;

	(void)dev;
	if (e->bound)
		pvio_dom_evtchn_close(e->dom, e->lport);
	if (e->mapped)
		rc = pvio_dom_grant_unmap(e->dom, &e->map, 1);
	say(e, "B disconnect unmap=%d status=%d port_status=%u", rc,
	    e->mapped ? e->map.status : 0, st);
	e->bound = e->mapped = false;
}

static void report(struct pvio_xenbus_dev *dev, void *ctx, int err,
		   const char *what)
{
	(void)dev;
	say(ctx, "report %d %s", err, what);
}

static const struct pvio_xenbus_ops front_ops = {
	.connect = f_connect,
	.write_keys = f_write_keys,
	.connected = f_connected,
	.disconnect = f_disconnect,
	.report = report,
};
static const struct pvio_xenbus_ops back_ops = {
	.publish = b_publish,
	.connect = b_connect,
	.disconnect = b_disconnect,
	.report = report,
};

static void on_events(struct end *e)
{
	pvio_evtchn_port_t ports[8];
	int n;

	while ((n = pvio_dom_evtchn_pending(e->dom, ports, 8)) > 0) {
		for (int i = 0; i < n; i++) {
			if (e->front && ports[i] == e->port && e->page &&
			    e->page[1] == ~(uint64_t)MAGIC && !e->data_ok) {
				e->data_ok = true;
				say(e, "F data ok");
			}
			pvio_dom_evtchn_unmask(e->dom, ports[i]);
		}
	}
}

static _Noreturn void end_main(bool front, const char *run_dir,
			       const char *cred, const char *path,
			       enum hold hold, int report_fd)
{
	struct end e = {.front = front, .hold = hold, .report = report_fd};
	struct pvio_xenbus_cfg cfg = {
		.role = front ? PVIO_XENBUS_FRONTEND : PVIO_XENBUS_BACKEND,
		.type = "vbd",
		.path = path,
		.ops = front ? &front_ops : &back_ops,
		.ctx = &e,
	};
	int err = 0;

	e.dom = pvio_dom_open(run_dir, cred, &err);
	if (!e.dom)
		_exit(10);
	e.xs = pvio_dom_xs_open(e.dom, &err);
	if (!e.xs)
		_exit(11);
	if (hold == HOLD_BEFORE_OPEN)
		hold_here(&e, "before open");
	e.dev = pvio_xenbus_open(e.xs, &cfg, &err);
	if (!e.dev) {
		say(&e, "open failed %d", err);
		_exit(12);
	}
	for (;;) {
		struct pollfd p[2] = {
			{.fd = pvio_xs_fd(e.xs), .events = POLLIN},
			{.fd = pvio_dom_fd(e.dom), .events = POLLIN},
		};
		char *wpath, *tok;

		if (poll(p, 2, 100) < 0)
			_exit(13);
		while (pvio_xs_read_watch(e.xs, &wpath, &tok, 0) == 0) {
			pvio_xenbus_handle(e.dev, wpath, tok);
			free(wpath);
			free(tok);
		}
		/* A connect that said -EAGAIN is retried on any wake-up. */
		pvio_xenbus_handle(e.dev, NULL, NULL);
		on_events(&e);
	}
}

/* ====================================================================== */
/* The toolstack side (this process)                                      */
/* ====================================================================== */

struct world {
	struct hvtest hv;
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	int seq;
};

struct child {
	pid_t pid;
	pvio_domid_t domid;
	int rd;		/* its report lines */
	char buf[8192]; /* everything it said so far */
	size_t len;
};

static struct world W;

static int world_up(void **state)
{
	int err = 0;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (hvtest_start(&W.hv, NULL))
		return -1;
	W.dom0 = pvio_dom_open_dom0(W.hv.dir, &err);
	W.xs = pvio_xs_open(W.hv.xs_path, &err);
	return W.dom0 && W.xs ? 0 : -1;
}

static int world_down(void **state)
{
	(void)state;
	pvio_xs_close(W.xs);
	pvio_dom_close(W.dom0);
	hvtest_stop(&W.hv);
	return 0;
}

/* A domain with its xenstore home; returns its credential in 'cred'. */
static pvio_domid_t new_domain(const char *role, char *cred)
{
	char name[32];
	pvio_domid_t id;

	snprintf(name, sizeof(name), "%s-%d", role, W.seq++);
	assert_int_equal(pvio_dom_ctl_create(W.dom0, name, 64, &id, cred), 0);
	assert_int_equal(pvio_tool_xs_domain_setup(W.xs, id, name, 1), 0);
	return id;
}

static void spawn(struct child *c, bool front, const char *cred,
		  const char *path, enum hold hold)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	c->len = 0;
	c->buf[0] = '\0';
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(p[0]);
		end_main(front, W.hv.dir, cred, path, hold, p[1]);
	}
	close(p[1]);
	c->rd = p[0];
	/* pvio-hv follows its life from now on. */
	assert_int_equal(pvio_dom_ctl_set_pid(W.dom0, c->domid, c->pid), 0);
}

/* Wait until the child has said something containing 'what'. */
static void expect(struct child *c, const char *what)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		c->buf[c->len] = '\0';
		if (strstr(c->buf, what))
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 +
			  (t.tv_nsec - t0.tv_nsec) / 1000000;
		struct pollfd p = {.fd = c->rd, .events = POLLIN};
		if (ms >= WAIT_MS || poll(&p, 1, (int)(WAIT_MS - ms)) <= 0)
			fail_msg("domain %u never said '%s'; it said:\n%s",
				 c->domid, what, c->buf);
		ssize_t n = read(c->rd, c->buf + c->len,
				 sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			fail_msg("domain %u exited without saying '%s':\n%s",
				 c->domid, what, c->buf);
		c->len += (size_t)n;
	}
}

static int domain_listed(pvio_domid_t id)
{
	struct pvio_dom_info info[64];
	int n = pvio_dom_ctl_list(W.dom0, info, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (info[i].domid == id)
			return 1;
	return 0;
}

static int gone_cond(void *arg)
{
	pvio_domid_t id = (pvio_domid_t)(uintptr_t)arg;
	char path[64], *v = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u", id);
	if (domain_listed(id))
		return 0;
	if (pvio_xs_read(W.xs, PVIO_XS_TX_NONE, path, &v, NULL) != -ENOENT) {
		free(v);
		return 0;
	}
	return 1;
}

static const char *state_path;

static int initwait_cond(void *arg)
{
	char *v = NULL;
	int yes;

	(void)arg;
	if (pvio_xs_read(W.xs, PVIO_XS_TX_NONE, state_path, &v, NULL))
		return 0;
	yes = strcmp(v, "2") == 0;
	free(v);
	return yes;
}

/* SIGKILL, then: released by pvio-hv, gone from xenstore. */
static void kill_and_check_gone(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->rd);
	assert_int_equal(
		hvtest_wait(gone_cond, (void *)(uintptr_t)c->domid, WAIT_MS),
		0);
}

static void stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->rd);
	pvio_dom_ctl_destroy(W.dom0, c->domid);
}

/* Point frontend F's device at a new backend domain B (what a toolstack
 * does when it restarts a driver domain). */
static void rehome(pvio_domid_t f, pvio_domid_t b, char *fpath, char *bpath)
{
	struct pvio_tool_disk d;
	struct pvio_tool_err e;

	assert_int_equal(pvio_tool_disk_parse(&d, "/dev/null,,xvda,w", &e), 0);
	snprintf(fpath, 128, "/local/domain/%u/device/vbd/%u", f, d.devid);
	snprintf(bpath, 128, "/local/domain/%u/backend/vbd/%u/%u", b, f,
		 d.devid);
	/* First device: the toolstack library writes both ends. */
	char *v = NULL;
	if (pvio_xs_read(W.xs, PVIO_XS_TX_NONE, fpath, &v, NULL) == -ENOENT) {
		assert_int_equal(pvio_tool_xs_disk_add(W.xs, f, b, &d), 0);
		return;
	}
	free(v);
	/* Later: a fresh backend dir, then the frontend's pointers. */
	char tmp[160];
	const struct pvio_xs_perm bperm[] = {{b, 'n'}, {f, 'r'}};
	snprintf(tmp, sizeof(tmp), "%s/frontend", bpath);
	assert_int_equal(pvio_xs_write(W.xs, 0, tmp, fpath, strlen(fpath)), 0);
	assert_int_equal(pvio_xs_set_perms(W.xs, 0, bpath, bperm, 2), 0);
	snprintf(tmp, sizeof(tmp), "%s/frontend-id", bpath);
	assert_int_equal(pvio_xs_printf(W.xs, 0, tmp, "%u", f), 0);
	snprintf(tmp, sizeof(tmp), "%s/online", bpath);
	assert_int_equal(pvio_xs_write(W.xs, 0, tmp, "1", 1), 0);
	snprintf(tmp, sizeof(tmp), "%s/state", bpath);
	assert_int_equal(pvio_xs_write(W.xs, 0, tmp, "1", 1), 0);
	/* The new backend must be able to read the frontend's directory:
	 * its permissions name the backend domain, node by node. */
	const struct pvio_xs_perm fperm[] = {{f, 'n'}, {b, 'r'}};
	char **names = NULL;
	unsigned int n = 0;
	assert_int_equal(pvio_xs_set_perms(W.xs, 0, fpath, fperm, 2), 0);
	assert_int_equal(pvio_xs_directory(W.xs, 0, fpath, &names, &n), 0);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s/%s", fpath, names[i]);
		assert_int_equal(pvio_xs_set_perms(W.xs, 0, tmp, fperm, 2), 0);
	}
	free(names);
	snprintf(tmp, sizeof(tmp), "%s/backend-id", fpath);
	assert_int_equal(pvio_xs_printf(W.xs, 0, tmp, "%u", b), 0);
	snprintf(tmp, sizeof(tmp), "%s/backend", fpath);
	assert_int_equal(pvio_xs_write(W.xs, 0, tmp, bpath, strlen(bpath)), 0);
}

struct pair {
	struct child f, b;
	char fcred[PVIO_DOM_CRED_MAX], bcred[PVIO_DOM_CRED_MAX];
	char fpath[128], bpath[128];
};

static void pair_create(struct pair *p)
{
	p->f.domid = new_domain("front", p->fcred);
	p->b.domid = new_domain("back", p->bcred);
	rehome(p->f.domid, p->b.domid, p->fpath, p->bpath);
}

/* A new backend domain for the surviving frontend: it must reconnect. */
static void restart_backend(struct pair *p)
{
	p->b.domid = new_domain("back", p->bcred);
	rehome(p->f.domid, p->b.domid, p->fpath, p->bpath);
	spawn(&p->b, false, p->bcred, p->bpath, HOLD_NONE);
	expect(&p->b, "B connected");
	expect(&p->f, "F connected");
	expect(&p->f, "F data ok");
}

/* ---------------------------------------------------------------------- */

static void test_connects(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_NONE);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_NONE);
	expect(&p.b, "B connected");
	expect(&p.f, "F connected");
	expect(&p.f, "F data ok");
	stop(&p.f);
	stop(&p.b);
}

static void test_backend_killed_before_initwait(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_BEFORE_OPEN);
	expect(&p.b, "holding before open");
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_NONE);
	kill_and_check_gone(&p.b);
	restart_backend(&p);
	stop(&p.f);
	stop(&p.b);
}

static void test_backend_killed_in_connect(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_NONE);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_IN_CONNECT);
	/* It has the frontend's page mapped and the channel bound. */
	expect(&p.b, "holding in connect");
	kill_and_check_gone(&p.b);
	/* Pins released: end access succeeds; the channel is unbound. */
	expect(&p.f, "F disconnect end=0 port_status=1");
	restart_backend(&p);
	stop(&p.f);
	stop(&p.b);
}

static void test_backend_killed_connected(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_NONE);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_NONE);
	expect(&p.f, "F data ok");
	kill_and_check_gone(&p.b);
	expect(&p.f, "F disconnect end=0 port_status=1");
	restart_backend(&p);
	stop(&p.f);
	stop(&p.b);
}

static void test_frontend_killed_before_open(void **state)
{
	struct pair p;
	char spath[160], *v = NULL;

	(void)state;
	pair_create(&p);
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_BEFORE_OPEN);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_NONE);
	expect(&p.f, "holding before open");
	snprintf(spath, sizeof(spath), "%s/state", p.bpath);
	state_path = spath;
	assert_int_equal(hvtest_wait(initwait_cond, NULL, WAIT_MS), 0);
	kill_and_check_gone(&p.f);
	/* The device went with its frontend: pvio-hv removed the backend
	 * directory too (the backend never re-creates it), and the backend
	 * domain itself lives on. */
	assert_int_equal(pvio_xs_read(W.xs, 0, spath, &v, NULL), -ENOENT);
	assert_int_equal(pvio_xs_read(W.xs, 0, p.bpath, &v, NULL), -ENOENT);
	assert_true(domain_listed(p.b.domid));
	stop(&p.b);
}

static void test_frontend_killed_in_connect(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_NONE);
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_IN_CONNECT);
	/* Granted and allocated a port, keys not yet published. */
	expect(&p.f, "holding in connect");
	kill_and_check_gone(&p.f);
	assert_true(domain_listed(p.b.domid));
	stop(&p.b);
}

static void test_frontend_killed_connected(void **state)
{
	struct pair p;

	(void)state;
	pair_create(&p);
	spawn(&p.f, true, p.fcred, p.fpath, HOLD_NONE);
	spawn(&p.b, false, p.bcred, p.bpath, HOLD_NONE);
	expect(&p.f, "F data ok");
	kill_and_check_gone(&p.f);
	/* The backend unmapped cleanly and its channel went unbound. */
	expect(&p.b, "B disconnect unmap=0 status=0 port_status=1");
	stop(&p.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connects),
		cmocka_unit_test(test_backend_killed_before_initwait),
		cmocka_unit_test(test_backend_killed_in_connect),
		cmocka_unit_test(test_backend_killed_connected),
		cmocka_unit_test(test_frontend_killed_before_open),
		cmocka_unit_test(test_frontend_killed_in_connect),
		cmocka_unit_test(test_frontend_killed_connected),
	};

	return cmocka_run_group_tests(tests, world_up, world_down);
}
