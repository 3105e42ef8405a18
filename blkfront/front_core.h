/* SPDX-License-Identifier: MIT */
/*
 * blkfront's freestanding core: one queue of a blkif frontend.
 *
 * What it does: turns a block request (op, sector, a list of data
 * segments naming 4 KiB frames) into one ring request, direct (up to 11
 * segments) or indirect (segment descriptors in granted pages); keeps a
 * shadow of each in-flight request in a pvio_reqid table; validates every
 * response (unknown id, duplicate, an id not sent on this ring, wrong
 * operation -> the queue stops with -EPROTO); and after the ring is
 * replaced (backend restart) replays the shadows oldest first on the new
 * ring with fresh grants.
 *
 * What it does not do: allocate memory, grant frames or send events.  The
 * environment (the Linux-process glue in blkfront.c, or a guest kernel)
 * passes memory in and supplies grant/notify through struct pvio_bfc_ops.
 * Only <stdint.h>, <stddef.h>, <stdbool.h> and memcpy/memset are used.
 *
 * Threads: none.  One queue is driven by one thread at a time; the
 * environment serialises connect/disconnect against submit/reap.
 *
 * Errors: 0 / count, or a negative errno (PVIO_E*, pvio/errno.h).
 */
#ifndef PVIO_BLKFRONT_CORE_H
#define PVIO_BLKFRONT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvio/channel.h"
#include "pvio/errno.h"
#include "pvio/io/blkif.h"
#include "pvio/reqid.h"

/* One data segment: a 512-byte-sector range inside one 4 KiB frame. */
struct pvio_bfc_seg {
	uint32_t frame;	    /* the granter's frame number */
	uint32_t gref;	    /* core-private: the grant used on the ring */
	uint8_t first_sect; /* 0..7 */
	uint8_t last_sect;  /* first_sect..7 */
	uint16_t _pad;
};

/*
 * The environment's services.  'ctx' is pvio_bfc_init()'s.  Called from
 * submit/reap/replay/disconnect, i.e. on the thread driving the queue.
 */
struct pvio_bfc_ops {
	/*
	 * A grant of 'frame' for one segment of a request ('readonly': the
	 * backend only reads it, i.e. a write).  With persistent grants this
	 * returns the frame's long-lived grant; without, a new one that
	 * release() ends.  0 or -errno (the submit fails with it).
	 */
	int (*grant)(void *ctx, uint32_t frame, bool readonly, uint32_t *gref);
	/* The request that used 'gref' is over (completed, or its ring was
	 * abandoned).  Called once per successful grant(). */
	void (*release)(void *ctx, uint32_t gref);
	/* Send an event to the backend. */
	void (*notify)(void *ctx);
};

/* One indirect page: where it is mapped here and its grant to the
 * backend (granted read-only for the connection's lifetime). */
struct pvio_bfc_ipage {
	void *va;
	uint32_t gref;
};

/* What one connection (one ring) allows. */
struct pvio_bfc_conf {
	uint16_t handle;       /* the vbd's device id */
	uint32_t max_indirect; /* segments per indirect request; 0: direct
				  only.  <= init's max_segs */
	/* Indirect pages, 'ngroups' groups of ceil(max_indirect / 512)
	 * pages each; a request in flight holds one group.  Copied. */
	const struct pvio_bfc_ipage *ipages;
	uint32_t ngroups;
};

/* A request as the core takes it. */
struct pvio_bfc_req {
	uint8_t op;			 /* BLKIF_OP_READ/WRITE/WRITE_BARRIER/
					    FLUSH_DISKCACHE/DISCARD */
	uint8_t flag;			 /* discard: BLKIF_DISCARD_SECURE */
	uint64_t sector;		 /* 512-byte units */
	uint64_t nr_sectors;		 /* discard only */
	const struct pvio_bfc_seg *segs; /* frame, first_sect, last_sect */
	uint32_t nsegs;
	void *cookie; /* returned in pvio_bfc_done */
};

/* A finished request. */
struct pvio_bfc_done {
	void *cookie;
	int status; /* 0, -EIO, -EOPNOTSUPP, or the status it was failed with */
};

struct pvio_bfc_stats {
	uint64_t requests; /* ring requests produced (replays included) */
	uint64_t indirect; /* of which indirect */
	uint64_t notifies;
	uint64_t replayed;
};

/* One queue.  Public for embedding; fields private to core.c. */
struct pvio_bfc_queue {
	struct pvio_ring ring;
	struct pvio_reqid_table ids;
	const struct pvio_bfc_ops *ops;
	void *ctx;
	uint32_t nslots;
	uint32_t max_segs; /* per request, fixed at init */
	/* This connection. */
	bool connected;
	uint16_t handle;
	uint32_t max_indirect;
	uint32_t pages_per_group;
	uint32_t ngroups;
	struct pvio_bfc_ipage *ipages; /* max_groups * max_ppg, private */
	uint32_t *group_free;	       /* stack of free groups */
	uint32_t ngroup_free;
	uint32_t max_groups;
	/* Bumped at every disconnect: a shadow whose gen differs is not on
	 * the current ring (it waits for replay). */
	uint32_t gen;
	uint32_t unplayed; /* in flight, not on the current ring */
	uint32_t failed;   /* in flight, failed by replay, not yet reaped */
	int error;	   /* 0 or -EPROTO: stopped */
	struct pvio_bfc_stats stats;
};

/* Bytes of memory pvio_bfc_init() needs; 0 on overflow. */
size_t pvio_bfc_mem_size(uint32_t nslots, uint32_t max_segs,
			 uint32_t max_groups);

/*
 * Initialise over 'mem' (8-byte aligned, pvio_bfc_mem_size() bytes, must
 * outlive the queue).  nslots: requests in flight at most (the ring size
 * or less); max_segs: segments per request at most (11 for direct only,
 * up to PVIO_BLKIF_MAX_INDIRECT_SEGMENTS); max_groups: indirect groups
 * at most.  The queue starts disconnected.
 */
int pvio_bfc_init(struct pvio_bfc_queue *q, void *mem, size_t size,
		  uint32_t nslots, uint32_t max_segs, uint32_t max_groups,
		  const struct pvio_bfc_ops *ops, void *ctx);

/*
 * Use a new shared ring ('sring', 'bytes', which the core initialises as
 * the frontend) under 'conf'.  Requests in flight from an earlier
 * connection are replayed by pvio_bfc_replay() (submit and reap call it).
 * -EINVAL on bad arguments, -EBUSY if still connected.
 */
int pvio_bfc_connect(struct pvio_bfc_queue *q, void *sring, size_t bytes,
		     const struct pvio_bfc_conf *conf);

/*
 * Let go of the ring (the backend is gone).  Grants of requests in flight
 * are released; the requests stay, for replay.  A stopped queue
 * (-EPROTO) stays stopped.
 */
void pvio_bfc_disconnect(struct pvio_bfc_queue *q);

/*
 * Put one request on the ring (not yet pushed).  0; -EAGAIN: no room now
 * (ring, ids or indirect pages; reap first); -EINVAL: malformed for this
 * connection (bad op, 0 or too many segments, bad sector range);
 * -ENOTCONN: not connected; -EPROTO: stopped; or grant()'s error.
 */
int pvio_bfc_submit(struct pvio_bfc_queue *q, const struct pvio_bfc_req *r);

/* Publish produced requests; calls ops->notify if the backend asked. */
int pvio_bfc_push(struct pvio_bfc_queue *q);

/*
 * Collect up to 'max' finished requests.  Every response is checked
 * before it is acted on; a bad one stops the queue: -EPROTO is returned
 * (the requests finished before it in this call are lost to the caller:
 * it gets them back with pvio_bfc_fail_all()).  Returns the count.
 */
int pvio_bfc_reap(struct pvio_bfc_queue *q, struct pvio_bfc_done *done,
		  unsigned int max);

/* The ring's final check: >0 responses waiting, 0 (an event will come),
 * or -EPROTO / -ENOTCONN. */
int pvio_bfc_final_check(struct pvio_bfc_queue *q);

/* Replay shadows not yet on the current ring, oldest first, as far as
 * the ring has room.  Returns how many are still waiting. */
int pvio_bfc_replay(struct pvio_bfc_queue *q);

/*
 * Finish up to 'max' requests in flight with 'status' without a
 * response (detach, or after -EPROTO), oldest first, releasing their
 * grants.  Returns the count; call until 0.
 */
int pvio_bfc_fail_all(struct pvio_bfc_queue *q, int status,
		      struct pvio_bfc_done *done, unsigned int max);

/* Requests in flight (on the ring or waiting for replay). */
uint32_t pvio_bfc_inflight(const struct pvio_bfc_queue *q);

/*
 * A segment for the bytes [offset, offset + len) of 'frame': both
 * multiples of 512, len > 0, inside the frame.  -EINVAL otherwise.
 */
int pvio_bfc_seg_make(uint32_t frame, uint32_t offset, uint32_t len,
		      struct pvio_bfc_seg *seg);

#endif /* PVIO_BLKFRONT_CORE_H */
