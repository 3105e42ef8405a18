/* SPDX-License-Identifier: MIT */
/*
 * Grant tables (Xen grant_table.h, wire and ABI compatible).
 *
 * A domain shares a page by writing a grant entry into its own grant table:
 * "domain D may map/copy frame F (read-only?)".  The entry's index is the
 * grant reference the domain passes to its peer.  The hypervisor validates
 * every map, copy and transfer against the entry and marks it busy
 * (GTF_reading/GTF_writing) while it is pinned.
 */
#ifndef PVIO_IO_GRANT_TABLE_H
#define PVIO_IO_GRANT_TABLE_H

#include <stdint.h>

#include "xen_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t pvio_grant_ref_t;
typedef uint32_t pvio_grant_handle_t;
typedef uint16_t pvio_grant_status_t;

/* Version 1 entry, 8 bytes.  flags is written by both sides (cmpxchg). */
struct pvio_grant_entry_v1 {
	uint16_t flags;	    /* GTF_* */
	pvio_domid_t domid; /* domain granted access */
	uint32_t frame;	    /* frame granted / frame transferred in */
};

#define GNTTAB_NR_RESERVED_ENTRIES 8
#define GNTTAB_RESERVED_CONSOLE 0
#define GNTTAB_RESERVED_XENSTORE 1

/* Entry type, low two bits of flags. */
#define GTF_invalid (0U << 0)
#define GTF_permit_access (1U << 0)
#define GTF_accept_transfer (2U << 0)
#define GTF_transitive (3U << 0)
#define GTF_type_mask (3U << 0)

/* Sub-flags of GTF_permit_access. */
#define _GTF_readonly (2)
#define GTF_readonly (1U << _GTF_readonly)
#define _GTF_reading (3)
#define GTF_reading (1U << _GTF_reading)
#define _GTF_writing (4)
#define GTF_writing (1U << _GTF_writing)
#define _GTF_PWT (5)
#define GTF_PWT (1U << _GTF_PWT)
#define _GTF_PCD (6)
#define GTF_PCD (1U << _GTF_PCD)
#define _GTF_PAT (7)
#define GTF_PAT (1U << _GTF_PAT)
#define _GTF_sub_page (8)
#define GTF_sub_page (1U << _GTF_sub_page)

/* Sub-flags of GTF_accept_transfer. */
#define _GTF_transfer_committed (2)
#define GTF_transfer_committed (1U << _GTF_transfer_committed)
#define _GTF_transfer_completed (3)
#define GTF_transfer_completed (1U << _GTF_transfer_completed)

/* Version 2: common 4-byte prefix of every entry. */
struct pvio_grant_entry_header {
	uint16_t flags;
	pvio_domid_t domid;
};

/* Version 2 entry, 16 bytes; its status bits live in separate frames. */
union pvio_grant_entry_v2 {
	struct pvio_grant_entry_header hdr;
	struct {
		struct pvio_grant_entry_header hdr;
		uint32_t pad0;
		uint64_t frame;
	} full_page;
	struct {
		struct pvio_grant_entry_header hdr;
		uint16_t page_off;
		uint16_t length;
		uint64_t frame;
	} sub_page;
	struct {
		struct pvio_grant_entry_header hdr;
		pvio_domid_t trans_domid;
		uint16_t pad0;
		pvio_grant_ref_t gref;
	} transitive;
	uint32_t __spacer[4];
};

/* GNTTABOP_* hypercall sub-operations. */
#define GNTTABOP_map_grant_ref 0
#define GNTTABOP_unmap_grant_ref 1
#define GNTTABOP_setup_table 2
#define GNTTABOP_dump_table 3
#define GNTTABOP_transfer 4
#define GNTTABOP_copy 5
#define GNTTABOP_query_size 6
#define GNTTABOP_unmap_and_replace 7
#define GNTTABOP_set_version 8
#define GNTTABOP_get_status_frames 9
#define GNTTABOP_get_version 10
#define GNTTABOP_swap_grant_ref 11
#define GNTTABOP_cache_flush 12

struct pvio_gnttab_map_grant_ref {
	/* IN */
	uint64_t host_addr;
	uint32_t flags; /* GNTMAP_* */
	pvio_grant_ref_t ref;
	pvio_domid_t dom;
	/* OUT */
	int16_t status; /* GNTST_* */
	pvio_grant_handle_t handle;
	uint64_t dev_bus_addr;
};

struct pvio_gnttab_unmap_grant_ref {
	/* IN */
	uint64_t host_addr;
	uint64_t dev_bus_addr;
	pvio_grant_handle_t handle;
	/* OUT */
	int16_t status;
};

struct pvio_gnttab_setup_table {
	/* IN */
	pvio_domid_t dom;
	uint32_t nr_frames;
	/* OUT */
	int16_t status;
	pvio_guest_handle_t frame_list; /* pvio_xen_pfn_t[nr_frames] */
};

struct pvio_gnttab_dump_table {
	pvio_domid_t dom;
	int16_t status;
};

struct pvio_gnttab_transfer {
	/* IN */
	pvio_xen_pfn_t mfn;   /* caller's frame to give away */
	pvio_domid_t domid;   /* receiving domain */
	pvio_grant_ref_t ref; /* receiver's GTF_accept_transfer entry */
	/* OUT */
	int16_t status;
};

#define _GNTCOPY_source_gref (0)
#define GNTCOPY_source_gref (1 << _GNTCOPY_source_gref)
#define _GNTCOPY_dest_gref (1)
#define GNTCOPY_dest_gref (1 << _GNTCOPY_dest_gref)

struct pvio_gnttab_copy_ptr {
	union {
		pvio_grant_ref_t ref; /* with GNTCOPY_*_gref */
		pvio_xen_pfn_t gmfn;  /* the caller's own frame otherwise */
	} u;
	pvio_domid_t domid;
	uint16_t offset;
};

struct pvio_gnttab_copy {
	/* IN */
	struct pvio_gnttab_copy_ptr source, dest;
	uint16_t len;
	uint16_t flags; /* GNTCOPY_* */
	/* OUT */
	int16_t status;
};

struct pvio_gnttab_query_size {
	/* IN */
	pvio_domid_t dom;
	/* OUT */
	uint32_t nr_frames;
	uint32_t max_nr_frames;
	int16_t status;
};

struct pvio_gnttab_unmap_and_replace {
	uint64_t host_addr;
	uint64_t new_addr;
	pvio_grant_handle_t handle;
	int16_t status;
};

struct pvio_gnttab_set_version {
	uint32_t version; /* IN/OUT */
};

struct pvio_gnttab_get_status_frames {
	uint32_t nr_frames;
	pvio_domid_t dom;
	int16_t status;
	pvio_guest_handle_t frame_list; /* uint64_t[nr_frames] */
};

struct pvio_gnttab_get_version {
	pvio_domid_t dom;
	uint16_t pad;
	uint32_t version;
};

struct pvio_gnttab_swap_grant_ref {
	pvio_grant_ref_t ref_a;
	pvio_grant_ref_t ref_b;
	int16_t status;
};

struct pvio_gnttab_cache_flush {
	union {
		uint64_t dev_bus_addr;
		pvio_grant_ref_t ref;
	} a;
	uint16_t offset;
	uint16_t length;
	uint32_t op;
};

#define GNTTAB_CACHE_CLEAN (1u << 0)
#define GNTTAB_CACHE_INVAL (1u << 1)
#define GNTTAB_CACHE_SOURCE_GREF (1u << 31)

/* GNTMAP_* flags of map/unmap. */
#define _GNTMAP_device_map (0)
#define GNTMAP_device_map (1 << _GNTMAP_device_map)
#define _GNTMAP_host_map (1)
#define GNTMAP_host_map (1 << _GNTMAP_host_map)
#define _GNTMAP_readonly (2)
#define GNTMAP_readonly (1 << _GNTMAP_readonly)
#define _GNTMAP_application_map (3)
#define GNTMAP_application_map (1 << _GNTMAP_application_map)
#define _GNTMAP_contains_pte (4)
#define GNTMAP_contains_pte (1 << _GNTMAP_contains_pte)

/* GNTST_* status codes, returned per operation. */
#define GNTST_okay (0)
#define GNTST_general_error (-1)
#define GNTST_bad_domain (-2)
#define GNTST_bad_gntref (-3)
#define GNTST_bad_handle (-4)
#define GNTST_bad_virt_addr (-5)
#define GNTST_bad_dev_addr (-6)
#define GNTST_no_device_space (-7)
#define GNTST_permission_denied (-8)
#define GNTST_bad_page (-9)
#define GNTST_bad_copy_arg (-10)
#define GNTST_address_too_big (-11)
#define GNTST_eagain (-12)
#define GNTST_no_space (-13)

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_GRANT_TABLE_H */
