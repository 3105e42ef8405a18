/* SPDX-License-Identifier: MIT */
/*
 * Private helpers of the libchannel core.  The core is freestanding: the
 * only outside symbols it may need are memcpy and memset, which every
 * environment (libc, a guest kernel) provides; the compiler may also
 * emit calls to them by itself.
 */
#ifndef PVIO_CHANNEL_PRIVATE_H
#define PVIO_CHANNEL_PRIVATE_H

#include <stddef.h>

#define pvio__memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define pvio__memset(d, c, n) __builtin_memset((d), (c), (n))

#endif /* PVIO_CHANNEL_PRIVATE_H */
