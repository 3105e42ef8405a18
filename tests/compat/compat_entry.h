/* SPDX-License-Identifier: MIT */
/*
 * Entry format shared by every table built from compat_list.h.
 *
 * compat_list.h is one X-macro list.  Each side (compat_pvio.c: only pvio
 * headers; compat_xen.c: only Xen headers) defines the list macros so that
 * an entry evaluates its own side's expression, then includes
 * compat_emit.h, which turns every entry into E(kind, ref, key, xen, a, b)
 * and E into either a table row (native build) or an assembler comment
 * (the -m32 -S build; see CMakeLists.txt).  Rows are matched by key, which
 * is always spelled from the pvio side, so both sides share it.
 *
 * List macros (ref first; see enum compat_ref):
 *   C(ref, NAME)                    constant with the same name on both sides
 *   CX(ref, pvio_expr, xen_expr)    pvio constant vs a Xen expression
 *   STR(NAME)                       string constant with the same name
 *   S(ref, pvio_type, xen_type)     sizeof and alignment
 *   SX(ref, pvio_type, xen_size, xen_align)
 *   F(ref, pvio_type, xen_type, field)             offsetof and size
 *   F2(ref, pvio_type, pvio_field, xen_type, xen_field)
 *   FX(ref, pvio_type, pvio_field, xen_offset, xen_size)
 *   RING(ref, pvio_name, xen_name)  PVIO_RING_DEFINE vs DEFINE_RING_TYPES:
 *                                   entry union, sring header fields, and
 *                                   entry counts of 1, 2 and 4 page rings
 */
#ifndef COMPAT_ENTRY_H
#define COMPAT_ENTRY_H

enum compat_kind {
	K_CONST = 1, /* a: value */
	K_STR = 2,   /* s: string */
	K_SIZE = 3,  /* a: sizeof, b: alignment */
	K_FIELD = 4, /* a: offsetof, b: sizeof the member */
};

/* Which Xen layout an entry is compared with. */
enum compat_ref {
	/* Xen's headers built for the same machine as the pvio side. */
	REF_N = 0,
	/* Xen's headers built for x86_32 (-m32), whatever the pvio side. */
	REF_A32 = 1,
	/* Xen's headers built for x86_64, whatever the pvio side. */
	REF_A64 = 2,
	/*
	 * pvio's layout is Xen's x86_64 one only when pvio is built for
	 * x86_64 (64-bit hypercall ABI of the stub hypervisor); not checked
	 * when pvio is built with -m32.
	 */
	REF_H64 = 3,
};

struct compat_entry {
	const char *key; /* pvio-side name: "NAME", "type", "type.field" */
	const char *xen; /* Xen-side expression, for messages */
	int kind;	 /* enum compat_kind */
	int ref;	 /* enum compat_ref */
	long long a, b;
	const char *s; /* K_STR only */
};

/* Shared ring sizes checked by RING(). */
#define COMPAT_PAGE 4096

#endif /* COMPAT_ENTRY_H */
