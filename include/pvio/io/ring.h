/* SPDX-License-Identifier: MIT */
/*
 * Shared descriptor ring layout (Xen io/ring.h, wire compatible).
 *
 * A shared ring is one or more contiguous pages.  The first 64 bytes hold
 * the four free-running indexes and padding; the entries start at byte 64.
 * Each entry is the union of one request and one response, and the number
 * of entries is the largest power of two that fits.  The frontend
 * initialises the page; the backend only attaches to it.
 *
 * PVIO_RING_DEFINE() declares the typed shared-ring struct for one
 * protocol; libchannel (pvio/channel.h) drives it.
 */
#ifndef PVIO_IO_RING_H
#define PVIO_IO_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Free-running ring index; wraps at 2^32, slot = idx & (size - 1). */
typedef uint32_t pvio_ring_idx_t;

/*
 * The 64-byte header at the start of every shared ring.
 *   req_prod   written by the frontend, read by the backend
 *   req_event  written by the backend: "notify me when req_prod passes this"
 *   rsp_prod   written by the backend, read by the frontend
 *   rsp_event  written by the frontend: "notify me when rsp_prod passes this"
 * All four are hostile input to the side that reads them.
 */
struct pvio_sring_header {
	pvio_ring_idx_t req_prod;
	pvio_ring_idx_t req_event;
	pvio_ring_idx_t rsp_prod;
	pvio_ring_idx_t rsp_event;
	/* Protocol-private byte(s): Xen's union pvt (netif smartpoll etc.). */
	uint8_t pvt_pad[4];
	uint8_t pad[44];
};

/* Byte offset of entry 0 in every shared ring. */
#define PVIO_RING_HEADER_SIZE 64u

/*
 * Declares
 *   union  pvio_<name>_sring_entry { req_t req; rsp_t rsp; };
 *   struct pvio_<name>_sring { header; entries[]; };
 * The entry array is declared with one element, like Xen's, so that the
 * struct is valid C and C++; its real length comes from the ring size.
 */
#define PVIO_RING_DEFINE(name, req_t, rsp_t)                                   \
	union pvio_##name##_sring_entry {                                      \
		req_t req;                                                     \
		rsp_t rsp;                                                     \
	};                                                                     \
	struct pvio_##name##_sring {                                           \
		struct pvio_sring_header hdr;                                  \
		union pvio_##name##_sring_entry ring[1];                       \
	}

/*
 * Number of entries of a ring of 'bytes' bytes whose entries are
 * 'entry_size' bytes: (bytes - 64) / entry_size rounded down to a power of
 * two.  A constant expression when its arguments are (Xen's
 * __CONST_RING_SIZE).
 */
#define PVIO__RD2(x) (((x)&0x2u) ? 0x2u : ((x)&0x1u))
#define PVIO__RD4(x) (((x)&0xcu) ? PVIO__RD2((x) >> 2) << 2 : PVIO__RD2(x))
#define PVIO__RD8(x) (((x)&0xf0u) ? PVIO__RD4((x) >> 4) << 4 : PVIO__RD4(x))
#define PVIO__RD16(x) (((x)&0xff00u) ? PVIO__RD8((x) >> 8) << 8 : PVIO__RD8(x))
#define PVIO__RD32(x)                                                          \
	(((x)&0xffff0000u) ? PVIO__RD16((x) >> 16) << 16 : PVIO__RD16(x))
#define PVIO_RING_ENTRIES(bytes, entry_size)                                   \
	PVIO__RD32((uint32_t)(((bytes)-PVIO_RING_HEADER_SIZE) / (entry_size)))

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_RING_H */
