/* SPDX-License-Identifier: MIT */
/*
 * The xenstore side of domains and devices, laid out as libxl lays it out
 * (PROTOCOL-FACTS section 7) so that any Xen driver finds what it expects.
 * Every multi-key update is one transaction, retried when another writer
 * got in between (EAGAIN).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <pvio/io/xenbus.h>
#include <pvio/xs.h>

#include "tool.h"

static int mkdir_perms(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		       const struct pvio_xs_perm *p, unsigned int n)
{
	int rc = pvio_xs_mkdir(xs, tx, path);

	return rc ? rc : pvio_xs_set_perms(xs, tx, path, p, n);
}

/* ---------------------------------------------------------------------- */
/* Domains                                                                */
/* ---------------------------------------------------------------------- */

struct dom_args {
	pvio_domid_t domid;
	const char *name;
	uint32_t memory_mb;
};

static int domain_setup(struct pvio_xs *xs, pvio_xs_tx_t tx, void *a)
{
	const struct dom_args *d = a;
	/* The domain reads its own dir; writes only where libxl lets it. */
	const struct pvio_xs_perm ro[] = {{0, 'n'}, {d->domid, 'r'}};
	const struct pvio_xs_perm rw[] = {{d->domid, 'n'}};
	static const char *const ro_dirs[] = {"device", "control"};
	static const char *const rw_dirs[] = {"data", "drivers", "feature",
					      "attr", "error"};
	char base[64], path[128];
	int rc;

	snprintf(base, sizeof(base), "/local/domain/%u", d->domid);
	rc = mkdir_perms(xs, tx, base, ro, 2);
	for (size_t i = 0; !rc && i < sizeof(ro_dirs) / sizeof(*ro_dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", base, ro_dirs[i]);
		rc = mkdir_perms(xs, tx, path, ro, 2);
	}
	for (size_t i = 0; !rc && i < sizeof(rw_dirs) / sizeof(*rw_dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", base, rw_dirs[i]);
		rc = mkdir_perms(xs, tx, path, rw, 1);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "%s/name", base);
		rc = pvio_xs_printf(xs, tx, path, "%s", d->name);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "%s/domid", base);
		rc = pvio_xs_printf(xs, tx, path, "%u", d->domid);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "%s/memory/target", base);
		rc = pvio_xs_printf(xs, tx, path, "%u", d->memory_mb * 1024U);
	}
	if (!rc) {
		/* The guest acknowledges shutdown requests here. */
		snprintf(path, sizeof(path), "%s/control/shutdown", base);
		rc = pvio_xs_write(xs, tx, path, "", 0);
		if (!rc)
			rc = pvio_xs_set_perms(xs, tx, path, rw, 1);
	}
	return rc;
}

int pvio_tool_xs_domain_setup(struct pvio_xs *xs, pvio_domid_t domid,
			      const char *name, uint32_t memory_mb)
{
	struct dom_args a = {domid, name, memory_mb};

	return pvio_xs_transact(xs, domain_setup, &a);
}

/* ---------------------------------------------------------------------- */
/* Devices                                                                */
/* ---------------------------------------------------------------------- */

/* One key of a device directory. */
struct kv {
	const char *key;
	char val[4200];
};

struct dev_args {
	pvio_domid_t front, back;
	const char *type; /* "vbd" / "vif" */
	uint32_t devid;
	const struct kv *fkeys, *bkeys;
	size_t nf, nb;
};

static int write_keys(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
		      const struct kv *kv, size_t n)
{
	char path[256];
	int rc = 0;

	for (size_t i = 0; !rc && i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kv[i].key);
		rc = pvio_xs_write(xs, tx, path, kv[i].val, strlen(kv[i].val));
	}
	return rc;
}

static void dev_paths(const struct dev_args *a, char *fpath, char *bpath,
		      size_t len)
{
	snprintf(fpath, len, "/local/domain/%u/device/%s/%u", a->front, a->type,
		 a->devid);
	snprintf(bpath, len, "/local/domain/%u/backend/%s/%u/%u", a->back,
		 a->type, a->front, a->devid);
}

static int dev_add(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg)
{
	const struct dev_args *a = arg;
	/* Each end owns its directory; the other end may read it. */
	const struct pvio_xs_perm fperm[] = {{a->front, 'n'}, {a->back, 'r'}};
	const struct pvio_xs_perm bperm[] = {{a->back, 'n'}, {a->front, 'r'}};
	char fpath[128], bpath[128], path[128];
	char *old = NULL;
	int rc;

	dev_paths(a, fpath, bpath, sizeof(fpath));
	rc = pvio_xs_read(xs, tx, fpath, &old, NULL);
	free(old);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;

	/* Backend parents: the backend domain must be able to list them. */
	const struct pvio_xs_perm bparent[] = {{a->back, 'n'}};
	snprintf(path, sizeof(path), "/local/domain/%u/backend", a->back);
	rc = mkdir_perms(xs, tx, path, bparent, 1);
	if (!rc) {
		snprintf(path, sizeof(path), "/local/domain/%u/backend/%s",
			 a->back, a->type);
		rc = mkdir_perms(xs, tx, path, bparent, 1);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "/local/domain/%u/backend/%s/%u",
			 a->back, a->type, a->front);
		rc = mkdir_perms(xs, tx, path, bparent, 1);
	}
	if (!rc) {
		snprintf(path, sizeof(path), "/local/domain/%u/device/%s",
			 a->front, a->type);
		const struct pvio_xs_perm fparent[] = {{0, 'n'},
						       {a->front, 'r'}};
		rc = mkdir_perms(xs, tx, path, fparent, 2);
	}
	if (!rc)
		rc = mkdir_perms(xs, tx, fpath, fperm, 2);
	if (!rc)
		rc = mkdir_perms(xs, tx, bpath, bperm, 2);
	if (!rc)
		rc = write_keys(xs, tx, fpath, a->fkeys, a->nf);
	if (!rc)
		rc = write_keys(xs, tx, bpath, a->bkeys, a->nb);
	return rc;
}

#define KV(k, ...)                                                             \
	do {                                                                   \
		kv[n].key = (k);                                               \
		snprintf(kv[n].val, sizeof(kv[n].val), __VA_ARGS__);           \
		n++;                                                           \
	} while (0)

int pvio_tool_xs_disk_add(struct pvio_xs *xs, pvio_domid_t front,
			  pvio_domid_t back, const struct pvio_tool_disk *d)
{
	struct kv *kv = calloc(24, sizeof(*kv));
	struct dev_args a = {front, back, "vbd", d->devid, kv, kv + 6, 6, 0};
	char fpath[128], bpath[128];
	struct stat st;
	size_t n = 0;
	int rc;

	if (!kv)
		return -ENOMEM;
	dev_paths(&a, fpath, bpath, sizeof(fpath));
	KV("backend", "%s", bpath);
	KV("backend-id", "%u", back);
	KV("state", "%d", XenbusStateInitialising);
	KV("virtual-device", "%u", d->devid);
	KV("device-type", "disk");
	KV("protocol", "x86_64-abi");
	n = 6;
	KV("frontend", "%s", fpath);
	KV("frontend-id", "%u", front);
	KV("online", "1");
	KV("state", "%d", XenbusStateInitialising);
	KV("mode", "%s", d->writable ? "w" : "r");
	KV("params", "%s", d->target);
	KV("type", "%s",
	   d->phy || (stat(d->target, &st) == 0 && S_ISBLK(st.st_mode))
		   ? "phy"
		   : "file");
	KV("dev", "%s", d->vdev);
	KV("device-type", "disk");
	KV("removable", "0");
	KV("bootable", "1");
	if (d->engine[0])
		KV("io-engine", "%s", d->engine);
	a.nb = n - 6;
	rc = pvio_xs_transact(xs, dev_add, &a);
	free(kv);
	return rc;
}

int pvio_tool_xs_vif_add(struct pvio_xs *xs, pvio_domid_t front,
			 pvio_domid_t back, const struct pvio_tool_vif *v)
{
	struct kv *kv = calloc(24, sizeof(*kv));
	struct dev_args a = {front, back, "vif", v->devid, kv, kv + 5, 5, 0};
	char fpath[128], bpath[128];
	size_t n = 0;
	int rc;

	if (!kv)
		return -ENOMEM;
	dev_paths(&a, fpath, bpath, sizeof(fpath));
	KV("backend", "%s", bpath);
	KV("backend-id", "%u", back);
	KV("state", "%d", XenbusStateInitialising);
	KV("handle", "%u", v->devid);
	KV("mac", "%s", v->mac);
	n = 5;
	KV("frontend", "%s", fpath);
	KV("frontend-id", "%u", front);
	KV("online", "1");
	KV("state", "%d", XenbusStateInitialising);
	KV("handle", "%u", v->devid);
	KV("mac", "%s", v->mac);
	KV("bridge", "%s", v->bridge);
	KV("type", "vif");
	if (v->ip[0])
		KV("ip", "%s", v->ip);
	a.nb = n - 5;
	rc = pvio_xs_transact(xs, dev_add, &a);
	free(kv);
	return rc;
}

static int read_int(struct pvio_xs *xs, const char *path, long *out)
{
	char *v = NULL, *end;
	int rc = pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &v, NULL);

	if (rc)
		return rc;
	*out = strtol(v, &end, 10);
	rc = (end == v || *end) ? -EINVAL : 0;
	free(v);
	return rc;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until <bpath>/state is Closed (or gone) or the time is up. */
static void wait_closed(struct pvio_xs *xs, const char *bpath, int timeout_ms)
{
	char spath[160], *p, *tok;
	long deadline = now_ms() + timeout_ms, st;

	snprintf(spath, sizeof(spath), "%s/state", bpath);
	if (pvio_xs_watch(xs, spath, "pvio-detach"))
		return;
	for (;;) {
		int rc = read_int(xs, spath, &st);
		long left = deadline - now_ms();

		if (rc == -ENOENT || (rc == 0 && st == XenbusStateClosed) ||
		    left <= 0)
			break;
		rc = pvio_xs_read_watch(xs, &p, &tok, (int)left);
		if (rc == 0) {
			free(p);
			free(tok);
		} else if (rc != -ETIMEDOUT && rc != -EAGAIN) {
			break;
		}
	}
	pvio_xs_unwatch(xs, spath, "pvio-detach");
}

/* Ask a backend to let go (online=0, Closing) and wait for Closed, as
 * libxl does; one no driver picked up (still Initialising) is not asked. */
static void backend_close(struct pvio_xs *xs, const char *bpath, int timeout_ms)
{
	char path[200];
	long st = 0;

	snprintf(path, sizeof(path), "%s/online", bpath);
	pvio_xs_write(xs, PVIO_XS_TX_NONE, path, "0", 1);
	snprintf(path, sizeof(path), "%s/state", bpath);
	if (timeout_ms > 0 && read_int(xs, path, &st) == 0 &&
	    st > XenbusStateInitialising && st != XenbusStateClosed) {
		pvio_xs_printf(xs, PVIO_XS_TX_NONE, path, "%d",
			       XenbusStateClosing);
		wait_closed(xs, bpath, timeout_ms);
	}
}

int pvio_tool_xs_dev_remove(struct pvio_xs *xs, pvio_domid_t front,
			    const char *type, uint32_t devid, int timeout_ms)
{
	char fpath[128], path[160], *bpath = NULL;
	int rc;

	snprintf(fpath, sizeof(fpath), "/local/domain/%u/device/%s/%u", front,
		 type, devid);
	snprintf(path, sizeof(path), "%s/backend", fpath);
	rc = pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &bpath, NULL);
	if (rc)
		return rc == -ENOENT ? -ENOENT : rc;
	/* The backend path came from xenstore: only follow a sane one. */
	if (strncmp(bpath, "/local/domain/", 14) != 0 ||
	    strstr(bpath, "/backend/") == NULL || strstr(bpath, "..")) {
		free(bpath);
		return -EINVAL;
	}

	backend_close(xs, bpath, timeout_ms);
	rc = pvio_xs_rm(xs, PVIO_XS_TX_NONE, bpath);
	if (rc == -ENOENT)
		rc = 0;
	if (!rc) {
		rc = pvio_xs_rm(xs, PVIO_XS_TX_NONE, fpath);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(bpath);
	return rc;
}

int pvio_tool_xs_backends_purge(struct pvio_xs *xs, pvio_domid_t front)
{
	static const char *const types[] = {"vbd", "vif"};
	char **doms = NULL;
	unsigned int ndoms = 0;
	int rc = pvio_xs_directory(xs, PVIO_XS_TX_NONE, "/local/domain", &doms,
				   &ndoms);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	for (unsigned int i = 0; i < ndoms; i++) {
		for (size_t t = 0; t < 2; t++) {
			char path[160];

			snprintf(path, sizeof(path),
				 "/local/domain/%s/backend/%s/%u", doms[i],
				 types[t], front);
			int r = pvio_xs_rm(xs, PVIO_XS_TX_NONE, path);
			if (r && r != -ENOENT && !rc)
				rc = r;
		}
	}
	free(doms);
	return rc;
}

int pvio_tool_xs_backend_wait(struct pvio_xs *xs, pvio_domid_t back,
			      pvio_domid_t front, uint32_t devid,
			      int timeout_ms, char *why, size_t whylen)
{
	char bpath[128], path[160], *err = NULL;
	long deadline = now_ms() + timeout_ms, st;

	snprintf(bpath, sizeof(bpath), "/local/domain/%u/backend/vbd/%u/%u",
		 back, front, devid);
	for (;;) {
		snprintf(path, sizeof(path), "%s/error", bpath);
		if (pvio_xs_read(xs, PVIO_XS_TX_NONE, path, &err, NULL) == 0) {
			snprintf(why, whylen, "%s", err);
			free(err);
			return -EIO;
		}
		snprintf(path, sizeof(path), "%s/state", bpath);
		if (read_int(xs, path, &st) == 0 && st >= XenbusStateInitWait &&
		    st < XenbusStateClosing)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		/* Polling: the daemon answers within milliseconds. */
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int pvio_tool_xs_backends_close(struct pvio_xs *xs, pvio_domid_t front,
				int timeout_ms)
{
	static const char *const types[] = {"vbd", "vif"};
	long deadline = now_ms() + timeout_ms;
	char **doms = NULL;
	unsigned int ndoms = 0;
	int rc = pvio_xs_directory(xs, PVIO_XS_TX_NONE, "/local/domain", &doms,
				   &ndoms);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	for (unsigned int i = 0; i < ndoms; i++) {
		for (size_t t = 0; t < 2; t++) {
			char dir[160], bpath[200], **ids = NULL;
			unsigned int n = 0;

			snprintf(dir, sizeof(dir),
				 "/local/domain/%s/backend/%s/%u", doms[i],
				 types[t], front);
			if (pvio_xs_directory(xs, PVIO_XS_TX_NONE, dir, &ids,
					      &n))
				continue;
			for (unsigned int j = 0; j < n; j++) {
				long left = deadline - now_ms();

				snprintf(bpath, sizeof(bpath), "%s/%s", dir,
					 ids[j]);
				backend_close(xs, bpath,
					      left > 0 ? (int)left : 0);
			}
			free(ids);
			int r = pvio_xs_rm(xs, PVIO_XS_TX_NONE, dir);
			if (r && r != -ENOENT && !rc)
				rc = r;
		}
	}
	free(doms);
	return rc;
}

int pvio_tool_xs_dev_summary(struct pvio_xs *xs, pvio_domid_t domid, char *buf,
			     size_t len)
{
	static const char *const types[] = {"vbd", "vif"};
	size_t off = 0;

	buf[0] = '\0';
	for (size_t t = 0; t < 2; t++) {
		char path[96], **ids = NULL;
		unsigned int n = 0;

		snprintf(path, sizeof(path), "/local/domain/%u/device/%s",
			 domid, types[t]);
		if (pvio_xs_directory(xs, PVIO_XS_TX_NONE, path, &ids, &n))
			continue;
		for (unsigned int i = 0; i < n && off < len; i++) {
			int w = snprintf(buf + off, len - off, "%s%s:%s",
					 off ? " " : "", types[t], ids[i]);
			if (w < 0)
				break;
			off += (size_t)w;
		}
		free(ids);
	}
	return 0;
}
