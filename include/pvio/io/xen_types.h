/* SPDX-License-Identifier: MIT */
/*
 * Scalar types shared by every Xen wire protocol pvio speaks.
 *
 * These are pvio's own definitions; tests/compat proves that they match
 * the Xen 4.17 public headers (sizes, offsets and constant values).
 */
#ifndef PVIO_IO_XEN_TYPES_H
#define PVIO_IO_XEN_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Domain identifier (xen.h domid_t). */
typedef uint16_t pvio_domid_t;

/* Guest frame number as carried in hypercall arguments (xen_pfn_t). */
typedef uint64_t pvio_xen_pfn_t;

/* A guest pointer carried in a hypercall argument (XEN_GUEST_HANDLE). */
typedef uint64_t pvio_guest_handle_t;

#define DOMID_FIRST_RESERVED 0x7FF0U
#define DOMID_SELF 0x7FF0U
#define DOMID_IO 0x7FF1U
#define DOMID_XEN 0x7FF2U
#define DOMID_COW 0x7FF3U
#define DOMID_INVALID 0x7FF4U
#define DOMID_IDLE 0x7FFFU
#define DOMID_MASK 0x7FFFU

#define XEN_PAGE_SHIFT 12
#define XEN_PAGE_SIZE (1UL << XEN_PAGE_SHIFT)

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_XEN_TYPES_H */
