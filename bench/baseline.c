/* SPDX-License-Identifier: MIT */
/*
 * Baselines measured in the same run as the ring: what a kernel
 * submission queue costs (io_uring NOPs), and what a blocking cross-CPU
 * wake-up costs (pipe and eventfd ping-pong), the price every
 * notification the ring suppresses would have paid.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

/* --- io_uring NOPs ------------------------------------------------------- */

#define NOP_BATCH_MAX 32u

/* Queue 'batch' NOPs numbered from 'seq'; submit and wait for them all. */
static void nop_submit(struct io_uring *ring, uint64_t seq, unsigned int batch)
{
	int ret;

	for (unsigned int i = 0; i < batch; i++) {
		/* Never NULL: the SQ holds NOP_BATCH_MAX, all reaped. */
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, seq + i);
	}
	ret = io_uring_submit_and_wait(ring, batch);
	if (ret != (int)batch)
		bench_die("io_uring_submit_and_wait: %d", ret);
}

/* Peek the batch's CQEs, check each came back in order, and reap them. */
static void nop_reap(struct io_uring *ring, uint64_t seq, unsigned int batch)
{
	struct io_uring_cqe *cqe[NOP_BATCH_MAX];
	unsigned int n = io_uring_peek_batch_cqe(ring, cqe, batch);

	if (n != batch)
		bench_die("io_uring: %u of %u NOPs completed", n, batch);
	for (unsigned int i = 0; i < n; i++)
		if (cqe[i]->user_data != seq + i || cqe[i]->res != 0)
			bench_die("io_uring: NOP %llu completed as %llu (%d)",
				  (unsigned long long)(seq + i),
				  (unsigned long long)cqe[i]->user_data,
				  cqe[i]->res);
	io_uring_cq_advance(ring, n);
}

void bench_uring_nop(uint64_t count, unsigned int batch,
		     struct bench_result *res)
{
	struct io_uring ring;
	uint64_t start, seq;
	int err;

	if (batch == 0 || batch > NOP_BATCH_MAX)
		bench_die("NOP batch %u out of range", batch);
	*res = (struct bench_result){0};
	/* io_uring may be disabled (sysctl, seccomp): a table entry. */
	err = io_uring_queue_init(NOP_BATCH_MAX, &ring, 0);
	if (err < 0) {
		res->err = err;
		return;
	}
	start = bench_now_ns();
	for (seq = 0; seq + batch <= count; seq += batch) {
		nop_submit(&ring, seq, batch);
		nop_reap(&ring, seq, batch);
	}
	res->elapsed_ns = bench_now_ns() - start;
	res->ops = seq;
	io_uring_queue_exit(&ring);
}

/* --- cache line ping-pong ------------------------------------------------ */

/*
 * The floor under any shared-memory round trip on this host: one cache
 * line bounced between the two CPUs.  Side s waits for the ball to read
 * v (v = s, s + 2, ...) and hits it back as v + 1, so the ball carries
 * its own check and the code is the same for both sides.
 */
struct line_shm {
	atomic_uint gate;    /* bench_pair_sync() */
	uint64_t elapsed_ns; /* written by side 0 at the end */
	/* Alone on its line, so only the ball moves between the CPUs. */
	_Alignas(64) _Atomic uint64_t ball;
};

/* Wait until the ball reads v: the peer's hit. */
static void ball_wait(_Atomic uint64_t *ball, int side, uint64_t v)
{
	uint64_t seen;

	/* Acquire: pairs with the peer's release store in line_side(). */
	while ((seen = atomic_load_explicit(ball, memory_order_acquire)) != v) {
		if (seen > v)
			bench_die("cache line: side %d expected %llu, saw %llu",
				  side, (unsigned long long)v,
				  (unsigned long long)seen);
		bench_cpu_relax();
	}
}

static void line_side(int side, void *shm, void *arg)
{
	const uint64_t *count = arg;
	struct line_shm *s = shm;
	uint64_t start;

	bench_pair_sync(&s->gate);
	start = bench_now_ns();
	for (uint64_t v = (uint64_t)side; v < 2 * *count; v += 2) {
		ball_wait(&s->ball, side, v);
		/* Release: pairs with the peer's acquire in ball_wait(). */
		atomic_store_explicit(&s->ball, v + 1, memory_order_release);
	}
	if (side == 0)
		s->elapsed_ns = bench_now_ns() - start;
}

void bench_cacheline(enum bench_mode mode, uint64_t count,
		     struct bench_result *res)
{
	struct bench_pair p;

	bench_pair_open(&p, sizeof(struct line_shm), line_side, &count);
	bench_pair_run(&p, mode);
	*res = (struct bench_result){
		.ops = count,
		.elapsed_ns = ((struct line_shm *)p.shm)->elapsed_ns,
	};
	bench_pair_close(&p);
}

/* --- ping-pong ----------------------------------------------------------- */

/*
 * Side 0 sends message n and waits for its echo; side 1 echoes.  A
 * message is the low 'msg_bytes' bytes of n + 1: one byte on a pipe, the
 * eight an eventfd requires (never zero, so a read never blocks on it).
 */
struct pingpong {
	uint64_t count;
	size_t msg_bytes;
	/* fd[s] carries messages to side s: read end [0], write end [1]. */
	int fd[2][2];
};

struct pingpong_shm {
	atomic_uint gate;    /* bench_pair_sync() */
	uint64_t elapsed_ns; /* written by side 0 at the end */
};

static uint64_t msg_of(const struct pingpong *pp, uint64_t seq)
{
	uint64_t v = seq + 1, msg = 0;

	memcpy(&msg, &v, pp->msg_bytes); /* the bytes write() will send */
	return msg;
}

static void msg_send(const struct pingpong *pp, int side, uint64_t seq)
{
	uint64_t msg = msg_of(pp, seq);

	while (write(pp->fd[!side][1], &msg, pp->msg_bytes) !=
	       (ssize_t)pp->msg_bytes)
		if (errno != EINTR)
			bench_die("ping-pong write: %s", strerror(errno));
}

static void msg_recv(const struct pingpong *pp, int side, uint64_t seq)
{
	uint64_t msg = 0;

	while (read(pp->fd[side][0], &msg, pp->msg_bytes) !=
	       (ssize_t)pp->msg_bytes)
		if (errno != EINTR)
			bench_die("ping-pong read: %s", strerror(errno));
	if (msg != msg_of(pp, seq))
		bench_die("ping-pong: side %d expected message %llu", side,
			  (unsigned long long)seq);
}

static void pingpong_side(int side, void *shm, void *arg)
{
	const struct pingpong *pp = arg;
	struct pingpong_shm *s = shm;
	uint64_t start;

	bench_pair_sync(&s->gate);
	start = bench_now_ns();
	for (uint64_t seq = 0; seq < pp->count; seq++) {
		if (side == 0) {
			msg_send(pp, side, seq);
			msg_recv(pp, side, seq);
		} else {
			msg_recv(pp, side, seq);
			msg_send(pp, side, seq);
		}
	}
	if (side == 0)
		s->elapsed_ns = bench_now_ns() - start;
}

static void pingpong_open(struct pingpong *pp, enum bench_pingpong how)
{
	pp->msg_bytes = how == BENCH_PIPE ? 1 : sizeof(uint64_t);
	for (int s = 0; s < 2; s++) {
		if (how == BENCH_EVENTFD) {
			/* Blocking, unlike a doorbell's: read() sleeps. */
			pp->fd[s][0] = pp->fd[s][1] = eventfd(0, EFD_CLOEXEC);
			if (pp->fd[s][0] < 0)
				bench_die("eventfd: %s", strerror(errno));
		} else if (pipe2(pp->fd[s], O_CLOEXEC) != 0) {
			bench_die("pipe2: %s", strerror(errno));
		}
	}
}

static void pingpong_close(struct pingpong *pp)
{
	for (int s = 0; s < 2; s++) {
		close(pp->fd[s][0]);
		if (pp->fd[s][1] != pp->fd[s][0])
			close(pp->fd[s][1]);
	}
}

void bench_pingpong(enum bench_pingpong how, enum bench_mode mode,
		    uint64_t count, struct bench_result *res)
{
	struct pingpong pp = {.count = count};
	struct bench_pair p;

	pingpong_open(&pp, how);
	bench_pair_open(&p, sizeof(struct pingpong_shm), pingpong_side, &pp);
	bench_pair_run(&p, mode);
	*res = (struct bench_result){
		.ops = count,
		.elapsed_ns = ((struct pingpong_shm *)p.shm)->elapsed_ns,
	};
	bench_pair_close(&p);
	pingpong_close(&pp);
}
