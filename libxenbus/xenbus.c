/* SPDX-License-Identifier: MIT */
/*
 * pvio_xenbus: the xenstore side of the handshake.  xenbus_fsm.c decides;
 * this file observes (own state, other end's path and state), carries out
 * the decided actions and writes states in transactions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvio/io/xs_wire.h"
#include "pvio/xenbus.h"

#define TX_RETRIES 32
#define DEFAULT_CLOSE_MS 2000
#define POLL_MS 10
/* Bound on re-running the whole observation after a conflicting write. */
#define EVAL_ROUNDS 8

struct pvio_xenbus_dev {
	struct pvio_xs *xs;
	const struct pvio_xenbus_ops *ops;
	void *ctx;
	enum pvio_xenbus_role role;
	int close_timeout_ms;
	char *path;
	char *type;
	char *token;
	char *state_path;
	char *other_path; /* watched; NULL while unknown */
	uint32_t other_id;
	int other_state;       /* last observed, may be GARBAGE */
	int last_report_other; /* to report a garbage value once */
	struct pvio_xenbus_fsm fsm;
};

static void report(struct pvio_xenbus_dev *dev, int err, const char *what)
{
	if (dev->ops->report != NULL)
		dev->ops->report(dev, dev->ctx, err, what);
}

/* Strict "0".."8" or an error: the state comes from a hostile peer. */
static int parse_state(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 3)
		return PVIO_XENBUS_STATE_GARBAGE;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PVIO_XENBUS_STATE_GARBAGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v <= XenbusStateReconfigured ? (int)v
					    : PVIO_XENBUS_STATE_GARBAGE;
}

/* State at dir/state: 0..8, GARBAGE, or -ENOENT / other -errno. */
static int read_state(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
		      int *state)
{
	char path[XENSTORE_ABS_PATH_MAX + 16], *v = NULL;
	size_t len = 0;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/state", dir) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	r = pvio_xs_read(xs, tx, path, &v, &len);
	if (r < 0)
		return r;
	*state = parse_state(v, len);
	free(v);
	return 0;
}

int pvio_xenbus_read_uint(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
			  const char *key, uint64_t max, uint64_t *out)
{
	char path[XENSTORE_ABS_PATH_MAX + 1], *v = NULL;
	size_t len = 0, i;
	uint64_t x = 0;
	int r;

	if (dir == NULL || key == NULL || out == NULL)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	r = pvio_xs_read(xs, tx, path, &v, &len);
	if (r < 0)
		return r;
	r = len == 0 || len > 20 ? -EINVAL : 0;
	for (i = 0; r == 0 && i < len; i++) {
		unsigned int d = (unsigned char)v[i] - '0';

		if (d > 9)
			r = -EINVAL;
		else if (x > (UINT64_MAX - d) / 10)
			r = -ERANGE;
		else
			x = x * 10 + d;
	}
	free(v);
	if (r == 0 && x > max)
		r = -ERANGE;
	if (r == 0)
		*out = x;
	return r;
}

/* Xenstore path characters, absolute, no "//", no trailing '/'. */
static bool path_ok(const char *p, size_t len)
{
	size_t i;

	if (len < 2 || len > XENSTORE_ABS_PATH_MAX || p[0] != '/' ||
	    p[len - 1] == '/')
		return false;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '/' ||
		      c == '_' || c == '@'))
			return false;
		if (c == '/' && i > 0 && p[i - 1] == '/')
			return false;
	}
	return true;
}

/*
 * The other end's directory from our keys backend/backend-id (frontend)
 * or frontend/frontend-id (backend).  *out NULL if absent or invalid.
 */
static int read_other(struct pvio_xenbus_dev *dev, char **out, uint32_t *id)
{
	const char *key =
		dev->role == PVIO_XENBUS_FRONTEND ? "backend" : "frontend";
	char path[XENSTORE_ABS_PATH_MAX + 1], prefix[40], idkey[16], *v = NULL;
	uint64_t oid;
	size_t len = 0;
	int r;

	*out = NULL;
	snprintf(idkey, sizeof(idkey), "%s-id", key);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dev->path, key) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	r = pvio_xs_read(dev->xs, PVIO_XS_TX_NONE, path, &v, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = pvio_xenbus_read_uint(dev->xs, PVIO_XS_TX_NONE, dev->path, idkey,
				  0xffff, &oid);
	if (r == -ENOENT || r == -EINVAL || r == -ERANGE) {
		report(dev, r, "other end's id key missing or invalid");
		free(v);
		return 0;
	}
	if (r < 0) {
		free(v);
		return r;
	}
	snprintf(prefix, sizeof(prefix), "/local/domain/%" PRIu64 "/", oid);
	if (strlen(v) != len || !path_ok(v, len) ||
	    strncmp(v, prefix, strlen(prefix)) != 0) {
		report(dev, -EINVAL, "other end's path invalid");
		free(v);
		return 0;
	}
	*out = v;
	*id = (uint32_t)oid;
	return 0;
}

/* Follow the other end's directory: watch the new one, drop the old. */
static int track_other(struct pvio_xenbus_dev *dev)
{
	char *np = NULL;
	uint32_t id = 0;
	int r;

	r = read_other(dev, &np, &id);
	if (r < 0)
		return r;
	if (np != NULL && dev->other_path != NULL &&
	    strcmp(np, dev->other_path) == 0) {
		free(np);
		dev->other_id = id;
		return 0;
	}
	if (dev->other_path != NULL) {
		(void)pvio_xs_unwatch(dev->xs, dev->other_path, dev->token);
		free(dev->other_path);
		dev->other_path = NULL;
	}
	if (np != NULL) {
		r = pvio_xs_watch(dev->xs, np, dev->token);
		if (r < 0) {
			free(np);
			return r;
		}
		dev->other_path = np;
		dev->other_id = id;
	}
	return 0;
}

static int observe_other(struct pvio_xenbus_dev *dev)
{
	int st = XenbusStateUnknown, r;

	r = track_other(dev);
	if (r < 0)
		return r;
	if (dev->other_path != NULL) {
		r = read_state(dev->xs, PVIO_XS_TX_NONE, dev->other_path, &st);
		if (r == -ENOENT || r == -EACCES)
			st = XenbusStateUnknown;
		else if (r < 0)
			return r;
	}
	dev->other_state = st;
	return 0;
}

static void do_disconnect(struct pvio_xenbus_dev *dev)
{
	if (dev->fsm.flags & PVIO_XENBUS_F_LIVE) {
		dev->fsm.flags &= ~PVIO_XENBUS_F_LIVE;
		dev->ops->disconnect(dev, dev->ctx);
	}
}

/*
 * Write 'next' in one transaction with the callbacks of 'actions' (and,
 * for a backend's CONNECT, the connect itself: see the header).
 * 1: done; 0: our node or the frontend's changed or vanished (re-run the
 * observation); 3: connect said not yet (-EAGAIN/-ENOENT); -errno
 * otherwise.  *cb_err gets a callback's error.
 */
static int write_tx(struct pvio_xenbus_dev *dev, unsigned int actions, int next,
		    int *cb_err)
{
	bool be_connect = (actions & PVIO_XENBUS_A_CONNECT) &&
			  dev->role == PVIO_XENBUS_BACKEND;
	char val[4];
	unsigned int i;
	int r, seen, ps;

	*cb_err = 0;
	snprintf(val, sizeof(val), "%d", next);
	for (i = 0; i < TX_RETRIES; i++) {
		pvio_xs_tx_t tx;

		r = pvio_xs_tx_start(dev->xs, &tx);
		if (r < 0)
			return r;
		r = read_state(dev->xs, tx, dev->path, &seen);
		if (r == -ENOENT) {
			(void)pvio_xs_tx_end(dev->xs, tx, false);
			return 0;
		}
		if (r < 0)
			goto abort;
		/* Someone else's Closing/Closed/Initialising must be seen by
		 * the machine before we overwrite it. */
		if (seen != dev->fsm.own &&
		    (seen == XenbusStateInitialising ||
		     seen == XenbusStateClosing || seen == XenbusStateClosed)) {
			(void)pvio_xs_tx_end(dev->xs, tx, false);
			return 0;
		}
		if (be_connect) {
			/* The frontend's state and keys, read in one
			 * transaction that also writes Connected: the
			 * commit fails if the frontend changed them. */
			if (dev->other_path == NULL)
				ps = XenbusStateUnknown;
			else if (read_state(dev->xs, tx, dev->other_path, &ps) <
				 0)
				ps = XenbusStateUnknown;
			if (ps != XenbusStateInitialised &&
			    ps != XenbusStateConnected) {
				(void)pvio_xs_tx_end(dev->xs, tx, false);
				return 0;
			}
			r = dev->ops->connect(dev, tx, dev->ctx);
			if (r == -EAGAIN || r == -ENOENT) {
				(void)pvio_xs_tx_end(dev->xs, tx, false);
				return 3;
			}
			if (r < 0) {
				*cb_err = r;
				r = 0;
				goto abort;
			}
			dev->fsm.flags |= PVIO_XENBUS_F_LIVE;
		}
		if ((actions & PVIO_XENBUS_A_PUBLISH) &&
		    dev->ops->publish != NULL) {
			r = dev->ops->publish(dev, tx, dev->ctx);
			if (r < 0) {
				*cb_err = r;
				goto abort;
			}
		}
		if ((actions & PVIO_XENBUS_A_CONNECT) &&
		    dev->role == PVIO_XENBUS_FRONTEND &&
		    dev->ops->write_keys != NULL) {
			r = dev->ops->write_keys(dev, tx, dev->ctx);
			if (r < 0) {
				*cb_err = r;
				goto abort;
			}
		}
		r = pvio_xs_write(dev->xs, tx, dev->state_path, val,
				  strlen(val));
		if (r < 0)
			goto abort;
		r = pvio_xs_tx_end(dev->xs, tx, true);
		if (r == 0)
			return 1;
		if (be_connect)
			do_disconnect(dev); /* mapped what may be stale */
		if (r != -EAGAIN)
			return r;
		/* Conflict: look at everything again rather than retry
		 * blindly: the frontend may have moved on. */
		if (be_connect)
			return 0;
		continue;
	abort:
		(void)pvio_xs_tx_end(dev->xs, tx, false);
		if (be_connect)
			do_disconnect(dev);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

/*
 * Carry out one step.  1: applied, run the machine again; 0: settled or
 * must wait (connect said -EAGAIN); 2: re-observe (our node changed
 * under us); -errno: xenstore failure.
 */
static int apply(struct pvio_xenbus_dev *dev, const struct pvio_xenbus_step *st)
{
	unsigned int a = st->actions;
	int r, cb_err = 0;

	if (a & PVIO_XENBUS_A_REPORT)
		report(dev, -EPROTO, "unexpected xenbus state");
	if (a & PVIO_XENBUS_A_DISCONNECT)
		do_disconnect(dev);
	if ((a & PVIO_XENBUS_A_CONNECT) && dev->role == PVIO_XENBUS_FRONTEND) {
		r = dev->ops->connect(dev, PVIO_XS_TX_NONE, dev->ctx);
		/* -ENOENT: the other end's keys are not (or no longer)
		 * there; its next change brings an event and a retry. */
		if (r == -EAGAIN || r == -ENOENT) {
			/* Nothing live; keep the state, retry on an event. */
			dev->fsm.flags = st->flags & ~PVIO_XENBUS_F_LIVE;
			return 0;
		}
		if (r < 0) {
			dev->fsm.flags = st->flags & ~PVIO_XENBUS_F_LIVE;
			report(dev, r, "connect failed");
			return -ECANCELED; /* caller runs CONNECT_FAILED */
		}
		dev->fsm.flags |= PVIO_XENBUS_F_LIVE;
	}
	if ((a & PVIO_XENBUS_A_CONNECTED) && dev->ops->connected != NULL) {
		r = dev->ops->connected(dev, dev->ctx);
		if (r < 0) {
			report(dev, r, "connected callback failed");
			return -ECANCELED;
		}
	}
	if (a & PVIO_XENBUS_A_WRITE) {
		r = write_tx(dev, a, st->next, &cb_err);
		if (r == 3) {
			/* Backend connect: not yet.  Nothing live. */
			dev->fsm.flags = st->flags & ~PVIO_XENBUS_F_LIVE;
			return 0;
		}
		if (r <= 0 || cb_err < 0) {
			/* Not written: undo a connect made for it. */
			if (a & PVIO_XENBUS_A_CONNECT)
				do_disconnect(dev);
			dev->fsm.flags = (st->flags & ~PVIO_XENBUS_F_LIVE) |
					 (dev->fsm.flags & PVIO_XENBUS_F_LIVE);
			if (cb_err < 0) {
				report(dev, cb_err,
				       "publish/write_keys failed");
				return -ECANCELED;
			}
			return r == 0 ? 2 : r;
		}
	}
	dev->fsm.own = st->next;
	dev->fsm.flags = st->flags;
	return a != 0 ? 1 : 0;
}

static int run(struct pvio_xenbus_dev *dev, enum pvio_xenbus_event ev)
{
	struct pvio_xenbus_step st;
	unsigned int i;
	int r = 0;

	for (i = 0; i < 2 * PVIO_XENBUS_MAX_STEPS; i++) {
		pvio_xenbus_fsm_step(&dev->fsm, dev->other_state, ev, &st);
		/* Garbage: report once per distinct observation. */
		if ((st.actions & PVIO_XENBUS_A_REPORT) &&
		    dev->other_state == dev->last_report_other)
			st.actions &= ~PVIO_XENBUS_A_REPORT;
		else if (st.actions & PVIO_XENBUS_A_REPORT)
			dev->last_report_other = dev->other_state;
		if (st.actions == 0 && st.flags == dev->fsm.flags &&
		    st.next == dev->fsm.own)
			return 0;
		r = apply(dev, &st);
		if (r == -ECANCELED) {
			pvio_xenbus_fsm_step(&dev->fsm, dev->other_state,
					     PVIO_XENBUS_EV_CONNECT_FAILED,
					     &st);
			r = apply(dev, &st);
			if (r == -ECANCELED)
				r = -EIO;
		}
		if (r <= 0 || r == 2)
			return r;
		ev = PVIO_XENBUS_EV_CHANGED;
	}
	return 0;
}

/* Re-read everything and run the machine.  'ev' is CHANGED or CLOSE. */
static int evaluate(struct pvio_xenbus_dev *dev, enum pvio_xenbus_event ev)
{
	unsigned int round;
	int r = 0, seen;

	for (round = 0; round < EVAL_ROUNDS; round++) {
		enum pvio_xenbus_event e = ev;

		if (dev->fsm.flags & PVIO_XENBUS_F_REMOVED)
			return 0;
		r = read_state(dev->xs, PVIO_XS_TX_NONE, dev->path, &seen);
		if (r == -ENOENT) {
			struct pvio_xenbus_step st;

			pvio_xenbus_fsm_step(&dev->fsm, dev->other_state,
					     PVIO_XENBUS_EV_REMOVED, &st);
			return apply(dev, &st) < 0 ? -EIO : 0;
		}
		if (r < 0)
			return r;
		if (seen != dev->fsm.own) {
			if (seen == XenbusStateClosing ||
			    seen == XenbusStateClosed)
				e = PVIO_XENBUS_EV_CLOSE;
			else if (seen == XenbusStateInitialising)
				e = PVIO_XENBUS_EV_RESET;
			else
				report(dev, -EPROTO,
				       "own state changed by someone else");
		}
		r = observe_other(dev);
		if (r < 0)
			return r;
		if (seen != dev->fsm.own &&
		    (seen == XenbusStateClosing || seen == XenbusStateClosed))
			/* The store already holds it: adopt, no rewrite. */
			dev->fsm.own = seen;
		r = run(dev, e);
		if (r != 2)
			return r;
		/* Our node changed under a transaction: look again. */
	}
	return -EAGAIN;
}

int pvio_xenbus_handle(struct pvio_xenbus_dev *dev, const char *path,
		       const char *token)
{
	int r;

	if (dev == NULL)
		return -EINVAL;
	if (token != NULL && strcmp(token, dev->token) != 0)
		return 0;
	(void)path; /* events carry no values: everything is re-read */
	r = evaluate(dev, PVIO_XENBUS_EV_CHANGED);
	return r < 0 ? r : 1;
}

static char *dupfmt(const char *a, const char *b)
{
	size_t la = strlen(a), lb = b != NULL ? strlen(b) : 0;
	char *s = malloc(la + lb + 1);

	if (s != NULL) {
		memcpy(s, a, la);
		if (b != NULL)
			memcpy(s + la, b, lb);
		s[la + lb] = '\0';
	}
	return s;
}

static void dev_free(struct pvio_xenbus_dev *dev)
{
	free(dev->path);
	free(dev->type);
	free(dev->token);
	free(dev->state_path);
	free(dev->other_path);
	free(dev);
}

/* "/local/domain/<n>/backend/<type>/<n>/<n>" or
 * "/local/domain/<n>/device/<type>/<n>": the conventional shapes. */
static bool shape_ok(const char *path, enum pvio_xenbus_role role,
		     const char *type)
{
	const char *kind = role == PVIO_XENBUS_BACKEND ? "backend" : "device";
	char want[64];
	const char *p;
	unsigned int i, nums = role == PVIO_XENBUS_BACKEND ? 2 : 1;

	if (strncmp(path, "/local/domain/", 14) != 0)
		return false;
	p = path + 14;
	if (strspn(p, "0123456789") == 0)
		return false;
	p += strspn(p, "0123456789");
	if ((size_t)snprintf(want, sizeof(want), "/%s/%s/", kind, type) >=
	    sizeof(want))
		return false;
	if (strncmp(p, want, strlen(want)) != 0)
		return false;
	p += strlen(want);
	for (i = 0; i < nums; i++) {
		size_t n = strspn(p, "0123456789");

		if (n == 0)
			return false;
		p += n;
		if (i + 1 < nums) {
			if (*p != '/')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

struct pvio_xenbus_dev *pvio_xenbus_open(struct pvio_xs *xs,
					 const struct pvio_xenbus_cfg *cfg,
					 int *err)
{
	struct pvio_xenbus_dev *dev = NULL;
	int r, seen, cb_err;

	r = -EINVAL;
	if (xs == NULL || cfg == NULL || cfg->path == NULL ||
	    cfg->type == NULL || cfg->ops == NULL ||
	    cfg->ops->connect == NULL || cfg->ops->disconnect == NULL ||
	    (cfg->role != PVIO_XENBUS_BACKEND &&
	     cfg->role != PVIO_XENBUS_FRONTEND) ||
	    !path_ok(cfg->path, strlen(cfg->path)) ||
	    strchr(cfg->type, '/') != NULL ||
	    !shape_ok(cfg->path, cfg->role, cfg->type))
		goto fail;
	r = -ENOMEM;
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		goto fail;
	dev->xs = xs;
	dev->ops = cfg->ops;
	dev->ctx = cfg->ctx;
	dev->role = cfg->role;
	dev->close_timeout_ms = cfg->close_timeout_ms > 0
					? cfg->close_timeout_ms
					: DEFAULT_CLOSE_MS;
	dev->path = dupfmt(cfg->path, NULL);
	dev->type = dupfmt(cfg->type, NULL);
	dev->token = cfg->token != NULL ? dupfmt(cfg->token, NULL)
					: dupfmt("pvio-xenbus:", cfg->path);
	dev->state_path = dupfmt(cfg->path, "/state");
	dev->other_state = XenbusStateUnknown;
	dev->last_report_other = XenbusStateUnknown;
	if (dev->path == NULL || dev->type == NULL || dev->token == NULL ||
	    dev->state_path == NULL)
		goto fail;
	r = read_state(xs, PVIO_XS_TX_NONE, dev->path, &seen);
	if (r < 0)
		goto fail;
	r = pvio_xs_watch(xs, dev->path, dev->token);
	if (r < 0)
		goto fail;
	dev->fsm.role = cfg->role;
	dev->fsm.own = seen; /* for the transaction's check */
	dev->fsm.flags = 0;
	if (seen != XenbusStateInitialising) {
		r = write_tx(dev, 0, XenbusStateInitialising, &cb_err);
		if (r == 0)
			r = -ENOENT; /* removed (or rewritten) meanwhile */
		if (r < 0)
			goto fail_watch;
	}
	dev->fsm.own = XenbusStateInitialising;
	r = evaluate(dev, PVIO_XENBUS_EV_CHANGED);
	if (r < 0)
		goto fail_watch;
	if (err != NULL)
		*err = 0;
	return dev;
fail_watch:
	do_disconnect(dev);
	(void)pvio_xs_unwatch(xs, dev->path, dev->token);
	if (dev->other_path != NULL)
		(void)pvio_xs_unwatch(xs, dev->other_path, dev->token);
fail:
	if (dev != NULL)
		dev_free(dev);
	if (err != NULL)
		*err = r;
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool done_closing(const struct pvio_xenbus_dev *dev)
{
	return (dev->fsm.flags & PVIO_XENBUS_F_REMOVED) ||
	       (dev->fsm.own == XenbusStateClosed &&
		!(dev->fsm.flags & PVIO_XENBUS_F_LIVE));
}

int pvio_xenbus_shutdown(struct pvio_xenbus_dev *dev, int timeout_ms)
{
	int64_t deadline;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = POLL_MS * 1000000L};
	int r, cb_err;

	if (dev == NULL)
		return -EINVAL;
	deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	r = evaluate(dev, PVIO_XENBUS_EV_CLOSE);
	while (!done_closing(dev) && now_ms() < deadline) {
		nanosleep(&ts, NULL);
		r = evaluate(dev, PVIO_XENBUS_EV_CLOSE);
	}
	if (done_closing(dev))
		return r < 0 ? r : 0;
	/* The other end did not let go in time: close anyway. */
	do_disconnect(dev);
	dev->fsm.flags |= PVIO_XENBUS_F_CLOSE;
	r = write_tx(dev, 0, XenbusStateClosed, &cb_err);
	if (r == 1)
		dev->fsm.own = XenbusStateClosed;
	return r < 0 ? r : -ETIMEDOUT;
}

void pvio_xenbus_close(struct pvio_xenbus_dev *dev)
{
	if (dev == NULL)
		return;
	if (!done_closing(dev))
		(void)pvio_xenbus_shutdown(dev, dev->close_timeout_ms);
	/* Whatever happened, connect/disconnect must pair. */
	do_disconnect(dev);
	(void)pvio_xs_unwatch(dev->xs, dev->path, dev->token);
	if (dev->other_path != NULL)
		(void)pvio_xs_unwatch(dev->xs, dev->other_path, dev->token);
	dev_free(dev);
}

enum pvio_xenbus_state pvio_xenbus_state(const struct pvio_xenbus_dev *dev)
{
	return dev != NULL ? (enum pvio_xenbus_state)dev->fsm.own
			   : XenbusStateUnknown;
}

int pvio_xenbus_other_state(const struct pvio_xenbus_dev *dev)
{
	return dev != NULL ? dev->other_state : XenbusStateUnknown;
}

bool pvio_xenbus_removed(const struct pvio_xenbus_dev *dev)
{
	return dev != NULL && (dev->fsm.flags & PVIO_XENBUS_F_REMOVED);
}

bool pvio_xenbus_live(const struct pvio_xenbus_dev *dev)
{
	return dev != NULL && (dev->fsm.flags & PVIO_XENBUS_F_LIVE);
}

const char *pvio_xenbus_path(const struct pvio_xenbus_dev *dev)
{
	return dev->path;
}

const char *pvio_xenbus_other_path(const struct pvio_xenbus_dev *dev)
{
	return dev->other_path;
}

const char *pvio_xenbus_token(const struct pvio_xenbus_dev *dev)
{
	return dev->token;
}

uint32_t pvio_xenbus_other_id(const struct pvio_xenbus_dev *dev)
{
	return dev->other_id;
}

struct pvio_xs *pvio_xenbus_xs(const struct pvio_xenbus_dev *dev)
{
	return dev->xs;
}

void *pvio_xenbus_ctx(const struct pvio_xenbus_dev *dev)
{
	return dev->ctx;
}

enum pvio_xenbus_role pvio_xenbus_role(const struct pvio_xenbus_dev *dev)
{
	return dev->role;
}

static int online_path(const struct pvio_xenbus_dev *dev, char *buf,
		       size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/online", dev->path) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int pvio_xenbus_online(struct pvio_xenbus_dev *dev, bool *online)
{
	uint64_t v;
	int r;

	if (dev == NULL || online == NULL)
		return -EINVAL;
	r = pvio_xenbus_read_uint(dev->xs, PVIO_XS_TX_NONE, dev->path, "online",
				  1, &v);
	if (r == -ENOENT) {
		*online = false; /* Linux's default too */
		return 0;
	}
	if (r < 0)
		return r;
	*online = v == 1;
	return 0;
}

int pvio_xenbus_set_online(struct pvio_xenbus_dev *dev, bool online)
{
	char path[XENSTORE_ABS_PATH_MAX + 16];
	int r;

	if (dev == NULL)
		return -EINVAL;
	r = online_path(dev, path, sizeof(path));
	if (r < 0)
		return r;
	return pvio_xs_write(dev->xs, PVIO_XS_TX_NONE, path, online ? "1" : "0",
			     1);
}

int pvio_xenbus_backend_path(char *buf, size_t size, uint32_t backend_id,
			     const char *type, uint32_t frontend_id,
			     uint32_t devid)
{
	int n;

	if (buf == NULL || type == NULL)
		return -EINVAL;
	n = snprintf(buf, size,
		     "/local/domain/%" PRIu32 "/backend/%s/%" PRIu32
		     "/%" PRIu32,
		     backend_id, type, frontend_id, devid);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int pvio_xenbus_frontend_path(char *buf, size_t size, uint32_t frontend_id,
			      const char *type, uint32_t devid)
{
	int n;

	if (buf == NULL || type == NULL)
		return -EINVAL;
	n = snprintf(buf, size, "/local/domain/%" PRIu32 "/device/%s/%" PRIu32,
		     frontend_id, type, devid);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
