/* SPDX-License-Identifier: MIT */
/*
 * No lost wake-up: a frontend thread and a backend thread move ten million
 * requests through one ring.  The backend completes them out of order
 * (random subsets of what it holds), both sides batch randomly, and both
 * sleep whenever the ring is idle, relying only on notification
 * suppression (push returns "notify" -> eventfd) and the final check.
 * A sleep that is not woken within a generous bound is a lost wake-up and
 * fails the test.  Every payload is checksummed end to end and every id is
 * checked against the request-ID table.  Built with TSan in make check.
 *
 * PVIO_STRESS_REQUESTS overrides the count (for quick local runs).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvio/reqid.h"
#include "ring_test_types.h"

#define PAGE 4096u
#define WAKE_TIMEOUT_MS 5000 /* far beyond any scheduling delay */

struct shared {
	unsigned char *page;
	struct pvio_t_front front; /* initialised before the threads start */
	int to_back;  /* eventfd: frontend -> backend notifications */
	int to_front; /* eventfd: backend -> frontend notifications */
	uint64_t total;
	/* Results, written by each thread before it exits (join orders). */
	uint64_t front_notifies, back_notifies, front_sleeps, back_sleeps;
	int front_err, back_err;
};

static void ring_bell(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/*
 * Throw away bells that predate the final check: a stale one would wake
 * the coming sleep and hide a wake-up that the ring protocol lost.
 */
static void drain_bell(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v)); /* EFD_NONBLOCK: EAGAIN if none */
}

/* Sleep until notified; -ETIMEDOUT means a wake-up was lost. */
static int wait_bell(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, WAKE_TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -errno;
	return 0;
}

static void *frontend(void *arg)
{
	struct shared *sh = arg;
	struct pvio_t_front f = sh->front;
	struct pvio_reqid_table ids;
	static uint64_t mem[64 * 8];
	struct t_req q[64];
	struct t_rsp a[64];
	uint64_t rng = 0x1111, sent = 0, done = 0, seq = 0;
	int err = 0;

	if (pvio_reqid_init(&ids, mem, sizeof(mem), 64, sizeof(struct t_req),
			    64)) {
		sh->front_err = -EINVAL;
		return NULL;
	}
	while (done < sh->total && !err) {
		/* Produce a random batch into whatever room there is. */
		unsigned int want = 1 + (unsigned int)(t_rand(&rng) % 64), n;
		uint32_t room = pvio_ring_front_free(&f.ring);

		if (want > room)
			want = room;
		if (want > sh->total - sent)
			want = (unsigned int)(sh->total - sent);
		for (n = 0; n < want; n++) {
			void *shadow;

			if (pvio_reqid_alloc(&ids, &q[n].id, &shadow))
				break;
			q[n].seq = seq++;
			q[n].payload[0] = t_rand(&rng);
			q[n].payload[1] = q[n].seq ^ q[n].payload[0];
			q[n].csum = t_csum(&q[n]);
			q[n].pad = 0;
			memcpy(shadow, &q[n], sizeof(q[n]));
		}
		if (n > 0) {
			if (pvio_t_front_produce(&f, q, n) != (int)n) {
				err = -EIO;
				break;
			}
			sent += n;
			if (pvio_ring_front_push(&f.ring) == 1) {
				ring_bell(sh->to_back);
				sh->front_notifies++;
			}
		}
		/* Reap responses; check each against its shadow. */
		int got = pvio_t_front_consume(&f, a, 1 + t_rand(&rng) % 64);
		if (got < 0) {
			err = got;
			break;
		}
		for (int i = 0; i < got; i++) {
			void *shadow;
			const struct t_req *orig;

			if (pvio_reqid_complete(&ids, a[i].id, &shadow)) {
				err = -EBADMSG;
				break;
			}
			orig = shadow;
			if (a[i].csum != t_csum(orig) || a[i].status != 0) {
				err = -EBADMSG;
				break;
			}
			done++;
		}
		if (got > 0 || n > 0)
			continue;
		/* Nothing to send and nothing back: sleep, race-free. */
		drain_bell(sh->to_front);
		int more = pvio_ring_front_final_check(&f.ring);
		if (more < 0)
			err = more;
		else if (more == 0) {
			sh->front_sleeps++;
			err = wait_bell(sh->to_front);
		}
	}
	sh->front_err = err;
	return NULL;
}

static void *backend(void *arg)
{
	struct shared *sh = arg;
	struct pvio_t_back b;
	struct t_req held[64];
	struct t_rsp a[64];
	unsigned int nheld = 0;
	uint64_t rng = 0x2222, answered = 0;
	int err = 0;

	if (pvio_t_back_attach(&b, sh->page, PAGE)) {
		sh->back_err = -EINVAL;
		return NULL;
	}
	while (answered < sh->total && !err) {
		unsigned int max = 1 + (unsigned int)(t_rand(&rng) % 64);
		int got;

		if (max > 64 - nheld)
			max = 64 - nheld;
		got = pvio_t_back_consume(&b, held + nheld, max);
		if (got < 0) {
			err = got;
			break;
		}
		for (int i = 0; i < got; i++) {
			const struct t_req *q = &held[nheld + (unsigned)i];

			/* Validate the private copy, never the ring. */
			if (q->csum != t_csum(q) ||
			    q->payload[1] != (q->seq ^ q->payload[0]))
				err = -EBADMSG;
		}
		nheld += (unsigned int)got;
		/*
		 * Complete a random subset, in random order; when no new
		 * work arrived, complete everything so that the frontend
		 * (which may be waiting for slots) always progresses.
		 */
		unsigned int n = 0;
		unsigned int k =
			got == 0 ? nheld
				 : (unsigned int)(t_rand(&rng) % (nheld + 1));
		while (n < k) {
			unsigned int pick =
				(unsigned int)(t_rand(&rng) % nheld);

			a[n++] = (struct t_rsp){.id = held[pick].id,
						.csum = held[pick].csum};
			held[pick] = held[--nheld];
		}
		if (n > 0) {
			if (pvio_t_back_produce(&b, a, n) != (int)n) {
				err = -EIO;
				break;
			}
			answered += n;
			if (pvio_ring_back_push(&b.ring) == 1) {
				ring_bell(sh->to_front);
				sh->back_notifies++;
			}
		}
		if (got > 0 || n > 0)
			continue;
		drain_bell(sh->to_back);
		int more = pvio_ring_back_final_check(&b.ring);
		if (more < 0)
			err = more;
		else if (more == 0) {
			sh->back_sleeps++;
			err = wait_bell(sh->to_back);
		}
	}
	sh->back_err = err;
	return NULL;
}

static void test_no_lost_wakeup(void **state)
{
	struct shared sh = {0};
	pthread_t ft, bt;
	const char *env = getenv("PVIO_STRESS_REQUESTS");

	(void)state;
	sh.total = env ? strtoull(env, NULL, 0) : 10000000ULL;
	sh.page = aligned_alloc(PAGE, PAGE);
	assert_non_null(sh.page);
	sh.to_back = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sh.to_front = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(sh.to_back >= 0 && sh.to_front >= 0);
	/* The frontend initialises the page before the backend attaches. */
	assert_int_equal(pvio_t_front_init(&sh.front, sh.page, PAGE), 0);

	assert_int_equal(pthread_create(&bt, NULL, backend, &sh), 0);
	assert_int_equal(pthread_create(&ft, NULL, frontend, &sh), 0);
	pthread_join(ft, NULL);
	pthread_join(bt, NULL);
	printf("# %llu requests: notifications front->back %llu, "
	       "back->front %llu (%.4f per request); sleeps %llu/%llu\n",
	       (unsigned long long)sh.total,
	       (unsigned long long)sh.front_notifies,
	       (unsigned long long)sh.back_notifies,
	       (double)(sh.front_notifies + sh.back_notifies) /
		       (double)sh.total,
	       (unsigned long long)sh.front_sleeps,
	       (unsigned long long)sh.back_sleeps);
	assert_int_equal(sh.front_err, 0);
	assert_int_equal(sh.back_err, 0);
	close(sh.to_back);
	close(sh.to_front);
	free(sh.page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_lost_wakeup),
	};

	return cmocka_run_group_tests_name("ring_stress", tests, NULL, NULL);
}
