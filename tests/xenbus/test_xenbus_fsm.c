/* SPDX-License-Identifier: MIT */
/*
 * The xenbus transition function (libxenbus/xenbus_fsm.c) without a
 * daemon:
 *  - every (role, own, flags, other, event) input, garbage included,
 *    against the invariants the state table promises;
 *  - the rows of the table in include/pvio/xenbus.h, one by one;
 *  - a model check: a frontend and a backend machine talking through a
 *    simulated store, stepped in random order (so each misses arbitrary
 *    intermediate states of the other), with backends and frontends
 *    killed and restarted; once quiet, both must be Connected, each live,
 *    and the backend must have mapped the rings the frontend granted
 *    last.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvio/xenbus.h"

#define BE PVIO_XENBUS_BACKEND
#define FE PVIO_XENBUS_FRONTEND
#define A_DIS PVIO_XENBUS_A_DISCONNECT
#define A_PUB PVIO_XENBUS_A_PUBLISH
#define A_CON PVIO_XENBUS_A_CONNECT
#define A_CTD PVIO_XENBUS_A_CONNECTED
#define A_WR PVIO_XENBUS_A_WRITE
#define A_REP PVIO_XENBUS_A_REPORT
#define F_LIVE PVIO_XENBUS_F_LIVE
#define F_CLOSE PVIO_XENBUS_F_CLOSE
#define F_PEER PVIO_XENBUS_F_PEER_UP
#define F_STALE PVIO_XENBUS_F_STALE
#define F_REM PVIO_XENBUS_F_REMOVED

/* Actions that change something (REPORT is only a log line). */
#define A_EFFECT (A_DIS | A_PUB | A_CON | A_CTD | A_WR)

static struct pvio_xenbus_step step(enum pvio_xenbus_role role, int own,
				    unsigned int flags, int other,
				    enum pvio_xenbus_event ev)
{
	struct pvio_xenbus_fsm f = {.role = role, .own = own, .flags = flags};
	struct pvio_xenbus_step s;

	pvio_xenbus_fsm_step(&f, other, ev, &s);
	return s;
}

static void fail_at(enum pvio_xenbus_role role, int own, unsigned int fl,
		    int other, int ev, const struct pvio_xenbus_step *s,
		    const char *why)
{
	print_error("%s: role=%s own=%d flags=%#x other=%d ev=%d -> "
		    "actions=%#x next=%d flags=%#x\n",
		    why, role == BE ? "backend" : "frontend", own, fl, other,
		    ev, s->actions, s->next, s->flags);
	fail();
}

#define CHECK(cond, why)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_at(role, own, fl, other, ev, &s, why);            \
	} while (0)

/* Every input, every invariant. */
static void test_exhaustive_invariants(void **state)
{
	unsigned long inputs = 0;
	int role_i, own, other, ev;
	unsigned int fl;

	(void)state;
	for (role_i = 0; role_i < 2; role_i++) {
		enum pvio_xenbus_role role = role_i ? FE : BE;

		for (own = -1; own <= 9; own++) {
			for (fl = 0; fl < 32; fl++) {
				for (other = -3; other <= 12; other++) {
					for (ev = 0; ev < PVIO_XENBUS_EV_COUNT;
					     ev++) {
						struct pvio_xenbus_step s = step(
							role, own, fl, other,
							(enum pvio_xenbus_event)
								ev);
						bool live = fl & F_LIVE;
						bool valid_own =
							own >= 1 && own <= 6;
						/* RESET restarts from 1. */
						int own_eff =
							valid_own && ev != PVIO_XENBUS_EV_RESET
								? own
								: 1;
						inputs++;

						if (fl & F_REM) {
							CHECK(s.actions == 0 &&
								      s.next ==
									      own &&
								      s.flags ==
									      fl,
							      "removed device "
							      "acts");
							continue;
						}
						CHECK(!(s.actions & A_DIS) ||
							      live,
						      "disconnect without "
						      "connect");
						CHECK(!(s.actions & A_CON) ||
							      !live ||
							      (s.actions &
							       A_DIS),
						      "connect while live");
						if (ev !=
						    PVIO_XENBUS_EV_CONNECT_FAILED)
							CHECK(!!(s.flags &
								 F_LIVE) ==
								      ((s.actions &
									A_CON) ||
								       (live &&
									!(s.actions &
									  A_DIS))),
							      "LIVE flag does "
							      "not follow "
							      "actions");
						else
							CHECK(!(s.actions &
								(A_CON |
								 A_DIS)) &&
								      (s.flags &
								       F_LIVE) ==
									      (fl &
									       F_LIVE),
							      "connect failure "
							      "touches "
							      "resources");
						if (s.actions & A_WR)
							CHECK(s.next >= 1 &&
								      s.next <=
									      6 &&
								      (s.next !=
									       own_eff ||
								       (s.actions &
									A_PUB)),
							      "bad or useless "
							      "write");
						else if (ev ==
							 PVIO_XENBUS_EV_REMOVED)
							CHECK(s.next == 6,
							      "removed: not "
							      "Closed");
						else if (ev ==
							 PVIO_XENBUS_EV_RESET)
							CHECK(s.next == 1,
							      "reset: not "
							      "Initialising");
						else
							CHECK(s.next == own_eff,
							      "state changed "
							      "without a "
							      "write");
						if (ev ==
						    PVIO_XENBUS_EV_REMOVED)
							CHECK(!(s.actions &
								~(A_DIS |
								  A_REP)) &&
								      (s.flags &
								       F_REM) &&
								      !(s.flags &
									F_LIVE),
							      "removed: writes "
							      "or stays live");
						if (role == BE) {
							CHECK(!(s.actions &
								A_CTD),
							      "backend "
							      "'connected'");
							CHECK(!(s.actions &
								A_WR) ||
								      s.next !=
									      3,
							      "backend writes "
							      "Initialised");
							CHECK(!(s.actions &
								A_CON) ||
								      s.next ==
									      4,
							      "backend connect "
							      "not to "
							      "Connected");
						} else {
							CHECK(!(s.actions &
								A_PUB),
							      "frontend "
							      "publishes");
							CHECK(!(s.actions &
								A_WR) ||
								      s.next !=
									      2,
							      "frontend writes "
							      "InitWait");
							CHECK(!(s.actions &
								A_CON) ||
								      s.next ==
									      3,
							      "frontend "
							      "connect "
							      "not to "
							      "Initialised");
							CHECK(!(s.actions &
								A_CTD) ||
								      s.next ==
									      4,
							      "connected not "
							      "to Connected");
						}
						CHECK(!(s.actions & A_PUB) ||
							      ((s.actions &
								A_WR) &&
							       s.next == 2),
						      "publish without "
						      "InitWait");
						if (s.flags & F_CLOSE)
							CHECK(!(s.actions &
								(A_CON | A_PUB |
								 A_CTD)),
							      "connects while "
							      "closing");
						if (other < 0 || other > 8)
							CHECK(s.actions & A_REP,
							      "garbage not "
							      "reported");
					}
				}
			}
		}
	}
	assert_true(inputs > 10000);
}

/* From every reachable-looking input, repeating the step with the same
 * observation settles within PVIO_XENBUS_MAX_STEPS. */
static void test_settles(void **state)
{
	int role_i, own, other, ev;
	unsigned int fl;

	(void)state;
	for (role_i = 0; role_i < 2; role_i++) {
		enum pvio_xenbus_role role = role_i ? FE : BE;

		for (own = 1; own <= 6; own++)
			for (fl = 0; fl < 16; fl++)
				for (other = -1; other <= 9; other++)
					for (ev = 0; ev < PVIO_XENBUS_EV_COUNT;
					     ev++) {
						struct pvio_xenbus_fsm f = {
							role, own, fl};
						struct pvio_xenbus_step s;
						int i;
						enum pvio_xenbus_event e = ev;

						for (i = 0;; i++) {
							pvio_xenbus_fsm_step(
								&f, other, e,
								&s);
							if (!(s.actions &
							      A_EFFECT) &&
							    s.next == f.own &&
							    s.flags == f.flags)
								break;
							if (i >=
							    PVIO_XENBUS_MAX_STEPS)
								fail_at(role,
									own, fl,
									other,
									ev, &s,
									"does "
									"not "
									"settl"
									"e");
							f.own = s.next;
							f.flags = s.flags;
							e = PVIO_XENBUS_EV_CHANGED;
						}
					}
	}
}

struct row {
	enum pvio_xenbus_role role;
	int own;
	unsigned int flags;
	int other;
	enum pvio_xenbus_event ev;
	unsigned int actions; /* exact, REPORT included */
	int next;
};

/* The table of include/pvio/xenbus.h, row by row. */
static const struct row rows[] = {
	/* backend, fresh: publish on any not-yet-connected frontend */
	{BE, 1, 0, 0, 0, A_PUB | A_WR, 2},
	{BE, 1, 0, 1, 0, A_PUB | A_WR, 2},
	{BE, 2, 0, 1, 0, 0, 2},
	{BE, 2, 0, 0, 0, 0, 2},
	{BE, 2, 0, 3, 0, A_CON | A_WR, 4},
	{BE, 2, 0, 4, 0, A_CON | A_WR, 4}, /* frontend skipped 3 */
	{BE, 2, F_STALE, 4, 0, 0, 2},	   /* stale Connected */
	{BE, 1, 0, 4, 0, A_PUB | A_WR, 2}, /* sets STALE */
	{BE, 1, 0, 3, 0, A_PUB | A_WR, 2}, /* then connect */
	{BE, 4, F_LIVE, 3, 0, 0, 4},	   /* normal transient */
	{BE, 4, F_LIVE, 4, 0, 0, 4},	   /* sets PEER_UP */
	{BE, 4, F_LIVE | F_PEER, 3, 0, A_DIS | A_PUB | A_WR, 2},
	{BE, 4, F_LIVE, 0, 0, A_DIS | A_PUB | A_WR, 2}, /* frontend gone */
	{BE, 4, F_LIVE, 1, 0, A_DIS | A_PUB | A_WR, 2}, /* restarted */
	{BE, 4, F_LIVE, -1, 0, A_DIS | A_PUB | A_WR | A_REP, 2},
	{BE, 4, F_LIVE, 5, 0, A_DIS | A_WR, 5},
	{BE, 4, F_LIVE, 6, 0, A_DIS | A_WR, 6},
	{BE, 5, 0, 6, 0, A_WR, 6},
	{BE, 6, 0, 6, 0, 0, 6},
	{BE, 6, 0, 1, 0, A_PUB | A_WR, 2}, /* frontend came back */
	{BE, 4, F_LIVE, 7, 0, A_REP, 4},
	/* backend close */
	{BE, 4, F_LIVE, 4, PVIO_XENBUS_EV_CLOSE, A_DIS | A_WR, 5},
	{BE, 5, F_CLOSE, 4, 0, 0, 5}, /* frontend still connected */
	{BE, 5, F_CLOSE, 6, 0, A_WR, 6},
	{BE, 6, F_CLOSE, 1, 0, 0, 6}, /* closed stays closed */
	{BE, 6, F_CLOSE, 1, PVIO_XENBUS_EV_RESET, A_PUB | A_WR, 2},
	{BE, 2, 0, 3, PVIO_XENBUS_EV_CONNECT_FAILED, A_REP | A_WR, 5},
	{BE, 4, F_LIVE, 4, PVIO_XENBUS_EV_REMOVED, A_DIS, 6},
	/* frontend */
	{FE, 1, 0, 0, 0, 0, 1},
	{FE, 1, 0, 1, 0, 0, 1},
	{FE, 1, 0, 2, 0, A_CON | A_WR, 3},
	{FE, 3, F_LIVE, 2, 0, 0, 3},
	{FE, 3, F_LIVE, 4, 0, A_CTD | A_WR, 4},
	{FE, 1, 0, 4, 0, 0, 1}, /* stale backend Connected: wait */
	{FE, 4, F_LIVE, 4, 0, 0, 4},
	{FE, 4, F_LIVE, 2, 0, A_DIS | A_CON | A_WR, 3}, /* backend restart */
	{FE, 4, F_LIVE, 0, 0, A_DIS | A_WR, 1},		/* backend gone */
	{FE, 4, F_LIVE, 1, 0, A_DIS | A_WR, 1},
	{FE, 3, F_LIVE, 0, 0, A_DIS | A_WR, 1},
	{FE, 4, F_LIVE, 12, 0, A_DIS | A_WR | A_REP, 1}, /* garbage */
	{FE, 4, F_LIVE, 5, 0, A_DIS | A_WR, 6},
	{FE, 4, F_LIVE, 6, 0, A_DIS | A_WR, 6},
	{FE, 6, 0, 2, 0, A_CON | A_WR, 3}, /* backend back after close */
	{FE, 6, 0, 4, 0, A_WR, 1},
	{FE, 4, F_LIVE, 8, 0, A_REP, 4},
	/* frontend close: rings stay until the backend has let go */
	{FE, 4, F_LIVE, 4, PVIO_XENBUS_EV_CLOSE, A_WR, 5},
	{FE, 5, F_LIVE | F_CLOSE, 4, 0, 0, 5},
	{FE, 5, F_LIVE | F_CLOSE, 5, 0, A_DIS | A_WR, 6},
	{FE, 5, F_LIVE | F_CLOSE, 0, 0, A_DIS | A_WR, 6},
	{FE, 6, F_CLOSE, 2, 0, 0, 6},
	{FE, 3, F_LIVE, 4, PVIO_XENBUS_EV_CONNECT_FAILED, A_REP | A_WR, 5},
	{FE, 5, F_LIVE, 5, 0, A_DIS | A_WR, 6},
};

static void test_table_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct pvio_xenbus_step s =
			step(r->role, r->own, r->flags, r->other, r->ev);

		if (s.actions != r->actions || s.next != r->next) {
			print_error("row %zu: expected actions=%#x next=%d\n",
				    i, r->actions, r->next);
			fail_at(r->role, r->own, r->flags, r->other, r->ev, &s,
				"table row");
		}
	}
	/* Flags the rows above rely on. */
	assert_true(step(BE, 1, 0, 4, 0).flags & F_STALE);
	assert_false(step(BE, 2, F_STALE, 1, 0).flags & F_STALE);
	assert_true(step(BE, 4, F_LIVE, 4, 0).flags & F_PEER);
	assert_true(step(BE, 2, 0, 4, 0).flags & F_PEER);
	assert_false(step(BE, 2, 0, 3, 0).flags & F_PEER);
	assert_true(step(FE, 4, F_LIVE, 4, PVIO_XENBUS_EV_CLOSE).flags &
		    F_LIVE);
}

/* ------------------------------------------------------------------ */
/* Model check                                                        */
/* ------------------------------------------------------------------ */

struct sim_side {
	bool alive;
	struct pvio_xenbus_fsm f;
	bool live;	  /* resources held (mirror of F_LIVE) */
	unsigned int gen; /* frontend: rings granted; backend: mapped */
	unsigned int connects, disconnects;
	int seen; /* other end's state as last read (acted on later) */
};

struct sim {
	int fe_state, be_state; /* 0: directory absent */
	unsigned int keys_gen;	/* frontend's ring-ref "value" */
	unsigned int next_gen;
	struct sim_side fe, be;
	unsigned int seed, seed0;
};

/* SIM_TRACE=<seed> prints that run's steps (debugging aid). */
static unsigned int trace_seed;

#define TRACE(s, ...)                                                          \
	do {                                                                   \
		if ((s)->seed0 == trace_seed)                                  \
			fprintf(stderr, __VA_ARGS__);                          \
	} while (0)

static unsigned int rnd(struct sim *s)
{
	s->seed = s->seed * 1103515245u + 12345u;
	return (s->seed >> 16) & 0x7fff;
}

static void sim_observe(struct sim *s, bool front)
{
	struct sim_side *me = front ? &s->fe : &s->be;

	me->seen = front ? s->be_state : s->fe_state;
	TRACE(s, "%s observes %d\n", front ? "FE" : "BE", me->seen);
}

/*
 * One evaluation of one side, as xenbus.c does it, acting on what it
 * read at its last sim_observe(): xenbus.c reads the other end's state,
 * then writes its own in a transaction that checks only its own node, so
 * the other end may have moved in between.
 */
static void sim_act(struct sim *s, bool front, int max_steps)
{
	struct sim_side *me = front ? &s->fe : &s->be;
	int *mine = front ? &s->fe_state : &s->be_state;
	int other = me->seen;
	enum pvio_xenbus_event ev = PVIO_XENBUS_EV_CHANGED;
	struct pvio_xenbus_step st;
	int i;

	if (!me->alive)
		return;
	if (*mine == 0) {
		ev = PVIO_XENBUS_EV_REMOVED;
	} else if (*mine != me->f.own) {
		assert_true(*mine == 1); /* only the toolstack writes */
		ev = PVIO_XENBUS_EV_RESET;
	}
	/* Each step's write is visible at once; max_steps 1 lets the other
	 * side run between two steps of one evaluation. */
	for (i = 0; i < max_steps; i++) {
		pvio_xenbus_fsm_step(&me->f, other, ev, &st);
		TRACE(s,
		      "%s own=%d fl=%#x seen=%d ev=%d -> a=%#x next=%d "
		      "fl=%#x\n",
		      front ? "FE" : "BE", me->f.own, me->f.flags, other, ev,
		      st.actions, st.next, st.flags);
		if (!(st.actions & A_EFFECT) && st.next == me->f.own &&
		    st.flags == me->f.flags)
			break;
		if (st.actions & A_DIS) {
			assert_true(me->live);
			me->live = false;
			me->disconnects++;
		}
		if (st.actions & A_CON) {
			assert_false(me->live);
			if (!front && s->fe_state != 3 && s->fe_state != 4) {
				/* xenbus.c re-reads the frontend's state in
				 * the connect transaction: it moved on since
				 * our read, so look again. */
				me->seen = s->fe_state;
				break;
			}
			if (!front)
				assert_true(s->keys_gen != 0);
			me->live = true;
			me->connects++;
			me->gen = front ? ++s->next_gen : s->keys_gen;
		}
		if (st.actions & A_WR) {
			if (*mine == 0)
				break; /* removed: the tx would abort */
			*mine = st.next;
			if (front && (st.actions & A_CON))
				s->keys_gen = me->gen; /* same transaction */
		}
		me->f.own = st.next;
		me->f.flags = st.flags;
		assert_int_equal(!!(me->f.flags & F_LIVE), me->live);
		ev = PVIO_XENBUS_EV_CHANGED;
	}
}

static void sim_eval(struct sim *s, bool front)
{
	sim_observe(s, front);
	sim_act(s, front, 2 * PVIO_XENBUS_MAX_STEPS);
}

static void sim_start(struct sim *s, bool front)
{
	struct sim_side *me = front ? &s->fe : &s->be;

	/* Toolstack: (re)create the directory with state 1. */
	if (front) {
		s->fe_state = 1;
		s->keys_gen = 0;
	} else {
		s->be_state = 1;
	}
	TRACE(s, "start %s\n", front ? "FE" : "BE");
	memset(me, 0, sizeof(*me));
	me->alive = true;
	me->f.role = front ? FE : BE;
	me->f.own = 1;
	/* pvio_xenbus_open() then evaluates; here its steps come later,
	 * interleaved with the other side's. */
	sim_observe(s, front);
}

/* The process dies; its state stays in the store until the toolstack
 * cleans up (sim_cleanup), which it may or may not do before restarting
 * it (sim_start rewrites state 1 either way). */
static void sim_kill(struct sim *s, bool front)
{
	TRACE(s, "kill %s\n", front ? "FE" : "BE");
	(front ? &s->fe : &s->be)->alive = false;
}

static void sim_cleanup(struct sim *s, bool front)
{
	if ((front ? &s->fe : &s->be)->alive)
		return;
	TRACE(s, "cleanup %s\n", front ? "FE" : "BE");
	if (front) {
		s->fe_state = 0;
		s->keys_gen = 0;
	} else {
		s->be_state = 0;
	}
}

static void sim_run(unsigned int seed, unsigned int chaos)
{
	struct sim s;
	unsigned int i, quiet;

	memset(&s, 0, sizeof(s));
	s.seed = seed;
	s.seed0 = seed;
	sim_start(&s, (rnd(&s) & 1) != 0);
	sim_start(&s, !s.fe.alive);
	for (i = 0; i < chaos; i++) {
		unsigned int r = rnd(&s) % 100;

		if (r < 20)
			sim_eval(&s, true);
		else if (r < 40)
			sim_eval(&s, false);
		else if (r < 50)
			sim_observe(&s, true);
		else if (r < 60)
			sim_observe(&s, false);
		else if (r < 70)
			sim_act(&s, true, 1);
		else if (r < 80)
			sim_act(&s, false, 1);
		else if (r < 86)
			sim_kill(&s, false);
		else if (r < 92)
			sim_kill(&s, true);
		else if (r < 96)
			sim_cleanup(&s, r & 1);
		if (!s.be.alive && rnd(&s) % 4 == 0)
			sim_start(&s, false);
		if (!s.fe.alive && rnd(&s) % 4 == 0)
			sim_start(&s, true);
	}
	if (!s.be.alive)
		sim_start(&s, false);
	if (!s.fe.alive)
		sim_start(&s, true);
	/* Quiet: both keep reacting until nothing changes. */
	for (quiet = 0, i = 0; quiet < 4 && i < 100; i++) {
		int fe0 = s.fe_state, be0 = s.be_state;

		sim_eval(&s, (rnd(&s) & 1) != 0);
		sim_eval(&s, true);
		sim_eval(&s, false);
		quiet = (fe0 == s.fe_state && be0 == s.be_state) ? quiet + 1
								 : 0;
	}
	if (s.fe_state != 4 || s.be_state != 4 || !s.fe.live || !s.be.live ||
	    s.be.gen != s.fe.gen) {
		print_error("seed %u: fe=%d be=%d fe.live=%d be.live=%d "
			    "fe.gen=%u be.gen=%u\n",
			    seed, s.fe_state, s.be_state, s.fe.live, s.be.live,
			    s.fe.gen, s.be.gen);
		fail();
	}
	/* Pairing per incarnation: live == connects - disconnects. */
	assert_int_equal(s.fe.connects - s.fe.disconnects, 1);
	assert_int_equal(s.be.connects - s.be.disconnects, 1);
}

static void test_model_check(void **state)
{
	unsigned int seed;

	(void)state;
	if (getenv("SIM_TRACE") != NULL)
		trace_seed = (unsigned int)atoi(getenv("SIM_TRACE"));
	for (seed = 1; seed <= 200000; seed++)
		sim_run(seed, seed % 200);
}

/* Backend restart seen only as its final InitWait by a Connected
 * frontend: a new connect with new rings, and the backend maps those. */
static void test_model_missed_restart(void **state)
{
	struct sim s;

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_start(&s, false);
	sim_eval(&s, false);
	sim_start(&s, true);
	sim_eval(&s, true);
	sim_eval(&s, false);
	sim_eval(&s, true);
	assert_int_equal(s.fe_state, 4);
	assert_int_equal(s.be_state, 4);
	assert_int_equal(s.fe.connects, 1);
	sim_kill(&s, false);
	sim_cleanup(&s, false);
	sim_start(&s, false); /* frontend saw none of it */
	sim_eval(&s, false);
	assert_int_equal(s.be_state, 2);
	assert_true(s.be.f.flags & F_STALE);
	sim_eval(&s, true); /* sees InitWait while Connected */
	assert_int_equal(s.fe.connects, 2);
	assert_int_equal(s.fe.disconnects, 1);
	assert_int_equal(s.fe_state, 3);
	sim_eval(&s, false);
	sim_eval(&s, true);
	assert_int_equal(s.fe_state, 4);
	assert_int_equal(s.be_state, 4);
	assert_int_equal(s.be.gen, s.fe.gen);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(pvio_xenbus_state_name(2), "InitWait");
	assert_string_equal(pvio_xenbus_state_name(8), "Reconfigured");
	assert_string_equal(pvio_xenbus_state_name(9), "invalid");
	assert_string_equal(pvio_xenbus_state_name(-1), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaustive_invariants),
		cmocka_unit_test(test_settles),
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_model_missed_restart),
		cmocka_unit_test(test_model_check),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
