/* SPDX-License-Identifier: MIT */
/*
 * Device connection states (Xen io/xenbus.h, wire compatible).
 *
 * Frontend and backend each publish one of these, as a decimal number, in
 * the "state" key of their xenstore directory and watch the other's.  Both
 * start in Initialising; implementations must tolerate skipped states.
 *
 * These are pvio's own definitions; tests/compat proves that they match
 * the Xen 4.17 public headers.
 */
#ifndef PVIO_IO_XENBUS_H
#define PVIO_IO_XENBUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum pvio_xenbus_state {
	XenbusStateUnknown = 0,	     /* no state key (yet) */
	XenbusStateInitialising = 1, /* set up by the toolstack */
	XenbusStateInitWait = 2,     /* features published; waiting for peer */
	XenbusStateInitialised = 3,  /* frontend: rings/event channel written */
	XenbusStateConnected = 4,    /* data may flow */
	XenbusStateClosing = 5,	     /* shutting down (error or unplug) */
	XenbusStateClosed = 6,	     /* resources released */
	XenbusStateReconfiguring = 7, /* reconfiguration in progress */
	XenbusStateReconfigured = 8   /* reconfiguration done */
};

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_XENBUS_H */
