/* SPDX-License-Identifier: MIT */
/*
 * pvio_xenbus: the xenbus device handshake, one small state machine used
 * by every pvio driver, backend and frontend side.
 *
 * Paths (PROTOCOL-FACTS section 7)
 *   backend   /local/domain/<B>/backend/<type>/<F>/<devid>
 *   frontend  /local/domain/<F>/device/<type>/<devid>
 * The toolstack creates both directories ("state" = 1 in each); the
 * frontend finds the backend through its own keys "backend" and
 * "backend-id", the backend finds the frontend through "frontend" and
 * "frontend-id".  The other end's path must start with
 * "/local/domain/<other-id>/"; anything else counts as "other end absent".
 *
 * Driving it
 *   The caller owns the event loop and the xenstore handle, which may be
 *   shared by many devices.  pvio_xenbus_open() registers watches on the
 *   device's own directory and on the other end's directory, all with the
 *   device's token.  Feed every watch event to pvio_xenbus_handle(); it
 *   ignores events whose token is not the device's.  Each event makes the
 *   library re-read its own state, the other end's path and the other
 *   end's state, then run the transition function below until it settles.
 *   Events carry no values, so lost, merged or spurious events are harmless.
 *
 * Callbacks (all optional except connect/disconnect)
 *   publish     backend: write feature keys into the own directory, inside
 *               the transaction that also writes InitWait.
 *   connect     backend: read the frontend's keys (ring-ref,
 *               event-channel, ...) WITH THE GIVEN TRANSACTION and
 *               map/bind them.  The library has re-read the frontend's
 *               state in that transaction and writes Connected in it; if
 *               the commit fails (the frontend moved on, e.g. abandoned
 *               those rings) it calls disconnect and looks again, so the
 *               backend never stays connected to stale keys.
 *               frontend: allocate and grant rings, allocate event
 *               channels (tx is PVIO_XS_TX_NONE).  -EAGAIN or -ENOENT: not
 * possible yet (e.g. the frontend wrote Initialised before its keys, or its
 *               keys vanished after we read its state): must leave
 *               nothing allocated; the state is kept and the next event
 *               retries.  Any other error: the device goes
 *               Closing and ops->report is told.
 *   write_keys  frontend: write ring-ref, event-channel, ... inside the
 *               transaction that also writes Initialised.
 *   connected   frontend: the backend is Connected; read what it
 *               published at that point (sectors, ...).
 *   disconnect  undo connect.  Called exactly once per successful connect,
 *               before the next connect, and before close returns.
 *   report      something odd happened (garbage state, failed callback,
 *               unsupported state); for logs only.
 * Transactions may be retried (EAGAIN on commit): publish and write_keys
 * can run more than once per transition, so they must only write.
 *
 * State table (the spec; xenbus_fsm.c implements it and tests/xenbus
 * checks it).  O = own state (last written by us), P = other end's state
 * (Unknown when its node or directory is missing or its path is invalid;
 * a value that is not a decimal 0..8 is reported and treated as Unknown).
 * LIVE = connect done, disconnect not yet.  "->X" = write state X.
 * Several rows may apply one after the other for one event (the machine
 * is re-run until it does nothing; at most PVIO_XENBUS_MAX_STEPS steps).
 *
 * BACKEND
 *   P                        O                  action
 *   Unknown/Initialising/    InitWait, !LIVE    -
 *     InitWait               other              [disconnect] publish ->InitWait
 *   Initialised              InitWait           connect ->Connected
 *                            Connected          - ; but if P was seen
 *                                               Connected on this connection
 *                                               (the frontend restarted its
 *                                               handshake): disconnect,
 *                                               publish ->InitWait
 *                            Init'ing/Closing/  publish ->InitWait
 *                              Closed
 *   Connected                InitWait           connect ->Connected (a
 *                                               frontend may skip
 *                                               Initialised), unless STALE
 *                            Connected          - (remember P Connected)
 *                            Init'ing/Closing/  publish ->InitWait, STALE:
 *                              Closed           that Connected belongs to a
 *                                               previous backend; wait for
 *                                               the frontend to restart
 *   Closing                  not Closing/Closed [disconnect] ->Closing
 *   Closed                   not Closed         [disconnect] ->Closed
 *   Reconfiguring/-ed        any                report only
 *
 * FRONTEND
 *   Unknown/Initialising     any                [disconnect] ->Initialising
 *                                               (the backend is gone or
 *                                               restarting: wait for it)
 *   InitWait/Initialised     Initialising/      connect, write_keys
 *                              Closed           ->Initialised
 *                            Initialised        -
 *                            Connected          disconnect, connect,
 *                                               write_keys ->Initialised
 *                                               (a restarted backend)
 *                            Closing            -
 *   Connected                Initialised        connected ->Connected
 *                            Initialising,      - (a stale Connected of an
 *                              Connected,         earlier connection: the
 *                              Closing            backend resets when it
 *                                                 sees us Initialising)
 *                            Closed, or         ->Initialising
 *                              Initialised/
 *                              Connected !LIVE
 *   Closing/Closed           not Closed         [disconnect] ->Closed
 *   Reconfiguring/-ed        any                report only
 *
 * CLOSE requested (pvio_xenbus_shutdown(), or the toolstack wrote our
 * state Closing/Closed); the device never reconnects afterwards, until
 * the toolstack writes our state Initialising again (a reset):
 *   backend:  [disconnect] ->Closing; then ->Closed once P is not
 *             Initialised/Connected (the frontend has let go).
 *   frontend: ->Closing (rings stay: the backend may still map them);
 *             then, once P is not Connected, [disconnect] ->Closed.
 *   pvio_xenbus_shutdown() waits at most its timeout for this, then
 *   disconnects and writes Closed anyway.
 *
 * Other events
 *   own state node gone (directory removed): [disconnect]; no more
 *     writes (a write would re-create the removed directory).
 *   own state rewritten to Initialising by someone else: [disconnect],
 *     start again from Initialising.
 *   connect (or connected, write_keys, publish) failed: ->Closing.
 * Every state write is a transaction that first checks that our state
 * node still exists and still holds what we last wrote (retried on
 * EAGAIN), so the library never re-creates a removed directory and never
 * overwrites a toolstack's Closing/Initialising unseen.
 *
 * Threads: a device is not locked; serialise calls on it and on its xs
 * handle.  Errors: 0 or a negative errno.
 */
#ifndef PVIO_XENBUS_H
#define PVIO_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/xenbus.h"
#include "xs.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pvio_xenbus_role { PVIO_XENBUS_BACKEND = 0, PVIO_XENBUS_FRONTEND = 1 };

/* ---------------------------------------------------------------------- */
/* The pure transition function (no I/O; tests/xenbus checks it all)     */
/* ---------------------------------------------------------------------- */

/* An observed state that is not a decimal 0..8. */
#define PVIO_XENBUS_STATE_GARBAGE (-1)

enum pvio_xenbus_event {
	PVIO_XENBUS_EV_CHANGED = 0, /* a watch fired; states re-read */
	PVIO_XENBUS_EV_CLOSE = 1,   /* close requested */
	PVIO_XENBUS_EV_RESET = 2,   /* own state rewritten Initialising */
	PVIO_XENBUS_EV_REMOVED = 3, /* own directory gone */
	PVIO_XENBUS_EV_CONNECT_FAILED = 4, /* a callback failed */
	PVIO_XENBUS_EV_COUNT = 5
};

/* fsm flags */
#define PVIO_XENBUS_F_LIVE 0x01U  /* connect done, disconnect not yet */
#define PVIO_XENBUS_F_CLOSE 0x02U /* close requested: do not reconnect */
#define PVIO_XENBUS_F_PEER_UP                                                  \
	0x04U			  /* backend: P seen Connected since connect */
#define PVIO_XENBUS_F_STALE 0x08U /* backend: P's Connected is stale */
#define PVIO_XENBUS_F_REMOVED 0x10U /* own directory gone: no more writes */

/* Actions of one step, carried out in this order. */
#define PVIO_XENBUS_A_DISCONNECT 0x01U /* ops->disconnect */
#define PVIO_XENBUS_A_PUBLISH 0x02U    /* backend: ops->publish in the tx */
#define PVIO_XENBUS_A_CONNECT 0x04U    /* ops->connect (+ write_keys in tx) */
#define PVIO_XENBUS_A_CONNECTED 0x08U  /* frontend: ops->connected */
#define PVIO_XENBUS_A_WRITE 0x10U      /* write 'next' as own state */
#define PVIO_XENBUS_A_REPORT 0x20U     /* odd input: ops->report */

/* A step never needs more repeats than this to settle (tested). */
#define PVIO_XENBUS_MAX_STEPS 4

struct pvio_xenbus_fsm {
	enum pvio_xenbus_role role;
	int own;	    /* last state written, XenbusStateInitialising.. */
	unsigned int flags; /* PVIO_XENBUS_F_* */
};

struct pvio_xenbus_step {
	unsigned int actions; /* PVIO_XENBUS_A_* */
	int next;	    /* own state after the step (== own if no WRITE) */
	unsigned int flags; /* flags after the step, assuming every action
			       succeeded */
};

/*
 * One transition: given the machine, the other end's observed state
 * (0..8, or anything else for garbage) and the event, what to do.  Pure.
 */
void pvio_xenbus_fsm_step(const struct pvio_xenbus_fsm *fsm, int other,
			  enum pvio_xenbus_event ev,
			  struct pvio_xenbus_step *out);

/* "Initialising", ..., or "invalid" (static strings). */
const char *pvio_xenbus_state_name(int state);

/* ---------------------------------------------------------------------- */
/* Devices                                                                */
/* ---------------------------------------------------------------------- */

struct pvio_xenbus_dev;

struct pvio_xenbus_ops {
	int (*publish)(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx);
	int (*connect)(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx);
	int (*write_keys)(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx,
			  void *ctx);
	int (*connected)(struct pvio_xenbus_dev *dev, void *ctx);
	void (*disconnect)(struct pvio_xenbus_dev *dev, void *ctx);
	void (*report)(struct pvio_xenbus_dev *dev, void *ctx, int err,
		       const char *what);
};

struct pvio_xenbus_cfg {
	enum pvio_xenbus_role role;
	const char *type;  /* "vbd", "vif", ...: checked against the path */
	const char *path;  /* own directory (copied) */
	const char *token; /* watch token; NULL: "pvio-xenbus:<path>" */
	const struct pvio_xenbus_ops *ops; /* must outlive the device */
	void *ctx;			   /* passed to every callback */
	int close_timeout_ms; /* pvio_xenbus_close()'s wait; 0: 2000 */
};

/*
 * Open the device at cfg->path: check that its "state" node exists
 * (-ENOENT if not: the toolstack has not created it), watch it and the
 * other end, write Initialising (a restarted driver must not leave an
 * earlier incarnation's state standing), and run the machine once (a
 * backend publishes and reaches InitWait here).  'xs' is borrowed: it
 * must outlive the device.
 */
struct pvio_xenbus_dev *pvio_xenbus_open(struct pvio_xs *xs,
					 const struct pvio_xenbus_cfg *cfg,
					 int *err);

/*
 * Feed one watch event.  1: it was this device's and has been handled;
 * 0: not this device's token (ignored); negative errno: a xenstore
 * failure (the event may be fed again, or any later event retries).
 * path/token NULL: re-evaluate now (e.g. to retry a connect that
 * returned -EAGAIN).
 */
int pvio_xenbus_handle(struct pvio_xenbus_dev *dev, const char *path,
		       const char *token);

/*
 * Close the handshake: CLOSE rules above, polling the other end every
 * 10 ms for at most timeout_ms; then disconnect and write Closed anyway
 * (-ETIMEDOUT).  Does not consume watch events from the shared handle.
 */
int pvio_xenbus_shutdown(struct pvio_xenbus_dev *dev, int timeout_ms);

/*
 * pvio_xenbus_shutdown(cfg->close_timeout_ms) unless already Closed or
 * removed, then drop the watches and free the device.  NULL is a no-op.
 */
void pvio_xenbus_close(struct pvio_xenbus_dev *dev);

enum pvio_xenbus_state pvio_xenbus_state(const struct pvio_xenbus_dev *dev);
/* Last observed other-end state; PVIO_XENBUS_STATE_GARBAGE possible. */
int pvio_xenbus_other_state(const struct pvio_xenbus_dev *dev);
bool pvio_xenbus_removed(const struct pvio_xenbus_dev *dev);
/* connect done and not yet undone. */
bool pvio_xenbus_live(const struct pvio_xenbus_dev *dev);

/* Strings owned by the device, valid until close (other_path: until the
 * next handle/close; NULL while the other end is unknown). */
const char *pvio_xenbus_path(const struct pvio_xenbus_dev *dev);
const char *pvio_xenbus_other_path(const struct pvio_xenbus_dev *dev);
const char *pvio_xenbus_token(const struct pvio_xenbus_dev *dev);
uint32_t pvio_xenbus_other_id(const struct pvio_xenbus_dev *dev);
struct pvio_xs *pvio_xenbus_xs(const struct pvio_xenbus_dev *dev);
void *pvio_xenbus_ctx(const struct pvio_xenbus_dev *dev);
enum pvio_xenbus_role pvio_xenbus_role(const struct pvio_xenbus_dev *dev);

/* The backend's "online" key (toolstack-owned): read / write. */
int pvio_xenbus_online(struct pvio_xenbus_dev *dev, bool *online);
int pvio_xenbus_set_online(struct pvio_xenbus_dev *dev, bool online);

/*
 * Read <dir>/<key> as a strict unsigned decimal <= max ("0x", signs,
 * spaces, empty: -EINVAL; bigger: -ERANGE; missing: -ENOENT).  For
 * reading ring-ref, event-channel and friends from a hostile peer.
 */
int pvio_xenbus_read_uint(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
			  const char *key, uint64_t max, uint64_t *out);

/* Conventional paths; -ENAMETOOLONG if they do not fit 'size'. */
int pvio_xenbus_backend_path(char *buf, size_t size, uint32_t backend_id,
			     const char *type, uint32_t frontend_id,
			     uint32_t devid);
int pvio_xenbus_frontend_path(char *buf, size_t size, uint32_t frontend_id,
			      const char *type, uint32_t devid);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_XENBUS_H */
