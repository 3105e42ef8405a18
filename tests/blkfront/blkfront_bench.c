/* SPDX-License-Identifier: MIT */
/*
 * blkfront_bench [qd] [seconds] [spin_us] [bs] [image-dir]: 4 KiB random
 * reads (or 'bs') through blkfront against pvio-blkback on a 256 MiB image
 * (in /dev/shm by default), zero-copy buffers.  Prints IOPS, mean latency
 * and the per-I/O notify / grant counts.  Not a test: a quick check for
 * the blkfront owner (bench/blk is the real benchmark).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pvio/blkfront.h>

#include "rawfront.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned int qd = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
	double secs = argc > 2 ? atof(argv[2]) : 3;
	int spin = argc > 3 ? atoi(argv[3]) : 0;
	size_t bs = argc > 4 ? (size_t)atoi(argv[4]) : 4096;
	const char *dir = argc > 5 ? argv[5] : "/dev/shm";
	struct rf_world w;
	struct rf_front fr;
	struct rf_back b;
	struct rf_vbd v;
	char image[512];
	uint64_t size = 256ULL << 20;
	struct pvio_blkfront_opts o = {.spin_us = spin};
	struct pvio_blkfront *f;
	int err = 0;

	if (rf_world_start(&w) ||
	    rf_make_image(dir, "bfbench.img", size, image, sizeof(image)))
		return 1;
	{
		/* Populate so reads hit pages. */
		FILE *fp = fopen(image, "r+");
		static char buf[1 << 20];
		memset(buf, 0x5a, sizeof(buf));
		for (uint64_t i = 0; i < size / sizeof(buf); i++)
			fwrite(buf, 1, sizeof(buf), fp);
		fclose(fp);
	}
	if (rf_front_create(&w, &fr, 8192) || rf_back_start(&w, &b, NULL) ||
	    rf_vbd_add(&w, &v, &fr, &b, 51712, image, true, NULL))
		return 2;
	f = pvio_blkfront_attach(fr.dom, b.domid, "xvda", &o, &err);
	if (!f) {
		fprintf(stderr, "attach %d\n", err);
		return 3;
	}
	unsigned char *buf = pvio_blkfront_buf_alloc(f, qd * bs, &err);
	struct pvio_blkfront_req *reqs = calloc(qd, sizeof(*reqs));
	struct pvio_blkfront_req **rp = calloc(qd, sizeof(*rp));
	struct pvio_blkfront_req **done = calloc(qd, sizeof(*done));
	struct iovec *iov = calloc(qd, sizeof(*iov));
	double *t0 = calloc(qd, sizeof(double));
	uint64_t nblk = size / bs, ios = 0;
	double lat = 0, start, end;
	struct pvio_blkfront_stats s0, s1;
	unsigned int seed = 1;

	if (!buf)
		return 4;
	for (unsigned i = 0; i < qd; i++) {
		iov[i] = (struct iovec){buf + i * bs, bs};
		reqs[i] = (struct pvio_blkfront_req){
			.op = PVIO_BLKFRONT_READ,
			.iov = &iov[i],
			.iovcnt = 1,
			.user = (void *)(uintptr_t)i};
	}
	pvio_blkfront_get_stats(f, &s0);
	start = now();
	end = start + secs;
	for (unsigned i = 0; i < qd; i++) {
		reqs[i].sector = (rand_r(&seed) % nblk) * (bs / 512);
		t0[i] = now();
		rp[0] = &reqs[i];
		pvio_blkfront_submit(f, 0, rp, 1);
	}
	for (;;) {
		int n = pvio_blkfront_reap(f, 0, done, qd, 1, 1000);
		double t = now();
		unsigned int k = 0;

		if (n <= 0) {
			fprintf(stderr, "reap %d\n", n);
			return 5;
		}
		for (int i = 0; i < n; i++) {
			unsigned int idx = (unsigned)(uintptr_t)done[i]->user;

			if (done[i]->status)
				return 6;
			lat += t - t0[idx];
			ios++;
			if (t < end) {
				done[i]->sector =
					(rand_r(&seed) % nblk) * (bs / 512);
				t0[idx] = t;
				rp[k++] = done[i];
			}
		}
		if (k)
			pvio_blkfront_submit(f, 0, rp, k);
		if (t >= end && pvio_blkfront_inflight(f, 0) == 0)
			break;
	}
	double el = now() - start;
	pvio_blkfront_get_stats(f, &s1);
	printf("qd %u bs %zu: %.0f IOPS, mean latency %.1f us, notifies/io "
	       "%.3f, grants/io %.4f\n",
	       qd, bs, (double)ios / el, lat / (double)ios * 1e6,
	       (double)(s1.notifies - s0.notifies) / (double)ios,
	       (double)(s1.grants - s0.grants) / (double)ios);
	pvio_blkfront_detach(f, 1000);
	rf_back_stop(&w, &b);
	rf_front_destroy(&w, &fr);
	unlink(image);
	rf_world_stop(&w);
	return 0;
}
