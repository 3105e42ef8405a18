/* SPDX-License-Identifier: MIT */
/*
 * The Xen side: compat_list.h evaluated against the Xen 4.17 public
 * headers (Debian libxen-dev) only.  Nothing from pvio is included, so
 * identical names never meet in one translation unit.
 */
#include <errno.h> /* before xs_wire.h: it then defines xsd_errors[] */
#include <stddef.h>
#include <stdint.h>

/* io/ring.h wants the guest's barriers; only types are used here. */
#define xen_mb() __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()

/* The current interface (as the tools build), not the legacy default. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00

#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>
#include <xen/io/protocols.h>
#include <xen/io/ring.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>
#include <xen/xen.h>

#include "compat_entry.h"

#ifndef COMPAT_TABLE
#define COMPAT_TABLE compat_xen_table
#define COMPAT_TABLE_LEN compat_xen_table_len
#endif

#define C(r, n) E(K_CONST, r, #n, #n, (n), 0)
#define CX(r, p, x) E(K_CONST, r, #p, #x, (x), 0)
#define STR(n) ES(#n, #n, n)
#define S(r, p, x) E(K_SIZE, r, #p, #x, sizeof(x), _Alignof(x))
#define SX(r, p, xs, xa) E(K_SIZE, r, #p, #xs, (xs), (xa))
#define F(r, p, x, f)                                                          \
	E(K_FIELD, r, #p "." #f, #x "." #f, offsetof(x, f),                    \
	  COMPAT_MEMBER_SIZE(x, f))
#define F2(r, p, pf, x, xf)                                                    \
	E(K_FIELD, r, #p "." #pf, #x "." #xf, offsetof(x, xf),                 \
	  COMPAT_MEMBER_SIZE(x, xf))
#define FX(r, p, pf, xo, xs) E(K_FIELD, r, #p "." #pf, #xo, (xo), (xs))
#define RSZ(r, p, x, n)                                                        \
	E(K_CONST, r, "PVIO_RING_ENTRIES(" #n " page(s), " #p ")",             \
	  "__CONST_RING_SIZE(" #x ", " #n " page(s))",                         \
	  __CONST_RING_SIZE(x, (n)*COMPAT_PAGE), 0)

#include "compat_emit.h"

#ifndef COMPAT_ASM
/* Xen's error table, read through functions: no Xen type crosses TUs. */
unsigned int compat_xen_xsd_errors_len(void);
unsigned int compat_xen_xsd_errors_len(void)
{
	return sizeof(xsd_errors) / sizeof(xsd_errors[0]);
}

int compat_xen_xsd_error(unsigned int i, const char **name);
int compat_xen_xsd_error(unsigned int i, const char **name)
{
	*name = xsd_errors[i].errstring;
	return xsd_errors[i].errnum;
}
#endif
