/* SPDX-License-Identifier: MIT */
/*
 * Guest ABI names (Xen io/protocols.h, wire compatible).
 *
 * A frontend writes one of these strings to its xenstore "protocol" key so
 * that the backend knows the layout of ring entries whose structs depend on
 * the guest ABI (blkif).  A missing key means the backend's own ABI.
 *
 * These are pvio's own definitions; tests/compat proves that they match
 * the Xen 4.17 public headers.
 */
#ifndef PVIO_IO_PROTOCOLS_H
#define PVIO_IO_PROTOCOLS_H

#ifdef __cplusplus
extern "C" {
#endif

#define XEN_IO_PROTO_ABI_X86_32 "x86_32-abi"
#define XEN_IO_PROTO_ABI_X86_64 "x86_64-abi"
#define XEN_IO_PROTO_ABI_ARM "arm-abi"

/* The ABI of the machine pvio is built for (undefined on other ones). */
#if defined(__i386__)
#define XEN_IO_PROTO_ABI_NATIVE XEN_IO_PROTO_ABI_X86_32
#elif defined(__x86_64__)
#define XEN_IO_PROTO_ABI_NATIVE XEN_IO_PROTO_ABI_X86_64
#elif defined(__arm__) || defined(__aarch64__)
#define XEN_IO_PROTO_ABI_NATIVE XEN_IO_PROTO_ABI_ARM
#endif

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_PROTOCOLS_H */
