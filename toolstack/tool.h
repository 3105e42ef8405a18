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
	char backend[64]; /* backend domain name; "" = Domain-0 */
	char backendtype[16];
	int line;
};

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

/* Destroy: pvio-hv kills and releases it; its backend dirs go too. */
int pvio_tool_destroy(struct pvio_dom *dom0, struct pvio_xs *xs,
		      pvio_domid_t domid, struct pvio_tool_err *e);

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
