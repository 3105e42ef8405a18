/* SPDX-License-Identifier: MIT */
/*
 * The pvio side: compat_list.h evaluated against pvio's headers only.
 * <errno.h> first so that xs_wire.h provides its error-table helpers.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <pvio/io/blkif.h>
#include <pvio/io/event_channel.h>
#include <pvio/io/grant_table.h>
#include <pvio/io/netif.h>
#include <pvio/io/protocols.h>
#include <pvio/io/ring.h>
#include <pvio/io/xen_types.h>
#include <pvio/io/xenbus.h>
#include <pvio/io/xs_wire.h>

#include "compat_entry.h"

#ifndef COMPAT_TABLE
#define COMPAT_TABLE compat_pvio_table
#define COMPAT_TABLE_LEN compat_pvio_table_len
#endif

#define C(r, n) E(K_CONST, r, #n, #n, (n), 0)
#define CX(r, p, x) E(K_CONST, r, #p, #x, (p), 0)
#define STR(n) ES(#n, #n, n)
#define S(r, p, x) E(K_SIZE, r, #p, #x, sizeof(p), _Alignof(p))
#define SX(r, p, xs, xa) E(K_SIZE, r, #p, #xs, sizeof(p), _Alignof(p))
#define F(r, p, x, f)                                                          \
	E(K_FIELD, r, #p "." #f, #x "." #f, offsetof(p, f),                    \
	  COMPAT_MEMBER_SIZE(p, f))
#define F2(r, p, pf, x, xf)                                                    \
	E(K_FIELD, r, #p "." #pf, #x "." #xf, offsetof(p, pf),                 \
	  COMPAT_MEMBER_SIZE(p, pf))
#define FX(r, p, pf, xo, xs)                                                   \
	E(K_FIELD, r, #p "." #pf, #xo, offsetof(p, pf),                        \
	  COMPAT_MEMBER_SIZE(p, pf))
#define RSZ(r, p, x, n)                                                        \
	E(K_CONST, r, "PVIO_RING_ENTRIES(" #n " page(s), " #p ")",             \
	  "__CONST_RING_SIZE(" #x ", " #n " page(s))",                         \
	  PVIO_RING_ENTRIES((n)*COMPAT_PAGE,                                   \
			    sizeof(union pvio_##p##_sring_entry)),             \
	  0)

#include "compat_emit.h"
