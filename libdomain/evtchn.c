/* SPDX-License-Identifier: MIT */
/*
 * Event channels of a domain, the process side.
 *
 * alloc_unbound, bind, close and status are hypercalls
 * (hypervisor-stub/evtchn.c).  A bound port comes with two eventfds,
 * held as libchannel doorbells: the one the peer rings ('wait', in
 * pvio_dom_fd()'s epoll with the port number as data) and the one we ring
 * ('kick'): send is one write() and never reaches pvio-hv.
 * pvio_dom_evtchn_pending() drains the ready eventfds into per-port pending
 * bits (libchannel's pvio_evtchn, Xen's 2-level layout, private to this handle)
 * and hands out pending, unmasked ports, masking each (xenevtchn_pending
 * semantics).  The eventfd counter is the latch while nobody reads; the pending
 * bit is the latch while the port is masked.
 *
 * Ports of the domain that another process bound or allocated reach this
 * handle as PVIO_HV_ASYNC_EVTCHN_BOUND / _CLOSED notices on its
 * connection, read by pvio__dom_poll_async() when pvio_dom_fd() says the
 * socket is readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dom_evtchn.h"
#include "dom_private.h"

#define NR_PORTS EVTCHN_2L_NR_CHANNELS

static bool port_ok(pvio_evtchn_port_t port)
{
	return port < NR_PORTS;
}

/* A port number pvio-hv may hand out (port 0 is reserved, as in Xen). */
static bool port_usable(pvio_evtchn_port_t port)
{
	return port != 0 && port < NR_PORTS;
}

/* Make pvio_dom_fd() readable for events latched only in our bits. */
static void kick_ready(struct pvio__dom_evtchn *e)
{
	uint64_t one = 1;

	/* EAGAIN only if the counter is at its maximum: readable anyway. */
	if (write(e->ready_fd, &one, sizeof(one)) < 0)
		return;
}

static void drain_fd(int fd)
{
	uint64_t v;

	/* Non-blocking: EAGAIN when nothing was there. */
	if (read(fd, &v, sizeof(v)) < 0)
		return;
}

/* Forget a port's doorbells (stale kicks then land nowhere). */
static void drop_fds(struct pvio_dom *dom, struct pvio__dom_port *p)
{
	if (p->wait != NULL && !p->taken)
		pvio__dom_epoll_del(dom, pvio_doorbell_fd(p->wait));
	p->taken = false;
	pvio_doorbell_close(p->wait);
	pvio_doorbell_close(p->kick);
	p->wait = NULL;
	p->kick = NULL;
}

/* A port that is new to this handle: nothing pending, unmasked. */
static void reset_bits(struct pvio__dom_evtchn *e, pvio_evtchn_port_t port)
{
	pvio_evtchn_clear(&e->ev, port);
	pvio_evtchn_unmask(&e->ev, port);
}

/* Install the doorbells of an interdomain port; takes both fds. */
static int set_bound(struct pvio_dom *dom, pvio_evtchn_port_t port, int wait_fd,
		     int kick_fd)
{
	struct pvio__dom_port *p = &dom->evtchn->ports[port];
	int rc = 0;

	drop_fds(dom, p);
	p->state = PVIO__DOM_PORT_UNKNOWN;
	/* from_fd takes the fd, also on failure. */
	p->wait = pvio_doorbell_from_fd(wait_fd, &rc);
	if (p->wait == NULL) {
		close(kick_fd);
		return rc;
	}
	p->kick = pvio_doorbell_from_fd(kick_fd, &rc);
	if (p->kick == NULL) {
		drop_fds(dom, p);
		return rc;
	}
	rc = pvio__dom_epoll_add(dom, pvio_doorbell_fd(p->wait), port);
	if (rc < 0) {
		pvio_doorbell_close(p->wait);
		p->wait = NULL;
		drop_fds(dom, p);
		return rc;
	}
	p->state = PVIO__DOM_PORT_INTERDOMAIN;
	return 0;
}

int pvio__dom_evtchn_init(struct pvio_dom *dom)
{
	struct pvio__dom_evtchn *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL)
		return -ENOMEM;
	/* Unmasked, as Xen's ports start; bind/alloc reset each port. */
	rc = pvio_evtchn_shared_init(&e->bits, &e->vcpu, false);
	if (rc == 0)
		rc = pvio_evtchn_init(&e->ev, &e->bits, &e->vcpu, NULL, 0);
	if (rc < 0) {
		free(e);
		return rc;
	}
	e->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->ready_fd < 0) {
		rc = -errno;
		free(e);
		return rc;
	}
	rc = pvio__dom_epoll_add(dom, e->ready_fd, PVIO__DOM_EP_READY);
	if (rc < 0) {
		close(e->ready_fd);
		free(e);
		return rc;
	}
	dom->evtchn = e;
	return 0;
}

void pvio__dom_evtchn_fini(struct pvio_dom *dom)
{
	struct pvio__dom_evtchn *e = dom->evtchn;
	unsigned int i;

	if (e == NULL)
		return;
	for (i = 0; i < NR_PORTS; i++)
		drop_fds(dom, &e->ports[i]);
	pvio__dom_epoll_del(dom, e->ready_fd);
	close(e->ready_fd);
	free(e);
	dom->evtchn = NULL;
}

void pvio__dom_evtchn_async(struct pvio_dom *dom, const struct pvio__hv_hdr *h,
			    const void *payload, int *fds, unsigned int nfds)
{
	struct pvio__dom_evtchn *e = dom->evtchn;
	unsigned int i;

	if (e != NULL && h->type == PVIO_HV_ASYNC_EVTCHN_BOUND &&
	    h->len == sizeof(struct pvio__hv_async_bound) && nfds == 2) {
		struct pvio__hv_async_bound b;

		memcpy(&b, payload, sizeof(b));
		if (port_usable(b.port)) {
			/* set_bound takes the fds, also on failure. */
			(void)set_bound(dom, b.port, fds[0], fds[1]);
			return;
		}
	} else if (e != NULL && h->type == PVIO_HV_ASYNC_EVTCHN_CLOSED &&
		   h->len == sizeof(struct pvio__hv_async_closed)) {
		struct pvio__hv_async_closed c;

		memcpy(&c, payload, sizeof(c));
		if (port_usable(c.port)) {
			struct pvio__dom_port *p = &e->ports[c.port];

			drop_fds(dom, p);
			if (c.status == EVTCHNSTAT_unbound) {
				/* As Xen: a latched event stays pending. */
				p->state = PVIO__DOM_PORT_UNBOUND;
			} else {
				p->state = PVIO__DOM_PORT_UNKNOWN;
				reset_bits(e, c.port);
			}
		}
	}
	/* Anything unexpected: not ours to keep. */
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

int pvio_dom_evtchn_alloc_unbound(struct pvio_dom *dom, pvio_domid_t remote,
				  pvio_evtchn_port_t *port)
{
	struct pvio_evtchn_alloc_unbound a = {0};
	struct pvio__dom_port *p;
	size_t len = 0;
	int rc;

	if (dom == NULL || port == NULL || dom->evtchn == NULL)
		return -EINVAL;
	a.dom = DOMID_SELF;
	a.remote_dom = remote;
	rc = pvio__dom_call(dom, PVIO_HV_OP_EVTCHN_ALLOC_UNBOUND, 0, &a,
			    sizeof(a), &a, sizeof(a), &len, NULL, NULL, 0,
			    NULL);
	if (rc < 0)
		return rc;
	if (len != sizeof(a) || !port_usable(a.port))
		return -EPROTO;
	p = &dom->evtchn->ports[a.port];
	drop_fds(dom, p);
	p->state = PVIO__DOM_PORT_UNBOUND;
	reset_bits(dom->evtchn, a.port);
	*port = a.port;
	return 0;
}

int pvio_dom_evtchn_bind(struct pvio_dom *dom, pvio_domid_t remote,
			 pvio_evtchn_port_t remote_port,
			 pvio_evtchn_port_t *local_port)
{
	struct pvio_evtchn_bind_interdomain b = {0};
	unsigned int nfds = 0;
	size_t len = 0;
	int fds[2], rc;

	if (dom == NULL || local_port == NULL || dom->evtchn == NULL)
		return -EINVAL;
	b.remote_dom = remote;
	b.remote_port = remote_port;
	rc = pvio__dom_call(dom, PVIO_HV_OP_EVTCHN_BIND, 0, &b, sizeof(b), &b,
			    sizeof(b), &len, NULL, fds, 2, &nfds);
	if (rc < 0)
		return rc;
	if (len != sizeof(b) || nfds != 2 || !port_usable(b.local_port)) {
		while (nfds > 0)
			close(fds[--nfds]);
		return -EPROTO;
	}
	/* fds[0]: we wait on it, fds[1]: we kick it (hv_proto.h). */
	rc = set_bound(dom, b.local_port, fds[0], fds[1]);
	if (rc < 0)
		return rc; /* the port stays bound in pvio-hv: close it */
	/*
	 * Xen sets the new local port pending: events sent to the unbound
	 * remote port before the bind were dropped, so the binder must
	 * look at the shared ring once.
	 */
	reset_bits(dom->evtchn, b.local_port);
	pvio_evtchn_raise(&dom->evtchn->ev, b.local_port);
	kick_ready(dom->evtchn);
	*local_port = b.local_port;
	return 0;
}

int pvio_dom_evtchn_close(struct pvio_dom *dom, pvio_evtchn_port_t port)
{
	struct pvio_evtchn_close c = {0};
	int rc;

	if (dom == NULL || dom->evtchn == NULL)
		return -EINVAL;
	c.port = port;
	rc = pvio__dom_call(dom, PVIO_HV_OP_EVTCHN_CLOSE, 0, &c, sizeof(c),
			    NULL, 0, NULL, NULL, NULL, 0, NULL);
	/* -EINVAL: pvio-hv says it is not open; forget it here too. */
	if ((rc == 0 || rc == -EINVAL) && port_ok(port)) {
		struct pvio__dom_port *p = &dom->evtchn->ports[port];

		drop_fds(dom, p);
		p->state = PVIO__DOM_PORT_UNKNOWN;
		reset_bits(dom->evtchn, port);
	}
	return rc;
}

/* One write() to the peer's eventfd. */
static int kick(struct pvio__dom_port *p)
{
	return pvio_doorbell_ring(p->kick);
}

int pvio_dom_evtchn_send(struct pvio_dom *dom, pvio_evtchn_port_t port)
{
	struct pvio_evtchn_status st;
	struct pvio__dom_port *p;
	int rc;

	if (dom == NULL || dom->evtchn == NULL || !port_ok(port))
		return -EINVAL;
	p = &dom->evtchn->ports[port];
	if (p->state == PVIO__DOM_PORT_INTERDOMAIN)
		return kick(p); /* the fast path: one write(), no pvio-hv */

	/* A notice may have bound (or closed) it meanwhile. */
	rc = pvio__dom_poll_async(dom);
	if (rc < 0)
		return rc;
	if (p->state == PVIO__DOM_PORT_INTERDOMAIN)
		return kick(p);
	if (p->state == PVIO__DOM_PORT_UNBOUND)
		return 0; /* dropped silently, as Xen */
	/*
	 * Unknown here (closed, or opened by another process of the
	 * domain): pvio-hv decides between -EINVAL and a silent drop.  Rare
	 * path: a correct driver sends only on ports it bound.
	 */
	rc = pvio_dom_evtchn_status(dom, DOMID_SELF, port, &st);
	if (rc < 0)
		return rc;
	if (p->state == PVIO__DOM_PORT_INTERDOMAIN)
		return kick(p); /* its BOUND notice came with the reply */
	switch (st.status) {
	case EVTCHNSTAT_unbound:
		return 0;
	case EVTCHNSTAT_interdomain:
		/*
		 * Bound before this process connected: pvio-hv hands
		 * doorbells only at bind time, so this handle has none.
		 */
		return -ENOTCONN;
	default:
		return -EINVAL;
	}
}

int pvio_dom_evtchn_pending(struct pvio_dom *dom, pvio_evtchn_port_t *ports,
			    unsigned int max)
{
	struct pvio__dom_evtchn *e;
	struct epoll_event evs[64];
	unsigned int n = 0, w, rounds;
	bool more = false;
	int rc, k, got;

	if (dom == NULL || dom->evtchn == NULL || (ports == NULL && max != 0))
		return -EINVAL;
	e = dom->evtchn;
	/*
	 * Notices first (they add and drop eventfds), then every ready
	 * eventfd into the pending bits.  Bounded: each round drains what
	 * it saw, and there are at most NR_PORTS + 2 fds in the set.
	 */
	rc = pvio__dom_poll_async(dom);
	if (rc < 0)
		return rc;
	for (rounds = 0; rounds < NR_PORTS / 64 + 2; rounds++) {
		bool sock = false;

		got = epoll_wait(dom->epfd, evs, 64, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (k = 0; k < got; k++) {
			uint64_t d = evs[k].data.u64;

			if (d == PVIO__DOM_EP_SOCK) {
				sock = true;
			} else if (d == PVIO__DOM_EP_READY) {
				drain_fd(e->ready_fd);
			} else if (d < NR_PORTS &&
				   e->ports[d].state ==
					   PVIO__DOM_PORT_INTERDOMAIN) {
				if (pvio_doorbell_drain(e->ports[d].wait) == 1)
					pvio_evtchn_raise(
						&e->ev, (pvio_evtchn_port_t)d);
			}
		}
		if (sock) {
			/* A notice arrived while we drained: take it too. */
			rc = pvio__dom_poll_async(dom);
			if (rc < 0)
				return rc;
			continue;
		}
		if (got < 64)
			break;
	}

	/* Pending and unmasked, in port order; each handed out masked. */
	for (w = 0; w < PVIO_EVTCHN_NR_WORDS && !more; w++) {
		/* Relaxed: only this handle's thread writes these bits. */
		uint64_t bits =
			__atomic_load_n(&e->bits.pending[w], __ATOMIC_RELAXED) &
			~__atomic_load_n(&e->bits.mask[w], __ATOMIC_RELAXED);

		while (bits != 0) {
			pvio_evtchn_port_t port =
				w * PVIO_EVTCHN_WORD_BITS +
				(pvio_evtchn_port_t)__builtin_ctzll(bits);

			if (n == max) {
				more = true;
				break;
			}
			bits &= bits - 1;
			pvio_evtchn_mask(&e->ev, port);
			pvio_evtchn_clear(&e->ev, port);
			ports[n++] = port;
		}
	}
	if (more)
		kick_ready(e); /* level-triggered: the rest is still there */
	return (int)n;
}

int pvio_dom_evtchn_unmask(struct pvio_dom *dom, pvio_evtchn_port_t port)
{
	struct pvio__dom_evtchn *e;

	if (dom == NULL || dom->evtchn == NULL || !port_ok(port))
		return -EINVAL;
	e = dom->evtchn;
	pvio_evtchn_unmask(&e->ev, port);
	/* An event latched while masked is delivered now (Xen's unmask). */
	if (pvio_evtchn_is_pending(&e->ev, port) == 1)
		kick_ready(e);
	return 0;
}

int pvio_dom_evtchn_take_fds(struct pvio_dom *dom, pvio_evtchn_port_t port,
			     int *wait_fd, int *kick_fd)
{
	struct pvio__dom_port *p;
	int w, k, rc;

	if (dom == NULL || dom->evtchn == NULL || !port_ok(port) ||
	    wait_fd == NULL || kick_fd == NULL)
		return -EINVAL;
	/* A frontend learns of the backend's bind through a notice. */
	rc = pvio__dom_poll_async(dom);
	if (rc < 0)
		return rc;
	p = &dom->evtchn->ports[port];
	if (p->state != PVIO__DOM_PORT_INTERDOMAIN)
		return -ENOTCONN;
	w = fcntl(pvio_doorbell_fd(p->wait), F_DUPFD_CLOEXEC, 0);
	if (w < 0)
		return -errno;
	k = fcntl(pvio_doorbell_fd(p->kick), F_DUPFD_CLOEXEC, 0);
	if (k < 0) {
		rc = -errno;
		close(w);
		return rc;
	}
	/*
	 * The caller reads the counter from now on; leaving the fd in the
	 * epoll set would let pvio_dom_evtchn_pending() steal its events.
	 */
	if (!p->taken) {
		pvio__dom_epoll_del(dom, pvio_doorbell_fd(p->wait));
		p->taken = true;
	}
	*wait_fd = w;
	*kick_fd = k;
	return 0;
}

int pvio_dom_evtchn_status(struct pvio_dom *dom, pvio_domid_t domid,
			   pvio_evtchn_port_t port,
			   struct pvio_evtchn_status *st)
{
	struct pvio_evtchn_status s = {0};
	size_t len = 0;
	int rc;

	if (dom == NULL || st == NULL)
		return -EINVAL;
	s.dom = domid;
	s.port = port;
	rc = pvio__dom_call(dom, PVIO_HV_OP_EVTCHN_STATUS, 0, &s, sizeof(s), &s,
			    sizeof(s), &len, NULL, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	if (len != sizeof(s))
		return -EPROTO;
	*st = s;
	return 0;
}
