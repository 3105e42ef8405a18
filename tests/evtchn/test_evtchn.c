/* SPDX-License-Identifier: MIT */
/*
 * Single-threaded semantics of the event-channel client: latching under
 * mask, dispatch order and arguments, one kick per burst, coalescing,
 * upcall masking and hostile port numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pvio/errno.h"
#include "pvio/evtchn.h"

#define NR_PORTS EVTCHN_2L_NR_CHANNELS
#define LOG_MAX 8192

/* Everything one test needs, in one allocation that cmocka checks. */
struct fixture {
	struct pvio_evtchn_shared shared;
	struct pvio_evtchn_vcpu vcpu;
	struct pvio_evtchn_handler table[NR_PORTS];
	struct pvio_evtchn ev;
	/* Handler log: the order of calls and what each received. */
	unsigned int nlog;
	pvio_evtchn_port_t log_port[LOG_MAX];
	void *log_arg[LOG_MAX];
	struct pvio_evtchn *log_ev[LOG_MAX];
	unsigned int calls[NR_PORTS];
	/* If set, the handler raises this port once (re-entrant raise). */
	int reraise;
};

static void record(struct pvio_evtchn *ev, pvio_evtchn_port_t port, void *arg)
{
	struct fixture *f =
		(struct fixture *)((char *)ev - offsetof(struct fixture, ev));

	assert_true(port < NR_PORTS);
	/* The pending bit is cleared before the handler runs. */
	assert_int_equal(pvio_evtchn_is_pending(ev, port), 0);
	if (f->nlog < LOG_MAX) {
		f->log_port[f->nlog] = port;
		f->log_arg[f->nlog] = arg;
		f->log_ev[f->nlog] = ev;
		f->nlog++;
	}
	f->calls[port]++;
	if (f->reraise >= 0 && (pvio_evtchn_port_t)f->reraise == port) {
		f->reraise = -1;
		(void)pvio_evtchn_raise(ev, port);
	}
}

/* A distinct, checkable argument per port. */
static void *arg_of(pvio_evtchn_port_t port)
{
	return (void *)(uintptr_t)(0x10000u + port);
}

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pvio_evtchn_shared_init(&f->shared, &f->vcpu, false),
			 0);
	assert_int_equal(pvio_evtchn_init(&f->ev, &f->shared, &f->vcpu,
					  f->table, NR_PORTS),
			 0);
	for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++)
		assert_int_equal(pvio_evtchn_bind(&f->ev, p, record, arg_of(p)),
				 0);
	f->reraise = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void test_init_args(void **state)
{
	struct fixture *f = *state;
	struct pvio_evtchn ev;

	assert_int_equal(pvio_evtchn_shared_init(NULL, &f->vcpu, false),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_shared_init(&f->shared, NULL, false),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_init(NULL, &f->shared, &f->vcpu, NULL, 0),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_init(&ev, NULL, &f->vcpu, NULL, 0),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_init(&ev, &f->shared, NULL, NULL, 0),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_init(&ev, &f->shared, &f->vcpu, NULL, 1),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_init(&ev, &f->shared, &f->vcpu, f->table,
					  NR_PORTS + 1),
			 -PVIO_EINVAL);
	/* A delivery-only handle has no table and cannot bind. */
	assert_int_equal(pvio_evtchn_init(&ev, &f->shared, &f->vcpu, NULL, 0),
			 0);
	assert_int_equal(pvio_evtchn_bind(&ev, 0, record, NULL), -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_bind(&f->ev, 0, NULL, NULL), -PVIO_EINVAL);
	/* -PVIO_EINVAL is -EINVAL on Linux. */
	assert_int_equal(PVIO_EINVAL, EINVAL);
}

static void test_shared_init_mask_all(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_shared_init(&f->shared, &f->vcpu, true),
			 0);
	for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++) {
		assert_int_equal(pvio_evtchn_is_masked(&f->ev, p), 1);
		assert_int_equal(pvio_evtchn_is_pending(&f->ev, p), 0);
	}
	assert_int_equal(f->vcpu.upcall_pending, 0);
	assert_int_equal(f->vcpu.upcall_mask, 0);
	assert_int_equal(f->vcpu.pending_sel, 0);
	/* Raising a masked port latches and does not kick. */
	assert_int_equal(pvio_evtchn_raise(&f->ev, 7), 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 0);
	assert_int_equal(pvio_evtchn_unmask(&f->ev, 7), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[7], 1);
}

/* The basic path, and the shared bits it leaves behind at each step. */
static void test_raise_dispatch_one(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_raise(&f->ev, 70), 1);
	assert_int_equal(f->shared.pending[1], (uint64_t)1 << 6);
	assert_int_equal(f->vcpu.pending_sel, (uint64_t)1 << 1);
	assert_int_equal(f->vcpu.upcall_pending, 1);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 70), 1);

	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log_port[0], 70);
	assert_ptr_equal(f->log_arg[0], arg_of(70));
	assert_ptr_equal(f->log_ev[0], &f->ev);
	assert_int_equal(f->shared.pending[1], 0);
	assert_int_equal(f->vcpu.pending_sel, 0);
	assert_int_equal(f->vcpu.upcall_pending, 0);

	/* Nothing left: a second upcall is a no-op. */
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 0);
	assert_int_equal(f->nlog, 1);
}

/* An event that arrives while masked is latched, then delivered once. */
static void test_mask_latches(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_mask(&f->ev, 5), 0);
	assert_int_equal(pvio_evtchn_is_masked(&f->ev, 5), 1);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 5), 0);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 5), 1);
	/* Masked: no selector bit, no upcall. */
	assert_int_equal(f->vcpu.pending_sel, 0);
	assert_int_equal(f->vcpu.upcall_pending, 0);

	/* An upcall for other reasons must not deliver the masked port. */
	assert_int_equal(pvio_evtchn_raise(&f->ev, 6), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[5], 0);
	assert_int_equal(f->calls[6], 1);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 5), 1);

	/* More events while masked coalesce into the latched one. */
	assert_int_equal(pvio_evtchn_raise(&f->ev, 5), 0);

	/* Unmask re-raises: "kick", then exactly one delivery. */
	assert_int_equal(pvio_evtchn_unmask(&f->ev, 5), 1);
	assert_int_equal(pvio_evtchn_is_masked(&f->ev, 5), 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[5], 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 0);
	assert_int_equal(f->calls[5], 1);

	/* Unmasking an unmasked, idle port does nothing. */
	assert_int_equal(pvio_evtchn_unmask(&f->ev, 5), 0);
	/* Unmasking a masked but idle port does not kick either. */
	assert_int_equal(pvio_evtchn_mask(&f->ev, 5), 0);
	assert_int_equal(pvio_evtchn_unmask(&f->ev, 5), 0);
	assert_int_equal(f->vcpu.upcall_pending, 0);
}

/* Announced while unmasked, masked before the upcall: held for unmask. */
static void test_mask_after_announce(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_raise(&f->ev, 200), 1);
	assert_int_equal(pvio_evtchn_mask(&f->ev, 200), 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 0);
	assert_int_equal(f->calls[200], 0);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 200), 1);
	assert_int_equal(pvio_evtchn_unmask(&f->ev, 200), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[200], 1);
}

/* Unmask while an upcall is already pending: no second kick. */
static void test_unmask_no_double_kick(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_mask(&f->ev, 9), 0);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 9), 0);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 3000), 1);
	assert_int_equal(pvio_evtchn_unmask(&f->ev, 9), 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 2);
	assert_int_equal(f->calls[9], 1);
	assert_int_equal(f->calls[3000], 1);
}

/* Handlers see ascending port order within a word and across words. */
static void test_dispatch_order(void **state)
{
	struct fixture *f = *state;
	static const pvio_evtchn_port_t raised[] = {63, 1,   4095, 64, 0,
						    32, 130, 128,  2};
	static const pvio_evtchn_port_t want[] = {0,  1,   2,	32,  63,
						  64, 128, 130, 4095};
	size_t n = sizeof(raised) / sizeof(raised[0]);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(pvio_evtchn_raise(&f->ev, raised[i]),
				 i == 0 ? 1 : 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), (int)n);
	assert_int_equal(f->nlog, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f->log_port[i], want[i]);
		assert_ptr_equal(f->log_arg[i], arg_of(want[i]));
	}
}

/* A burst of 1000 distinct ports: one kick, each delivered exactly once. */
static void test_burst_one_kick(void **state)
{
	struct fixture *f = *state;
	unsigned int kicks = 0;
	pvio_evtchn_port_t p;
	int rc;

	/* 1000 distinct ports spread over all words: 4093 is odd. */
	for (unsigned int i = 0; i < 1000; i++) {
		p = (pvio_evtchn_port_t)((i * 4093u + 17u) % NR_PORTS);
		rc = pvio_evtchn_raise(&f->ev, p);
		assert_true(rc == 0 || rc == 1);
		kicks += (unsigned int)rc;
	}
	assert_int_equal(kicks, 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1000);
	for (unsigned int i = 0; i < 1000; i++) {
		p = (pvio_evtchn_port_t)((i * 4093u + 17u) % NR_PORTS);
		assert_int_equal(f->calls[p], 1);
	}
	for (unsigned int i = 1; i < f->nlog; i++)
		assert_true(f->log_port[i - 1] < f->log_port[i]);
	assert_int_equal(f->nlog, 1000);
	/* The next burst kicks again, once. */
	assert_int_equal(pvio_evtchn_raise(&f->ev, 1), 1);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 2), 0);
}

/* Repeated raise of a pending port coalesces into one delivery. */
static void test_coalesce(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_raise(&f->ev, 42), 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pvio_evtchn_raise(&f->ev, 42), 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[42], 1);
	/* After dispatch a raise is a new burst. */
	assert_int_equal(pvio_evtchn_raise(&f->ev, 42), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[42], 2);
}

/* A handler that raises its own port gets it again in the same upcall. */
static void test_reraise_in_handler(void **state)
{
	struct fixture *f = *state;

	f->reraise = 77;
	assert_int_equal(pvio_evtchn_raise(&f->ev, 77), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 2);
	assert_int_equal(f->calls[77], 2);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 77), 0);
	assert_int_equal(f->vcpu.upcall_pending, 0);
}

static void test_clear(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_clear(&f->ev, 11), 0);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 11), 1);
	assert_int_equal(pvio_evtchn_clear(&f->ev, 11), 1);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 11), 0);
	/* The upcall finds the selector bit but nothing to deliver. */
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 0);
	assert_int_equal(f->calls[11], 0);
}

/* Events on unbound ports are dropped and counted, never called. */
static void test_unbound_stray(void **state)
{
	struct fixture *f = *state;
	struct pvio_evtchn_handler small[8];
	struct pvio_evtchn ev;

	assert_int_equal(pvio_evtchn_unbind(&f->ev, 12), 0);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 12), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 0);
	assert_int_equal(f->ev.stray, 1);
	assert_int_equal(pvio_evtchn_is_pending(&f->ev, 12), 0);

	/* A table smaller than the port space: ports beyond it are stray. */
	assert_int_equal(pvio_evtchn_init(&ev, &f->shared, &f->vcpu, small, 8),
			 0);
	assert_int_equal(pvio_evtchn_bind(&ev, 7, record, NULL), 0);
	assert_int_equal(pvio_evtchn_bind(&ev, 8, record, NULL), -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_unbind(&ev, 8), -PVIO_EINVAL);
	assert_int_equal(pvio_evtchn_raise(&ev, 4000), 1);
	assert_int_equal(pvio_evtchn_dispatch(&ev), 0);
	assert_int_equal(ev.stray, 1);
}

/* Hostile port numbers are rejected and touch nothing. */
static void test_hostile_ports(void **state)
{
	struct fixture *f = *state;
	static const pvio_evtchn_port_t bad[] = {
		NR_PORTS,    NR_PORTS + 1,	    NR_PORTS * 2,
		0x7fffffffu, 0x80000000u,	    0xfffff000u,
		0xffffffffu, (pvio_evtchn_port_t)-1};
	struct pvio_evtchn_shared before;
	struct pvio_evtchn_vcpu vbefore;

	memcpy(&before, &f->shared, sizeof(before));
	memcpy(&vbefore, &f->vcpu, sizeof(vbefore));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pvio_evtchn_raise(&f->ev, bad[i]),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_mask(&f->ev, bad[i]),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_unmask(&f->ev, bad[i]),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_clear(&f->ev, bad[i]),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_is_pending(&f->ev, bad[i]),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_is_masked(&f->ev, bad[i]),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_bind(&f->ev, bad[i], record, NULL),
				 -PVIO_EINVAL);
		assert_int_equal(pvio_evtchn_unbind(&f->ev, bad[i]),
				 -PVIO_EINVAL);
	}
	assert_memory_equal(&before, &f->shared, sizeof(before));
	assert_memory_equal(&vbefore, &f->vcpu, sizeof(vbefore));
	/* The edges of the valid range work. */
	assert_int_equal(pvio_evtchn_raise(&f->ev, 0), 1);
	assert_int_equal(pvio_evtchn_raise(&f->ev, NR_PORTS - 1), 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 2);
}

/*
 * A hostile peer writing garbage into the shared bitmaps and selector can
 * only make us deliver spurious events on ports that exist: every bit of
 * every word names a port inside the table.
 */
static void test_hostile_shared_garbage(void **state)
{
	struct fixture *f = *state;

	memset(f->shared.pending, 0xff, sizeof(f->shared.pending));
	f->vcpu.pending_sel = ~(uint64_t)0;
	f->vcpu.upcall_pending = 0xff;
	f->vcpu.pad[0] = 0xaa;
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), NR_PORTS);
	for (pvio_evtchn_port_t p = 0; p < NR_PORTS; p++)
		assert_int_equal(f->calls[p], 1);
	assert_int_equal(f->vcpu.upcall_pending, 0);
	assert_int_equal(f->vcpu.pending_sel, 0);
}

/* upcall_mask: events latch, no kick, enable reports the missed upcall. */
static void test_upcall_mask(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pvio_evtchn_upcall_disable(&f->ev), 0);
	assert_int_equal(f->vcpu.upcall_mask, 1);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 100), 0);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 101), 0);
	assert_int_equal(f->vcpu.upcall_pending, 1);
	assert_int_equal(pvio_evtchn_upcall_enable(&f->ev), 1);
	assert_int_equal(f->vcpu.upcall_mask, 0);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 2);
	/* Enable with nothing pending reports 0; kicks resume. */
	assert_int_equal(pvio_evtchn_upcall_disable(&f->ev), 0);
	assert_int_equal(pvio_evtchn_upcall_enable(&f->ev), 0);
	assert_int_equal(pvio_evtchn_raise(&f->ev, 100), 1);
	assert_int_equal(pvio_evtchn_dispatch(&f->ev), 1);
	assert_int_equal(f->calls[100], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_init_args),
		T(test_shared_init_mask_all),
		T(test_raise_dispatch_one),
		T(test_mask_latches),
		T(test_mask_after_announce),
		T(test_unmask_no_double_kick),
		T(test_dispatch_order),
		T(test_burst_one_kick),
		T(test_coalesce),
		T(test_reraise_in_handler),
		T(test_clear),
		T(test_unbound_stray),
		T(test_hostile_ports),
		T(test_hostile_shared_garbage),
		T(test_upcall_mask),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
