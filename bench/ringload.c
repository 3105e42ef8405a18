/* SPDX-License-Identifier: MIT */
/*
 * The pvio ring workload: a blkif-shaped frontend and backend on one
 * shared ring.  Side 0 is the frontend: it produces numbered requests and
 * checks that each response echoes its number.  Side 1 is the backend: it
 * checks each request against its number and answers it.  A ring that
 * lost, reordered, duplicated or tore a descriptor makes the bench abort,
 * so a figure is never the speed of a broken ring.
 *
 * Waiting is busy-poll, or spin-then-sleep: spin BENCH_SPIN_NS, then run
 * the ring's final check (which arms our event index) and sleep on our
 * doorbell.  The peer rings it only when its push says we asked to be
 * notified; those rings are the notifications the table counts.
 */
#include <string.h>

#include "pvio/channel.h"
#include "pvio/doorbell.h"
#include "pvio/io/blkif.h"

#include "bench.h"

PVIO_CHANNEL_DEFINE(blkif, struct pvio_blkif_request,
		    struct pvio_blkif_response)

#define PAGE_BYTES 4096u
#define SIDE_FRONT 0
#define SIDE_BACK 1

/*
 * The memfd both sides map.  The ring comes first, page aligned like a
 * granted page; the control block sits on a page of its own so that the
 * start line and results never share a cache line with the ring.
 */
struct ring_shm {
	_Alignas(PAGE_BYTES) unsigned char ring[BENCH_RING_MAX_PAGES *
						PAGE_BYTES];
	struct {
		atomic_uint gate;    /* bench_pair_sync() */
		uint64_t elapsed_ns; /* written by the frontend at the end */
		uint64_t kicks[2];   /* doorbell rings, by side, at the end */
	} ctl;
};

/*
 * The run's configuration and doorbells, shared read-only by both sides
 * (a forked side has its own copy of the doorbell structs and inherits
 * their eventfds).
 */
struct ring_load {
	struct bench_ring_cfg cfg;
	struct pvio_doorbell *bell[2]; /* bell[side] wakes that side */
};

unsigned int bench_ring_slots(unsigned int pages)
{
	return (unsigned int)pvio_ring_entries(
		(size_t)pages * PAGE_BYTES,
		sizeof(union pvio_blkif_sring_entry));
}

/* --- payload: request n carries n; its response echoes it ---------------- */

/* BLKIF_OP_READ and BLKIF_OP_WRITE in turn. */
static uint8_t op_of(uint64_t seq)
{
	return seq & 1 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
}

static void req_fill(struct pvio_blkif_request *req, uint64_t seq)
{
	req->operation = op_of(seq);
	req->nr_segments = (uint8_t)(1 + seq % 11);
	req->id = seq;
	req->sector_number = seq * 8;
	req->seg[0].gref = (uint32_t)seq;
}

/*
 * Field by field: building a whole expected request to compare with costs
 * more than the ring does.
 */
static void req_check(const struct pvio_blkif_request *req, uint64_t seq)
{
	if (req->id != seq || req->sector_number != seq * 8 ||
	    req->operation != op_of(seq) || req->nr_segments != 1 + seq % 11 ||
	    req->seg[0].gref != (uint32_t)seq)
		bench_die("backend: request %llu arrived as id %llu sector "
			  "%llu op %u: the ring is broken",
			  (unsigned long long)seq, (unsigned long long)req->id,
			  (unsigned long long)req->sector_number,
			  req->operation);
}

static void rsp_fill(struct pvio_blkif_response *rsp,
		     const struct pvio_blkif_request *req)
{
	/* The padding stays as the caller zeroed it (XSA-216). */
	rsp->id = req->id;
	rsp->operation = req->operation;
	rsp->status = BLKIF_RSP_OKAY;
}

static void rsp_check(const struct pvio_blkif_response *rsp, uint64_t seq)
{
	if (rsp->id != seq || rsp->operation != op_of(seq) ||
	    rsp->status != BLKIF_RSP_OKAY)
		bench_die("frontend: response %llu arrived as id %llu op %u "
			  "status %d: the ring is broken",
			  (unsigned long long)seq, (unsigned long long)rsp->id,
			  rsp->operation, rsp->status);
}

/* --- one end: waiting and notifying, the same for both sides ------------ */

/* The three ring calls in which the two ends differ. */
struct end_ops {
	int (*pending)(struct pvio_ring *r);
	int (*final_check)(struct pvio_ring *r);
	int (*push)(struct pvio_ring *r);
};

static const struct end_ops front_ops = {
	pvio_ring_front_pending,
	pvio_ring_front_final_check,
	pvio_ring_front_push,
};

static const struct end_ops back_ops = {
	pvio_ring_back_pending,
	pvio_ring_back_final_check,
	pvio_ring_back_push,
};

struct end {
	const struct end_ops *ops;
	struct pvio_ring *ring;
	bool sleep;
	struct pvio_doorbell *bell_in;	/* ours: we sleep on it */
	struct pvio_doorbell *bell_out; /* the peer's: only we ring it */
};

static int checked(int n, const char *what)
{
	if (n < 0)
		bench_die("%s: %s", what, strerror(-n));
	return n;
}

static int end_pending(struct end *e)
{
	return checked(e->ops->pending(e->ring), "pending");
}

/*
 * Poll for work for about BENCH_SPIN_NS; the clock is read only every 64
 * polls, so short waits, the common case, never read it.  Returns the
 * work pending, or 0 when the time ran out.
 */
static int end_spin(struct end *e)
{
	uint64_t deadline = 0;

	for (unsigned int i = 1;; i++) {
		int n = end_pending(e);

		if (n != 0)
			return n;
		bench_cpu_relax();
		if (i % 64 != 0)
			continue;
		if (deadline == 0)
			deadline = bench_now_ns() + BENCH_SPIN_NS;
		else if (bench_now_ns() >= deadline)
			return 0;
	}
}

static bool end_has_work(void *arg)
{
	return end_pending(arg) != 0;
}

/*
 * Return once the peer has produced something for us.  Busy-poll spins
 * for as long as it takes.  Spin-then-sleep spins a while, then arms our
 * event with the final check (which closes the race with work arriving
 * meanwhile) and sleeps on our doorbell.  The spin is ours, not the
 * doorbell's (spin_ns 0): the doorbell's spin would run with the event
 * unarmed and then sleep with nobody asked to ring.  A wake-up may be
 * stale (a ring for work we already took), hence the loop.
 */
static void end_wait(struct end *e)
{
	if (!e->sleep) {
		while (end_pending(e) == 0)
			bench_cpu_relax();
		return;
	}
	if (end_spin(e) != 0)
		return;
	while (checked(e->ops->final_check(e->ring), "final check") == 0)
		checked(pvio_doorbell_wait(e->bell_in, 0, -1, end_has_work, e),
			"doorbell wait");
}

/*
 * Publish what we produced.  Ring the peer's doorbell only when the push
 * says the peer asked for it (notification suppression).  A busy-polling
 * peer never arms its event, so it is never rung.
 */
static void end_push(struct end *e)
{
	if (checked(e->ops->push(e->ring), "push") == 1 && e->sleep)
		checked(pvio_doorbell_ring(e->bell_out), "doorbell ring");
}

/*
 * Doorbell rings this end made: the doorbell counts them, and nobody but
 * us rings the peer's.
 */
static uint64_t end_kicks(const struct end *e)
{
	struct pvio_doorbell_stats st;

	pvio_doorbell_get_stats(e->bell_out, &st);
	return st.rings;
}

static void end_init(struct end *e, const struct end_ops *ops,
		     struct pvio_ring *ring, const struct ring_load *l,
		     int side)
{
	e->ops = ops;
	e->ring = ring;
	e->sleep = l->cfg.sleep;
	e->bell_in = l->bell[side];
	e->bell_out = l->bell[!side];
}

/* --- frontend ------------------------------------------------------------ */

struct front {
	struct pvio_blkif_front ring;
	struct end end;
	const struct bench_ring_cfg *cfg;
	uint64_t sent; /* requests produced */
	uint64_t done; /* responses checked */
	struct pvio_blkif_request req[BENCH_RING_MAX_SLOTS];
	struct pvio_blkif_response rsp[BENCH_RING_MAX_SLOTS];
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Produce and push the next requests if the window lets us; how many. */
static unsigned int front_submit(struct front *f)
{
	const struct bench_ring_cfg *cfg = f->cfg;
	/* The last batch of a run may be short. */
	unsigned int want =
		(unsigned int)min_u64(cfg->batch, cfg->count - f->sent);
	unsigned int room =
		cfg->window - pvio_ring_front_inflight(&f->ring.ring);
	unsigned int n = want < room ? want : room;

	if (n == 0 || (cfg->whole_batches && n < want))
		return 0;
	for (unsigned int i = 0; i < n; i++)
		req_fill(&f->req[i], f->sent + i);
	if (checked(pvio_blkif_front_produce(&f->ring, f->req, n), "produce") !=
	    (int)n)
		bench_die("frontend: ring full with %u of %u in flight",
			  pvio_ring_front_inflight(&f->ring.ring),
			  f->cfg->window);
	end_push(&f->end);
	f->sent += n;
	return n;
}

/* Consume and check the responses waiting; how many. */
static unsigned int front_reap(struct front *f)
{
	int n = checked(
		pvio_blkif_front_consume(&f->ring, f->rsp, f->cfg->batch),
		"consume");

	for (int i = 0; i < n; i++)
		rsp_check(&f->rsp[i], f->done + (unsigned int)i);
	f->done += (unsigned int)n;
	return (unsigned int)n;
}

/* One pass of the frontend; how many requests it moved. */
static unsigned int front_step(struct front *f)
{
	/* Reap first: responses free the slots we submit into. */
	unsigned int progress = front_reap(f);

	return progress + front_submit(f);
}

static void front_init(struct front *f, void *ring, const struct ring_load *l)
{
	memset(f, 0, sizeof(*f)); /* zero padding: it goes on the ring */
	f->cfg = &l->cfg;
	checked(pvio_blkif_front_init(&f->ring, ring,
				      l->cfg.pages * PAGE_BYTES),
		"front init");
	end_init(&f->end, &front_ops, &f->ring.ring, l, SIDE_FRONT);
}

static void front_main(struct ring_shm *shm, const struct ring_load *l)
{
	struct front f;
	uint64_t start;

	front_init(&f, shm->ring, l);
	bench_pair_sync(&shm->ctl.gate);
	start = bench_now_ns();
	while (f.done < l->cfg.count)
		if (front_step(&f) == 0)
			end_wait(&f.end);
	shm->ctl.elapsed_ns = bench_now_ns() - start;
	shm->ctl.kicks[SIDE_FRONT] = end_kicks(&f.end);
}

/* --- backend ------------------------------------------------------------- */

struct back {
	struct pvio_blkif_back ring;
	struct end end;
	const struct bench_ring_cfg *cfg;
	uint64_t done; /* requests answered */
	struct pvio_blkif_request req[BENCH_RING_MAX_SLOTS];
	struct pvio_blkif_response rsp[BENCH_RING_MAX_SLOTS];
};

/* Check and answer n consumed requests. */
static void back_answer(struct back *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		req_check(&b->req[i], b->done + i);
		rsp_fill(&b->rsp[i], &b->req[i]);
	}
	if (checked(pvio_blkif_back_produce(&b->ring, b->rsp, n), "produce") !=
	    (int)n)
		bench_die("backend: could not answer %u requests", n);
	end_push(&b->end);
	b->done += n;
}

/* One pass of the backend: answer what is waiting; how many. */
static unsigned int back_step(struct back *b)
{
	int n = checked(
		pvio_blkif_back_consume(&b->ring, b->req, b->cfg->batch),
		"consume");

	if (n > 0)
		back_answer(b, (unsigned int)n);
	return (unsigned int)n;
}

/* Call only once the frontend has initialised the ring. */
static void back_init(struct back *b, void *ring, const struct ring_load *l)
{
	memset(b, 0, sizeof(*b)); /* zero padding: it goes on the ring */
	b->cfg = &l->cfg;
	checked(pvio_blkif_back_attach(&b->ring, ring,
				       l->cfg.pages * PAGE_BYTES),
		"back attach");
	end_init(&b->end, &back_ops, &b->ring.ring, l, SIDE_BACK);
}

static void back_main(struct ring_shm *shm, const struct ring_load *l)
{
	struct back b;

	bench_pair_sync(&shm->ctl.gate);
	back_init(&b, shm->ring, l);
	while (b.done < l->cfg.count)
		if (back_step(&b) == 0)
			end_wait(&b.end);
	shm->ctl.kicks[SIDE_BACK] = end_kicks(&b.end);
}

static void ring_side(int side, void *shm, void *arg)
{
	if (side == SIDE_FRONT)
		front_main(shm, arg);
	else
		back_main(shm, arg);
}

static void cfg_check(const struct bench_ring_cfg *cfg)
{
	if (cfg->pages == 0 || cfg->pages > BENCH_RING_MAX_PAGES ||
	    cfg->window > bench_ring_slots(cfg->pages) ||
	    cfg->batch > cfg->window || cfg->batch == 0)
		bench_die("bad ring cell: %u pages, window %u, batch %u",
			  cfg->pages, cfg->window, cfg->batch);
}

static struct pvio_doorbell *bell_create(void)
{
	int err;
	struct pvio_doorbell *bell = pvio_doorbell_create(&err);

	if (bell == NULL)
		bench_die("pvio_doorbell_create: %s", strerror(-err));
	return bell;
}

void bench_ring_run(const struct bench_ring_cfg *cfg, enum bench_mode mode,
		    struct bench_result *res)
{
	struct ring_load l = {*cfg, {NULL, NULL}};
	struct bench_pair p;
	const struct ring_shm *shm;

	cfg_check(cfg);
	/* Fresh doorbells per run: no ring left over from the last one. */
	l.bell[SIDE_FRONT] = bell_create();
	l.bell[SIDE_BACK] = bell_create();
	bench_pair_open(&p, sizeof(struct ring_shm), ring_side, &l);
	bench_pair_run(&p, mode);
	shm = p.shm;
	*res = (struct bench_result){
		.ops = cfg->count,
		.elapsed_ns = shm->ctl.elapsed_ns,
		.kicks = shm->ctl.kicks[SIDE_FRONT] + shm->ctl.kicks[SIDE_BACK],
	};
	bench_pair_close(&p);
	pvio_doorbell_close(l.bell[SIDE_FRONT]);
	pvio_doorbell_close(l.bell[SIDE_BACK]);
}

/*
 * Both ends in this thread, taking turns: the ring's own CPU cost per
 * request, with every line in our cache and nobody to wait for.
 */
void bench_ring_loopback(const struct bench_ring_cfg *cfg,
			 struct bench_result *res)
{
	static struct ring_shm shm; /* 20 KiB: off the stack */
	static struct front f;
	static struct back b;
	struct ring_load l = {*cfg, {NULL, NULL}};
	uint64_t start;

	cfg_check(cfg);
	if (cfg->sleep)
		bench_die("a loopback ring never sleeps");
	front_init(&f, shm.ring, &l);
	back_init(&b, shm.ring, &l);
	start = bench_now_ns();
	while (f.done < cfg->count) {
		unsigned int progress = front_step(&f);

		if (progress + back_step(&b) == 0)
			bench_die("loopback ring stalled at %llu",
				  (unsigned long long)f.done);
	}
	*res = (struct bench_result){
		.ops = cfg->count,
		.elapsed_ns = bench_now_ns() - start,
	};
}
