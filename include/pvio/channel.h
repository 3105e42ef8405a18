/* SPDX-License-Identifier: MIT */
/*
 * libchannel: shared descriptor rings in Xen's layout.
 *
 * One struct pvio_ring is one end of one shared ring: the frontend end
 * (produces requests, consumes responses) or the backend end (consumes
 * requests, produces responses).  The shared memory is supplied and owned
 * by the caller and must outlive the ring; the library allocates nothing.
 *
 * Everything the peer writes is hostile.  The library reads the peer's
 * producer index into a local, validates that value against its private
 * state and uses only it (a final check reads it twice, checking each),
 * copies entries into caller memory exactly once (with a compiler barrier
 * after the copy, so that the caller's validation and use see only the
 * copy), and never reads or writes outside the ring whatever the indexes
 * say.  A peer caught moving its producer index impossibly disables the
 * ring: every later call returns -EPROTO (pvio_ring_error() says why).
 *
 * Not thread-safe per end: one thread drives the frontend end and one the
 * backend end (they may be different threads or processes).
 *
 * All functions return 0 or a positive count on success and a negative
 * errno (pvio/errno.h values, equal to Linux's) on failure.
 */
#ifndef PVIO_CHANNEL_H
#define PVIO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One end of a shared ring.  The struct is public so that it can be
 * embedded without allocation; its fields are private to the library.
 */
struct pvio_ring {
	struct pvio_sring_header *sring; /* shared header (hostile) */
	unsigned char *entries;		 /* shared slot 0 (hostile) */
	uint32_t size;			 /* entries, a power of two */
	uint32_t entry_size;		 /* bytes per slot (sizeof union) */
	uint32_t req_size;		 /* bytes copied per request */
	uint32_t rsp_size;		 /* bytes copied per response */
	/* front: req_prod_pvt, back: rsp_prod_pvt. */
	pvio_ring_idx_t prod_pvt;
	/* front: rsp_cons, back: req_cons. */
	pvio_ring_idx_t cons;
	/*
	 * The producer index we last published.  Kept privately because the
	 * shared copy can be overwritten by the peer.
	 */
	pvio_ring_idx_t pushed;
	int error; /* 0, or the -errno that disabled this ring */
};

/*
 * Entries of a ring of 'bytes' bytes with 'entry_size'-byte slots, or
 * -EINVAL if not even one fits.
 */
int pvio_ring_entries(size_t bytes, size_t entry_size);

/*
 * Frontend: initialise the shared page (both producers = start, both
 * events = start + 1, padding zeroed) and the private state.  Only the
 * frontend ever initialises a shared ring.  'start' is normally 0.
 */
int pvio_ring_front_init(struct pvio_ring *r, void *shared, size_t bytes,
			 size_t entry_size, size_t req_size, size_t rsp_size,
			 pvio_ring_idx_t start);

/*
 * Backend: attach to a ring the frontend initialised, without writing to
 * it.  'start' is the index the frontend started at (normally 0).
 */
int pvio_ring_back_attach(struct pvio_ring *r, void *shared, size_t bytes,
			  size_t entry_size, size_t req_size, size_t rsp_size,
			  pvio_ring_idx_t start);

/* Number of entries; the ring's error (0 while it works). */
uint32_t pvio_ring_size(const struct pvio_ring *r);
int pvio_ring_error(const struct pvio_ring *r);

/* --- frontend ---------------------------------------------------------- */

/* Request slots free for pvio_ring_front_produce(). */
uint32_t pvio_ring_front_free(const struct pvio_ring *r);

/* Requests produced (pushed or not) and not yet answered. */
uint32_t pvio_ring_front_inflight(const struct pvio_ring *r);

/*
 * Copy up to n requests (req_size bytes each, packed at 'reqs') into free
 * slots.  They become visible to the backend at the next push.  Returns
 * the number copied (possibly 0) or -EPROTO on a disabled ring.
 */
int pvio_ring_front_produce(struct pvio_ring *r, const void *reqs,
			    unsigned int n);

/*
 * Publish produced requests.  Returns 1 if the backend asked to be
 * notified of them (send an event), 0 if not, -EPROTO on a disabled ring.
 */
int pvio_ring_front_push(struct pvio_ring *r);

/*
 * Number of responses waiting, or -EPROTO if the backend produced more
 * responses than there are requests (the ring is then disabled).
 */
int pvio_ring_front_pending(struct pvio_ring *r);

/*
 * Copy up to max responses into 'rsps' (rsp_size bytes each) and consume
 * them.  Returns the number copied or -EPROTO.
 */
int pvio_ring_front_consume(struct pvio_ring *r, void *rsps, unsigned int max);

/*
 * Final check before sleeping: returns >0 if responses are waiting;
 * otherwise asks the backend for an event on the next response and checks
 * again, closing the race with a response that arrived meanwhile.
 * Returns the number waiting (0: sleep until the event), or -EPROTO.
 */
int pvio_ring_front_final_check(struct pvio_ring *r);

/* --- backend ----------------------------------------------------------- */

/*
 * Number of requests that may be consumed now: those produced and not
 * consumed, capped by the response slots still free.  -EPROTO if the
 * frontend moved req_prod impossibly (more than a ring ahead of our
 * responses, or behind our consumer); the ring is then disabled.
 */
int pvio_ring_back_pending(struct pvio_ring *r);

/*
 * Copy up to max requests into 'reqs' (req_size bytes each) and consume
 * them.  The copies are private: validate them, never the shared slots.
 * Returns the number copied or -EPROTO.
 */
int pvio_ring_back_consume(struct pvio_ring *r, void *reqs, unsigned int max);

/* Responses owed: requests consumed and not yet answered. */
uint32_t pvio_ring_back_owed(const struct pvio_ring *r);

/*
 * Copy up to n responses into the ring (at most pvio_ring_back_owed()).
 * The caller zeroes any padding in its response structs (XSA-216).
 * Returns the number copied or -EPROTO.
 */
int pvio_ring_back_produce(struct pvio_ring *r, const void *rsps,
			   unsigned int n);

/* Publish responses; 1 if the frontend wants an event, 0 if not. */
int pvio_ring_back_push(struct pvio_ring *r);

/* Final check before sleeping, as pvio_ring_front_final_check(). */
int pvio_ring_back_final_check(struct pvio_ring *r);

/*
 * Typed wrappers for one protocol.  PVIO_CHANNEL_DEFINE(blkif,
 * struct pvio_blkif_request, struct pvio_blkif_response) needs
 * PVIO_RING_DEFINE(blkif, ...) from io/ring.h and declares
 *   struct pvio_blkif_front / pvio_blkif_back   (wrap a struct pvio_ring)
 *   pvio_blkif_front_init(f, shared, bytes)
 *   pvio_blkif_front_produce(f, const req_t *, n)
 *   pvio_blkif_front_consume(f, rsp_t *, max)
 *   pvio_blkif_back_attach(b, shared, bytes)
 *   pvio_blkif_back_consume(b, req_t *, max)
 *   pvio_blkif_back_produce(b, const rsp_t *, n)
 * and the untyped calls work on &f->ring / &b->ring.
 */
#define PVIO_CHANNEL_DEFINE(name, req_t, rsp_t)                                \
	struct pvio_##name##_front {                                           \
		struct pvio_ring ring;                                         \
	};                                                                     \
	struct pvio_##name##_back {                                            \
		struct pvio_ring ring;                                         \
	};                                                                     \
	static inline int pvio_##name##_front_init(                            \
		struct pvio_##name##_front *f, void *shared, size_t bytes)     \
	{                                                                      \
		return pvio_ring_front_init(                                   \
			&f->ring, shared, bytes,                               \
			sizeof(union pvio_##name##_sring_entry),               \
			sizeof(req_t), sizeof(rsp_t), 0);                      \
	}                                                                      \
	static inline int pvio_##name##_front_produce(                         \
		struct pvio_##name##_front *f, const req_t *reqs,              \
		unsigned int n)                                                \
	{                                                                      \
		return pvio_ring_front_produce(&f->ring, reqs, n);             \
	}                                                                      \
	static inline int pvio_##name##_front_consume(                         \
		struct pvio_##name##_front *f, rsp_t *rsps, unsigned int max)  \
	{                                                                      \
		return pvio_ring_front_consume(&f->ring, rsps, max);           \
	}                                                                      \
	static inline int pvio_##name##_back_attach(                           \
		struct pvio_##name##_back *b, void *shared, size_t bytes)      \
	{                                                                      \
		return pvio_ring_back_attach(                                  \
			&b->ring, shared, bytes,                               \
			sizeof(union pvio_##name##_sring_entry),               \
			sizeof(req_t), sizeof(rsp_t), 0);                      \
	}                                                                      \
	static inline int pvio_##name##_back_consume(                          \
		struct pvio_##name##_back *b, req_t *reqs, unsigned int max)   \
	{                                                                      \
		return pvio_ring_back_consume(&b->ring, reqs, max);            \
	}                                                                      \
	static inline int pvio_##name##_back_produce(                          \
		struct pvio_##name##_back *b, const rsp_t *rsps,               \
		unsigned int n)                                                \
	{                                                                      \
		return pvio_ring_back_produce(&b->ring, rsps, n);              \
	}

#ifdef __cplusplus
}
#endif

#endif /* PVIO_CHANNEL_H */
