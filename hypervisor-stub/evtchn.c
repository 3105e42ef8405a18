/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv's event-channel hypercalls: alloc_unbound, bind_interdomain,
 * close, status, with Xen's semantics and error codes
 * (xen/common/event_channel.c; PROTOCOL-FACTS.md section 5).
 *
 * Doorbells.  At bind time pvio-hv makes two eventfds, one per direction,
 * and hands each end the one it waits on and the one it kicks (the binder
 * in its reply, every other connection of both domains in a
 * PVIO_HV_ASYNC_EVTCHN_BOUND notice).  Then it closes its own copies: a
 * send is a write() by one domain process that wakes the other directly,
 * never a pvio-hv round trip.  A domain can kick only what it was handed,
 * i.e. the channels it is bound to.  On close (or death) pvio-hv tells
 * the remaining processes to drop the fds (PVIO_HV_ASYNC_EVTCHN_CLOSED);
 * a kick that races with that lands on an eventfd nobody waits on any
 * more, and a later bind of the same port numbers gets fresh eventfds, so
 * an event never crosses from one channel to another.
 *
 * Pending and mask bits are per receiving process (libdomain/evtchn.c);
 * pvio-hv only tracks the connection graph, exactly Xen's ECS_* states.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evtchn.h"
#include "evtchn_state.h"

/*
 * Every per-domain state allocated, so that pvio__hv_evtchn_fini() frees
 * what no release hook did (dom0 is freed at shutdown without one).
 * pvio-hv is one process with one hv instance and one thread, so a
 * file-scope list is enough and needs no lock.
 */
static struct pvio__hv_evtchn_dom *all_doms;

static bool is_dom0(const struct pvio__hv_conn *c)
{
	return c->dom->domid == 0;
}

static struct pvio__hv_evtchn_dom *evdom(struct pvio__hv_domain *d)
{
	struct pvio__hv_evtchn_dom *e = d->evtchn;

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->domid = d->domid;
	/* Xen's evtchn_init: bucket 0 exists, port 0 is reserved. */
	e->valid = PVIO__HV_EVTCHN_BUCKET;
	e->ports[0].state = PVIO__ECS_RESERVED;
	e->next = all_doms;
	if (all_doms != NULL)
		all_doms->prev = e;
	all_doms = e;
	d->evtchn = e;
	return e;
}

static void evdom_free(struct pvio__hv_evtchn_dom *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		all_doms = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	free(e);
}

/* Xen's get_free_port(): the lowest free port, growing by a bucket. */
static int get_free_port(struct pvio__hv_evtchn_dom *e)
{
	uint32_t p;

	for (p = 0; p < e->valid; p++)
		if (e->ports[p].state == PVIO__ECS_FREE)
			return (int)p;
	if (e->valid >= EVTCHN_2L_NR_CHANNELS)
		return -ENOSPC;
	e->valid += PVIO__HV_EVTCHN_BUCKET;
	return (int)p;
}

/* Send a notice to every connection of 'd' except 'except'. */
static void notify_dom(struct pvio__hv *hv, struct pvio__hv_domain *d,
		       const struct pvio__hv_conn *except, uint32_t type,
		       const void *payload, size_t len, const int *fds,
		       unsigned int nfds)
{
	struct pvio__hv_conn *c;

	for (c = d->conns; c != NULL; c = c->dom_next)
		if (c != except)
			/* A connection that cannot take it is closed by
			 * hv.c: nothing to undo here. */
			(void)pvio__hv_send_async(hv, c, type, payload, len,
						  fds, nfds);
}

/*
 * Close 'port' of 'd' (Xen's __evtchn_close for the states we have): the
 * peer end goes back to unbound, reserved for 'd', and its processes drop
 * their doorbells; the other processes of 'd' (all but 'closer') learn
 * that the port is closed.  The caller checked that the port is open.
 */
static void close_port(struct pvio__hv *hv, struct pvio__hv_domain *d,
		       uint32_t port, const struct pvio__hv_conn *closer)
{
	struct pvio__hv_evtchn_dom *e = d->evtchn;
	struct pvio__hv_evtchn_port *p = &e->ports[port];
	struct pvio__hv_async_closed n = {0};

	if (p->state == PVIO__ECS_INTERDOMAIN) {
		/* d itself for a loopback channel (d may be dying). */
		struct pvio__hv_domain *pd =
			p->remote_dom == d->domid
				? d
				: pvio__hv_domain_get(hv, p->remote_dom);

		/*
		 * A peer always outlives its channels: its own death closes
		 * them first.  The checks keep a broken invariant from
		 * becoming a wild write.
		 */
		if (pd != NULL && pd->evtchn != NULL &&
		    p->remote_port < pd->evtchn->valid &&
		    pd->evtchn->ports[p->remote_port].state ==
			    PVIO__ECS_INTERDOMAIN) {
			struct pvio__hv_evtchn_port *rp =
				&pd->evtchn->ports[p->remote_port];

			rp->state = PVIO__ECS_UNBOUND;
			rp->remote_dom = d->domid;
			rp->remote_port = 0;
			n.port = p->remote_port;
			n.status = EVTCHNSTAT_unbound;
			n.remote_dom = d->domid;
			notify_dom(hv, pd, NULL, PVIO_HV_ASYNC_EVTCHN_CLOSED,
				   &n, sizeof(n), NULL, 0);
		} else {
			pvio__hv_log(hv, d->domid,
				     "evtchn: port %u had a stale peer %u:%u",
				     port, p->remote_dom, p->remote_port);
		}
	}
	p->state = PVIO__ECS_FREE;
	p->remote_dom = 0;
	p->remote_port = 0;
	e->nr_open--;
	n.port = port;
	n.status = EVTCHNSTAT_closed;
	n.remote_dom = 0;
	notify_dom(hv, d, closer, PVIO_HV_ASYNC_EVTCHN_CLOSED, &n, sizeof(n),
		   NULL, 0);
}

int pvio__hv_evtchn_init(struct pvio__hv *hv)
{
	(void)hv;
	return 0;
}

void pvio__hv_evtchn_fini(struct pvio__hv *hv)
{
	(void)hv;
	while (all_doms != NULL)
		evdom_free(all_doms);
}

int pvio__hv_evtchn_alloc_unbound(struct pvio__hv *hv, struct pvio__hv_conn *c,
				  const struct pvio__hv_hdr *h,
				  const void *payload, size_t len,
				  struct pvio__hv_reply *r)
{
	struct pvio_evtchn_alloc_unbound a;
	struct pvio__hv_domain *d;
	struct pvio__hv_evtchn_dom *e;
	int port;

	(void)h;
	if (len != sizeof(a))
		return -EINVAL;
	memcpy(&a, payload, sizeof(a));
	d = a.dom == DOMID_SELF ? c->dom : pvio__hv_domain_get(hv, a.dom);
	if (d == NULL)
		return -ESRCH;
	/* XSM_TARGET: only the domain itself or a privileged one; checked
	 * before anything of 'd' is touched (its port table would grow). */
	if (d != c->dom && !is_dom0(c))
		return -EPERM;
	e = evdom(d);
	if (e == NULL)
		return -ENOMEM;
	port = get_free_port(e);
	if (port < 0)
		return port;
	e->ports[port].state = PVIO__ECS_UNBOUND;
	e->ports[port].remote_dom =
		a.remote_dom == DOMID_SELF ? c->dom->domid : a.remote_dom;
	e->ports[port].remote_port = 0;
	e->nr_open++;
	a.port = (uint32_t)port;
	memcpy(r->buf, &a, sizeof(a));
	r->len = sizeof(a);
	return 0;
}

int pvio__hv_evtchn_bind(struct pvio__hv *hv, struct pvio__hv_conn *c,
			 const struct pvio__hv_hdr *h, const void *payload,
			 size_t len, struct pvio__hv_reply *r)
{
	struct pvio_evtchn_bind_interdomain b;
	struct pvio__hv_async_bound n;
	struct pvio__hv_domain *ld = c->dom, *rd;
	struct pvio__hv_evtchn_dom *le, *re;
	struct pvio__hv_evtchn_port *lp, *rp;
	int lport, efd_lr, efd_rl, notice_fds[2];
	uint32_t rport;

	(void)h;
	if (len != sizeof(b))
		return -EINVAL;
	memcpy(&b, payload, sizeof(b));
	rd = b.remote_dom == DOMID_SELF ? ld
					: pvio__hv_domain_get(hv, b.remote_dom);
	if (rd == NULL)
		return -ESRCH;
	/* Xen's order: the local port first (-ENOSPC), then the remote. */
	le = evdom(ld);
	if (le == NULL)
		return -ENOMEM;
	lport = get_free_port(le);
	if (lport < 0)
		return lport;
	rport = b.remote_port;
	re = rd->evtchn;
	if (re == NULL || rport >= re->valid)
		return -EINVAL;
	rp = &re->ports[rport];
	if (rp->state != PVIO__ECS_UNBOUND || rp->remote_dom != ld->domid)
		return -EINVAL;

	/* efd_lr: the binder kicks, the remote end waits; efd_rl reverse. */
	efd_lr = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd_lr < 0)
		return -errno;
	efd_rl = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd_rl < 0) {
		int rc = -errno;

		close(efd_lr);
		return rc;
	}

	lp = &le->ports[lport];
	lp->state = PVIO__ECS_INTERDOMAIN;
	lp->remote_dom = rd->domid;
	lp->remote_port = rport;
	le->nr_open++;
	rp->state = PVIO__ECS_INTERDOMAIN;
	rp->remote_dom = ld->domid;
	rp->remote_port = (uint32_t)lport;

	/*
	 * Every process of the remote domain (the binder's own connection
	 * too, for a loopback channel: the notice reaches it before the
	 * reply), then the binder's other processes.
	 */
	n.port = rport;
	n.remote_dom = ld->domid;
	n.remote_port = (uint32_t)lport;
	notice_fds[0] = efd_lr;
	notice_fds[1] = efd_rl;
	notify_dom(hv, rd, NULL, PVIO_HV_ASYNC_EVTCHN_BOUND, &n, sizeof(n),
		   notice_fds, 2);
	n.port = (uint32_t)lport;
	n.remote_dom = rd->domid;
	n.remote_port = rport;
	notice_fds[0] = efd_rl;
	notice_fds[1] = efd_lr;
	notify_dom(hv, ld, c, PVIO_HV_ASYNC_EVTCHN_BOUND, &n, sizeof(n),
		   notice_fds, 2);

	b.local_port = (uint32_t)lport;
	memcpy(r->buf, &b, sizeof(b));
	r->len = sizeof(b);
	/* Owned: hv.c closes our copies once the reply is out. */
	if (pvio__hv_reply_fd(r, efd_rl, true) < 0) {
		close(efd_rl);
		close(efd_lr);
		/* Cannot happen (the reply takes > 2 fds); keep it sane. */
		close_port(hv, ld, (uint32_t)lport, NULL);
		return -E2BIG;
	}
	if (pvio__hv_reply_fd(r, efd_lr, true) < 0) {
		close(efd_lr);
		close_port(hv, ld, (uint32_t)lport, NULL);
		return -E2BIG;
	}
	return 0;
}

int pvio__hv_evtchn_close(struct pvio__hv *hv, struct pvio__hv_conn *c,
			  const struct pvio__hv_hdr *h, const void *payload,
			  size_t len, struct pvio__hv_reply *r)
{
	struct pvio_evtchn_close cl;
	struct pvio__hv_evtchn_dom *e = c->dom->evtchn;
	uint8_t state;

	(void)h, (void)r;
	if (len != sizeof(cl))
		return -EINVAL;
	memcpy(&cl, payload, sizeof(cl));
	if (e == NULL || cl.port >= e->valid)
		return -EINVAL;
	state = e->ports[cl.port].state;
	if (state != PVIO__ECS_UNBOUND && state != PVIO__ECS_INTERDOMAIN)
		return -EINVAL; /* free, or the reserved port 0 */
	close_port(hv, c->dom, cl.port, c);
	return 0;
}

int pvio__hv_evtchn_status(struct pvio__hv *hv, struct pvio__hv_conn *c,
			   const struct pvio__hv_hdr *h, const void *payload,
			   size_t len, struct pvio__hv_reply *r)
{
	struct pvio_evtchn_status st;
	const struct pvio__hv_evtchn_port *p;
	struct pvio__hv_domain *d;
	struct pvio__hv_evtchn_dom *e;

	(void)h;
	if (len != sizeof(st))
		return -EINVAL;
	memcpy(&st, payload, sizeof(st));
	d = st.dom == DOMID_SELF ? c->dom : pvio__hv_domain_get(hv, st.dom);
	if (d == NULL)
		return -ESRCH;
	e = d->evtchn;
	/* A domain that never used a port has Xen's initial bucket only. */
	if (st.port >= (e != NULL ? e->valid : PVIO__HV_EVTCHN_BUCKET))
		return -EINVAL;
	if (d != c->dom && !is_dom0(c))
		return -EPERM; /* XSM_TARGET */
	memset(&st.u, 0, sizeof(st.u));
	st.vcpu = 0;
	p = e != NULL ? &e->ports[st.port] : NULL;
	switch (p != NULL ? p->state : PVIO__ECS_FREE) {
	case PVIO__ECS_UNBOUND:
		st.status = EVTCHNSTAT_unbound;
		st.u.unbound.dom = p->remote_dom;
		break;
	case PVIO__ECS_INTERDOMAIN:
		st.status = EVTCHNSTAT_interdomain;
		st.u.interdomain.dom = p->remote_dom;
		st.u.interdomain.port = p->remote_port;
		break;
	default: /* free or reserved */
		st.status = EVTCHNSTAT_closed;
		break;
	}
	memcpy(r->buf, &st, sizeof(st));
	r->len = sizeof(st);
	return 0;
}

void pvio__hv_evtchn_domain_release(struct pvio__hv *hv,
				    struct pvio__hv_domain *d)
{
	struct pvio__hv_evtchn_dom *e = d->evtchn;
	uint32_t port, closed = 0;

	if (e == NULL)
		return;
	/* Xen's evtchn_destroy: close every port; peers go unbound. */
	for (port = 1; port < e->valid; port++) {
		uint8_t s = e->ports[port].state;

		if (s == PVIO__ECS_UNBOUND || s == PVIO__ECS_INTERDOMAIN) {
			close_port(hv, d, port, NULL);
			closed++;
		}
	}
	if (closed != 0)
		pvio__hv_log(hv, d->domid, "evtchn: %u ports closed", closed);
	d->evtchn = NULL;
	evdom_free(e);
}

void pvio__hv_evtchn_conn_closed(struct pvio__hv *hv, struct pvio__hv_conn *c)
{
	/*
	 * Nothing per connection: ports belong to the domain, which lives
	 * on; the process's doorbell fds went with it.
	 */
	(void)hv, (void)c;
}

uint32_t pvio__hv_evtchn_nr_open(const struct pvio__hv_domain *d)
{
	return d->evtchn != NULL ? d->evtchn->nr_open : 0;
}
