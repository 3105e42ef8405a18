/* SPDX-License-Identifier: MIT */
/*
 * Xen's virtual-device numbering (libxl_device_disk_dev_number): the
 * number a guest's vbd is known by in xenstore ("virtual-device" and the
 * device directory's name).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pvio/blkfront.h"

/* Bijective base 26: a=0 .. z=25, aa=26 ...; -1 if none or too big. */
static long disk_letters(const char **pp)
{
	const char *p = *pp;
	long n = 0;

	if (*p < 'a' || *p > 'z')
		return -1;
	for (; *p >= 'a' && *p <= 'z'; p++) {
		n = n * 26 + (*p - 'a' + 1);
		if (n > (1L << 20))
			return -1;
	}
	*pp = p;
	return n - 1;
}

/* Optional partition: "" -> 0, else a decimal 1..max without a leading
 * zero; -1 if malformed. */
static long decimal(const char *p, long max, bool allow_empty)
{
	long n = 0;

	if (!*p)
		return allow_empty ? 0 : -1;
	if (*p == '0' && p[1])
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
		if (n > max)
			return -1;
	}
	return n;
}

static uint32_t xvd_number(long disk, long part)
{
	if (disk < 16 && part < 16)
		return (202U << 8) | (uint32_t)(disk << 4) | (uint32_t)part;
	return (1U << 28) | (uint32_t)(disk << 8) | (uint32_t)part;
}

int pvio_blkfront_vdev_parse(const char *vdev, uint32_t *devid)
{
	/* IDE: two disks per major. */
	static const unsigned int hd_major[] = {3,  22, 33, 34, 56,
						57, 88, 89, 90, 91};
	const char *p = vdev;
	long disk, part;

	if (!vdev || !devid)
		return -EINVAL;
	if (!strncmp(p, "xvd", 3)) {
		p += 3;
		disk = disk_letters(&p);
		part = decimal(p, 255, true);
		if (disk < 0 || disk >= (1L << 20) || part < 0 ||
		    (*p && part == 0))
			return -EINVAL;
		*devid = xvd_number(disk, part);
		return 0;
	}
	if (!strncmp(p, "hd", 2)) {
		p += 2;
		disk = disk_letters(&p);
		part = decimal(p, 63, true);
		if (disk < 0 || disk >= 20 || part < 0 || (*p && part == 0))
			return -EINVAL;
		*devid = (hd_major[disk / 2] << 8) |
			 (uint32_t)((disk & 1) << 6) | (uint32_t)part;
		return 0;
	}
	if (!strncmp(p, "sd", 2)) {
		p += 2;
		disk = disk_letters(&p);
		part = decimal(p, 15, true);
		if (disk < 0 || disk >= 16 || part < 0 || (*p && part == 0))
			return -EINVAL;
		*devid = (8U << 8) | (uint32_t)(disk << 4) | (uint32_t)part;
		return 0;
	}
	if (p[0] == 'd' && p[1] >= '0' && p[1] <= '9') {
		/* d<disk>[p<part>] */
		char buf[16];
		const char *sep = strchr(p + 1, 'p');
		size_t dl = sep ? (size_t)(sep - (p + 1)) : strlen(p + 1);

		if (dl == 0 || dl >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, p + 1, dl);
		buf[dl] = '\0';
		disk = decimal(buf, (1L << 20) - 1, false);
		part = sep ? decimal(sep + 1, 255, false) : 0;
		if (disk < 0 || part < 0)
			return -EINVAL;
		*devid = xvd_number(disk, part);
		return 0;
	}
	if (p[0] >= '1' && p[0] <= '9') {
		long long n = 0;

		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			n = n * 10 + (*p - '0');
			if (n > UINT32_MAX)
				return -EINVAL;
		}
		*devid = (uint32_t)n;
		return 0;
	}
	return -EINVAL;
}
