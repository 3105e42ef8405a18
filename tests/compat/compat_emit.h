/* SPDX-License-Identifier: MIT */
/*
 * Turns compat_list.h into COMPAT_TABLE (native) or into assembler
 * comments "@@ E(key, kind, ref, a_lo, a_hi, b_lo, b_hi)" (COMPAT_ASM,
 * compiled with -S only; the numbers are read back by extract32.cmake).
 * The including file has defined C, CX, STR, S, SX, F, F2, FX and RSZ.
 */
#include "compat_entry.h"

#define RING(r, p, x)                                                          \
	S(r, union pvio_##p##_sring_entry, union x##_sring_entry)              \
	F(r, union pvio_##p##_sring_entry, union x##_sring_entry, req)         \
	F(r, union pvio_##p##_sring_entry, union x##_sring_entry, rsp)         \
	S(r, struct pvio_##p##_sring, struct x##_sring)                        \
	F2(r, struct pvio_##p##_sring, hdr.req_prod, struct x##_sring,         \
	   req_prod)                                                           \
	F2(r, struct pvio_##p##_sring, hdr.req_event, struct x##_sring,        \
	   req_event)                                                          \
	F2(r, struct pvio_##p##_sring, hdr.rsp_prod, struct x##_sring,         \
	   rsp_prod)                                                           \
	F2(r, struct pvio_##p##_sring, hdr.rsp_event, struct x##_sring,        \
	   rsp_event)                                                          \
	F2(r, struct pvio_##p##_sring, hdr.pvt_pad, struct x##_sring,          \
	   pvt.pvt_pad)                                                        \
	F2(r, struct pvio_##p##_sring, hdr.pad, struct x##_sring, __pad)       \
	F2(r, struct pvio_##p##_sring, ring, struct x##_sring, ring)           \
	F2(r, struct pvio_##p##_sring, ring[1], struct x##_sring, ring[1])     \
	RSZ(r, p, x, 1)                                                        \
	RSZ(r, p, x, 2)                                                        \
	RSZ(r, p, x, 4)

#define COMPAT_MEMBER_SIZE(type, field) sizeof(((type *)0)->field)

#ifndef COMPAT_ASM

#define E(k, r, key, xen, va, vb)                                              \
	{key, xen, k, REF_##r, (long long)(va), (long long)(vb), 0},
#define ES(key, xen, str) {key, xen, K_STR, REF_N, 0, 0, str},

const struct compat_entry COMPAT_TABLE[] = {
#include "compat_list.h"
};
const unsigned int COMPAT_TABLE_LEN =
	sizeof(COMPAT_TABLE) / sizeof(COMPAT_TABLE[0]);

#else /* COMPAT_ASM */

#define COMPAT_LO(v) ((unsigned int)((unsigned long long)(long long)(v)))
#define COMPAT_HI(v) ((unsigned int)((unsigned long long)(long long)(v) >> 32))
#define E(k, r, key, xen, va, vb)                                              \
	__asm__ volatile("# @@ E(\"" key "\", %c0, %c1, %c2, %c3, %c4, %c5)"   \
			 :                                                     \
			 : "i"(k), "i"(REF_##r), "i"(COMPAT_LO(va)),           \
			   "i"(COMPAT_HI(va)), "i"(COMPAT_LO(vb)),             \
			   "i"(COMPAT_HI(vb)));
#define ES(key, xen, str)

void compat_asm_dump(void);
void compat_asm_dump(void)
{
#include "compat_list.h"
}

#endif /* COMPAT_ASM */
