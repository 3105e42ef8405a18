/* SPDX-License-Identifier: MIT */
/*
 * The toolstack library under the `pvio` command (private to toolstack/
 * and its tests).  It keeps no state of its own: domains live in pvio-hv,
 * everything else (names, devices) in xenstore.
 *
 * Errors: 0 or a negative errno.  Functions that can fail for a reason a
 * person must read also fill a 'struct pvio_tool_err' with a one-line
 * message ("vm.cfg:7: disk: unknown access mode 'x'").
 */
#ifndef PVIO_TOOL_H
#define PVIO_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pvio/io/xen_types.h>

struct pvio_dom;
struct pvio_xs;

struct pvio_tool_err {
	char msg[512];
};

/* Record an error; returns 'rc' (a negative errno) for tail calls. */
int pvio_tool_fail(struct pvio_tool_err *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------------- */
/* xl.cfg syntax                                                          */
/* ---------------------------------------------------------------------- */

enum pvio_cfg_type { PVIO_CFG_STRING, PVIO_CFG_NUMBER, PVIO_CFG_LIST };

/* One value: a string, an integer or a list of strings and integers. */
struct pvio_cfg_value {
	enum pvio_cfg_type type;
	int line;
	char *str;		      /* PVIO_CFG_STRING */
	long long num;		      /* PVIO_CFG_NUMBER */
	struct pvio_cfg_value *items; /* PVIO_CFG_LIST */
	size_t nitems;
};

struct pvio_cfg_entry {
	char *key;
	int line;
	struct pvio_cfg_value value;
};

/* A parsed file: "key = value" statements in file order. */
struct pvio_cfg {
	char *file; /* for messages */
	struct pvio_cfg_entry *entries;
	size_t nentries;
};

/*
 * Parse xl.cfg text: `key = value` statements separated by newlines or
 * ';', values "string", 'string', integers and [lists], which may span
 * lines and end with a comma; '#' comments.  A later assignment of the
 * same key replaces the earlier one, as in xl.
 */
int pvio_cfg_parse(struct pvio_cfg *cfg, const char *file, const char *text,
		   size_t len, struct pvio_tool_err *e);
int pvio_cfg_load(struct pvio_cfg *cfg, const char *path,
		  struct pvio_tool_err *e);
void pvio_cfg_free(struct pvio_cfg *cfg);
const struct pvio_cfg_entry *pvio_cfg_find(const struct pvio_cfg *cfg,
					   const char *key);

/* ---------------------------------------------------------------------- */
/* Domain configuration                                                   */
/* ---------------------------------------------------------------------- */

#define PVIO_TOOL_MAX_DEVS 16

/* One `disk = [...]` entry (xl-disk-configuration syntax). */
struct pvio_tool_disk {
	char target[4096]; /* the file or block device */
	char vdev[32];	   /* as written: xvda, hdb, sdc1, d0p1 */
	uint32_t devid;	   /* Xen's numbering of vdev */
	bool writable;
	char format[16];  /* raw only, for now */
	char backend[64]; /* backend domain name; "" = the default driver
			     domain (PVIO_TOOL_DEFAULT_DRIVER) */
	char backendtype[16];
	char engine[16]; /* pvio extension engine=: io_uring|libaio|psync, ""
			    = the driver domain's default; backend key
			    io-engine */
	bool phy;	 /* phy: prefix / backendtype=phy: a block device */
	bool file;	 /* file: prefix: a regular file */
	int line;
};

/* The driver domain that serves disks naming no backend. */
#define PVIO_TOOL_DEFAULT_DRIVER "blkback"

/* One `vif = [...]` entry (xl-network-configuration syntax). */
struct pvio_tool_vif {
	unsigned int devid;
	char mac[18]; /* "00:16:3e:xx:xx:xx" */
	char bridge[16];
	char backend[64];
	char ip[64];
	int line;
};

struct pvio_tool_domcfg {
	char name[64];
	uint32_t memory_mb;
	char **argv; /* the guest's command; NULL-terminated, NULL if none */
	char user[64];
	struct pvio_tool_disk disks[PVIO_TOOL_MAX_DEVS];
	unsigned int ndisks;
	struct pvio_tool_vif vifs[PVIO_TOOL_MAX_DEVS];
	unsigned int nvifs;
	/* `driver = "blkback"`: this domain is a driver domain; its command
	 * is the daemon (pvio-blkback) followed by `driver_args`. */
	char driver[16];
};

/*
 * Turn a parsed file into a domain configuration.  Errors name the line
 * and key.  Keys that xl knows but pvio cannot serve yet, and unknown
 * keys, are reported on 'warn' (may be NULL) and otherwise ignored.
 */
int pvio_tool_domcfg_from(struct pvio_tool_domcfg *dc,
			  const struct pvio_cfg *cfg, FILE *warn,
			  struct pvio_tool_err *e);
void pvio_tool_domcfg_free(struct pvio_tool_domcfg *dc);

/* Parse one disk spec ("file:/img,xvda,w" or "vdev=xvda, target=/img"). */
int pvio_tool_disk_parse(struct pvio_tool_disk *d, const char *spec,
			 struct pvio_tool_err *e);
/*
 * Check a disk's target on this host and make it absolute (the driver
 * domain does not share the caller's working directory): it must exist,
 * be a block device for phy:, a regular file for file:, either otherwise,
 * and be writable if the disk is.  Fills 'e' with "<target>: <why>".
 */
int pvio_tool_disk_check(struct pvio_tool_disk *d, struct pvio_tool_err *e);

/* pvio_tool_disk_check() on every disk; errors are "<file>:<line>: disk:
 * <why>". */
int pvio_tool_domcfg_check(struct pvio_tool_domcfg *dc, const char *file,
			   struct pvio_tool_err *e);

/* Parse one vif spec ("bridge=pvbr0,mac=00:16:3e:00:00:01"). */
int pvio_tool_vif_parse(struct pvio_tool_vif *v, const char *spec,
			struct pvio_tool_err *e);
/* Xen's device number of a virtual disk name; -EINVAL if not one. */
int pvio_tool_vdev_to_devid(const char *vdev, uint32_t *devid);

/* ---------------------------------------------------------------------- */
/* Xenstore side of domains and devices                                   */
/* ---------------------------------------------------------------------- */

/* Write /local/domain/<domid> as libxl lays it out (name, domid, memory,
 * device/, control/, data/ owned by the domain). */
int pvio_tool_xs_domain_setup(struct pvio_xs *xs, pvio_domid_t domid,
			      const char *name, uint32_t memory_mb);

/* Write the frontend and backend directories of a vbd / vif, state 1. */
int pvio_tool_xs_disk_add(struct pvio_xs *xs, pvio_domid_t front,
			  pvio_domid_t back, const struct pvio_tool_disk *d);
int pvio_tool_xs_vif_add(struct pvio_xs *xs, pvio_domid_t front,
			 pvio_domid_t back, const struct pvio_tool_vif *v);

/*
 * Detach: tell the backend (online=0, state Closing), wait up to
 * 'timeout_ms' for it to reach Closed (not at all if no backend driver
 * ever moved the state past Initialising), then remove both directories.
 * type is "vbd" or "vif".  -ENOENT if there is no such device.
 */
int pvio_tool_xs_dev_remove(struct pvio_xs *xs, pvio_domid_t front,
			    const char *type, uint32_t devid, int timeout_ms);

/* Remove every backend directory that serves 'front' (domain teardown). */
int pvio_tool_xs_backends_purge(struct pvio_xs *xs, pvio_domid_t front);

/*
 * Wait up to timeout_ms until the vbd's backend has picked it up (state
 * InitWait or later): 0; -EIO if it reported an error (its text, from the
 * backend's error node, goes to 'why'); -ETIMEDOUT.
 */
int pvio_tool_xs_backend_wait(struct pvio_xs *xs, pvio_domid_t back,
			      pvio_domid_t front, uint32_t devid,
			      int timeout_ms, char *why, size_t whylen);

/* The same, but each live backend is first asked to close and given up
 * to 'timeout_ms' in all to reach Closed (domain destroy). */
int pvio_tool_xs_backends_close(struct pvio_xs *xs, pvio_domid_t front,
				int timeout_ms);

/* A short description of the domain's devices: "vbd:51712 vif:0". */
int pvio_tool_xs_dev_summary(struct pvio_xs *xs, pvio_domid_t domid, char *buf,
			     size_t len);

/* ---------------------------------------------------------------------- */
/* Domains                                                                */
/* ---------------------------------------------------------------------- */

/* The run directory: 'arg', else $PVIO_RUN_DIR, else /run/pvio. */
const char *pvio_tool_run_dir(const char *arg);

/*
 * Create the domain 'dc' describes: pvio-hv domain, xenstore entries,
 * devices, then its process (started with the credential in its
 * environment, its output to <run-dir>/log/<name>.log, paused if
 * 'paused').  Notes for the user go to 'out'.
 */
int pvio_tool_create(struct pvio_dom *dom0, struct pvio_xs *xs,
		     const char *run_dir, const struct pvio_tool_domcfg *dc,
		     bool paused, FILE *out, pvio_domid_t *domid,
		     struct pvio_tool_err *e);

/* "3" or a name -> domid. */
int pvio_tool_domid(struct pvio_dom *dom0, const char *arg, pvio_domid_t *domid,
		    struct pvio_tool_err *e);

/* The pid pvio-hv tracks for 'domid' (its process), or -ESRCH. */
int pvio_tool_domain_pid(struct pvio_dom *dom0, pvio_domid_t domid);

/* Destroy: pvio-hv kills and releases it (and the toolstack its process
 * group); its backend dirs are closed and removed. */
int pvio_tool_destroy(struct pvio_dom *dom0, struct pvio_xs *xs,
		      pvio_domid_t domid, struct pvio_tool_err *e);

/* ---------------------------------------------------------------------- */
/* Driver domains                                                         */
/* ---------------------------------------------------------------------- */

/*
 * Where a helper program lives: next to this executable, else in the
 * build tree's layout (<exe dir>/../<subdir>/<name>), else bare 'name'
 * (looked up in $PATH by exec).
 */
void pvio_tool_find_binary(const char *name, const char *subdir, char *out,
			   size_t len);

/*
 * Start driver domain 'name': a domain whose process is pvio-blkback
 * followed by 'args' (NULL-terminated, may be NULL), its log in
 * <run-dir>/log/<name>.log.  Returns once the daemon watches its backend
 * directory (pvio_tool_driver_wait()).  -EEXIST if a domain of that name
 * exists.
 */
int pvio_tool_driver_start(struct pvio_dom *dom0, struct pvio_xs *xs,
			   const char *run_dir, const char *name,
			   char *const *args, FILE *out, pvio_domid_t *domid,
			   struct pvio_tool_err *e);

/*
 * Wait up to timeout_ms until the blkback daemon of domain 'domid' says
 * it serves (/local/domain/<domid>/data/blkback-ready); fails early if
 * the domain dies.
 */
int pvio_tool_driver_wait(struct pvio_dom *dom0, struct pvio_xs *xs,
			  pvio_domid_t domid, int timeout_ms,
			  struct pvio_tool_err *e);

/*
 * The backend domain for a device that names 'backend': "" means the
 * default driver domain, started now if it is not running (a note goes to
 * 'out'); "0"/"Domain-0" is dom0; any other name or id must exist.
 */
int pvio_tool_backend_resolve(struct pvio_dom *dom0, struct pvio_xs *xs,
			      const char *run_dir, const char *backend,
			      FILE *out, pvio_domid_t *domid,
			      struct pvio_tool_err *e);

/*
 * Stop a driver domain: SIGTERM its daemon (it closes its vbds), wait up
 * to timeout_ms for it to exit, then destroy the domain.
 */
int pvio_tool_driver_stop(struct pvio_dom *dom0, struct pvio_xs *xs,
			  const char *name, int timeout_ms,
			  struct pvio_tool_err *e);

/* ---------------------------------------------------------------------- */
/* The stub itself                                                        */
/* ---------------------------------------------------------------------- */

/* Start pvio-hv (found next to this executable, else in $PATH) and wait
 * until it serves. */
int pvio_tool_hv_start(const char *run_dir, struct pvio_tool_err *e);
/* SIGTERM it and wait up to 'timeout_ms' for it to exit. */
int pvio_tool_hv_stop(const char *run_dir, int timeout_ms,
		      struct pvio_tool_err *e);
/* Its pid if running, else -ESRCH. */
int pvio_tool_hv_pid(const char *run_dir);

#endif /* PVIO_TOOL_H */
