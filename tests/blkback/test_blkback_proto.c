/* SPDX-License-Identifier: MIT */
/*
 * blkback's request decoding (both ABIs, from raw bytes at the offsets of
 * PROTOCOL-FACTS section 2), response encoding (padding zeroed even over
 * a dirty buffer) and the request checks, without a daemon.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "blkback.h"

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(bb_abi_req_size(BB_ABI_X86_64), 112);
	assert_int_equal(bb_abi_req_size(BB_ABI_X86_32), 108);
	assert_int_equal(bb_abi_rsp_size(BB_ABI_X86_64), 16);
	assert_int_equal(bb_abi_rsp_size(BB_ABI_X86_32), 12);
	enum bb_abi a;
	assert_int_equal(bb_abi_parse("x86_32-abi", &a), 0);
	assert_int_equal(a, BB_ABI_X86_32);
	assert_int_equal(bb_abi_parse(NULL, &a), 0);
	assert_int_equal(a, BB_ABI_X86_64);
	assert_int_equal(bb_abi_parse("arm-abi", &a), -EINVAL);
	assert_int_equal(bb_abi_parse("x86_64-abi ", &a), -EINVAL);
}

static void test_decode_rw(void **state)
{
	uint8_t raw[112];
	struct bb_req r;

	(void)state;
	/* x86_64: id@8 sector@16 seg@24 */
	memset(raw, 0, sizeof(raw));
	raw[0] = BLKIF_OP_WRITE;
	raw[1] = 2;
	put64(raw + 8, 0x1122334455667788ULL);
	put64(raw + 16, 4242);
	raw[24] = 9; /* gref 9 */
	raw[28] = 1;
	raw[29] = 6;
	raw[32] = 10;
	raw[37] = 7;
	bb_req_decode(BB_ABI_X86_64, raw, &r);
	assert_int_equal(r.op, BLKIF_OP_WRITE);
	assert_int_equal(r.nr_segs, 2);
	assert_int_equal(r.id, 0x1122334455667788ULL);
	assert_int_equal(r.sector, 4242);
	assert_int_equal(r.seg[0].gref, 9);
	assert_int_equal(r.seg[0].first_sect, 1);
	assert_int_equal(r.seg[0].last_sect, 6);
	assert_int_equal(r.seg[1].gref, 10);
	assert_int_equal(r.seg[1].last_sect, 7);
	/* x86_32: id@4 sector@12 seg@20 */
	memset(raw, 0, sizeof(raw));
	raw[0] = BLKIF_OP_READ;
	raw[1] = 1;
	put64(raw + 4, 77);
	put64(raw + 12, 99);
	raw[20] = 3;
	raw[25] = 7;
	bb_req_decode(BB_ABI_X86_32, raw, &r);
	assert_int_equal(r.id, 77);
	assert_int_equal(r.sector, 99);
	assert_int_equal(r.seg[0].gref, 3);
	assert_int_equal(r.seg[0].last_sect, 7);
}

static void test_decode_indirect_discard(void **state)
{
	uint8_t raw[112];
	struct bb_req r;

	(void)state;
	/* x86_64 indirect: nr u16@2 id@8 sector@16 handle@24 grefs@28 */
	memset(raw, 0, sizeof(raw));
	raw[0] = BLKIF_OP_INDIRECT;
	raw[1] = BLKIF_OP_READ;
	raw[2] = 0x34;
	raw[3] = 0x12;
	put64(raw + 8, 5);
	put64(raw + 16, 6);
	raw[28] = 11;
	raw[56] = 18; /* grefs[7] */
	bb_req_decode(BB_ABI_X86_64, raw, &r);
	assert_int_equal(r.iop, BLKIF_OP_READ);
	assert_int_equal(r.nr_segs, 0x1234);
	assert_int_equal(r.id, 5);
	assert_int_equal(r.sector, 6);
	assert_int_equal(r.indirect_grefs[0], 11);
	assert_int_equal(r.indirect_grefs[7], 18);
	/* x86_32 indirect: id@4 sector@12 handle@20 grefs@22?  No: grefs are
	 * 4-aligned after the u16 handle: @24. */
	memset(raw, 0, sizeof(raw));
	raw[0] = BLKIF_OP_INDIRECT;
	raw[1] = BLKIF_OP_WRITE;
	raw[2] = 3;
	put64(raw + 4, 8);
	put64(raw + 12, 9);
	raw[24] = 21;
	bb_req_decode(BB_ABI_X86_32, raw, &r);
	assert_int_equal(r.nr_segs, 3);
	assert_int_equal(r.id, 8);
	assert_int_equal(r.sector, 9);
	assert_int_equal(r.indirect_grefs[0], 21);
	/* discard x86_64: flag@1 id@8 sector@16 nr@24 */
	memset(raw, 0, sizeof(raw));
	raw[0] = BLKIF_OP_DISCARD;
	raw[1] = BLKIF_DISCARD_SECURE;
	put64(raw + 8, 1);
	put64(raw + 16, 2);
	put64(raw + 24, 3);
	bb_req_decode(BB_ABI_X86_64, raw, &r);
	assert_int_equal(r.flag, BLKIF_DISCARD_SECURE);
	assert_int_equal(r.sector, 2);
	assert_int_equal(r.nr_sectors, 3);
	/* discard x86_32: id@4 sector@12 nr@20 */
	memset(raw, 0, sizeof(raw));
	raw[0] = BLKIF_OP_DISCARD;
	put64(raw + 4, 1);
	put64(raw + 12, 2);
	put64(raw + 20, 3);
	bb_req_decode(BB_ABI_X86_32, raw, &r);
	assert_int_equal(r.id, 1);
	assert_int_equal(r.nr_sectors, 3);
}

static void test_encode_padding(void **state)
{
	uint8_t raw[16];

	(void)state;
	memset(raw, 0xff, sizeof(raw));
	bb_rsp_encode(BB_ABI_X86_64, raw, 0x0102030405060708ULL, 6, -2);
	assert_int_equal(raw[0], 8);
	assert_int_equal(raw[8], 6);
	assert_int_equal(raw[9], 0);
	assert_int_equal((int16_t)(raw[10] | raw[11] << 8), -2);
	for (int i = 12; i < 16; i++)
		assert_int_equal(raw[i], 0);
	memset(raw, 0xff, sizeof(raw));
	bb_rsp_encode(BB_ABI_X86_32, raw, 7, 1, 0);
	assert_int_equal(raw[0], 7);
	assert_int_equal(raw[8], 1);
	assert_int_equal(raw[9], 0);
	assert_int_equal(raw[10], 0);
	assert_int_equal(raw[12], 0xff); /* 12 bytes only */
}

static void test_checks(void **state)
{
	struct bb_limits l = {
		.sectors = 1000, .discard = true, .max_indirect = 256};
	struct bb_req r = {0};
	const char *why;
	uint64_t bytes;
	struct pvio_blkif_request_segment s[2] = {{1, 0, 7}, {2, 0, 3}};

	(void)state;
	r.op = BLKIF_OP_READ;
	r.nr_segs = 1;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_OKAY);
	r.nr_segs = 0;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.nr_segs = 12;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.op = BLKIF_OP_FLUSH_DISKCACHE;
	r.nr_segs = 0;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_OKAY);
	r.op = 4;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_EOPNOTSUPP);
	r.op = 7;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_EOPNOTSUPP);
	r.op = BLKIF_OP_INDIRECT;
	r.iop = BLKIF_OP_WRITE;
	r.nr_segs = 256;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_OKAY);
	r.nr_segs = 257;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.nr_segs = 4097;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.nr_segs = 1;
	r.iop = BLKIF_OP_DISCARD;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.op = BLKIF_OP_DISCARD;
	r.sector = 990;
	r.nr_sectors = 10;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_OKAY);
	r.nr_sectors = 11;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.sector = UINT64_MAX;
	r.nr_sectors = 1;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.sector = 0;
	r.flag = BLKIF_DISCARD_SECURE;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_EOPNOTSUPP);
	l.readonly = true;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.op = BLKIF_OP_WRITE;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_ERROR);
	r.op = BLKIF_OP_READ;
	assert_int_equal(bb_req_check(&r, &l, &why), BLKIF_RSP_OKAY);

	assert_int_equal(bb_segs_check(s, 2, 988, 1000, &bytes, &why),
			 BLKIF_RSP_OKAY);
	assert_int_equal(bytes, 12 * 512);
	assert_int_equal(bb_segs_check(s, 2, 989, 1000, &bytes, &why),
			 BLKIF_RSP_ERROR);
	assert_int_equal(
		bb_segs_check(s, 2, UINT64_MAX - 12, UINT64_MAX, &bytes, &why),
		BLKIF_RSP_OKAY);
	assert_int_equal(
		bb_segs_check(s, 2, UINT64_MAX - 11, UINT64_MAX, &bytes, &why),
		BLKIF_RSP_ERROR);
	s[1].first_sect = 4;
	assert_int_equal(bb_segs_check(s, 2, 0, 1000, &bytes, &why),
			 BLKIF_RSP_ERROR);
	s[1].first_sect = 0;
	s[1].last_sect = 8;
	assert_int_equal(bb_segs_check(s, 2, 0, 1000, &bytes, &why),
			 BLKIF_RSP_ERROR);
}

static void test_sandbox(void **state)
{
	/* In a child: after the sandbox, calls outside the list fail with
	 * EPERM (not a kill) and calls on it still work. */
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int code = 0;

		if (bb_sandbox_apply() != 0)
			_exit(10);
		errno = 0;
		if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EPERM)
			code |= 1;
		errno = 0;
		char *const argv[] = {"/bin/true", NULL};
		execv("/bin/true", argv);
		if (errno != EPERM)
			code |= 2;
		if (getpid() <= 0 || write(-1, "", 0) != -1 || errno != EBADF)
			code |= 4;
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_decode_rw),
		cmocka_unit_test(test_decode_indirect_discard),
		cmocka_unit_test(test_encode_padding),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_sandbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
