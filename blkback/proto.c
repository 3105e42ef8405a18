/* SPDX-License-Identifier: MIT */
/*
 * blkif requests in both guest ABIs, decoded into one private form, and
 * the checks every request passes before anything is mapped or read.
 *
 * Everything here works on private copies (libchannel copied the slot
 * once, with a compiler barrier after the copy), so a frontend rewriting
 * the shared slot meanwhile changes nothing (XSA-155 class).
 */
#include <errno.h>
#include <string.h>

#include <pvio/io/protocols.h>

#include "blkback.h"

size_t bb_abi_req_size(enum bb_abi abi)
{
	return abi == BB_ABI_X86_32 ? sizeof(struct pvio_blkif_x86_32_request)
				    : sizeof(struct pvio_blkif_x86_64_request);
}

size_t bb_abi_rsp_size(enum bb_abi abi)
{
	return abi == BB_ABI_X86_32 ? sizeof(struct pvio_blkif_x86_32_response)
				    : sizeof(struct pvio_blkif_x86_64_response);
}

size_t bb_abi_entry_size(enum bb_abi abi)
{
	return abi == BB_ABI_X86_32
		       ? sizeof(union pvio_blkif_x86_32_sring_entry)
		       : sizeof(union pvio_blkif_x86_64_sring_entry);
}

int bb_abi_parse(const char *s, enum bb_abi *abi)
{
	if (s == NULL || strcmp(s, XEN_IO_PROTO_ABI_X86_64) == 0)
		*abi = BB_ABI_X86_64;
	else if (strcmp(s, XEN_IO_PROTO_ABI_X86_32) == 0)
		*abi = BB_ABI_X86_32;
	else
		return -EINVAL;
	return 0;
}

/*
 * The three request shapes share operation@0; the rest is read through
 * the ABI's own structs (memcpy: the private buffer has no alignment
 * promise beyond the entry's).
 */
#define DECODE(PFX)                                                            \
	do {                                                                   \
		switch (r->op) {                                               \
		case BLKIF_OP_DISCARD: {                                       \
			struct PFX##_request_discard d;                        \
			memcpy(&d, raw, sizeof(d));                            \
			r->flag = d.flag;                                      \
			r->id = d.id;                                          \
			r->sector = d.sector_number;                           \
			r->nr_sectors = d.nr_sectors;                          \
			break;                                                 \
		}                                                              \
		case BLKIF_OP_INDIRECT: {                                      \
			struct PFX##_request_indirect in;                      \
			memcpy(&in, raw, sizeof(in));                          \
			r->iop = in.indirect_op;                               \
			r->nr_segs = in.nr_segments;                           \
			r->id = in.id;                                         \
			r->sector = in.sector_number;                          \
			memcpy(r->indirect_grefs, in.indirect_grefs,           \
			       sizeof(r->indirect_grefs));                     \
			break;                                                 \
		}                                                              \
		default: {                                                     \
			struct PFX##_request q;                                \
			memcpy(&q, raw, sizeof(q));                            \
			r->nr_segs = q.nr_segments;                            \
			r->id = q.id;                                          \
			r->sector = q.sector_number;                           \
			memcpy(r->seg, q.seg, sizeof(r->seg));                 \
			break;                                                 \
		}                                                              \
		}                                                              \
	} while (0)

void bb_req_decode(enum bb_abi abi, const void *raw, struct bb_req *r)
{
	memset(r, 0, sizeof(*r));
	r->op = *(const uint8_t *)raw;
	if (abi == BB_ABI_X86_32)
		DECODE(pvio_blkif_x86_32);
	else
		DECODE(pvio_blkif_x86_64);
}

void bb_rsp_encode(enum bb_abi abi, void *raw, uint64_t id, uint8_t op,
		   int16_t status)
{
	if (abi == BB_ABI_X86_32) {
		struct pvio_blkif_x86_32_response p;

		memset(&p, 0, sizeof(p)); /* padding too: XSA-216 */
		p.id = id;
		p.operation = op;
		p.status = status;
		memcpy(raw, &p, sizeof(p));
	} else {
		struct pvio_blkif_x86_64_response p;

		memset(&p, 0, sizeof(p));
		p.id = id;
		p.operation = op;
		p.status = status;
		memcpy(raw, &p, sizeof(p));
	}
}

int bb_segs_check(const struct pvio_blkif_request_segment *seg, unsigned int n,
		  uint64_t sector, uint64_t disk_sectors, uint64_t *bytes,
		  const char **why)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (seg[i].last_sect >= PVIO_BLKIF_SECTORS_PER_PAGE) {
			*why = "last_sect beyond the page";
			return BLKIF_RSP_ERROR;
		}
		if (seg[i].first_sect > seg[i].last_sect) {
			*why = "first_sect > last_sect";
			return BLKIF_RSP_ERROR;
		}
		total += (uint64_t)(seg[i].last_sect - seg[i].first_sect + 1U);
	}
	/* No wrap (sector near 2^64) and not past the end. */
	if (sector > UINT64_MAX - total || sector + total > disk_sectors) {
		*why = "sectors outside the disk";
		return BLKIF_RSP_ERROR;
	}
	*bytes = total << PVIO_BLKIF_SECTOR_SHIFT;
	return BLKIF_RSP_OKAY;
}

int bb_req_check(const struct bb_req *r, const struct bb_limits *l,
		 const char **why)
{
	*why = "";
	switch (r->op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* Linux: only the flushing ops may carry no data. */
		if (r->nr_segs == 0 &&
		    (r->op == BLKIF_OP_READ || r->op == BLKIF_OP_WRITE)) {
			*why = "no segments";
			return BLKIF_RSP_ERROR;
		}
		if (r->nr_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			*why = "too many segments";
			return BLKIF_RSP_ERROR;
		}
		if (l->readonly &&
		    (r->op == BLKIF_OP_WRITE ||
		     r->op == BLKIF_OP_WRITE_BARRIER ||
		     (r->op == BLKIF_OP_FLUSH_DISKCACHE && r->nr_segs != 0))) {
			*why = "write to a read-only disk";
			return BLKIF_RSP_ERROR;
		}
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_INDIRECT:
		if (r->iop != BLKIF_OP_READ && r->iop != BLKIF_OP_WRITE) {
			*why = "indirect_op not read/write";
			return BLKIF_RSP_ERROR;
		}
		if (bb_indirect_pages(r->nr_segs) >
		    BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST) {
			*why = "more indirect pages than 8";
			return BLKIF_RSP_ERROR;
		}
		if (r->nr_segs == 0 || r->nr_segs > l->max_indirect) {
			*why = "bad indirect segment count";
			return BLKIF_RSP_ERROR;
		}
		if (l->readonly && r->iop == BLKIF_OP_WRITE) {
			*why = "write to a read-only disk";
			return BLKIF_RSP_ERROR;
		}
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_DISCARD:
		/* Linux's order: the write check, the range, then support. */
		if (l->readonly) {
			*why = "discard on a read-only disk";
			return BLKIF_RSP_ERROR;
		}
		if (r->sector > UINT64_MAX - r->nr_sectors ||
		    r->sector + r->nr_sectors > l->sectors) {
			*why = "discard outside the disk";
			return BLKIF_RSP_ERROR;
		}
		if (!l->discard ||
		    ((r->flag & BLKIF_DISCARD_SECURE) && !l->secure_discard)) {
			*why = "discard not supported";
			return BLKIF_RSP_EOPNOTSUPP;
		}
		return BLKIF_RSP_OKAY;
	default:
		/* Unknown, and 4 (reserved: it meant different things). */
		*why = "unknown operation";
		return BLKIF_RSP_EOPNOTSUPP;
	}
}
