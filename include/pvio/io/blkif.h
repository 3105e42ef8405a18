/* SPDX-License-Identifier: MIT */
/*
 * Block device ring protocol (Xen io/blkif.h, wire compatible).
 *
 * The frontend (the guest's disk driver) puts requests on a shared ring;
 * the backend performs them against the real disk and answers in the same
 * ring.  Data moves through granted 4 KiB frames: each segment names one
 * frame and a sector range inside it.  Sector numbers and counts are always
 * in 512-byte units, whatever the sector size of the disk.
 *
 * The layout of a request depends on the frontend's ABI: x86_32 guests
 * align 64-bit fields to 4 bytes, x86_64 guests to 8.  The frontend states
 * its ABI in the xenstore key "protocol" (pvio/io/protocols.h) and a
 * backend must then read the ring with the matching explicit layout below
 * (struct pvio_blkif_x86_32_* / pvio_blkif_x86_64_*).  The plain
 * struct pvio_blkif_* types use the layout of the machine pvio is built
 * for, as Xen's do.
 *
 * These are pvio's own definitions; tests/compat proves that they match
 * the Xen 4.17 public headers (sizes, offsets and constant values),
 * including the x86_32 layouts against Xen's headers compiled with -m32.
 */
#ifndef PVIO_IO_BLKIF_H
#define PVIO_IO_BLKIF_H

#include <stdint.h>

#include "grant_table.h"
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Virtual device handle, as in the xenstore "virtual-device" key. */
typedef uint16_t pvio_blkif_vdev_t;
/* Sector index, in 512-byte units. */
typedef uint64_t pvio_blkif_sector_t;

/* Request operations (request.operation). */
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
/* Write that completes only after all earlier writes are durable. */
#define BLKIF_OP_WRITE_BARRIER 2
/* Flush the disk's volatile write cache; nr_segments may be 0. */
#define BLKIF_OP_FLUSH_DISKCACHE 3
/* Never to be used: it meant different things in different forks. */
#define BLKIF_OP_RESERVED_1 4
/* Unmap a sector range (struct pvio_blkif_request_discard). */
#define BLKIF_OP_DISCARD 5
/* Read/write whose segments live in granted pages (request_indirect). */
#define BLKIF_OP_INDIRECT 6

/* Segments carried directly in one request. */
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
/* Indirect pages one indirect request may name. */
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8

/* Discard flag: the backend must make the discarded data unreadable. */
#define BLKIF_DISCARD_SECURE (1 << 0)

/* Response status (response.status). */
#define BLKIF_RSP_EOPNOTSUPP -2
#define BLKIF_RSP_ERROR -1
#define BLKIF_RSP_OKAY 0

/* Flags of the backend's xenstore "info" key. */
#define VDISK_CDROM 0x1
#define VDISK_REMOVABLE 0x2
#define VDISK_READONLY 0x4

/*
 * pvio-only helpers (Xen has no names for these): sector_number, first_sect
 * and last_sect count 512-byte sectors, a segment frame holds 8 of them,
 * and an indirect page holds 512 segment descriptors.
 */
#define PVIO_BLKIF_SECTOR_SHIFT 9
#define PVIO_BLKIF_SECTOR_SIZE (1 << PVIO_BLKIF_SECTOR_SHIFT)
#define PVIO_BLKIF_SECTORS_PER_PAGE 8
#define PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE 512
#define PVIO_BLKIF_MAX_INDIRECT_SEGMENTS                                       \
	(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *                                \
	 PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE)

/* One data frame of a request: a grant and an inclusive sector range. */
struct pvio_blkif_request_segment {
	pvio_grant_ref_t gref; /* granted 4 KiB frame holding the data */
	uint8_t first_sect;    /* first 512-byte sector used, 0..7 */
	uint8_t last_sect;     /* last sector used, first_sect..7 */
};

/* Read, write, barrier and flush requests. */
struct pvio_blkif_request {
	uint8_t operation;		   /* BLKIF_OP_* */
	uint8_t nr_segments;		   /* 1..11 used entries of seg[] */
	pvio_blkif_vdev_t handle;	   /* device, for read/write only */
	uint64_t id;			   /* frontend cookie, echoed back */
	pvio_blkif_sector_t sector_number; /* first sector on the disk */
	struct pvio_blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* BLKIF_OP_DISCARD; shares the request slot and the first fields. */
struct pvio_blkif_request_discard {
	uint8_t operation;		   /* BLKIF_OP_DISCARD */
	uint8_t flag;			   /* BLKIF_DISCARD_SECURE or 0 */
	pvio_blkif_vdev_t handle;	   /* device */
	uint64_t id;			   /* frontend cookie, echoed back */
	pvio_blkif_sector_t sector_number; /* first sector to discard */
	uint64_t nr_sectors;		   /* contiguous sectors */
};

/*
 * BLKIF_OP_INDIRECT: the segments are in up to 8 granted pages, each an
 * array of struct pvio_blkif_request_segment.  Note handle moved behind
 * sector_number.
 */
struct pvio_blkif_request_indirect {
	uint8_t operation;    /* BLKIF_OP_INDIRECT */
	uint8_t indirect_op;  /* BLKIF_OP_READ or BLKIF_OP_WRITE */
	uint16_t nr_segments; /* total segments in the indirect pages */
	uint64_t id;	      /* frontend cookie, echoed back */
	pvio_blkif_sector_t sector_number; /* first sector on the disk */
	pvio_blkif_vdev_t handle;	   /* device */
	pvio_grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
#ifdef __i386__
	uint64_t pad; /* keeps the i386 struct at 64 bytes */
#endif
};

/*
 * Response.  The padding is named so that a backend can zero it: stale
 * bytes there leak to the frontend (XSA-216).
 */
struct pvio_blkif_response {
	uint64_t id;	   /* id of the request */
	uint8_t operation; /* operation of the request */
	uint8_t _pad1;	   /* zero */
	int16_t status;	   /* BLKIF_RSP_* */
#ifndef __i386__
	uint32_t _pad2; /* zero */
#endif
};

PVIO_RING_DEFINE(blkif, struct pvio_blkif_request, struct pvio_blkif_response);

/*
 * 64-bit integers aligned as each guest ABI aligns them inside structs,
 * whatever machine pvio itself is built for.
 */
typedef uint64_t pvio_blkif_u64_x86_32 __attribute__((aligned(4)));
typedef uint64_t pvio_blkif_u64_x86_64 __attribute__((aligned(8)));

/* x86_32 guests ("x86_32-abi"): 108-byte request, id at offset 4. */
struct pvio_blkif_x86_32_request {
	uint8_t operation;
	uint8_t nr_segments;
	pvio_blkif_vdev_t handle;
	pvio_blkif_u64_x86_32 id;
	pvio_blkif_u64_x86_32 sector_number;
	struct pvio_blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

struct pvio_blkif_x86_32_request_discard {
	uint8_t operation;
	uint8_t flag;
	pvio_blkif_vdev_t handle;
	pvio_blkif_u64_x86_32 id;
	pvio_blkif_u64_x86_32 sector_number;
	pvio_blkif_u64_x86_32 nr_sectors;
};

struct pvio_blkif_x86_32_request_indirect {
	uint8_t operation;
	uint8_t indirect_op;
	uint16_t nr_segments;
	pvio_blkif_u64_x86_32 id;
	pvio_blkif_u64_x86_32 sector_number;
	pvio_blkif_vdev_t handle;
	pvio_grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	pvio_blkif_u64_x86_32 pad; /* pads the request to 64 bytes */
};

/* x86_32 response: 12 bytes, no tail padding. */
struct pvio_blkif_x86_32_response {
	pvio_blkif_u64_x86_32 id;
	uint8_t operation;
	uint8_t _pad1; /* zero */
	int16_t status;
};

PVIO_RING_DEFINE(blkif_x86_32, struct pvio_blkif_x86_32_request,
		 struct pvio_blkif_x86_32_response);

/* x86_64 guests ("x86_64-abi"): 112-byte request, id at offset 8. */
struct pvio_blkif_x86_64_request {
	uint8_t operation;
	uint8_t nr_segments;
	pvio_blkif_vdev_t handle;
	pvio_blkif_u64_x86_64 id;
	pvio_blkif_u64_x86_64 sector_number;
	struct pvio_blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

struct pvio_blkif_x86_64_request_discard {
	uint8_t operation;
	uint8_t flag;
	pvio_blkif_vdev_t handle;
	pvio_blkif_u64_x86_64 id;
	pvio_blkif_u64_x86_64 sector_number;
	pvio_blkif_u64_x86_64 nr_sectors;
};

struct pvio_blkif_x86_64_request_indirect {
	uint8_t operation;
	uint8_t indirect_op;
	uint16_t nr_segments;
	pvio_blkif_u64_x86_64 id;
	pvio_blkif_u64_x86_64 sector_number;
	pvio_blkif_vdev_t handle;
	pvio_grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};

/* x86_64 response: 16 bytes, 4 of them tail padding. */
struct pvio_blkif_x86_64_response {
	pvio_blkif_u64_x86_64 id;
	uint8_t operation;
	uint8_t _pad1; /* zero */
	int16_t status;
	uint32_t _pad2; /* zero */
};

PVIO_RING_DEFINE(blkif_x86_64, struct pvio_blkif_x86_64_request,
		 struct pvio_blkif_x86_64_response);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_BLKIF_H */
