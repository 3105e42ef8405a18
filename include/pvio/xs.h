/* SPDX-License-Identifier: MIT */
/*
 * pvio_xs: a xenstore client speaking the xenstored socket protocol
 * (io/xs_wire.h).  Domain processes, drivers and the toolstack use it;
 * it talks to pvio-hv's xenstore and to any xenstored.
 *
 * One handle is one connection.  Requests are synchronous: each call
 * sends one request and waits for its reply.  Watch events that arrive
 * meanwhile are queued inside the handle and handed out by
 * pvio_xs_read_watch().  pvio_xs_fd() becomes readable when the daemon
 * has sent something; poll it, then call pvio_xs_read_watch() with a
 * timeout of 0 until it returns -EAGAIN.
 *
 * Threads: a handle is not locked; serialise calls on one handle.
 *
 * Errors: 0 or a negative errno.  A daemon's ERROR reply becomes the
 * errno its name stands for (-ENOENT for "ENOENT").  A connection that
 * breaks or a reply that does not parse gives -EIO, and every later call
 * on that handle fails with -EIO.
 *
 * Memory: strings and arrays returned through 'char **' or 'char ***'
 * arguments are allocated with malloc() and owned by the caller, who
 * releases each with one free().
 */
#ifndef PVIO_XS_H
#define PVIO_XS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pvio_xs;

/* A transaction id; PVIO_XS_TX_NONE means "outside any transaction". */
typedef uint32_t pvio_xs_tx_t;
#define PVIO_XS_TX_NONE 0U

/*
 * Connect to the daemon's socket.  'path' NULL picks, like Xen's
 * libxenstore: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else
 * /run/pvio/xenstored/socket.  The connection acts as whatever domain the
 * daemon gives that socket (dom0 for the daemon's own socket).
 */
struct pvio_xs *pvio_xs_open(const char *path, int *err);

/*
 * Adopt an already-connected stream socket, for example the one pvio-hv
 * hands a domain (pvio_dom_xs_open()).  Takes ownership of 'fd' on
 * success only.
 */
struct pvio_xs *pvio_xs_from_fd(int fd, int *err);

/* Close the connection and free the handle.  NULL is a no-op. */
void pvio_xs_close(struct pvio_xs *xs);

/*
 * Readable when the daemon has sent something (a watch event) or events
 * are already queued in the handle.  It is an epoll fd holding the socket
 * and an internal eventfd, so it stays readable while events received
 * during other calls wait in the queue: poll it, then drain with
 * pvio_xs_read_watch(xs, .., 0) until -EAGAIN.  Only poll it; do not read
 * from it or add fds to it.
 */
int pvio_xs_fd(const struct pvio_xs *xs);

/*
 * Bound every later request's wait for its reply: -ETIMEDOUT after
 * 'timeout_ms' (-1, the default: wait forever).  The handle stays usable;
 * a reply that comes later is recognised by its req_id and dropped.
 */
void pvio_xs_set_timeout(struct pvio_xs *xs, int timeout_ms);

/*
 * Read 'path'.  On success *val is a NUL-terminated copy of the value
 * (values may hold NULs too: *len, if not NULL, gets the value's length
 * without the terminator).
 */
int pvio_xs_read(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		 char **val, size_t *len);

/* Write 'len' bytes to 'path', creating it and missing parents. */
int pvio_xs_write(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		  const void *val, size_t len);

/* pvio_xs_write() of a formatted string. */
int pvio_xs_printf(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * pvio_xs_printf() of "<dir>/<key>": the device-directory write every
 * driver and toolstack makes.  -ENAMETOOLONG if the path does not fit
 * XENSTORE_ABS_PATH_MAX.
 */
int pvio_xs_key_printf(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
		       const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

int pvio_xs_mkdir(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path);

/* Remove 'path' and everything under it. */
int pvio_xs_rm(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path);

/*
 * The children of 'path'.  *names is one allocation holding *n pointers
 * followed by the strings they point at; free(*names) releases all.
 * Large directories are fetched with XS_DIRECTORY_PART when the daemon
 * supports it.
 */
int pvio_xs_directory(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		      char ***names, unsigned int *n);

/* One permission: the domain and one of 'r', 'w', 'b' (both), 'n'. */
struct pvio_xs_perm {
	uint32_t domid;
	char mode;
};

/*
 * The permissions of 'path'.  perms[0] is the owner, whose mode is also
 * the default for domains not listed.  *perms is one allocation of *n.
 */
int pvio_xs_get_perms(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		      struct pvio_xs_perm **perms, unsigned int *n);
int pvio_xs_set_perms(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		      const struct pvio_xs_perm *perms, unsigned int n);

/*
 * Watch 'path' (and everything under it) with 'token'.  The daemon sends
 * one event straight away; more may come spuriously.
 */
int pvio_xs_watch(struct pvio_xs *xs, const char *path, const char *token);
int pvio_xs_unwatch(struct pvio_xs *xs, const char *path, const char *token);

/*
 * Queue bounds.  Watch events that arrive while a call waits for its
 * reply are queued, at most PVIO_XS_QUEUE_EVENTS events and
 * PVIO_XS_QUEUE_BYTES bytes of path+token.  On overflow the OLDEST
 * events are dropped and the handle remembers it: once the queue has been
 * drained, pvio_xs_read_watch() hands out one synthetic event per watch
 * registered through this handle, with path = the watch's path and
 * token = its token (exactly like the event a new watch fires).  A caller
 * that re-reads what an event names (never trusts the event to say what
 * changed) therefore misses no change; this is the same contract as the
 * daemon's own "watches may fire spuriously".
 */
#define PVIO_XS_QUEUE_EVENTS 1024U
#define PVIO_XS_QUEUE_BYTES (256U * 1024U)

/* How many queued events were dropped by overflow since open. */
unsigned long pvio_xs_dropped_events(const struct pvio_xs *xs);

/*
 * The next watch event: *path and *token are malloc()ed strings.
 * timeout_ms: 0 polls, -1 waits forever.  -EAGAIN: none within the
 * timeout (for 0) / -ETIMEDOUT (for a positive timeout).
 */
int pvio_xs_read_watch(struct pvio_xs *xs, char **path, char **token,
		       int timeout_ms);

/* Start a transaction; end it with commit or abort.  Commit may return
 * -EAGAIN: something it read changed; run the whole transaction again. */
int pvio_xs_tx_start(struct pvio_xs *xs, pvio_xs_tx_t *tx);
int pvio_xs_tx_end(struct pvio_xs *xs, pvio_xs_tx_t tx, bool commit);

/*
 * Run fn(xs, tx, arg) inside a transaction and commit; when the commit
 * says -EAGAIN (a conflict), run it again, up to PVIO_XS_TX_RETRIES
 * times.  fn returning non-zero aborts the transaction and is returned.
 * fn must be safe to run more than once (it is redone from scratch).
 */
#define PVIO_XS_TX_RETRIES 16
int pvio_xs_transact(struct pvio_xs *xs,
		     int (*fn)(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg),
		     void *arg);

/* "/local/domain/<domid>" as the daemon reports it. */
int pvio_xs_get_domain_path(struct pvio_xs *xs, uint32_t domid, char **path);

/* Privileged (dom0) control of the daemon's domain list. */
int pvio_xs_introduce(struct pvio_xs *xs, uint32_t domid, uint64_t mfn,
		      uint32_t port);
int pvio_xs_release(struct pvio_xs *xs, uint32_t domid);
int pvio_xs_is_introduced(struct pvio_xs *xs, uint32_t domid, bool *yes);

/* Drop every watch and transaction of this connection (and every queued
 * event). */
int pvio_xs_reset_watches(struct pvio_xs *xs);

/*
 * Send one raw message (type from enum pvio_xsd_sockmsg_type) and wait
 * for its reply, for tests and tools.  On success *type_out is the reply
 * type (XS_ERROR included: the call still returns 0), *reply a malloc()ed
 * copy of the payload plus a terminating NUL, *reply_len its length.
 * Watches set or reset through it are not tracked by the handle (no
 * synthetic events for them, see PVIO_XS_QUEUE_EVENTS).
 */
int pvio_xs_raw(struct pvio_xs *xs, uint32_t type, pvio_xs_tx_t tx,
		const void *payload, size_t len, uint32_t *type_out,
		char **reply, size_t *reply_len);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_XS_H */
