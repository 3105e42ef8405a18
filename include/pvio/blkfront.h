/* SPDX-License-Identifier: MIT */
/*
 * blkfront: a guest's paravirtual disk (Xen's blkif protocol).
 *
 * A guest process (a domain, pvio/domain.h) attaches to one of its vbds:
 * the toolstack wrote /local/domain/<self>/device/vbd/<devid> naming the
 * backend domain, and a blkback in that driver domain serves the disk.
 * Attach runs the xenbus handshake, allocates and grants the rings (one
 * per queue, multi-page when offered), binds the event channels and
 * returns once the disk is Connected.
 *
 * I/O goes through queues: each queue is one shared ring with its own
 * event channel and may be driven by its own thread.  Requests are
 * asynchronous (submit, then reap completions) with scatter-gather
 * buffers of any size; blkfront splits nothing the caller did not ask
 * for, but maps one request onto direct or indirect segments as the
 * backend allows, and rejects requests too big for one ring request
 * (see pvio_blkfront_info.max_sectors).
 *
 * Buffers: memory from pvio_blkfront_buf_alloc() (the domain's own
 * grantable memory) is granted in place, once, and stays granted while
 * connected: no copy and, with persistent grants, no hypervisor call per
 * I/O on either side.  Any other memory is copied through a pool of
 * pages that stay granted (persistent grants) or are granted per request.
 *
 * Every response is validated: an unknown or duplicate id, or an
 * operation that does not match the request, disconnects the device with
 * -EPROTO (every later call returns it); nothing a backend writes can
 * crash the guest.  Each in-flight request keeps a shadow; if the
 * backend goes away and a new one connects (driver-domain restart), the
 * shadows are replayed so no acknowledged write is lost and no
 * submitted request is dropped.
 *
 * Threads: a queue is used by one thread at a time; different queues may
 * be used concurrently.  The synchronous helpers serialise on an internal
 * lock and may be called from any thread, but not while the same thread
 * drives queue 0 asynchronously.
 *
 * Errors: 0 / positive count, or a negative errno; pointer-returning
 * calls take 'int *err'.
 */
#ifndef PVIO_BLKFRONT_H
#define PVIO_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "io/xen_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pvio_dom;
struct pvio_blkfront;

/* Backend domain "whatever the toolstack wrote" for attach. */
#define PVIO_BLKFRONT_ANY_BACKEND 0xFFFFU

/* Options for pvio_blkfront_attach(); zero means "default". */
struct pvio_blkfront_opts {
	unsigned int max_queues;   /* 0: 1; capped by multi-queue-max-queues */
	unsigned int ring_order;   /* log2 ring pages asked for; 0: as many as
				      the backend allows, up to 8 pages */
	unsigned int max_indirect; /* segments per indirect request; 0: up to
				      the backend's limit, at most 256 */
	bool no_persistent;	   /* do not offer feature-persistent */
	bool no_indirect;	   /* use direct requests only */
	int timeout_ms;		   /* for the handshake; 0: 10 s, <0: forever */
	int spin_us; /* reap's busy-poll budget before sleeping; 0: 50,
			<0: never spin */
};

/* What the backend offered and what was negotiated. */
struct pvio_blkfront_info {
	uint64_t sectors;	       /* disk size, 512-byte units */
	uint32_t sector_size;	       /* logical sector size, bytes */
	uint32_t physical_sector_size; /* bytes */
	uint32_t vdisk_info;	       /* VDISK_* flags of the "info" key */
	bool readonly;
	bool flush;		      /* feature-flush-cache */
	bool barrier;		      /* feature-barrier */
	bool discard;		      /* feature-discard */
	bool persistent;	      /* both ends use persistent grants */
	uint32_t discard_granularity; /* bytes, 0 if not given */
	uint32_t discard_alignment;   /* bytes */
	unsigned int nr_queues;
	unsigned int ring_pages;   /* per queue */
	unsigned int queue_depth;  /* ring slots per queue */
	unsigned int max_segments; /* per request: 11, or the indirect limit */
	uint64_t max_sectors;	   /* largest read/write, 512-byte units */
	pvio_domid_t backend_id;
	uint32_t devid; /* the vbd's device id (virtual-device); 32 bits:
			   Xen's extended form is 1 << 28 | disk << 8 | part */
};

/* Operations of struct pvio_blkfront_req. */
enum pvio_blkfront_op {
	PVIO_BLKFRONT_READ = 0,
	PVIO_BLKFRONT_WRITE = 1,
	PVIO_BLKFRONT_WRITE_BARRIER = 2, /* a write ordered after all earlier */
	PVIO_BLKFRONT_FLUSH = 3,	 /* no data */
	PVIO_BLKFRONT_DISCARD = 5,	 /* sector + nr_sectors, no data */
};

/*
 * One request.  The caller owns it (and its iov and buffers) from submit
 * until reap hands it back; blkfront writes only 'status' and its private
 * fields.
 */
struct pvio_blkfront_req {
	uint8_t op;		 /* enum pvio_blkfront_op */
	bool secure;		 /* discard: BLKIF_DISCARD_SECURE */
	uint64_t sector;	 /* first sector, 512-byte units */
	uint64_t nr_sectors;	 /* discard only */
	const struct iovec *iov; /* read/write: data, each element a multiple
				    of 512 bytes */
	unsigned int iovcnt;	 /* 1.. */
	int status;		 /* OUT: 0, -EIO (BLKIF_RSP_ERROR),
				    -EOPNOTSUPP, -ENOTCONN (device gone) */
	void *user;		 /* caller's cookie, untouched */
	uint32_t priv[4];	 /* blkfront's */
};

/*
 * Attach to vbd 'vdev' of this domain: a name ("xvda", "xvdb", "hda",
 * "sdb") or a number ("51712").  'backend' is the backend domain the
 * caller expects, or PVIO_BLKFRONT_ANY_BACKEND.  'dom' is the guest's
 * handle; blkfront uses it (and opens its own xenstore connection) until
 * pvio_blkfront_detach(), so the caller must not use 'dom' concurrently
 * with blkfront calls that may make hypercalls (attach, detach, submit
 * of non-pool buffers the first time, reconnect); 'dom' must outlive
 * the device.  -ENOENT: no such vbd; -ETIMEDOUT: the backend did not
 * connect in time; -EROFS: never (read-only disks attach read-only).
 */
struct pvio_blkfront *pvio_blkfront_attach(struct pvio_dom *dom,
					   pvio_domid_t backend,
					   const char *vdev,
					   const struct pvio_blkfront_opts *o,
					   int *err);

/*
 * Close the device: waits up to timeout_ms for requests in flight (they
 * complete with their status, or -ENOTCONN if they could not), then runs
 * the Closing/Closed handshake, ends every grant and frees everything.
 * NULL is a no-op.
 */
void pvio_blkfront_detach(struct pvio_blkfront *f, int timeout_ms);

/* What was negotiated.  Valid from attach to detach. */
const struct pvio_blkfront_info *
pvio_blkfront_info(const struct pvio_blkfront *f);

/* 0 while usable; otherwise why it stopped (-EPROTO, -ENOTCONN, ...). */
int pvio_blkfront_error(const struct pvio_blkfront *f);

/*
 * Zeroed, page-aligned memory in the domain's own grantable memory;
 * buffers from here are granted in place (no copy).  NULL with *err
 * (-ENOMEM: the domain's memory limit).  Free with pvio_blkfront_buf_free
 * with the same size, after no request uses it.
 */
void *pvio_blkfront_buf_alloc(struct pvio_blkfront *f, size_t bytes, int *err);
void pvio_blkfront_buf_free(struct pvio_blkfront *f, void *buf, size_t bytes);

/*
 * Queue up to n requests on 'queue' (0..nr_queues-1).  Returns how many
 * were queued (fewer when the ring is full: reap, then submit the rest),
 * or -errno with none queued: -EINVAL (a malformed request, e.g. not
 * 512-byte multiples, too large, discard without feature-discard, write
 * to a read-only disk), -EPROTO / -ENOTCONN (the device stopped).
 * Requests become visible to the backend at once; the backend is
 * notified only if it asked to be (batching is automatic).
 */
int pvio_blkfront_submit(struct pvio_blkfront *f, unsigned int queue,
			 struct pvio_blkfront_req **reqs, unsigned int n);

/*
 * Collect completed requests of 'queue' into done[] (up to max), waiting
 * up to timeout_ms for at least 'min' of them (0: do not wait; <0:
 * forever).  Spins briefly before sleeping, because a cross-CPU wake-up
 * costs far more than a fast disk's I/O.  Returns how many were
 * collected, or -errno (-ETIMEDOUT is not an error: it returns the count
 * it has, possibly 0).
 */
int pvio_blkfront_reap(struct pvio_blkfront *f, unsigned int queue,
		       struct pvio_blkfront_req **done, unsigned int max,
		       unsigned int min, int timeout_ms);

/* Requests of 'queue' submitted and not yet reaped. */
unsigned int pvio_blkfront_inflight(const struct pvio_blkfront *f,
				    unsigned int queue);

/* Synchronous helpers (one request each, on queue 0, serialised). */
int pvio_blkfront_read(struct pvio_blkfront *f, uint64_t sector, void *buf,
		       size_t len);
int pvio_blkfront_write(struct pvio_blkfront *f, uint64_t sector,
			const void *buf, size_t len);
int pvio_blkfront_flush(struct pvio_blkfront *f);
int pvio_blkfront_discard(struct pvio_blkfront *f, uint64_t sector,
			  uint64_t nr_sectors);

/*
 * The process-wide lock blkfront holds around every pvio_dom_* call (a
 * libdomain handle is not thread-safe).  A guest that makes its own
 * pvio_dom_* calls on the handle it gave to attach while devices are
 * attached takes this lock around them; never call blkfront with it held.
 */
void pvio_blkfront_dom_lock(void);
void pvio_blkfront_dom_unlock(void);

/* Counters, for benchmarks. */
struct pvio_blkfront_stats {
	uint64_t requests;   /* ring requests sent */
	uint64_t notifies;   /* events sent to the backend */
	uint64_t bounced;    /* bytes copied through the pool */
	uint64_t grants;     /* grant entries made (not per I/O when
				persistent) */
	uint64_t reconnects; /* backend changes survived */
	uint64_t replayed;   /* requests replayed after a reconnect */
};
void pvio_blkfront_get_stats(const struct pvio_blkfront *f,
			     struct pvio_blkfront_stats *st);

/*
 * Xen's vdev numbering (libxl): "xvda" -> 51712 (202 << 8 | disk << 4 |
 * part), "xvdq" or a partition > 15 -> 1 << 28 | disk << 8 | part,
 * "hda".."hdt" (IDE majors), "sda".."sdp" (8 << 8 | disk << 4 | part),
 * "d<disk>[p<part>]", or a plain decimal device number ("51712").
 * -EINVAL if it is none of these.
 */
int pvio_blkfront_vdev_parse(const char *vdev, uint32_t *devid);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_BLKFRONT_H */
