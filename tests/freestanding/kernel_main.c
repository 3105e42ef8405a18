/* SPDX-License-Identifier: MIT */
/*
 * Hosted runner for kernel.c: the freestanding build only proves that the
 * calls link; this runs them against the hosted libraries.
 */
#include <stdio.h>

int pvio_kernel_main(void);

int main(void)
{
	int rc = pvio_kernel_main();

	if (rc)
		fprintf(stderr, "pvio_kernel_main failed at step %d\n", rc);
	else
		printf("pvio_kernel_main: round trip ok\n");
	return rc ? 1 : 0;
}
