/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor side's compare-and-swap on a shared grant entry's flags,
 * kept alone in this file so tests can replace it (grant_private.h).
 */
#include "grant_private.h"

bool pvio__gnt_flags_cmpxchg(uint16_t *flags, uint16_t *expected,
			     uint16_t desired)
{
	/*
	 * acquire (success and failure): pairs with the release store of
	 * flags in pvio_gnt_share_grant_access()/_grant_transfer(), so the
	 * domid and frame written before it are visible once we have seen
	 * the flags that publish them.
	 * release (success): pairs with the acquire loads and cmpxchg of
	 * flags in pvio_gnt_share_end_access()/_end_transfer(): a granter
	 * that sees GTF_reading or GTF_transfer_committed also sees our
	 * earlier accesses to the entry.
	 */
	return __atomic_compare_exchange_n(flags, expected, desired, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
