/* SPDX-License-Identifier: MIT */
/*
 * Event channels end to end: a private pvio-hv per test (hvtest.h),
 * domains opened from this process (one handle per credential: the
 * credential is the identity) and from forked child processes where
 * isolation or real cross-process wake-ups matter.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include <pvio/domain.h>
#include <pvio/grant.h>

#include "dom_private.h"
#include "hv_proto.h"
#include "hvtest.h"

#define PINGPONG_ROUNDS 100000

struct fx {
	struct hvtest hv;
	struct pvio_dom *dom0;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int err = 0;

	assert_non_null(f);
	assert_int_equal(hvtest_start(&f->hv, NULL), 0);
	f->dom0 = pvio_dom_open_dom0(f->hv.dir, &err);
	assert_non_null(f->dom0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pvio_dom_close(f->dom0);
	hvtest_stop(&f->hv);
	free(f);
	return 0;
}

/* Create a domain; open it from this process unless 'open' is false. */
static struct pvio_dom *new_dom(struct fx *f, const char *name,
				pvio_domid_t *id, char *cred_out, bool open)
{
	char cred[PVIO_DOM_CRED_MAX];
	struct pvio_dom *d = NULL;
	int err = 0;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, name, 16, id, cred), 0);
	if (open) {
		d = pvio_dom_open(f->hv.dir, cred, &err);
		assert_non_null(d);
		assert_int_equal(pvio_dom_id(d), *id);
	}
	if (cred_out != NULL)
		memcpy(cred_out, cred, sizeof(cred));
	return d;
}

/* 1 if pvio_dom_fd() polls readable within 'ms', else 0. */
static int readable(struct pvio_dom *d, int ms)
{
	struct pollfd p = {.fd = pvio_dom_fd(d), .events = POLLIN};

	return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

/* Drain everything; returns the count, ports in 'out' (16 at most). */
static int pend(struct pvio_dom *d, pvio_evtchn_port_t *out)
{
	pvio_evtchn_port_t tmp[16];

	return pvio_dom_evtchn_pending(d, out != NULL ? out : tmp, 16);
}

static void expect_status(struct pvio_dom *d, pvio_domid_t dom,
			  pvio_evtchn_port_t port, uint32_t status,
			  pvio_domid_t rdom, pvio_evtchn_port_t rport)
{
	struct pvio_evtchn_status st;

	assert_int_equal(pvio_dom_evtchn_status(d, dom, port, &st), 0);
	assert_int_equal(st.status, status);
	if (status == EVTCHNSTAT_unbound)
		assert_int_equal(st.u.unbound.dom, rdom);
	if (status == EVTCHNSTAT_interdomain) {
		assert_int_equal(st.u.interdomain.dom, rdom);
		assert_int_equal(st.u.interdomain.port, rport);
	}
}

/* ---- child domain processes ------------------------------------------ */

/*
 * A forked child acting as one domain: it drops every inherited fd but
 * its command socket, opens its own handle with the credential, binds
 * to (rdom, rport) and then serves int32 commands (below) until EOF or
 * CMD_EXIT.  It never calls cmocka (its state belongs to the parent).
 */
enum { CMD_EXIT = 0, CMD_SEND = 1, CMD_PINGPONG = 2 };

struct kid {
	pid_t pid;
	int sock;
};

static int wr32(int fd, int32_t v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -EIO;
}

/* -ETIMEDOUT after 'ms' (< 0: wait forever). */
static int rd32(int fd, int32_t *v, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -EIO;
}

/* Wait for exactly one event on 'port'; -errno on anything else. */
static int wait_one(struct pvio_dom *d, pvio_evtchn_port_t port,
		    unsigned int *empty)
{
	pvio_evtchn_port_t got[8];
	int n;

	for (;;) {
		if (!readable(d, 5000))
			return -ETIMEDOUT;
		n = pvio_dom_evtchn_pending(d, got, 8);
		if (n < 0)
			return n;
		if (n == 0) {
			(*empty)++;
			continue;
		}
		if (n != 1 || got[0] != port)
			return -EPROTO;
		return pvio_dom_evtchn_unmask(d, port);
	}
}

static int kid_main(int sock, const char *dir, const char *cred,
		    pvio_domid_t rdom, pvio_evtchn_port_t rport)
{
	pvio_evtchn_port_t lport, got[8];
	unsigned int empty = 0;
	struct pvio_dom *d;
	int32_t cmd, arg;
	int err = 0, rc = 0, n, i;

	d = pvio_dom_open(dir, cred, &err);
	if (d == NULL)
		return wr32(sock, err), 1;
	rc = pvio_dom_evtchn_bind(d, rdom, rport, &lport);
	if (rc < 0)
		return wr32(sock, rc), 1;
	/* The new port starts pending: exactly it, once. */
	n = pvio_dom_evtchn_pending(d, got, 8);
	if (n != 1 || got[0] != lport || pvio_dom_evtchn_unmask(d, lport) < 0)
		return wr32(sock, -EPROTO), 1;
	wr32(sock, (int32_t)lport);
	while (rd32(sock, &cmd, -1) == 0) {
		switch (cmd) {
		case CMD_SEND:
			wr32(sock, pvio_dom_evtchn_send(d, lport));
			break;
		case CMD_PINGPONG:
			if (rd32(sock, &arg, 5000) < 0)
				return 1;
			for (i = 0; i < arg; i++) {
				rc = wait_one(d, lport, &empty);
				if (rc == 0)
					rc = pvio_dom_evtchn_send(d, lport);
				if (rc < 0)
					break;
			}
			/* Nothing extra may arrive after the last round. */
			if (rc == 0 && readable(d, 50) && pend(d, NULL) != 0)
				rc = -EPROTO;
			wr32(sock, rc < 0 ? rc : i);
			wr32(sock, (int32_t)empty);
			break;
		default:
			pvio_dom_close(d);
			return 0;
		}
	}
	pvio_dom_close(d);
	return 0;
}

/* Start a child as the domain of 'cred', bound to (rdom, rport). */
static pvio_evtchn_port_t kid_start(struct kid *k, struct fx *f,
				    const char *cred, pvio_domid_t rdom,
				    pvio_evtchn_port_t rport)
{
	int sv[2];
	int32_t v;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		/* Only the command socket survives, as fd 3. */
		if (dup2(sv[1], 3) < 0)
			_exit(2);
		close_range(4, ~0U, 0);
		_exit(kid_main(3, f->hv.dir, cred, rdom, rport));
	}
	close(sv[1]);
	k->sock = sv[0];
	assert_int_equal(rd32(k->sock, &v, 10000), 0);
	assert_true(v > 0);
	return (pvio_evtchn_port_t)v;
}

/* Ask to exit, reap; 0 if it exited 0. */
static int kid_stop(struct kid *k)
{
	int st = 0;

	wr32(k->sock, CMD_EXIT);
	close(k->sock);
	if (waitpid(k->pid, &st, 0) != k->pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Open fds of this process (doorbells dropped show up here). */
static int nr_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* ---- semantics in one process ----------------------------------------- */

static void test_bind_send_close(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida, idb;
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	pvio_evtchn_port_t pa, lb, pa2, lb2, got[16];

	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa), 0);
	assert_true(pa >= 1); /* port 0 is never handed out */
	expect_status(a, DOMID_SELF, pa, EVTCHNSTAT_unbound, idb, 0);
	expect_status(a, ida, pa, EVTCHNSTAT_unbound, idb, 0);
	expect_status(a, DOMID_SELF, 0, EVTCHNSTAT_closed, 0, 0);
	/* Sending on an unbound port is dropped silently. */
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);

	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa, &lb), 0);
	assert_true(lb >= 1);
	expect_status(b, DOMID_SELF, lb, EVTCHNSTAT_interdomain, ida, pa);
	expect_status(a, DOMID_SELF, pa, EVTCHNSTAT_interdomain, idb, lb);
	expect_status(f->dom0, ida, pa, EVTCHNSTAT_interdomain, idb, lb);

	/* The binder's new port starts pending; the allocator's does not. */
	assert_true(readable(b, 0));
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(got[0], lb);
	assert_int_equal(pend(b, got), 0);
	assert_false(readable(b, 0));
	assert_int_equal(pend(a, got), 0); /* takes the BOUND notice */
	assert_false(readable(a, 0));

	/* A -> B: delivered, and the port comes back masked. */
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
	assert_true(readable(b, 1000));
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(got[0], lb);
	assert_false(readable(b, 0));
	/* B -> A */
	assert_int_equal(pvio_dom_evtchn_send(b, lb), 0);
	assert_true(readable(a, 1000));
	assert_int_equal(pend(a, got), 1);
	assert_int_equal(got[0], pa);
	assert_int_equal(pvio_dom_evtchn_unmask(a, pa), 0);
	assert_int_equal(pend(a, got), 0);

	/* ctl_list counts open ports. */
	{
		struct pvio_dom_info info[8];
		int n = pvio_dom_ctl_list(f->dom0, info, 8), i, seen = 0;

		assert_true(n >= 3);
		for (i = 0; i < n && i < 8; i++) {
			if (info[i].domid == ida || info[i].domid == idb) {
				assert_int_equal(info[i].evtchn_open, 1);
				seen++;
			}
		}
		assert_int_equal(seen, 2);
	}

	/* A closes: B's end goes back to unbound, reserved for A. */
	assert_int_equal(pvio_dom_evtchn_close(a, pa), 0);
	expect_status(a, DOMID_SELF, pa, EVTCHNSTAT_closed, 0, 0);
	expect_status(b, DOMID_SELF, lb, EVTCHNSTAT_unbound, ida, 0);
	assert_int_equal(pvio_dom_evtchn_close(a, pa), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_send(a, pa), -EINVAL);
	/*
	 * B has not read the notice yet: its send goes to the old doorbell,
	 * which nobody waits on any more.  Then A reuses the port number for
	 * a new channel: the stale kick must not show up there.
	 */
	assert_int_equal(pvio_dom_evtchn_send(b, lb), 0);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa2), 0);
	assert_int_equal(pa2, pa); /* lowest free port, as Xen */
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa2, &lb2), 0);
	assert_int_not_equal(lb2, lb);
	assert_int_equal(pend(a, got), 0);
	assert_false(readable(a, 20));
	/* B's old port is unbound now: a send there is dropped. */
	assert_int_equal(pvio_dom_evtchn_send(b, lb), 0);
	assert_int_equal(pend(b, got), 1); /* lb2's initial event only */
	assert_int_equal(got[0], lb2);
	assert_int_equal(pend(a, got), 0);

	/* The other direction: A binds B's unbound old port. */
	{
		pvio_evtchn_port_t la;

		assert_int_equal(pvio_dom_evtchn_bind(a, idb, lb, &la), 0);
		expect_status(b, DOMID_SELF, lb, EVTCHNSTAT_interdomain, ida,
			      la);
		assert_int_equal(pend(a, got), 1);
		assert_int_equal(got[0], la);
		assert_int_equal(pvio_dom_evtchn_unmask(a, la), 0);
		assert_int_equal(pvio_dom_evtchn_send(b, lb), 0);
		assert_true(readable(a, 1000));
		assert_int_equal(pend(a, got), 1);
		assert_int_equal(got[0], la);
	}

	pvio_dom_close(a);
	pvio_dom_close(b);
}

/* Read an eventfd's counter without blocking: the count, 0 if none. */
static uint64_t efd_take(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v = 0;

	if (poll(&p, 1, ms) != 1)
		return 0;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/*
 * take_fds: a driver thread waits and kicks on plain eventfds; the port's
 * events leave pvio_dom_fd() and the handle's own send still works.
 */
static void test_take_fds(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida, idb;
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	pvio_evtchn_port_t pa, lb, got[4];
	struct pvio_dom_stats s0, s1;
	int aw, ak, bw, bk;
	uint64_t v = 1;

	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa), 0);
	/* Unbound: nothing to take yet. */
	assert_int_equal(pvio_dom_evtchn_take_fds(a, pa, &aw, &ak), -ENOTCONN);
	assert_int_equal(pvio_dom_evtchn_take_fds(a, 4095, &aw, &ak),
			 -ENOTCONN);
	assert_int_equal(pvio_dom_evtchn_take_fds(a, 5000, &aw, &ak), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa, &lb), 0);
	assert_int_equal(pend(b, got), 1); /* the binder's initial event */

	/* The allocator learns of the bind through a notice: take works. */
	assert_int_equal(pvio_dom_evtchn_take_fds(a, pa, &aw, &ak), 0);
	assert_int_equal(pvio_dom_evtchn_take_fds(b, lb, &bw, &bk), 0);
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);

	/* A kicks by write(): B's taken wait fd sees it, pvio_dom_fd not. */
	pvio_dom_get_stats(a, &s0);
	assert_int_equal(write(ak, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(efd_take(bw, 1000), 1);
	assert_false(readable(b, 20));
	assert_int_equal(pend(b, got), 0);
	/* The handle's send reaches the taken fd too, without pvio-hv. */
	assert_int_equal(pvio_dom_evtchn_send(b, lb), 0);
	assert_int_equal(efd_take(aw, 1000), 1);
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
	assert_int_equal(efd_take(bw, 1000), 1);
	pvio_dom_get_stats(a, &s1);
	assert_true(s1.hypercalls == s0.hypercalls);
	/* Taking twice gives two more descriptors for the same doorbells. */
	{
		int w2, k2;

		assert_int_equal(pvio_dom_evtchn_take_fds(a, pa, &w2, &k2), 0);
		assert_int_equal(write(k2, &v, sizeof(v)), (ssize_t)sizeof(v));
		assert_int_equal(efd_take(bw, 1000), 1);
		close(w2);
		close(k2);
	}

	/*
	 * Close: the taken descriptors belong to the old channel only.  A
	 * new channel on the same port number gets new doorbells, so a
	 * stale kick through B's old fd cannot reach it.
	 */
	assert_int_equal(pvio_dom_evtchn_close(a, pa), 0);
	{
		pvio_evtchn_port_t pa2, lb2;
		int w2, k2;

		assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa2),
				 0);
		assert_int_equal(pa2, pa);
		assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa2, &lb2), 0);
		assert_int_equal(pvio_dom_evtchn_take_fds(a, pa2, &w2, &k2), 0);
		assert_int_equal(write(bk, &v, sizeof(v)), (ssize_t)sizeof(v));
		assert_int_equal(efd_take(w2, 20), 0);
		assert_int_equal(pvio_dom_evtchn_send(b, lb2), 0);
		assert_int_equal(efd_take(w2, 1000), 1);
		close(w2);
		close(k2);
	}
	close(aw);
	close(ak);
	close(bw);
	close(bk);
	pvio_dom_close(a);
	pvio_dom_close(b);
}

/* Stats count round trips and grant pages; addr_pfn inverts page(). */
static void test_stats_addr_pfn(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida, idb;
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	struct pvio_dom_stats s0, s1;
	struct pvio_dom_map m[2] = {0};
	uint32_t pfn = 0, got = 0;
	uint32_t version;
	uint8_t *p;
	int err = 0, r0, r1;

	p = pvio_dom_mem_alloc(a, 2, &pfn, &err);
	assert_non_null(p);
	assert_int_equal(pvio_dom_addr_pfn(a, p, &got), 0);
	assert_int_equal(got, pfn);
	assert_int_equal(pvio_dom_addr_pfn(a, p + 4096 + 17, &got), 0);
	assert_int_equal(got, pfn + 1);
	assert_int_equal(pvio_dom_addr_pfn(a, &got, &got), -ENOENT);
	assert_int_equal(pvio_dom_addr_pfn(a, p + 2 * 4096, &got), -ENOENT);
	assert_int_equal(pvio_dom_addr_pfn(b, p, &got), -ENOENT);

	r0 = pvio_gnt_share_grant_access(pvio_dom_gnttab(a), idb, pfn, false);
	r1 = pvio_gnt_share_grant_access(pvio_dom_gnttab(a), idb, pfn + 1,
					 false);
	assert_true(r0 >= 0 && r1 >= 0);
	pvio_dom_get_stats(b, &s0);
	assert_int_equal(pvio_dom_version(b, &version), 0);
	m[0].dom = ida;
	m[0].ref = (pvio_grant_ref_t)r0;
	m[1].dom = ida;
	m[1].ref = (pvio_grant_ref_t)r1;
	assert_int_equal(pvio_dom_grant_map(b, m, 2), 0);
	assert_int_equal(m[0].status, GNTST_okay);
	assert_int_equal(m[1].status, GNTST_okay);
	assert_int_equal(pvio_dom_grant_unmap(b, m, 2), 0);
	pvio_dom_get_stats(b, &s1);
	assert_true(s1.hypercalls - s0.hypercalls == 3);
	assert_true(s1.grant_maps - s0.grant_maps == 2);
	assert_true(s1.grant_unmaps - s0.grant_unmaps == 2);
	assert_true(s1.grant_copies == s0.grant_copies);
	pvio_dom_get_stats(NULL, &s1);
	assert_true(s1.hypercalls == 0);
	pvio_dom_close(a);
	pvio_dom_close(b);
}

static void test_mask_latch(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida, idb;
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	pvio_evtchn_port_t pa, lb, got[16];

	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa), 0);
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa, &lb), 0);
	assert_int_equal(pend(b, got), 1); /* initial; lb is masked now */
	assert_int_equal(pend(a, NULL), 0);

	/* Sent while masked: latched, not delivered... */
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
	assert_true(readable(b, 1000)); /* the doorbell rang */
	assert_int_equal(pend(b, got), 0);
	assert_false(readable(b, 0));
	/* ...and delivered once on unmask (coalesced, as a pending bit). */
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);
	assert_true(readable(b, 0));
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(got[0], lb);
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);
	assert_int_equal(pend(b, got), 0);
	assert_false(readable(b, 0));

	/* Again, unmasked: delivered at once. */
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
	assert_true(readable(b, 1000));
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);

	/* max limits one call; the rest stays readable. */
	{
		pvio_evtchn_port_t p2, l2, one;

		assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &p2), 0);
		assert_int_equal(pvio_dom_evtchn_bind(b, ida, p2, &l2), 0);
		assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
		assert_true(readable(b, 1000));
		/* lb (sent) and l2 (initial) are both pending. */
		assert_int_equal(pvio_dom_evtchn_pending(b, &one, 1), 1);
		assert_true(readable(b, 0));
		assert_int_equal(pvio_dom_evtchn_pending(b, got, 16), 1);
		assert_true((one == lb && got[0] == l2) ||
			    (one == l2 && got[0] == lb));
		assert_false(readable(b, 0));
	}
	pvio_dom_close(a);
	pvio_dom_close(b);
}

static void test_loopback(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida;
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	pvio_evtchn_port_t p, q, got[16];

	/* Xen allows a channel between two ports of the same domain. */
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, DOMID_SELF, &p), 0);
	expect_status(a, DOMID_SELF, p, EVTCHNSTAT_unbound, ida, 0);
	/* Binding a port to itself: it is not unbound any more. */
	assert_int_equal(pvio_dom_evtchn_bind(a, DOMID_SELF, p, &q), 0);
	assert_int_not_equal(p, q);
	assert_int_equal(pend(a, got), 1);
	assert_int_equal(got[0], q);
	assert_int_equal(pvio_dom_evtchn_unmask(a, q), 0);
	assert_int_equal(pvio_dom_evtchn_send(a, q), 0);
	assert_true(readable(a, 1000));
	assert_int_equal(pend(a, got), 1);
	assert_int_equal(got[0], p);
	assert_int_equal(pvio_dom_evtchn_send(a, p), 0);
	assert_int_equal(pend(a, got), 1);
	assert_int_equal(got[0], q);
	assert_int_equal(pvio_dom_evtchn_bind(a, DOMID_SELF, p, &q),
			 -EINVAL); /* p is bound */
	assert_int_equal(pvio_dom_evtchn_close(a, q), 0);
	expect_status(a, DOMID_SELF, p, EVTCHNSTAT_unbound, ida, 0);
	assert_int_equal(pvio_dom_evtchn_send(a, p), 0); /* dropped */
	assert_int_equal(pvio_dom_evtchn_close(a, p), 0);
	assert_int_equal(pvio_dom_evtchn_send(a, p), -EINVAL);
	pvio_dom_close(a);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida, idb, idc, idd;
	char credd[PVIO_DOM_CRED_MAX];
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	struct pvio_dom *c = new_dom(f, "c", &idc, NULL, true);
	pvio_evtchn_port_t pa, pself, lb, x;
	struct pvio_evtchn_status st;
	int err = 0;

	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa), 0);
	/* Reserved for B: neither C nor A itself may bind it. */
	assert_int_equal(pvio_dom_evtchn_bind(c, ida, pa, &x), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_bind(a, DOMID_SELF, pa, &x), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_bind(a, ida, pa, &x), -EINVAL);
	/* A port that is not unbound (closed, free, reserved port 0). */
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa + 1, &x), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, 0, &x), -EINVAL);
	/* Out of range. */
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, 4096, &x), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, UINT32_MAX, &x), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_close(a, 4096), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_close(a, UINT32_MAX), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_close(a, 0), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_send(a, 4096), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_send(a, UINT32_MAX), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_send(a, 0), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_unmask(a, 4096), -EINVAL);
	assert_int_equal(pvio_dom_evtchn_status(a, DOMID_SELF, 4096, &st),
			 -EINVAL);
	/* Xen: ports beyond the allocated bucket are invalid, inside closed */
	assert_int_equal(pvio_dom_evtchn_status(a, DOMID_SELF, 64, &st),
			 -EINVAL);
	expect_status(a, DOMID_SELF, 63, EVTCHNSTAT_closed, 0, 0);
	/* No such domain. */
	assert_int_equal(pvio_dom_evtchn_bind(b, 999, 1, &x), -ESRCH);
	assert_int_equal(pvio_dom_evtchn_bind(b, DOMID_IO, 1, &x), -ESRCH);
	assert_int_equal(pvio_dom_evtchn_status(a, 999, 1, &st), -ESRCH);
	/* Another domain's port: only dom0 may look (XSM_TARGET). */
	assert_int_equal(pvio_dom_evtchn_status(b, ida, pa, &st), -EPERM);
	expect_status(f->dom0, ida, pa, EVTCHNSTAT_unbound, idb, 0);

	/* Alloc on behalf of another domain: dom0 yes, others -EPERM. */
	{
		struct pvio_evtchn_alloc_unbound au = {0};
		size_t len = 0;

		au.dom = ida;
		au.remote_dom = idc;
		assert_int_equal(
			pvio__dom_call(b, PVIO_HV_OP_EVTCHN_ALLOC_UNBOUND, 0,
				       &au, sizeof(au), &au, sizeof(au), &len,
				       NULL, NULL, 0, NULL),
			-EPERM);
		assert_int_equal(
			pvio__dom_call(f->dom0, PVIO_HV_OP_EVTCHN_ALLOC_UNBOUND,
				       0, &au, sizeof(au), &au, sizeof(au),
				       &len, NULL, NULL, 0, NULL),
			0);
		assert_int_equal(len, sizeof(au));
		expect_status(a, DOMID_SELF, au.port, EVTCHNSTAT_unbound, idc,
			      0);
		assert_int_equal(pvio_dom_evtchn_close(a, au.port), 0);
	}

	/* Hostile payload sizes: -EINVAL, the connection stays usable. */
	{
		uint8_t big[64] = {0};
		unsigned int op;

		for (op = PVIO_HV_OP_EVTCHN_ALLOC_UNBOUND;
		     op <= PVIO_HV_OP_EVTCHN_STATUS; op++) {
			assert_int_equal(pvio__dom_call(a, op, 0, big, 1, big,
							sizeof(big), NULL, NULL,
							NULL, 0, NULL),
					 -EINVAL);
			assert_int_equal(pvio__dom_call(a, op, 0, big,
							sizeof(big), big,
							sizeof(big), NULL, NULL,
							NULL, 0, NULL),
					 -EINVAL);
			assert_int_equal(pvio__dom_call(a, op, 0, NULL, 0, big,
							sizeof(big), NULL, NULL,
							NULL, 0, NULL),
					 -EINVAL);
		}
	}

	/* Close twice; nothing else changed by all of the above. */
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa, &lb), 0);
	assert_int_equal(pvio_dom_evtchn_close(b, lb), 0);
	assert_int_equal(pvio_dom_evtchn_close(b, lb), -EINVAL);
	expect_status(a, DOMID_SELF, pa, EVTCHNSTAT_unbound, idb, 0);
	expect_status(b, DOMID_SELF, lb, EVTCHNSTAT_closed, 0, 0);

	/* A dead domain: its ports are gone, a forged bind gets -ESRCH. */
	new_dom(f, "d", &idd, credd, false);
	{
		struct pvio_dom *d = pvio_dom_open(f->hv.dir, credd, &err);

		assert_non_null(d);
		assert_int_equal(pvio_dom_evtchn_alloc_unbound(d, idb, &pself),
				 0);
		pvio_dom_close(d);
	}
	assert_int_equal(pvio_dom_ctl_destroy(f->dom0, idd), 0);
	assert_int_equal(pvio_dom_evtchn_bind(b, idd, pself, &x), -ESRCH);
	assert_int_equal(pvio_dom_evtchn_status(f->dom0, idd, pself, &st),
			 -ESRCH);
	assert_null(pvio_dom_open(f->hv.dir, credd, &err));

	pvio_dom_close(a);
	pvio_dom_close(b);
	pvio_dom_close(c);
}

static void test_port_limit(void **state)
{
	struct fx *f = *state;
	pvio_domid_t ida, idb;
	struct pvio_dom *a = new_dom(f, "a", &ida, NULL, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	pvio_evtchn_port_t p, x, pb;
	struct pvio_evtchn_status st;
	unsigned int i;

	assert_int_equal(pvio_dom_evtchn_alloc_unbound(b, ida, &pb), 0);
	/* 4095 ports: 1 .. 4095 in order (port 0 is reserved). */
	for (i = 1; i < EVTCHN_2L_NR_CHANNELS; i++) {
		assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &p), 0);
		assert_int_equal(p, i);
	}
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &p), -ENOSPC);
	/* Xen checks the local port before the remote one. */
	assert_int_equal(pvio_dom_evtchn_bind(a, idb, pb, &x), -ENOSPC);
	assert_int_equal(pvio_dom_evtchn_bind(a, idb, 4000, &x), -ENOSPC);
	expect_status(b, DOMID_SELF, pb, EVTCHNSTAT_unbound, ida, 0);
	expect_status(a, DOMID_SELF, 4095, EVTCHNSTAT_unbound, idb, 0);
	assert_int_equal(pvio_dom_evtchn_status(a, DOMID_SELF, 4096, &st),
			 -EINVAL);
	/* Free one: it is the one handed out next. */
	assert_int_equal(pvio_dom_evtchn_close(a, 1234), 0);
	assert_int_equal(pvio_dom_evtchn_bind(a, idb, pb, &x), 0);
	assert_int_equal(x, 1234);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &p), -ENOSPC);
	pvio_dom_close(a);
	pvio_dom_close(b);
}

/* Two handles of one domain: the other one learns about the bind. */
static void test_two_handles(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX];
	pvio_domid_t ida, idb;
	struct pvio_dom *a = new_dom(f, "a", &ida, cred, true);
	struct pvio_dom *b = new_dom(f, "b", &idb, NULL, true);
	struct pvio_dom *a2;
	pvio_evtchn_port_t pa, lb, got[16];
	int err = 0, fds;

	a2 = pvio_dom_open(f->hv.dir, cred, &err);
	assert_non_null(a2);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(a, idb, &pa), 0);
	/* a2 did not allocate it, pvio-hv says unbound: dropped. */
	assert_int_equal(pvio_dom_evtchn_send(a2, pa), 0);
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, pa, &lb), 0);
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);
	/* Both processes of A hold the doorbell. */
	assert_int_equal(pvio_dom_evtchn_send(a2, pa), 0);
	assert_true(readable(b, 1000));
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);
	assert_int_equal(pvio_dom_evtchn_send(a, pa), 0);
	assert_true(readable(b, 1000));
	assert_int_equal(pend(b, got), 1);
	assert_int_equal(pvio_dom_evtchn_unmask(b, lb), 0);
	/* a closes: a2 is told, its send fails like on any closed port. */
	fds = nr_fds();
	assert_int_equal(pvio_dom_evtchn_close(a, pa), 0);
	assert_int_equal(nr_fds(), fds - 2); /* a's doorbells */
	assert_int_equal(pend(a2, got), 0);
	assert_int_equal(nr_fds(), fds - 4); /* and a2's */
	assert_int_equal(pend(b, got), 0);
	assert_int_equal(nr_fds(), fds - 6); /* and b's: its peer left */
	assert_int_equal(pvio_dom_evtchn_send(a2, pa), -EINVAL);
	pvio_dom_close(a2);
	pvio_dom_close(a);
	pvio_dom_close(b);
}

/* ---- across processes -------------------------------------------------- */

static void test_poll_cross_process(void **state)
{
	struct fx *f = *state;
	char creda[PVIO_DOM_CRED_MAX];
	pvio_domid_t ida, idb;
	struct pvio_dom *b;
	pvio_evtchn_port_t pb, la, got[16];
	struct kid k;
	int32_t rc;
	int i, epfd;
	struct epoll_event ev = {.events = EPOLLIN}, out;

	new_dom(f, "a", &ida, creda, false);
	b = new_dom(f, "b", &idb, NULL, true);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(b, ida, &pb), 0);
	la = kid_start(&k, f, creda, idb, pb);
	expect_status(b, DOMID_SELF, pb, EVTCHNSTAT_interdomain, ida, la);
	/* The BOUND notice made the fd readable; nothing is pending. */
	assert_int_equal(pend(b, got), 0);
	assert_false(readable(b, 0));

	/* pvio_dom_fd() inside the caller's own epoll works too. */
	epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(epfd >= 0);
	assert_int_equal(epoll_ctl(epfd, EPOLL_CTL_ADD, pvio_dom_fd(b), &ev),
			 0);
	for (i = 0; i < 3; i++) {
		assert_false(readable(b, 50)); /* nothing sent: not readable */
		assert_int_equal(epoll_wait(epfd, &out, 1, 0), 0);
		assert_int_equal(wr32(k.sock, CMD_SEND), 0);
		assert_int_equal(rd32(k.sock, &rc, 5000), 0);
		assert_int_equal(rc, 0);
		assert_int_equal(epoll_wait(epfd, &out, 1, 5000), 1);
		assert_true(readable(b, 0));
		assert_int_equal(pend(b, got), 1);
		assert_int_equal(got[0], pb);
		assert_false(readable(b, 0));
		assert_int_equal(pvio_dom_evtchn_unmask(b, pb), 0);
	}
	close(epfd);
	assert_int_equal(kid_stop(&k), 0);
	/* Its process left; the domain (and the channel) live on. */
	expect_status(b, DOMID_SELF, pb, EVTCHNSTAT_interdomain, ida, la);
	pvio_dom_close(b);
}

static int port_unbound(void *arg)
{
	void **p = arg;
	struct pvio_dom *b = p[0];
	pvio_evtchn_port_t port = *(pvio_evtchn_port_t *)p[1];
	struct pvio_evtchn_status st;

	return pvio_dom_evtchn_status(b, DOMID_SELF, port, &st) == 0 &&
	       st.status == EVTCHNSTAT_unbound;
}

static void test_death(void **state)
{
	struct fx *f = *state;
	char creda[PVIO_DOM_CRED_MAX];
	pvio_domid_t ida, idb;
	struct pvio_dom *b;
	pvio_evtchn_port_t pb, la, pb2, x, got[16];
	struct timespec t0, t1;
	void *arg[2];
	struct kid k;
	int st = 0, fds_bound;
	long ms;

	new_dom(f, "a", &ida, creda, false);
	b = new_dom(f, "b", &idb, NULL, true);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(b, ida, &pb), 0);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(b, ida, &pb2), 0);
	la = kid_start(&k, f, creda, idb, pb);
	assert_int_equal(pvio_dom_ctl_set_pid(f->dom0, ida, k.pid), 0);
	assert_int_equal(pend(b, got), 0);
	expect_status(b, DOMID_SELF, pb, EVTCHNSTAT_interdomain, ida, la);
	fds_bound = nr_fds();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(kill(k.pid, SIGKILL), 0);
	assert_int_equal(waitpid(k.pid, &st, 0), k.pid);
	close(k.sock);
	arg[0] = b;
	arg[1] = &pb;
	assert_int_equal(hvtest_wait(port_unbound, arg, 5000), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms < 5000);
	/* Back to unbound, reserved for the dead domain, as in Xen. */
	expect_status(b, DOMID_SELF, pb, EVTCHNSTAT_unbound, ida, 0);
	expect_status(b, DOMID_SELF, pb2, EVTCHNSTAT_unbound, ida, 0);
	/* B was told: its doorbells are gone, a send is just dropped. */
	assert_int_equal(pend(b, got), 0);
	assert_false(readable(b, 0));
	assert_int_equal(nr_fds(), fds_bound - 1 /* k.sock */ - 2);
	assert_int_equal(pvio_dom_evtchn_send(b, pb), 0);
	assert_int_equal(pvio_dom_evtchn_bind(b, ida, la, &x), -ESRCH);
	assert_int_equal(pvio_dom_evtchn_close(b, pb), 0);
	assert_int_equal(pvio_dom_evtchn_close(b, pb2), 0);
	pvio_dom_close(b);
}

static void test_pingpong(void **state)
{
	struct fx *f = *state;
	char creda[PVIO_DOM_CRED_MAX];
	pvio_domid_t ida, idb;
	struct pvio_dom *b;
	pvio_evtchn_port_t pb, got[16];
	unsigned int empty = 0;
	struct timespec t0, t1;
	int32_t kid_rounds, kid_empty;
	struct kid k;
	int i;

	new_dom(f, "a", &ida, creda, false);
	b = new_dom(f, "b", &idb, NULL, true);
	assert_int_equal(pvio_dom_evtchn_alloc_unbound(b, ida, &pb), 0);
	kid_start(&k, f, creda, idb, pb);
	assert_int_equal(pend(b, got), 0);

	assert_int_equal(wr32(k.sock, CMD_PINGPONG), 0);
	assert_int_equal(wr32(k.sock, PINGPONG_ROUNDS), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < PINGPONG_ROUNDS; i++) {
		assert_int_equal(pvio_dom_evtchn_send(b, pb), 0);
		assert_int_equal(wait_one(b, pb, &empty), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(rd32(k.sock, &kid_rounds, 10000), 0);
	assert_int_equal(rd32(k.sock, &kid_empty, 10000), 0);
	assert_int_equal(kid_rounds, PINGPONG_ROUNDS);
	/* Nothing extra on our side either. */
	assert_false(readable(b, 50) && pend(b, got) != 0);
	print_message("ping-pong: %d round trips in %.3f s (%.2f us each), "
		      "empty wake-ups %u here, %d there\n",
		      PINGPONG_ROUNDS,
		      (double)(t1.tv_sec - t0.tv_sec) +
			      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		      ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
			      PINGPONG_ROUNDS,
		      empty, kid_empty);
	assert_int_equal(kid_stop(&k), 0);
	pvio_dom_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_send_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_take_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_addr_pfn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mask_latch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_poll_cross_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_death, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pingpong, setup, teardown),
	};

	/* A child that dies must not take the test with it. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
