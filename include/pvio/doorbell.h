/* SPDX-License-Identifier: MIT */
/*
 * libchannel, Linux-process binding: doorbells.
 *
 * A doorbell carries one direction of notifications of one bound event
 * channel between processes: it is one eventfd.  Ringing is one write()
 * (no round trip through pvio-hv); waiting spins for a while and then
 * sleeps in poll(), because a cross-CPU wake-up costs tens of
 * microseconds on virtual machines and a short spin often avoids it.
 *
 * The eventfd counts rings, so a ring is never lost: one that arrives
 * before the waiter sleeps keeps the fd readable.  Several rings before
 * a wait collapse into one wake-up (like a pending bit).
 *
 * Thread safety: ring may be called from any number of threads or
 * processes; one thread waits on a doorbell at a time (more are safe
 * but each ring wakes only one of them).
 *
 * All functions return 0 or a documented positive value on success and a
 * negative errno on failure; pointer-returning ones take 'int *err'.
 */
#ifndef PVIO_DOORBELL_H
#define PVIO_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque; owns one eventfd. */
struct pvio_doorbell;

/*
 * A condition the waiter spins on, e.g. "the ring has responses".  Must be
 * cheap and must not block; returns true to end the wait.
 */
typedef bool (*pvio_doorbell_cond_fn)(void *arg);

/* Counters for benchmarks (notifications per request and such). */
struct pvio_doorbell_stats {
	uint64_t rings;	    /* successful pvio_doorbell_ring() calls */
	uint64_t waits;	    /* pvio_doorbell_wait() calls */
	uint64_t spin_hits; /* waits that ended while spinning */
	uint64_t sleeps;    /* waits that went to sleep in poll() */
};

/*
 * New doorbell with a fresh eventfd (EFD_NONBLOCK | EFD_CLOEXEC).
 * Returns NULL and sets *err (-ENOMEM, or eventfd's -errno) on failure.
 * The caller owns the result: pvio_doorbell_close().
 */
struct pvio_doorbell *pvio_doorbell_create(int *err);

/*
 * Doorbell over an existing eventfd, e.g. one inherited across fork() or
 * received over a unix socket (SCM_RIGHTS).  Takes ownership of 'fd':
 * close() closes it, and it is closed on failure too, so the caller never
 * has to; dup() it first to keep a copy.  The fd is made non-blocking,
 * which affects every process sharing its open file description (they
 * all want that).  -EBADF for a closed fd, -EINVAL if /proc says it is
 * not an eventfd.
 */
struct pvio_doorbell *pvio_doorbell_from_fd(int fd, int *err);

/* Close the eventfd and free the doorbell.  NULL is a no-op. */
void pvio_doorbell_close(struct pvio_doorbell *db);

/*
 * The eventfd, for epoll/poll/io_uring: readable while the doorbell has
 * rung and not been drained.  Still owned by the doorbell; call
 * pvio_doorbell_drain() after it polls readable.
 */
int pvio_doorbell_fd(const struct pvio_doorbell *db);

/*
 * Ring: one write() of 1 to the eventfd.  0, or -errno (an eventfd
 * counter that would overflow already means "rung", so that is 0 too).
 */
int pvio_doorbell_ring(struct pvio_doorbell *db);

/*
 * Consume pending rings without blocking: 1 if the doorbell had rung, 0
 * if not, -errno.
 */
int pvio_doorbell_drain(struct pvio_doorbell *db);

/*
 * Wait until the doorbell rings or cond(arg) returns true.
 *
 * First spin for up to spin_ns nanoseconds, checking cond (if given) and
 * the eventfd counter (a non-blocking read, one syscall per check)
 * without sleeping; then sleep in poll().  cond is checked again before
 * every sleep, so a condition that became true without a ring (the peer
 * suppressed its notification) ends the wait too.  timeout_ms < 0 waits
 * forever; otherwise it bounds the whole wait, spin included.
 *
 * Returns 1 if the doorbell rang (the rings are consumed), 0 if cond
 * became true first (pending rings are left for the next wait),
 * -ETIMEDOUT, -EINTR if a signal interrupted the sleep, or -errno.
 */
int pvio_doorbell_wait(struct pvio_doorbell *db, uint64_t spin_ns,
		       int timeout_ms, pvio_doorbell_cond_fn cond, void *arg);

/* Snapshot of the counters (approximate while other threads ring). */
void pvio_doorbell_get_stats(const struct pvio_doorbell *db,
			     struct pvio_doorbell_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_DOORBELL_H */
