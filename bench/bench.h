/* SPDX-License-Identifier: MIT */
/*
 * pvio-bench-ring internals, shared by the files of bench/.
 *
 * Every two-party measurement (the pvio ring, the pipe and eventfd
 * ping-pongs) is written once as a "side" function and run by one of two
 * launchers: two pinned threads of this process, or two pinned forked
 * processes that share only a memfd, as two domains would.
 */
#ifndef PVIO_BENCH_H
#define PVIO_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* --- util.c ------------------------------------------------------------ */

/* Print "pvio-bench-ring: <message>" and abort: loud, and a core to read. */
_Noreturn void bench_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Tell the CPU we are spinning (frees pipeline resources, saves power). */
static inline void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * What one measurement produced.  'ops' is what the figure is per
 * (requests, NOPs, round trips); 'kicks' counts doorbell rings in both
 * directions.  'err' is 0, or the -errno that made the measurement
 * impossible on this host (the table prints n/a).
 */
struct bench_result {
	uint64_t ops;
	uint64_t elapsed_ns;
	uint64_t kicks;
	int err;
};

/* --- pair.c: the two launchers ------------------------------------------ */

enum bench_mode { BENCH_THREADS, BENCH_PROCESSES };

/*
 * One side (0 or 1) of a two-party benchmark.  'shm' is this side's own
 * MAP_SHARED mapping of the pair's memfd; 'arg' is the launcher's
 * read-only configuration (a forked side sees its own copy).
 */
typedef void bench_side_fn(int side, void *shm, void *arg);

struct bench_pair {
	bench_side_fn *fn;
	void *arg;
	size_t shm_bytes;
	int memfd;
	void *shm; /* the launcher's mapping: set up before, results after */
};

/*
 * Pick the two CPUs the sides run on (the first two this process may
 * use) and return them in cpu_out.  -ENODEV if there are fewer than two.
 */
int bench_pair_init(int cpu_out[2]);

/* Create the pair's zero-filled memfd and map it; bench_die() on error. */
void bench_pair_open(struct bench_pair *p, size_t shm_bytes, bench_side_fn *fn,
		     void *arg);

/*
 * Run fn(0) on the first CPU and fn(1) on the second, concurrently, and
 * return when both have returned.  A side that dies takes the run down
 * with it (a forked peer is killed, not left spinning).
 */
void bench_pair_run(struct bench_pair *p, enum bench_mode mode);

void bench_pair_close(struct bench_pair *p);

/*
 * Start line: returns once both sides have called it, so that timing
 * starts with both running, and everything a side wrote to shared memory
 * before it arrived is visible to the other after it leaves.  'gate' is
 * zero-filled shared memory, used once.
 */
void bench_pair_sync(atomic_uint *gate);

/* --- ringload.c: the pvio ring workload --------------------------------- */

/* Largest ring benchmarked: 4 pages of blkif entries, 128 slots. */
#define BENCH_RING_MAX_PAGES 4u
#define BENCH_RING_MAX_SLOTS 128u

/*
 * How long a spin-then-sleep end polls before it arms its event and
 * sleeps: far longer than a cache line round trip (the ring's latency),
 * far shorter than a cross-CPU wake-up (tens of microseconds on a VM).
 */
#define BENCH_SPIN_NS 5000u

struct bench_ring_cfg {
	unsigned int pages;  /* ring size: 1 page (32 slots) or up to 4 */
	unsigned int window; /* most requests in flight (queue depth) */
	/* Most descriptors per produce, consume and push, on both sides. */
	unsigned int batch;
	/*
	 * One-way throughput: the frontend produces only whole batches (it
	 * waits for 'batch' free slots).  Otherwise it tops the window up
	 * with whatever is free, as a block frontend at a queue depth does.
	 */
	bool whole_batches;
	bool sleep;	/* spin-then-sleep on a doorbell; else busy-poll */
	uint64_t count; /* requests in the run */
};

/* Slots of a blkif ring of 'pages' pages. */
unsigned int bench_ring_slots(unsigned int pages);

/* Run one cell; ops = requests answered, kicks = doorbell rings. */
void bench_ring_run(const struct bench_ring_cfg *cfg, enum bench_mode mode,
		    struct bench_result *res);

/* Both ends in the calling thread: the ring's CPU cost alone (busy-poll). */
void bench_ring_loopback(const struct bench_ring_cfg *cfg,
			 struct bench_result *res);

/* --- baseline.c --------------------------------------------------------- */

/* 'count' IORING_OP_NOPs, submitted and reaped 'batch' (<= 32) at a time. */
void bench_uring_nop(uint64_t count, unsigned int batch,
		     struct bench_result *res);

/* 'count' round trips of one cache line between the two sides. */
void bench_cacheline(enum bench_mode mode, uint64_t count,
		     struct bench_result *res);

enum bench_pingpong { BENCH_PIPE, BENCH_EVENTFD };

/* 'count' blocking round trips between the two sides. */
void bench_pingpong(enum bench_pingpong how, enum bench_mode mode,
		    uint64_t count, struct bench_result *res);

#endif /* PVIO_BENCH_H */
