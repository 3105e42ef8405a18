/* SPDX-License-Identifier: MIT */
/*
 * libdomain internals shared by its files (core.c, evtchn.c).
 */
#ifndef PVIO_DOM_PRIVATE_H
#define PVIO_DOM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvio/domain.h>
#include <pvio/grant.h>

#include "hv_proto.h"

/* Defined by libdomain/evtchn.c. */
struct pvio__dom_evtchn;

/* epoll data of the hypercall socket in dom->epfd; evtchn.c uses others */
#define PVIO__DOM_EP_SOCK UINT64_MAX

/* A foreign page mapped here (indexed by grant handle). */
struct pvio__dom_fmap {
	void *addr; /* NULL: slot unused */
};

struct pvio_dom {
	int sock;	/* SOCK_SEQPACKET to pvio-hv */
	int epfd;	/* pvio_dom_fd(): sock + evtchn.c's eventfds */
	bool broken;	/* pvio-hv went away: every call -ECONNRESET */
	uint32_t seq;	/* last request's seq */
	uint8_t *rxbuf; /* PVIO_HV_MSG_MAX: one received message */
	pvio_domid_t domid;
	bool dom0;

	/* Own memory: PROT_NONE reservation, pages mapped MAP_FIXED in it. */
	uint8_t *mem_base;
	uint32_t mem_max_pages;
	uint8_t *mem_present; /* 1 per page mapped here */

	/* Own grant table, set up on first pvio_dom_gnttab(). */
	bool gnttab_ready;
	int gnttab_err;
	struct pvio_grant_entry_v1 *gnttab_map;
	size_t gnttab_bytes;
	uint32_t *gnttab_link;
	struct pvio_gnt_share share;

	/* Foreign mappings by handle (PVIO_HV_MAPTRACK). */
	struct pvio__dom_fmap *fmap;

	struct pvio__dom_evtchn *evtchn; /* evtchn.c's, NULL at first */

	/* pvio_dom_get_stats(); written by the handle's thread only. */
	struct pvio_dom_stats stats;
};

/*
 * One hypercall: send 'op' with 'req' (req_len bytes, 'count' array
 * elements), wait for its reply, routing async notices that arrive
 * meanwhile to pvio__dom_evtchn_async().  The reply payload is copied to
 * 'rep' (up to rep_cap bytes; *rep_len gets its length, may be NULL),
 * its count to *rep_count (may be NULL), and its fds (all fragments) to
 * fds[] (up to max_fds; *nfds gets how many; extra fds are closed and
 * the call fails with -EPROTO).  The caller owns the fds it gets.
 * Returns the reply's ret (0 / -errno) or a transport error
 * (-ECONNRESET: pvio-hv went away, the handle is broken).
 */
int pvio__dom_call(struct pvio_dom *dom, uint32_t op, uint32_t count,
		   const void *req, size_t req_len, void *rep, size_t rep_cap,
		   size_t *rep_len, uint32_t *rep_count, int *fds,
		   unsigned int max_fds, unsigned int *nfds);

/*
 * Read every async notice already queued on the socket without
 * blocking and route each to pvio__dom_evtchn_async().  0 or -errno.
 * Call it when pvio_dom_fd() polls readable.
 */
int pvio__dom_poll_async(struct pvio_dom *dom);

/* Add / remove an fd to / from pvio_dom_fd()'s epoll (EPOLLIN). */
int pvio__dom_epoll_add(struct pvio_dom *dom, int fd, uint64_t data);
int pvio__dom_epoll_del(struct pvio_dom *dom, int fd);

/* ---- implemented by libdomain/evtchn.c ------------------------------ */

/* After a successful hello / before the handle is freed. */
int pvio__dom_evtchn_init(struct pvio_dom *dom);
void pvio__dom_evtchn_fini(struct pvio_dom *dom);

/*
 * An async notice from pvio-hv (h->type PVIO_HV_ASYNC_*); payload is a
 * private copy of h->len bytes, valid during the call only.  Takes
 * ownership of fds[0..nfds).  Called from inside pvio__dom_call() and
 * pvio__dom_poll_async(): it must not make a hypercall itself.
 */
void pvio__dom_evtchn_async(struct pvio_dom *dom, const struct pvio__hv_hdr *h,
			    const void *payload, int *fds, unsigned int nfds);

#endif /* PVIO_DOM_PRIVATE_H */
