/* SPDX-License-Identifier: MIT */
/*
 * Concurrency test of the event-channel client (label "concurrency", also
 * run under ThreadSanitizer).
 *
 * Each round has a chaos phase and a check phase.
 *
 * Chaos (CHAOS_MS): a producer thread raises random ports (half of them
 * from a small hot set, so bursts coalesce) and kicks the dispatcher
 * through an eventfd whenever raise() says so; the dispatcher thread
 * sleeps in poll() until kicked, dispatches, and then masks and unmasks
 * random ports; a masker thread masks and unmasks random ports too (so
 * unmask also runs concurrently with dispatch) and kicks when unmask()
 * says so.
 *
 * Check: the producer and masker stop, the dispatcher stops masking, the
 * main thread unmasks every port (kicking when unmask() says so), and
 * then waits, with a deadline, until every port raised since its last
 * delivery has been delivered.  The dispatcher only ever dispatches after
 * a kick, never on a timeout, so a lost event or a lost wake-up (a kick
 * that was needed and not given: upcall_pending then stays 1 and nobody
 * kicks again) shows up as the deadline passing with ports outstanding.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvio/evtchn.h"

#define NR_PORTS EVTCHN_2L_NR_CHANNELS
#define ROUNDS 8
#define CHAOS_MS 150
#define CHECK_DEADLINE_MS 3000

/*
 * cmocka's assertions longjmp to the test's frame, which is only valid on
 * the main thread; the worker threads report and abort instead.
 */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

struct ctx {
	struct pvio_evtchn_shared shared;
	struct pvio_evtchn_vcpu vcpu;
	struct pvio_evtchn_handler table[NR_PORTS];
	struct pvio_evtchn rx; /* the receiver's handle: dispatch, masks */
	struct pvio_evtchn tx; /* the delivery side's own handle */

	int kick_fd; /* the upcall "interrupt": only this triggers dispatch */
	int ctl_fd;  /* control messages to the dispatcher: never dispatch */

	/* Set by the producer before raise, cleared by the handler. */
	uint8_t raised[NR_PORTS];
	/* Written only by the dispatcher thread (handler). */
	uint64_t delivered[NR_PORTS];
	uint64_t dispatches;

	/* Control: atomics, see each use. */
	int chaos; /* 1 while threads may mask and raise */
	int stop;  /* dispatcher exits */
	int acked; /* the dispatcher saw chaos == 0 in round 'acked' */
	int round;

	/* Producer statistics (producer thread only, read after join). */
	uint64_t raises, kicks, checkpoints;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void kick(int fd)
{
	uint64_t one = 1;

	CHECK(write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one));
}

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static void on_event(struct pvio_evtchn *ev, pvio_evtchn_port_t port, void *arg)
{
	struct ctx *c = arg;

	CHECK(ev == &c->rx);
	CHECK(port < NR_PORTS);
	/*
	 * Release: pairs with the acquire load in outstanding().  The
	 * producer's store of 1 happened before its raise, and the raise
	 * before this call (the pending-bit edge), so this 0 is later.
	 */
	__atomic_store_n(&c->raised[port], 0, __ATOMIC_RELEASE);
	c->delivered[port]++;
}

static pvio_evtchn_port_t random_port(uint64_t *seed)
{
	uint64_t r = xorshift(seed);

	/* Half the time a hot port (one per 512 ports: 8 words). */
	if (r & 1)
		return (pvio_evtchn_port_t)(((r >> 1) % 8) * 512 + 3);
	return (pvio_evtchn_port_t)((r >> 1) % NR_PORTS);
}

/*
 * Mid-round checkpoint: every port of the last burst must soon be either
 * delivered or masked (a masked one is legitimately latched).  Without
 * this, a lost wake-up early in a round would be rescued by the next
 * burst's kick and go unnoticed.
 */
static void wait_burst(struct ctx *c, const pvio_evtchn_port_t *burst,
		       unsigned int n)
{
	uint64_t deadline = now_ns() + CHECK_DEADLINE_MS * 1000000ull;
	unsigned int i = 0;

	while (i < n) {
		/* Acquire pairs with the handler's release store. */
		if (!__atomic_load_n(&c->raised[burst[i]], __ATOMIC_ACQUIRE) ||
		    pvio_evtchn_is_masked(&c->rx, burst[i]) == 1) {
			i++;
			continue;
		}
		if (now_ns() > deadline) {
			fprintf(stderr,
				"lost wake-up: port %u raised, unmasked and "
				"not delivered (pending %d, upcall_pending "
				"%u, sel %#llx)\n",
				burst[i],
				pvio_evtchn_is_pending(&c->rx, burst[i]),
				__atomic_load_n(&c->vcpu.upcall_pending,
						__ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(
					&c->vcpu.pending_sel,
					__ATOMIC_RELAXED));
			abort();
		}
		sched_yield();
	}
}

static void *producer(void *arg)
{
	struct ctx *c = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)c->round;
	pvio_evtchn_port_t burst[32];
	unsigned int n;
	int rc;

	while (__atomic_load_n(&c->chaos, __ATOMIC_ACQUIRE)) {
		n = 1 + (unsigned int)(xorshift(&seed) % 32);
		for (unsigned int i = 0; i < n; i++) {
			burst[i] = random_port(&seed);
			/*
			 * Release: pairs with the acquire loads in
			 * outstanding() and wait_burst().  Set before raise
			 * so that the delivery this raise triggers (or
			 * coalesces into) clears it.
			 */
			__atomic_store_n(&c->raised[burst[i]], 1,
					 __ATOMIC_RELEASE);
			rc = pvio_evtchn_raise(&c->tx, burst[i]);
			CHECK(rc == 0 || rc == 1);
			c->raises++;
			if (rc == 1) {
				c->kicks++;
				kick(c->kick_fd);
			}
		}
		/* A quarter of the bursts end in a checkpoint. */
		if ((xorshift(&seed) & 3) == 0) {
			wait_burst(c, burst, n);
			c->checkpoints++;
		}
	}
	return NULL;
}

static void *masker(void *arg)
{
	struct ctx *c = arg;
	uint64_t seed = 0x1234567ull + (uint64_t)c->round;
	pvio_evtchn_port_t p;

	while (__atomic_load_n(&c->chaos, __ATOMIC_ACQUIRE)) {
		p = random_port(&seed);
		if (xorshift(&seed) & 1) {
			CHECK(pvio_evtchn_mask(&c->rx, p) == 0);
		} else if (pvio_evtchn_unmask(&c->rx, p) == 1) {
			kick(c->kick_fd);
		}
		if ((xorshift(&seed) & 15) == 0)
			sched_yield();
	}
	return NULL;
}

static void *dispatcher(void *arg)
{
	struct ctx *c = arg;
	uint64_t seed = 0xdeadbeefull;
	struct pollfd pfd[2];
	bool again;
	int n;

	for (;;) {
		pfd[0] = (struct pollfd){.fd = c->kick_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = c->ctl_fd, .events = POLLIN};
		n = poll(pfd, 2, 100);
		CHECK(n >= 0 || errno == EINTR);
		if (pfd[1].revents & POLLIN) {
			drain(c->ctl_fd);
			/* Acquire pairs with main's release stores. */
			if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
				return NULL;
			if (!__atomic_load_n(&c->chaos, __ATOMIC_ACQUIRE))
				/* Release pairs with main's acquire. */
				__atomic_store_n(
					&c->acked,
					__atomic_load_n(&c->round,
							__ATOMIC_ACQUIRE),
					__ATOMIC_RELEASE);
		}
		/* Only a kick dispatches: a timeout must not hide a loss. */
		if (!(pfd[0].revents & POLLIN))
			continue;
		drain(c->kick_fd);
		do {
			c->dispatches++;
			(void)pvio_evtchn_dispatch(&c->rx);
			again = false;
			if (!__atomic_load_n(&c->chaos, __ATOMIC_ACQUIRE))
				break;
			for (int i = 0; i < 4; i++) {
				pvio_evtchn_port_t p = random_port(&seed);

				if (xorshift(&seed) & 1)
					(void)pvio_evtchn_mask(&c->rx, p);
				else if (pvio_evtchn_unmask(&c->rx, p) == 1)
					again = true; /* our own kick */
			}
		} while (again);
	}
}

static unsigned int outstanding(struct ctx *c, pvio_evtchn_port_t *first)
{
	unsigned int n = 0;

	for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++) {
		/* Acquire pairs with the handler's release store. */
		if (__atomic_load_n(&c->raised[p], __ATOMIC_ACQUIRE) ||
		    pvio_evtchn_is_pending(&c->rx, p)) {
			if (!n)
				*first = p;
			n++;
		}
	}
	return n;
}

static void test_stress(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));
	pthread_t disp, prod, mask;
	uint64_t total_raises = 0, total_kicks = 0, total_delivered = 0;
	uint64_t total_checkpoints = 0;
	uint64_t start = now_ns(), deadline;
	pvio_evtchn_port_t first = 0;
	unsigned int left;

	(void)state;
	assert_non_null(c);
	assert_int_equal(pvio_evtchn_shared_init(&c->shared, &c->vcpu, false),
			 0);
	assert_int_equal(pvio_evtchn_init(&c->rx, &c->shared, &c->vcpu,
					  c->table, NR_PORTS),
			 0);
	assert_int_equal(
		pvio_evtchn_init(&c->tx, &c->shared, &c->vcpu, NULL, 0), 0);
	for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++)
		assert_int_equal(pvio_evtchn_bind(&c->rx, p, on_event, c), 0);
	c->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(c->kick_fd >= 0 && c->ctl_fd >= 0);

	assert_int_equal(pthread_create(&disp, NULL, dispatcher, c), 0);
	for (int round = 1; round <= ROUNDS; round++) {
		/* Release: pairs with the threads' acquire loads. */
		__atomic_store_n(&c->round, round, __ATOMIC_RELEASE);
		__atomic_store_n(&c->chaos, 1, __ATOMIC_RELEASE);
		c->raises = c->kicks = c->checkpoints = 0;
		assert_int_equal(pthread_create(&prod, NULL, producer, c), 0);
		assert_int_equal(pthread_create(&mask, NULL, masker, c), 0);
		usleep(CHAOS_MS * 1000);

		/* Check phase: quiesce everybody who masks or raises. */
		__atomic_store_n(&c->chaos, 0, __ATOMIC_RELEASE);
		assert_int_equal(pthread_join(prod, NULL), 0);
		assert_int_equal(pthread_join(mask, NULL), 0);
		total_raises += c->raises;
		total_kicks += c->kicks;
		total_checkpoints += c->checkpoints;
		assert_true(c->kicks <= c->raises);
		kick(c->ctl_fd);
		deadline = now_ns() + 1000000000ull;
		/* Acquire pairs with the dispatcher's release of 'acked'. */
		while (__atomic_load_n(&c->acked, __ATOMIC_ACQUIRE) != round) {
			assert_true(now_ns() < deadline);
			usleep(1000);
		}

		/* Unmask everything; latched events must now surface. */
		for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++)
			if (pvio_evtchn_unmask(&c->rx, p) == 1)
				kick(c->kick_fd);

		deadline = now_ns() + CHECK_DEADLINE_MS * 1000000ull;
		while ((left = outstanding(c, &first)) != 0) {
			if (now_ns() > deadline) {
				print_error(
					"round %d: %u ports never delivered"
					" (first %u, pending %d, masked"
					" %d, upcall_pending %u, sel"
					" %#llx)\n",
					round, left, first,
					pvio_evtchn_is_pending(&c->rx, first),
					pvio_evtchn_is_masked(&c->rx, first),
					__atomic_load_n(&c->vcpu.upcall_pending,
							__ATOMIC_RELAXED),
					(unsigned long long)__atomic_load_n(
						&c->vcpu.pending_sel,
						__ATOMIC_RELAXED));
				fail();
			}
			usleep(1000);
		}
	}

	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	kick(c->ctl_fd);
	assert_int_equal(pthread_join(disp, NULL), 0);

	for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++)
		total_delivered += c->delivered[p];
	/* Each delivery consumed at least one raise; none invented. */
	assert_true(total_delivered > 0);
	assert_true(total_delivered <= total_raises);
	assert_true(total_kicks > 0);
	assert_int_equal(c->rx.stray, 0);
	assert_int_equal(c->vcpu.pending_sel, 0);
	print_message("evtchn stress: %llu raises, %llu kicks, %llu "
		      "deliveries, %llu dispatches, %llu checkpoints in "
		      "%.2f s\n",
		      (unsigned long long)total_raises,
		      (unsigned long long)total_kicks,
		      (unsigned long long)total_delivered,
		      (unsigned long long)c->dispatches,
		      (unsigned long long)total_checkpoints,
		      (double)(now_ns() - start) / 1e9);

	close(c->kick_fd);
	close(c->ctl_fd);
	test_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
