/* SPDX-License-Identifier: MIT */
/*
 * The xenbus handshake transition function: the state table of
 * include/pvio/xenbus.h, with no I/O, no libc and no allocation, so that
 * tests/xenbus can run it over every input and a guest kernel can link it.
 */
#include "pvio/xenbus.h"

#define ST_UNKNOWN XenbusStateUnknown
#define ST_INITIALISING XenbusStateInitialising
#define ST_INITWAIT XenbusStateInitWait
#define ST_INITIALISED XenbusStateInitialised
#define ST_CONNECTED XenbusStateConnected
#define ST_CLOSING XenbusStateClosing
#define ST_CLOSED XenbusStateClosed
#define ST_RECONFIGURING XenbusStateReconfiguring
#define ST_RECONFIGURED XenbusStateReconfigured

/* Flags that only describe one connection. */
#define F_CONN                                                                 \
	(PVIO_XENBUS_F_LIVE | PVIO_XENBUS_F_PEER_UP | PVIO_XENBUS_F_STALE)

const char *pvio_xenbus_state_name(int state)
{
	static const char *const names[] = {
		"Unknown",     "Initialising",	"InitWait",
		"Initialised", "Connected",	"Closing",
		"Closed",      "Reconfiguring", "Reconfigured"};

	if (state < 0 || state > ST_RECONFIGURED)
		return "invalid";
	return names[state];
}

struct st {
	unsigned int a;
	int next;
	unsigned int fl;
};

static void write_state(struct st *s, int own, int state)
{
	if (state != own) {
		s->a |= PVIO_XENBUS_A_WRITE;
		s->next = state;
	}
}

/* Undo connect if it is live; every path that connects or publishes
 * anew goes through here first, so connect/disconnect always pair. */
static void drop(struct st *s)
{
	if (s->fl & PVIO_XENBUS_F_LIVE)
		s->a |= PVIO_XENBUS_A_DISCONNECT;
	s->fl &= ~F_CONN;
}

static void publish(struct st *s, int own)
{
	drop(s);
	s->a |= PVIO_XENBUS_A_PUBLISH | PVIO_XENBUS_A_WRITE;
	s->next = ST_INITWAIT;
	(void)own;
}

static void connect_(struct st *s, int own, int state)
{
	drop(s);
	s->a |= PVIO_XENBUS_A_CONNECT;
	s->fl |= PVIO_XENBUS_F_LIVE;
	write_state(s, own, state);
}

static void backend(struct st *s, int own, int p)
{
	if (p != ST_CONNECTED)
		s->fl &= ~PVIO_XENBUS_F_STALE;
	switch (p) {
	case ST_UNKNOWN:
	case ST_INITIALISING:
	case ST_INITWAIT:
		if (own != ST_INITWAIT || (s->fl & PVIO_XENBUS_F_LIVE))
			publish(s, own);
		break;
	case ST_INITIALISED:
		if (own == ST_INITWAIT && !(s->fl & PVIO_XENBUS_F_LIVE))
			connect_(s, own, ST_CONNECTED);
		else if (own == ST_CONNECTED && (s->fl & PVIO_XENBUS_F_LIVE)) {
			/* Frontend went Connected -> Initialised: it reset
			 * its rings (restarted handshake). */
			if (s->fl & PVIO_XENBUS_F_PEER_UP)
				publish(s, own);
		} else
			publish(s, own);
		break;
	case ST_CONNECTED:
		if (own == ST_CONNECTED && (s->fl & PVIO_XENBUS_F_LIVE))
			s->fl |= PVIO_XENBUS_F_PEER_UP;
		else if (own == ST_INITWAIT && !(s->fl & PVIO_XENBUS_F_LIVE)) {
			if (!(s->fl & PVIO_XENBUS_F_STALE)) {
				connect_(s, own, ST_CONNECTED);
				s->fl |= PVIO_XENBUS_F_PEER_UP;
			}
		} else {
			publish(s, own);
			s->fl |= PVIO_XENBUS_F_STALE;
		}
		break;
	case ST_CLOSING:
		drop(s);
		if (own != ST_CLOSING && own != ST_CLOSED)
			write_state(s, own, ST_CLOSING);
		break;
	case ST_CLOSED:
		drop(s);
		write_state(s, own, ST_CLOSED);
		break;
	default: /* Reconfiguring/Reconfigured: not supported */
		s->a |= PVIO_XENBUS_A_REPORT;
		break;
	}
}

static void frontend(struct st *s, int own, int p)
{
	bool live = s->fl & PVIO_XENBUS_F_LIVE;

	switch (p) {
	case ST_UNKNOWN:
	case ST_INITIALISING:
		drop(s);
		write_state(s, own, ST_INITIALISING);
		break;
	case ST_INITWAIT:
	case ST_INITIALISED:
		if (own == ST_INITIALISING || own == ST_CLOSED ||
		    own == ST_CONNECTED || (own == ST_INITIALISED && !live))
			connect_(s, own, ST_INITIALISED);
		break;
	case ST_CONNECTED:
		if (own == ST_INITIALISED && live) {
			s->a |= PVIO_XENBUS_A_CONNECTED;
			write_state(s, own, ST_CONNECTED);
		} else if (own == ST_CLOSED ||
			   (!live &&
			    (own == ST_INITIALISED || own == ST_CONNECTED))) {
			/* Not ours: make the backend reset. */
			drop(s);
			write_state(s, own, ST_INITIALISING);
		}
		break;
	case ST_CLOSING:
	case ST_CLOSED:
		drop(s);
		write_state(s, own, ST_CLOSED);
		break;
	default:
		s->a |= PVIO_XENBUS_A_REPORT;
		break;
	}
}

static void closing(struct st *s, enum pvio_xenbus_role role, int own, int p)
{
	if (role == PVIO_XENBUS_BACKEND) {
		/* Unmap first: then the frontend may free its pages. */
		drop(s);
		if (own != ST_CLOSING && own != ST_CLOSED)
			write_state(s, own, ST_CLOSING);
		else if (own == ST_CLOSING && p != ST_INITIALISED &&
			 p != ST_CONNECTED)
			write_state(s, own, ST_CLOSED);
		return;
	}
	if (own != ST_CLOSING && own != ST_CLOSED) {
		/* Keep the rings: the backend may still map them. */
		write_state(s, own, ST_CLOSING);
	} else if (p != ST_CONNECTED || own == ST_CLOSED) {
		drop(s);
		write_state(s, own, ST_CLOSED);
	}
}

void pvio_xenbus_fsm_step(const struct pvio_xenbus_fsm *fsm, int other,
			  enum pvio_xenbus_event ev,
			  struct pvio_xenbus_step *out)
{
	struct st s = {.a = 0, .next = fsm->own, .fl = fsm->flags};
	int own = fsm->own;

	if (s.fl & PVIO_XENBUS_F_REMOVED)
		goto done; /* nothing more to do, ever */
	if (other < ST_UNKNOWN || other > ST_RECONFIGURED) {
		s.a |= PVIO_XENBUS_A_REPORT;
		other = ST_UNKNOWN;
	}
	if (own < ST_INITIALISING || own > ST_CLOSED) {
		/* Cannot come from the I/O layer; start over safely. */
		s.a |= PVIO_XENBUS_A_REPORT;
		own = ST_INITIALISING;
		s.next = own;
	}
	switch (ev) {
	case PVIO_XENBUS_EV_REMOVED:
		drop(&s);
		s.fl |= PVIO_XENBUS_F_REMOVED;
		s.next = ST_CLOSED;
		goto done;
	case PVIO_XENBUS_EV_CONNECT_FAILED:
		/* LIVE stays as it is: a failed connect left nothing live
		 * (the I/O layer cleared it), a failed 'connected' did. */
		s.a |= PVIO_XENBUS_A_REPORT;
		s.fl &= ~(PVIO_XENBUS_F_PEER_UP | PVIO_XENBUS_F_STALE);
		write_state(&s, own, ST_CLOSING);
		goto done;
	case PVIO_XENBUS_EV_RESET:
		drop(&s);
		s.fl &= ~PVIO_XENBUS_F_CLOSE;
		/* The store already says Initialising. */
		own = ST_INITIALISING;
		s.next = own;
		break;
	case PVIO_XENBUS_EV_CLOSE:
		s.fl |= PVIO_XENBUS_F_CLOSE;
		break;
	case PVIO_XENBUS_EV_CHANGED:
		break;
	default:
		s.a |= PVIO_XENBUS_A_REPORT;
		goto done;
	}
	if (s.fl & PVIO_XENBUS_F_CLOSE)
		closing(&s, fsm->role, own, other);
	else if (fsm->role == PVIO_XENBUS_BACKEND)
		backend(&s, own, other);
	else
		frontend(&s, own, other);
done:
	out->actions = s.a;
	out->next = s.next;
	out->flags = s.fl;
}
