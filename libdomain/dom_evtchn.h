/* SPDX-License-Identifier: MIT */
/*
 * libdomain's event-channel state (private to libdomain/evtchn.c).
 *
 * Per handle: one pending and one mask bit per port, kept with
 * libchannel's event-channel client (pvio/evtchn.h) in private memory,
 * and the two doorbell eventfds of every interdomain port this process
 * was handed by pvio-hv.
 */
#ifndef PVIO_DOM_EVTCHN_H
#define PVIO_DOM_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include <pvio/doorbell.h>
#include <pvio/evtchn.h>

/* What this handle knows about one of its domain's ports. */
enum pvio__dom_port_state {
	PVIO__DOM_PORT_UNKNOWN = 0, /* closed, or opened by another handle */
	PVIO__DOM_PORT_UNBOUND = 1, /* reserved for a remote domain */
	PVIO__DOM_PORT_INTERDOMAIN = 2, /* wait / kick set */
};

/*
 * The two doorbells (libchannel's, one eventfd each) of a bound port:
 * 'wait' is rung by the peer and sits in dom->epfd with the port number
 * as data; 'kick' is the peer's 'wait': a send rings it.  Their stats
 * count notifications per port for benchmarks.
 */
struct pvio__dom_port {
	uint8_t state; /* enum pvio__dom_port_state */
	bool taken;    /* pvio_dom_evtchn_take_fds(): wait is not in epfd */
	struct pvio_doorbell *wait;
	struct pvio_doorbell *kick;
};

/* epoll data of ready_fd in dom->epfd (ports use their number). */
#define PVIO__DOM_EP_READY (UINT64_MAX - 1)

struct pvio__dom_evtchn {
	struct pvio_evtchn_shared bits; /* pending + mask, this process */
	struct pvio_evtchn_vcpu vcpu;	/* unused upcall flags */
	struct pvio_evtchn ev;
	/*
	 * Written when an event is latched here but no eventfd says so
	 * (initial pending after bind, an unmask that found the port
	 * pending, more ports pending than one pvio_dom_evtchn_pending()
	 * call returned): keeps pvio_dom_fd() readable, as promised.
	 */
	int ready_fd;
	struct pvio__dom_port ports[EVTCHN_2L_NR_CHANNELS];
};

#endif /* PVIO_DOM_EVTCHN_H */
