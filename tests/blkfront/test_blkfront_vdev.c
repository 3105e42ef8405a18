/* SPDX-License-Identifier: MIT */
/* pvio_blkfront_vdev_parse(): Xen's (libxl's) virtual-device numbers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pvio/blkfront.h>

static uint32_t num(const char *s)
{
	uint32_t d = 0xdeadbeef;

	assert_int_equal(pvio_blkfront_vdev_parse(s, &d), 0);
	return d;
}

static void bad(const char *s)
{
	uint32_t d = 0;

	assert_int_equal(pvio_blkfront_vdev_parse(s, &d), -EINVAL);
}

static void test_xvd(void **state)
{
	(void)state;
	assert_int_equal(num("xvda"), 51712);
	assert_int_equal(num("xvdb"), 51728);
	assert_int_equal(num("xvda1"), 51713);
	assert_int_equal(num("xvdp15"), (202 << 8) | (15 << 4) | 15);
	/* More than 16 disks or partitions: the extended form. */
	assert_int_equal(num("xvdq"), (1 << 28) | (16 << 8));
	assert_int_equal(num("xvda16"), (1 << 28) | 16);
	assert_int_equal(num("xvdaa"), (1 << 28) | (26 << 8));
	assert_int_equal(num("xvdzz3"), (1 << 28) | (701 << 8) | 3);
	assert_int_equal(num("d0"), 51712);
	assert_int_equal(num("d3p2"), (202 << 8) | (3 << 4) | 2);
	assert_int_equal(num("d100p7"), (1 << 28) | (100 << 8) | 7);
	assert_int_equal(num("51712"), 51712);
}

static void test_hd_sd(void **state)
{
	(void)state;
	assert_int_equal(num("hda"), 3 << 8);
	assert_int_equal(num("hdb"), (3 << 8) | 64);
	assert_int_equal(num("hdc"), 22 << 8);
	assert_int_equal(num("hdd2"), (22 << 8) | 64 | 2);
	assert_int_equal(num("sda"), 8 << 8);
	assert_int_equal(num("sdb3"), (8 << 8) | (1 << 4) | 3);
}

static void test_bad(void **state)
{
	(void)state;
	bad("");
	bad("xvd");
	bad("xvdA");
	bad("xvda0");
	bad("xvda01");
	bad("xvda256");
	bad("xvda1x");
	bad("sdq");
	bad("sda16");
	bad("hdu");
	bad("hda64");
	bad("vda");
	bad("d");
	bad("dp1");
	bad("d1p");
	bad("d1048576");
	bad("0");
	bad("12x");
	bad("99999999999");
	assert_int_equal(pvio_blkfront_vdev_parse(NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xvd),
		cmocka_unit_test(test_hd_sd),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
