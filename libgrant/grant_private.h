/* SPDX-License-Identifier: MIT */
/*
 * libgrant internals shared by the core files.  Not installed.
 *
 * The core is freestanding: besides this header it includes only
 * <stdint.h>, <stddef.h>, <stdbool.h> and pvio headers, and may call only
 * memcpy/memset (emitted for __builtin_memcpy/__builtin_memset).
 */
#ifndef PVIO_GRANT_PRIVATE_H
#define PVIO_GRANT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvio/errno.h"
#include "pvio/grant.h"

/*
 * Private link values in pvio_gnt_share.link[] and the other index lists.
 * Refs and indexes never reach them (PVIO_GNT_SHARE_MAX_ENTRIES).
 */
#define PVIO__GNT_END 0xFFFFFFFFU      /* end of a list */
#define PVIO__GNT_ACCESS 0xFFFFFFFEU   /* allocated: access grant */
#define PVIO__GNT_TRANSFER 0xFFFFFFFDU /* allocated: transfer grant */
#define PVIO__GNT_RESERVED 0xFFFFFFFCU /* ref below the first grantable */

/*
 * Xen's _set_status_v1() and gnttab_prepare_for_transfer() give up with
 * GNTST_general_error when "retries++ == 4": five compare-and-swap
 * attempts in all.  A guest can change its entry faster than we can
 * read-modify-cmpxchg it, so an unbounded loop would be a livelock.
 */
#define PVIO__GNT_CMPXCHG_TRIES 5

/*
 * The hypervisor side's compare-and-swap on a shared entry's flags
 * (acquire-release; see its definition for the edges it pairs with).  On
 * failure '*expected' receives the current flags.  It lives alone in
 * atomic.c so that a test can link its own definition in front of the
 * library and play a granter that keeps changing the entry, which no
 * single-threaded test can otherwise do deterministically.
 */
bool pvio__gnt_flags_cmpxchg(uint16_t *flags, uint16_t *expected,
			     uint16_t desired);

#endif /* PVIO_GRANT_PRIVATE_H */
