/* SPDX-License-Identifier: MIT */
/*
 * pvio-bench-ring: what a pvio descriptor ring costs, next to what the
 * kernel's own queues and wake-ups cost, measured in one run and printed
 * as one table.
 *
 * Rows are built first and run afterwards, so the table's layout (and
 * which goal applies where) is decided in one place, and the figures are
 * printed together at the end, away from the measurements.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/io/blkif.h"

#include "bench.h"

/* Sized so that a full run takes well under a minute on two CPUs. */
struct counts {
	uint64_t ring;	    /* requests per ring cell */
	uint64_t ring_qd1;  /* requests per QD1 cell: each a full round trip */
	uint64_t nop;	    /* io_uring NOPs per cell */
	uint64_t cacheline; /* round trips per cache line cell */
	uint64_t pingpong;  /* round trips per pipe or eventfd cell */
	/*
	 * Passes over the table; each cell shows its fastest run: the
	 * figure the machine can do, not the noise of whatever else ran
	 * meanwhile (other tenants, a host moving our vCPUs).
	 */
	unsigned int repeats;
};

static const struct counts full_counts = {
	.ring = 2000000,
	.ring_qd1 = 500000,
	.nop = 1000000,
	.cacheline = 1000000,
	.pingpong = 10000,
	.repeats = 3,
};

static const struct counts quick_counts = {
	.ring = 20000,
	.ring_qd1 = 5000,
	.nop = 10000,
	.cacheline = 10000,
	.pingpong = 200,
	.repeats = 1,
};

enum row_kind {
	ROW_RING,
	ROW_LOOPBACK, /* both ring ends in one thread */
	ROW_NOP,
	ROW_CACHELINE,
	ROW_PIPE,
	ROW_EVENTFD,
};

/* The goals set for the ring; each applies to some rows. */
enum goal { GOAL_NONE, GOAL_ONEWAY_NS, GOAL_QD32_NS, GOAL_NOTIFY };

static const struct {
	const char *text;
	double limit;
	bool per_kick; /* a limit on kicks per op, else on ns per op */
} goals[] = {
	[GOAL_ONEWAY_NS] = {"<=15 ns/req", 15.0, false},
	[GOAL_QD32_NS] = {"<=40 ns/req", 40.0, false},
	[GOAL_NOTIFY] = {"<=1/32 ntf/req", 1.0 / 32, true},
};

struct row {
	enum row_kind kind;
	char test[16], ring[12], depth[8], wait[12];
	struct bench_ring_cfg cfg; /* ring rows; others use count (, batch) */
	unsigned int qd;	   /* >0: print mean latency, qd x ns/req */
	bool in_mode[2];	   /* which launchers the row runs under */
	enum goal goal;
	struct bench_result res[2]; /* by enum bench_mode */
};

#define MAX_ROWS 32
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct table {
	struct row row[MAX_ROWS];
	unsigned int rows;
};

static struct row *row_add(struct table *t, enum row_kind kind,
			   const char *test, const char *wait)
{
	struct row *r;

	if (t->rows == MAX_ROWS)
		bench_die("more than %d rows", MAX_ROWS);
	r = &t->row[t->rows++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	snprintf(r->test, sizeof(r->test), "%s", test);
	snprintf(r->wait, sizeof(r->wait), "%s", wait);
	r->in_mode[BENCH_THREADS] = true;
	/* Single-threaded rows print in the cross-thread columns. */
	r->in_mode[BENCH_PROCESSES] = kind != ROW_NOP && kind != ROW_LOOPBACK;
	return r;
}

static struct row *ring_row_add(struct table *t, enum row_kind kind,
				const char *test,
				const struct bench_ring_cfg *cfg)
{
	struct row *r =
		row_add(t, kind, test, cfg->sleep ? "spin+sleep" : "poll");

	r->cfg = *cfg;
	snprintf(r->ring, sizeof(r->ring), "%ux%upg",
		 bench_ring_slots(cfg->pages), cfg->pages);
	return r;
}

/*
 * One-way throughput: the frontend may fill the whole ring and produces
 * whole batches; the 15 ns goal is judged busy-polled, the notification
 * goal spin-then-sleep, both at batch 32.
 */
static void add_oneway_row(struct table *t, const struct counts *c,
			   unsigned int pages, unsigned int batch, bool sleep)
{
	struct bench_ring_cfg cfg = {
		.pages = pages,
		.window = bench_ring_slots(pages),
		.batch = batch,
		.whole_batches = true,
		.sleep = sleep,
		.count = c->ring,
	};
	struct row *r = ring_row_add(t, ROW_RING, "one-way", &cfg);

	snprintf(r->depth, sizeof(r->depth), "b%u", batch);
	if (batch == 32)
		r->goal = sleep ? GOAL_NOTIFY : GOAL_ONEWAY_NS;
}

static void add_oneway_rows(struct table *t, const struct counts *c)
{
	static const unsigned int pages[] = {1, 4};
	static const unsigned int batches[] = {1, 8, 32, 64};

	for (size_t p = 0; p < ARRAY_SIZE(pages); p++)
		for (size_t b = 0; b < ARRAY_SIZE(batches); b++)
			if (batches[b] <= bench_ring_slots(pages[p])) {
				add_oneway_row(t, c, pages[p], batches[b],
					       false);
				add_oneway_row(t, c, pages[p], batches[b],
					       true);
			}
}

/*
 * Round trips at a queue depth, on the one-page ring: the frontend keeps
 * 'qd' requests in flight and tops up as responses come back.
 */
static void add_roundtrip_row(struct table *t, const struct counts *c,
			      unsigned int qd, bool sleep)
{
	struct bench_ring_cfg cfg = {
		.pages = 1,
		.window = qd,
		.batch = qd,
		.sleep = sleep,
		.count = qd == 1 ? c->ring_qd1 : c->ring,
	};
	struct row *r = ring_row_add(t, ROW_RING, "round trip", &cfg);

	snprintf(r->depth, sizeof(r->depth), "QD%u", qd);
	r->qd = qd;
	if (qd == 32 && !sleep)
		r->goal = GOAL_QD32_NS;
}

static void add_roundtrip_rows(struct table *t, const struct counts *c)
{
	static const unsigned int depths[] = {1, 32};

	for (size_t d = 0; d < ARRAY_SIZE(depths); d++) {
		add_roundtrip_row(t, c, depths[d], false);
		add_roundtrip_row(t, c, depths[d], true);
	}
}

/*
 * The ring with both ends in one thread: what the library's code costs
 * per request once no cache line has to move between CPUs.
 */
static void add_loopback_rows(struct table *t, const struct counts *c)
{
	static const unsigned int batches[] = {1, 32};

	for (size_t b = 0; b < ARRAY_SIZE(batches); b++) {
		struct bench_ring_cfg cfg = {
			.pages = 4,
			.window = bench_ring_slots(4),
			.batch = batches[b],
			.whole_batches = true,
			.count = c->ring,
		};
		struct row *r = ring_row_add(t, ROW_LOOPBACK, "loopback", &cfg);

		snprintf(r->depth, sizeof(r->depth), "b%u", batches[b]);
	}
}

static void add_baseline_rows(struct table *t, const struct counts *c)
{
	static const unsigned int nop_batches[] = {1, 32};
	struct row *r;

	/* The floor under any shared-memory round trip, ring QD1 included. */
	r = row_add(t, ROW_CACHELINE, "cache line", "poll");
	r->cfg.count = c->cacheline;
	snprintf(r->depth, sizeof(r->depth), "QD1");
	r->qd = 1;

	for (size_t b = 0; b < ARRAY_SIZE(nop_batches); b++) {
		r = row_add(t, ROW_NOP, "io_uring NOP", "syscall");
		r->cfg.batch = nop_batches[b];
		r->cfg.count = c->nop;
		snprintf(r->ring, sizeof(r->ring), "1 thread");
		snprintf(r->depth, sizeof(r->depth), "b%u", nop_batches[b]);
	}
	r = row_add(t, ROW_PIPE, "pipe 1 B", "block");
	r->cfg.count = c->pingpong;
	r->qd = 1;
	r = row_add(t, ROW_EVENTFD, "eventfd", "block");
	r->cfg.count = c->pingpong;
	r->qd = 1;
}

static void row_run_once(const struct row *r, enum bench_mode mode,
			 struct bench_result *res)
{
	switch (r->kind) {
	case ROW_RING:
		bench_ring_run(&r->cfg, mode, res);
		break;
	case ROW_LOOPBACK:
		bench_ring_loopback(&r->cfg, res);
		break;
	case ROW_NOP:
		bench_uring_nop(r->cfg.count, r->cfg.batch, res);
		break;
	case ROW_CACHELINE:
		bench_cacheline(mode, r->cfg.count, res);
		break;
	case ROW_PIPE:
		bench_pingpong(BENCH_PIPE, mode, r->cfg.count, res);
		break;
	case ROW_EVENTFD:
		bench_pingpong(BENCH_EVENTFD, mode, r->cfg.count, res);
		break;
	}
}

/* Run a row once under 'mode'; keep the result if it is its fastest. */
static void row_run(struct row *r, enum bench_mode mode)
{
	struct bench_result *best = &r->res[mode], res;

	if (best->err != 0)
		return; /* not measurable here: no use trying again */
	row_run_once(r, mode, &res);
	if (best->ops == 0 || res.err != 0 ||
	    res.elapsed_ns * best->ops < best->elapsed_ns * res.ops)
		*best = res;
}

/*
 * One pass over the whole table.  Repeats are whole passes rather than
 * back-to-back runs of a cell, so that a slow spell of the host (another
 * tenant, a vCPU moved to a far core) lands on one pass of many cells
 * instead of every run of a few.
 */
static void table_run_pass(struct table *t)
{
	for (unsigned int i = 0; i < t->rows; i++)
		for (int m = 0; m < 2; m++)
			if (t->row[i].in_mode[m])
				row_run(&t->row[i], (enum bench_mode)m);
}

/* --- printing ------------------------------------------------------------ */

static double ns_per_op(const struct bench_result *res)
{
	return (double)res->elapsed_ns / (double)res->ops;
}

/* One launcher's figures for a row: 36 columns wide. */
static void cell_print(const struct row *r, enum bench_mode mode)
{
	const struct bench_result *res = &r->res[mode];
	double ns;

	if (!r->in_mode[mode]) {
		printf(" | %-34s", "");
		return;
	}
	if (res->err != 0) {
		printf(" | n/a: %-29.29s", strerror(-res->err));
		return;
	}
	ns = ns_per_op(res);
	printf(" | %8.1f %7.2f", ns, 1000.0 / ns);
	if (r->qd > 0)
		printf(" %8.0f", ns * r->qd);
	else
		printf(" %8s", "-");
	if (r->kind == ROW_RING && r->cfg.sleep)
		printf(" %8.2g", (double)res->kicks / (double)res->ops);
	else
		printf(" %8s", "-");
}

static const char *verdict(const struct row *r, enum bench_mode mode)
{
	const struct bench_result *res = &r->res[mode];
	double value;

	if (!r->in_mode[mode] || res->err != 0)
		return "-";
	value = goals[r->goal].per_kick ? (double)res->kicks / (double)res->ops
					: ns_per_op(res);
	return value <= goals[r->goal].limit ? "met" : "missed";
}

static void row_print(const struct row *r)
{
	printf("%-12s %-9s %-5s %-10s", r->test, r->ring, r->depth, r->wait);
	cell_print(r, BENCH_THREADS);
	cell_print(r, BENCH_PROCESSES);
	if (r->goal != GOAL_NONE)
		printf(" | %s: %s/%s", goals[r->goal].text,
		       verdict(r, BENCH_THREADS), verdict(r, BENCH_PROCESSES));
	else
		printf(" |");
	putchar('\n');
}

static void header_print(const struct counts *c, const int cpu[2])
{
	printf("pvio-bench-ring: sides on CPUs %d and %d; each cell the best"
	       " of %u pass(es), %llu requests per run (QD1: %llu)\n\n",
	       cpu[0], cpu[1], c->repeats, (unsigned long long)c->ring,
	       (unsigned long long)c->ring_qd1);
	printf("%-39s | %-34s | %-34s |\n", "", "cross-thread (pinned)",
	       "cross-process (fork, memfd)");
	printf("%-12s %-9s %-5s %-10s", "test", "ring", "depth", "wait");
	for (int m = 0; m < 2; m++)
		printf(" | %8s %7s %8s %8s", "ns/req", "Mreq/s", "lat ns",
		       "ntf/req");
	printf(" | goal\n");
}

static void legend_print(void)
{
	printf("ring        slots x pages of blkif entries (%zu B request,"
	       " %zu B response)\n",
	       sizeof(struct pvio_blkif_request),
	       sizeof(struct pvio_blkif_response));
	printf("depth       bN: at most N descriptors per produce, consume"
	       " and push, both sides;\n"
	       "            QDn: n requests kept in flight\n");
	printf("ns/req      wall time / requests; one-way: per request"
	       " descriptor (its response frees the slot);\n"
	       "            baselines: per NOP, per round trip\n");
	printf("lat ns      mean request-to-response time = QD x ns/req"
	       " (Little's law)\n");
	printf("ntf/req     doorbell rings, both directions, / requests\n");
	printf("wait        poll: busy-poll; spin+sleep: spin %u us, final"
	       " check, sleep on a pvio doorbell\n",
	       BENCH_SPIN_NS / 1000);
	printf("loopback    both ring ends in one thread: the library's CPU"
	       " cost, no cache line moves\n");
	printf("cache line  one line bounced between the CPUs: the floor"
	       " under any shared-memory round trip;\n"
	       "            every cross-CPU figure above scales with it (on"
	       " a VM it moves with vCPU placement)\n");
	printf("goal        verdicts for cross-thread/cross-process\n");
}

static void table_print(const struct table *t, const struct counts *c,
			const int cpu[2], uint64_t run_ns)
{
	header_print(c, cpu);
	for (unsigned int i = 0; i < t->rows; i++)
		row_print(&t->row[i]);
	putchar('\n');
	legend_print();
	printf("run time    %.1f s\n", (double)run_ns / 1e9);
}

/* --- main ---------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pvio-bench-ring [--quick] [--help]\n"
		"Benchmark pvio descriptor rings (blkif entries) cross-thread"
		" and cross-process,\n"
		"next to io_uring NOP, pipe and eventfd baselines; print one"
		" table.\n"
		"  -q, --quick  run small counts (a smoke test: payloads"
		" are still verified)\n"
		"  -h, --help   show this help\n");
}

/* Returns the counts to use, or exits for --help and bad usage. */
static const struct counts *parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quick", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct counts *c = &full_counts;
	int opt;

	while ((opt = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			c = &quick_counts;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	return c;
}

int main(int argc, char **argv)
{
	const struct counts *c = parse_args(argc, argv);
	static struct table t;
	uint64_t start = bench_now_ns();
	int cpu[2];

	if (bench_pair_init(cpu) != 0) {
		/* 77: ctest's "skipped" (SKIP_RETURN_CODE). */
		fprintf(stderr, "pvio-bench-ring: needs two CPUs; skipped\n");
		return 77;
	}
	add_oneway_rows(&t, c);
	add_roundtrip_rows(&t, c);
	add_loopback_rows(&t, c);
	add_baseline_rows(&t, c);
	for (unsigned int pass = 0; pass < c->repeats; pass++)
		table_run_pass(&t);
	table_print(&t, c, cpu, bench_now_ns() - start);
	return 0;
}
