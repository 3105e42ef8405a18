/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv's event-channel hypercalls (hypervisor-stub/evtchn.c).
 *
 * Handlers: 'payload'/'len' are the request's payload, a private copy
 * (hv.c checked only the header; the handler checks len itself).  They
 * fill 'r' and return 0 or a negative errno, which becomes the reply's
 * 'ret'.  Called only for connections that passed the hello.
 */
#ifndef PVIO_HV_EVTCHN_H
#define PVIO_HV_EVTCHN_H

#include "hv.h"

/* Once at start-up / at exit. */
int pvio__hv_evtchn_init(struct pvio__hv *hv);
void pvio__hv_evtchn_fini(struct pvio__hv *hv);

int pvio__hv_evtchn_alloc_unbound(struct pvio__hv *hv, struct pvio__hv_conn *c,
				  const struct pvio__hv_hdr *h,
				  const void *payload, size_t len,
				  struct pvio__hv_reply *r);
int pvio__hv_evtchn_bind(struct pvio__hv *hv, struct pvio__hv_conn *c,
			 const struct pvio__hv_hdr *h, const void *payload,
			 size_t len, struct pvio__hv_reply *r);
int pvio__hv_evtchn_close(struct pvio__hv *hv, struct pvio__hv_conn *c,
			  const struct pvio__hv_hdr *h, const void *payload,
			  size_t len, struct pvio__hv_reply *r);
int pvio__hv_evtchn_status(struct pvio__hv *hv, struct pvio__hv_conn *c,
			   const struct pvio__hv_hdr *h, const void *payload,
			   size_t len, struct pvio__hv_reply *r);

/*
 * Domain 'd' died or is destroyed: close all its ports (peers' ends go
 * back to unbound, with PVIO_HV_ASYNC_EVTCHN_CLOSED to them) and free
 * d->evtchn.  Called before its xenstore release.
 */
void pvio__hv_evtchn_domain_release(struct pvio__hv *hv,
				    struct pvio__hv_domain *d);

/* Connection 'c' is being closed (c->dom may be NULL); free c->evtchn. */
void pvio__hv_evtchn_conn_closed(struct pvio__hv *hv, struct pvio__hv_conn *c);

/* Ports of 'd' not closed (struct pvio_dom_info.evtchn_open). */
uint32_t pvio__hv_evtchn_nr_open(const struct pvio__hv_domain *d);

#endif /* PVIO_HV_EVTCHN_H */
