/* SPDX-License-Identifier: MIT */
/*
 * A deliberately non-freestanding TU for the self-test of
 * check-undefined.sh: it needs printf (forbidden) and memcpy (allowed),
 * so the script must reject it and name printf, and only printf.
 */
#include <stddef.h>

int printf(const char *fmt, ...);
void *memcpy(void *dst, const void *src, size_t n);

int pvio_bad_kernel_main(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	return printf("hosted\n");
}
