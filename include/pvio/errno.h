/* SPDX-License-Identifier: MIT */
/*
 * Error numbers returned (negated) by pvio's freestanding cores.
 *
 * The cores cannot include <errno.h> (a guest kernel may have none), so they
 * use these.  The values are Linux's and Xen's (xen/errno.h), so on Linux
 * -PVIO_EINVAL == -EINVAL and callers may compare with either; a test
 * proves the two agree.
 */
#ifndef PVIO_ERRNO_H
#define PVIO_ERRNO_H

#define PVIO_EPERM 1
#define PVIO_ENOENT 2
#define PVIO_EIO 5
#define PVIO_E2BIG 7
#define PVIO_EAGAIN 11
#define PVIO_ENOMEM 12
#define PVIO_EACCES 13
#define PVIO_EFAULT 14
#define PVIO_EBUSY 16
#define PVIO_EEXIST 17
#define PVIO_EINVAL 22
#define PVIO_ENOSPC 28
#define PVIO_ERANGE 34
#define PVIO_ENOSYS 38
#define PVIO_EPROTO 71
#define PVIO_EOVERFLOW 75
#define PVIO_EOPNOTSUPP 95
#define PVIO_ENOTCONN 107
#define PVIO_EALREADY 114
#define PVIO_EINPROGRESS 115

#endif /* PVIO_ERRNO_H */
