/* SPDX-License-Identifier: MIT */
/*
 * From a parsed xl.cfg to a domain configuration: which keys pvio serves,
 * the disk and vif specification mini-languages (xl-disk-configuration(5),
 * xl-network-configuration(5)) and Xen's virtual disk numbering.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pvio/blkfront.h>

#include "tool.h"

/* Keys of xl.cfg(5) that pvio accepts but does not act on (yet). */
static const char *const not_yet_supported[] = {"builder",
						"type",
						"vcpus",
						"maxvcpus",
						"cpus",
						"cpus_soft",
						"cpu_weight",
						"cap",
						"maxmem",
						"uuid",
						"kernel",
						"ramdisk",
						"cmdline",
						"root",
						"extra",
						"bootloader",
						"bootloader_args",
						"on_poweroff",
						"on_reboot",
						"on_watchdog",
						"on_crash",
						"on_soft_reset",
						"vfb",
						"vkb",
						"vtpm",
						"p9",
						"pci",
						"usbctrl",
						"usbdev",
						"serial",
						"vga",
						"videoram",
						"boot",
						"device_model_version",
						"device_model_override",
						"localtime",
						"rtc_timeoffset",
						"seclabel",
						"max_grant_frames",
						"max_maptrack_frames",
						"driver_domain",
						"channel",
						"vdispl",
						"vsnd",
						"dtdev",
						"irqs",
						"iomem",
						"ioports",
						"nomigrate",
						"tsc_mode",
						"acpi",
						"apic",
						"pae",
						"hap",
						"nestedhvm",
						"viridian",
						"shadow_memory",
						"xen_platform_pci",
						"soundhw",
						"usb",
						"usbdevice",
						"vnc",
						"sdl",
						"nographic",
						"pvh",
						"pool",
						"vif_rate_default"};

#define MAX_MEMORY_MB 4096U /* 1 M grantable pages, each its own memfd */

static const char *type_name(enum pvio_cfg_type t)
{
	return t == PVIO_CFG_STRING   ? "a string"
	       : t == PVIO_CFG_NUMBER ? "a number"
				      : "a list";
}

static int want(const struct pvio_cfg *cfg, const struct pvio_cfg_entry *ent,
		enum pvio_cfg_type t, struct pvio_tool_err *e)
{
	if (ent->value.type == t)
		return 0;
	return pvio_tool_fail(e, -EINVAL, "%s:%d: %s: expected %s, got %s",
			      cfg->file, ent->line, ent->key, type_name(t),
			      type_name(ent->value.type));
}

/* Copy 'src' into a fixed field; a value that does not fit is an error. */
static int put(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Virtual disk numbering (Xen's docs/misc/vbd-interface.txt)             */
/* ---------------------------------------------------------------------- */

int pvio_tool_vdev_to_devid(const char *vdev, uint32_t *devid)
{
	/* One implementation of Xen's numbering, shared with the guests'
	 * library; a disk spec names a disk, so bare numbers are refused. */
	if (!vdev || !*vdev || (*vdev >= '0' && *vdev <= '9'))
		return -EINVAL;
	return pvio_blkfront_vdev_parse(vdev, devid) ? -EINVAL : 0;
}

/* ---------------------------------------------------------------------- */
/* Disk specifications                                                    */
/* ---------------------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The deprecated "<prefix>:<target>" forms; their positionals are
 * target, vdev, access (the prefix implies the format). */
static const char *legacy_prefix(const char *target, char *backendtype,
				 size_t cap, bool *phy)
{
	static const struct {
		const char *prefix;
		const char *backendtype;
	} prefixes[] = {{"phy:", "phy"},	  {"file:", "qdisk"},
			{"raw:", "qdisk"},	  {"aio:", "qdisk"},
			{"tap:aio:", "qdisk"},	  {"tap2:aio:", "qdisk"},
			{"tapdisk:aio:", "qdisk"}};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i].prefix);

		if (strncmp(target, prefixes[i].prefix, n) == 0) {
			snprintf(backendtype, cap, "%s",
				 prefixes[i].backendtype);
			*phy = !strcmp(prefixes[i].prefix, "phy:");
			return target + n;
		}
	}
	return NULL;
}

static int set_access(struct pvio_tool_disk *d, const char *v,
		      struct pvio_tool_err *e)
{
	if (!strcmp(v, "r") || !strcmp(v, "ro"))
		d->writable = false;
	else if (!strcmp(v, "w") || !strcmp(v, "rw") || !*v)
		d->writable = true;
	else
		return pvio_tool_fail(e, -EINVAL, "unknown access mode '%s'",
				      v);
	return 0;
}

static int set_field(char *dst, size_t cap, const char *what, const char *v,
		     struct pvio_tool_err *e)
{
	if (put(dst, cap, v))
		return pvio_tool_fail(e, -ENAMETOOLONG, "%s too long: '%s'",
				      what, v);
	return 0;
}

/* pvio's extension: the driver domain's I/O engine for this disk. */
static int set_engine(struct pvio_tool_disk *d, const char *v,
		      struct pvio_tool_err *e)
{
	if (strcmp(v, "io_uring") != 0 && strcmp(v, "libaio") != 0 &&
	    strcmp(v, "psync") != 0)
		return pvio_tool_fail(e, -EINVAL,
				      "unknown engine '%s' (io_uring, libaio "
				      "or psync)",
				      v);
	return set_field(d->engine, sizeof(d->engine), "engine", v, e);
}

int pvio_tool_disk_parse(struct pvio_tool_disk *d, const char *spec,
			 struct pvio_tool_err *e)
{
	enum { P_TARGET, P_FORMAT, P_VDEV, P_ACCESS, P_DONE };
	char *copy = strdup(spec), *save = NULL, *tok;
	int pos = P_TARGET, rc = 0;
	bool legacy = false, have_target = false;

	if (!copy)
		return -ENOMEM;
	memset(d, 0, sizeof(*d));
	d->writable = true;
	strcpy(d->format, "raw");
	strcpy(d->backendtype, "qdisk");

	/* strtok_r would merge empty fields; ",,hda" must keep them. */
	for (tok = copy; tok && !rc; tok = save) {
		char *comma = strchr(tok, ',');

		save = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		tok = trim(tok);

		char *eq = strchr(tok, '=');
		if (eq && strncmp(tok, "target=", 7) != 0) {
			*eq = '\0';
			char *k = trim(tok), *v = trim(eq + 1);

			if (!strcmp(k, "vdev"))
				rc = set_field(d->vdev, sizeof(d->vdev), k, v,
					       e);
			else if (!strcmp(k, "format"))
				rc = set_field(d->format, sizeof(d->format), k,
					       v, e);
			else if (!strcmp(k, "access"))
				rc = set_access(d, v, e);
			else if (!strcmp(k, "backend"))
				rc = set_field(d->backend, sizeof(d->backend),
					       k, v, e);
			else if (!strcmp(k, "backendtype"))
				rc = set_field(d->backendtype,
					       sizeof(d->backendtype), k, v, e);
			else if (!strcmp(k, "engine"))
				rc = set_engine(d, v, e);
			else if (!strcmp(k, "devtype") ||
				 !strcmp(k, "script") ||
				 !strcmp(k, "direct-io-safe"))
				; /* accepted, nothing to do yet */
			else
				rc = pvio_tool_fail(e, -EINVAL,
						    "unknown disk key '%s'", k);
			continue;
		}
		if (!strncmp(tok, "target=", 7)) {
			/* target= swallows the rest, commas included. */
			char *rest = tok + 7;

			if (save)
				rest[strlen(rest)] = ',';
			save = NULL;
			rc = set_field(d->target, sizeof(d->target), "target",
				       trim(rest), e);
			have_target = true;
			continue;
		}
		if (!strcmp(tok, "cdrom") || !strcmp(tok, "discard") ||
		    !strcmp(tok, "no-discard") ||
		    !strcmp(tok, "direct-io-safe"))
			continue; /* flags */

		/* A positional parameter. */
		if (pos == P_TARGET) {
			const char *t =
				legacy_prefix(tok, d->backendtype,
					      sizeof(d->backendtype), &d->phy);
			if (t) {
				legacy = true;
				d->file = !d->phy;
				tok = (char *)t;
			}
			rc = set_field(d->target, sizeof(d->target), "target",
				       tok, e);
			have_target = *tok != '\0';
			pos = legacy ? P_VDEV : P_FORMAT;
		} else if (pos == P_FORMAT) {
			if (*tok)
				rc = set_field(d->format, sizeof(d->format),
					       "format", tok, e);
			pos = P_VDEV;
		} else if (pos == P_VDEV) {
			/* "hdc:cdrom" in the deprecated form */
			char *colon = strchr(tok, ':');

			if (colon)
				*colon = '\0';
			rc = set_field(d->vdev, sizeof(d->vdev), "vdev", tok,
				       e);
			pos = P_ACCESS;
		} else if (pos == P_ACCESS) {
			rc = set_access(d, tok, e);
			pos = P_DONE;
		} else if (*tok) {
			rc = pvio_tool_fail(e, -EINVAL,
					    "too many positional parameters at "
					    "'%s'",
					    tok);
		}
	}
	free(copy);
	if (rc)
		return rc;
	if (!have_target)
		return pvio_tool_fail(e, -EINVAL, "no target (file or device)");
	if (!d->vdev[0])
		return pvio_tool_fail(e, -EINVAL, "no vdev (e.g. xvda)");
	if (pvio_tool_vdev_to_devid(d->vdev, &d->devid))
		return pvio_tool_fail(e, -EINVAL,
				      "'%s' is not a virtual disk name (xvda, "
				      "hda, sda, d0p1)",
				      d->vdev);
	if (strcmp(d->format, "raw") != 0)
		return pvio_tool_fail(e, -EOPNOTSUPP,
				      "format '%s' is not supported (raw only)",
				      d->format);
	if (!strcmp(d->backendtype, "phy")) {
		d->phy = true;
		d->file = false;
	}
	return 0;
}

int pvio_tool_disk_check(struct pvio_tool_disk *d, struct pvio_tool_err *e)
{
	char abs[PATH_MAX];
	struct stat st;

	if (stat(d->target, &st) < 0)
		return pvio_tool_fail(e, -errno, "%s: %s", d->target,
				      strerror(errno));
	if (d->phy && !S_ISBLK(st.st_mode))
		return pvio_tool_fail(e, -ENOTBLK,
				      "%s: phy: needs a block device",
				      d->target);
	if (d->file && !S_ISREG(st.st_mode))
		return pvio_tool_fail(
			e, -EINVAL, "%s: file: needs a regular file%s",
			d->target,
			S_ISBLK(st.st_mode) ? " (use phy: for block devices)"
					    : "");
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return pvio_tool_fail(e, -EINVAL,
				      "%s: neither a regular file nor a block "
				      "device",
				      d->target);
	if (access(d->target, d->writable ? R_OK | W_OK : R_OK) < 0)
		return pvio_tool_fail(e, -errno, "%s: %s%s", d->target,
				      strerror(errno),
				      d->writable ? " (a writable disk; use "
						    "'r' for read-only)"
						  : "");
	if (!realpath(d->target, abs))
		return pvio_tool_fail(e, -errno, "%s: %s", d->target,
				      strerror(errno));
	if (put(d->target, sizeof(d->target), abs))
		return pvio_tool_fail(e, -ENAMETOOLONG, "%s: path too long",
				      abs);
	/* The backend's "type" key follows what the target is. */
	d->phy = S_ISBLK(st.st_mode);
	return 0;
}

int pvio_tool_domcfg_check(struct pvio_tool_domcfg *dc, const char *file,
			   struct pvio_tool_err *e)
{
	for (unsigned int i = 0; i < dc->ndisks; i++) {
		struct pvio_tool_err sub = {{0}};
		int rc = pvio_tool_disk_check(&dc->disks[i], &sub);

		if (rc)
			return pvio_tool_fail(e, rc, "%s:%d: disk: %s", file,
					      dc->disks[i].line, sub.msg);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Network specifications                                                 */
/* ---------------------------------------------------------------------- */

static int mac_ok(const char *m)
{
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
			return 0;
	}
	/* A unicast address: bit 0 of the first octet clear. */
	return m[17] == '\0' && (strtol(m, NULL, 16) & 1) == 0;
}

int pvio_tool_vif_parse(struct pvio_tool_vif *v, const char *spec,
			struct pvio_tool_err *e)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int rc = 0;
	unsigned int devid = v->devid;

	if (!copy)
		return -ENOMEM;
	memset(v, 0, sizeof(*v));
	v->devid = devid;
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			if (*trim(tok))
				rc = pvio_tool_fail(e, -EINVAL,
						    "expected key=value, got "
						    "'%s'",
						    trim(tok));
			continue;
		}
		*eq = '\0';
		char *k = trim(tok), *val = trim(eq + 1);

		if (!strcmp(k, "mac")) {
			if (!mac_ok(val))
				rc = pvio_tool_fail(e, -EINVAL,
						    "bad unicast MAC address "
						    "'%s'",
						    val);
			else
				rc = set_field(v->mac, sizeof(v->mac), k, val,
					       e);
		} else if (!strcmp(k, "bridge")) {
			rc = set_field(v->bridge, sizeof(v->bridge), k, val, e);
		} else if (!strcmp(k, "backend")) {
			rc = set_field(v->backend, sizeof(v->backend), k, val,
				       e);
		} else if (!strcmp(k, "ip")) {
			rc = set_field(v->ip, sizeof(v->ip), k, val, e);
		} else if (!strcmp(k, "devid")) {
			char *end;
			long n = strtol(val, &end, 10);

			if (*end || n < 0 || n > 255)
				rc = pvio_tool_fail(e, -EINVAL,
						    "bad devid '%s'", val);
			v->devid = (unsigned int)n;
		} else if (!strcmp(k, "model") || !strcmp(k, "type") ||
			   !strcmp(k, "vifname") || !strcmp(k, "script") ||
			   !strcmp(k, "rate") || !strcmp(k, "gatewaydev") ||
			   !strcmp(k, "mtu")) {
			; /* accepted, nothing to do yet */
		} else {
			rc = pvio_tool_fail(e, -EINVAL, "unknown vif key '%s'",
					    k);
		}
	}
	free(copy);
	if (rc)
		return rc;
	if (!v->mac[0]) {
		/* Xen's OUI 00:16:3e; the rest is random, as in xl. */
		unsigned int r = (unsigned int)random();

		snprintf(v->mac, sizeof(v->mac), "00:16:3e:%02x:%02x:%02x",
			 r & 0x7f, (r >> 8) & 0xff, (r >> 16) & 0xff);
	}
	if (!v->bridge[0])
		strcpy(v->bridge, "pvbr0");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The whole file                                                         */
/* ---------------------------------------------------------------------- */

static int take_argv(struct pvio_tool_domcfg *dc, const struct pvio_cfg *cfg,
		     const struct pvio_cfg_entry *ent, struct pvio_tool_err *e)
{
	const struct pvio_cfg_value *v = &ent->value;
	size_t n = v->type == PVIO_CFG_LIST ? v->nitems : 3;

	if (v->type == PVIO_CFG_NUMBER || n == 0)
		return pvio_tool_fail(e, -EINVAL,
				      "%s:%d: %s: expected a command string "
				      "or a non-empty list of strings",
				      cfg->file, ent->line, ent->key);
	dc->argv = calloc(n + 1, sizeof(char *));
	if (!dc->argv)
		return -ENOMEM;
	if (v->type == PVIO_CFG_STRING) {
		/* A string runs through the shell, like a crontab line. */
		dc->argv[0] = strdup("/bin/sh");
		dc->argv[1] = strdup("-c");
		dc->argv[2] = strdup(v->str);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (v->items[i].type != PVIO_CFG_STRING)
				return pvio_tool_fail(
					e, -EINVAL,
					"%s:%d: %s: item %zu is not a string",
					cfg->file, v->items[i].line, ent->key,
					i + 1);
			dc->argv[i] = strdup(v->items[i].str);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!dc->argv[i])
			return -ENOMEM;
	return 0;
}

static int take_devices(struct pvio_tool_domcfg *dc, const struct pvio_cfg *cfg,
			const struct pvio_cfg_entry *ent, bool disk,
			struct pvio_tool_err *e)
{
	const struct pvio_cfg_value *v = &ent->value;
	int rc = want(cfg, ent, PVIO_CFG_LIST, e);

	if (rc)
		return rc;
	if (v->nitems > PVIO_TOOL_MAX_DEVS)
		return pvio_tool_fail(e, -E2BIG, "%s:%d: %s: more than %u",
				      cfg->file, ent->line, ent->key,
				      PVIO_TOOL_MAX_DEVS);
	for (size_t i = 0; i < v->nitems; i++) {
		const struct pvio_cfg_value *it = &v->items[i];
		struct pvio_tool_err sub;

		if (it->type != PVIO_CFG_STRING)
			return pvio_tool_fail(e, -EINVAL,
					      "%s:%d: %s: item %zu is not a "
					      "string",
					      cfg->file, it->line, ent->key,
					      i + 1);
		if (disk) {
			struct pvio_tool_disk *d = &dc->disks[dc->ndisks];

			rc = pvio_tool_disk_parse(d, it->str, &sub);
			d->line = it->line;
			for (unsigned int j = 0; !rc && j < dc->ndisks; j++)
				if (dc->disks[j].devid == d->devid)
					rc = pvio_tool_fail(
						&sub, -EEXIST,
						"vdev %s used twice", d->vdev);
			if (!rc)
				dc->ndisks++;
		} else {
			struct pvio_tool_vif *vif = &dc->vifs[dc->nvifs];

			vif->devid = dc->nvifs;
			rc = pvio_tool_vif_parse(vif, it->str, &sub);
			vif->line = it->line;
			for (unsigned int j = 0; !rc && j < dc->nvifs; j++)
				if (dc->vifs[j].devid == vif->devid)
					rc = pvio_tool_fail(
						&sub, -EEXIST,
						"vif devid %u used twice",
						vif->devid);
			if (!rc)
				dc->nvifs++;
		}
		if (rc)
			return pvio_tool_fail(e, rc, "%s:%d: %s: %s", cfg->file,
					      it->line, ent->key,
					      rc == -ENOMEM ? "out of memory"
							    : sub.msg);
	}
	return 0;
}

/* A driver domain runs the daemon, found as `pvio` finds pvio-hv. */
static int driver_argv(struct pvio_tool_domcfg *dc,
		       const struct pvio_cfg_entry *args)
{
	size_t n = args ? args->value.nitems : 0;
	char bin[PATH_MAX];

	dc->argv = calloc(n + 2, sizeof(char *));
	if (!dc->argv)
		return -ENOMEM;
	pvio_tool_find_binary("pvio-blkback", "blkback", bin, sizeof(bin));
	dc->argv[0] = strdup(bin);
	if (!dc->argv[0])
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		dc->argv[i + 1] = strdup(args->value.items[i].str);
		if (!dc->argv[i + 1])
			return -ENOMEM;
	}
	return 0;
}

static bool valid_name(const char *s)
{
	/* xl refuses names that could be mistaken for a domid. */
	bool digits_only = true;

	if (!*s || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return false;
		if (!isdigit((unsigned char)*p))
			digits_only = false;
	}
	return !digits_only;
}

int pvio_tool_domcfg_from(struct pvio_tool_domcfg *dc,
			  const struct pvio_cfg *cfg, FILE *warn,
			  struct pvio_tool_err *e)
{
	const struct pvio_cfg_entry *driver_args = NULL;
	int rc = 0, driver_line = 0;

	memset(dc, 0, sizeof(*dc));
	dc->memory_mb = 16;
	for (size_t i = 0; i < cfg->nentries && !rc; i++) {
		const struct pvio_cfg_entry *ent = &cfg->entries[i];
		const char *k = ent->key;

		if (!strcmp(k, "name")) {
			rc = want(cfg, ent, PVIO_CFG_STRING, e);
			if (!rc && !valid_name(ent->value.str))
				rc = pvio_tool_fail(
					e, -EINVAL,
					"%s:%d: name: '%s' is not a domain "
					"name "
					"(1-63 of [A-Za-z0-9._-], not all "
					"digits)",
					cfg->file, ent->line, ent->value.str);
			if (!rc)
				put(dc->name, sizeof(dc->name), ent->value.str);
		} else if (!strcmp(k, "memory")) {
			rc = want(cfg, ent, PVIO_CFG_NUMBER, e);
			if (!rc && (ent->value.num < 1 ||
				    ent->value.num > MAX_MEMORY_MB))
				rc = pvio_tool_fail(
					e, -EINVAL,
					"%s:%d: memory: %lld MiB is outside "
					"1..%u",
					cfg->file, ent->line, ent->value.num,
					MAX_MEMORY_MB);
			if (!rc)
				dc->memory_mb = (uint32_t)ent->value.num;
		} else if (!strcmp(k, "cmd")) {
			rc = take_argv(dc, cfg, ent, e);
		} else if (!strcmp(k, "user")) {
			rc = want(cfg, ent, PVIO_CFG_STRING, e);
			if (!rc &&
			    put(dc->user, sizeof(dc->user), ent->value.str))
				rc = pvio_tool_fail(e, -EINVAL,
						    "%s:%d: user: too long",
						    cfg->file, ent->line);
		} else if (!strcmp(k, "driver")) {
			rc = want(cfg, ent, PVIO_CFG_STRING, e);
			if (!rc && strcmp(ent->value.str, "blkback") != 0)
				rc = pvio_tool_fail(e, -EINVAL,
						    "%s:%d: driver: unknown "
						    "driver '%s' (blkback)",
						    cfg->file, ent->line,
						    ent->value.str);
			if (!rc)
				put(dc->driver, sizeof(dc->driver),
				    ent->value.str);
			driver_line = ent->line;
		} else if (!strcmp(k, "driver_args")) {
			rc = want(cfg, ent, PVIO_CFG_LIST, e);
			for (size_t j = 0; !rc && j < ent->value.nitems; j++)
				if (ent->value.items[j].type != PVIO_CFG_STRING)
					rc = pvio_tool_fail(
						e, -EINVAL,
						"%s:%d: driver_args: item %zu "
						"is not a string",
						cfg->file,
						ent->value.items[j].line,
						j + 1);
			if (!rc)
				driver_args = ent;
		} else if (!strcmp(k, "disk")) {
			rc = take_devices(dc, cfg, ent, true, e);
		} else if (!strcmp(k, "vif")) {
			rc = take_devices(dc, cfg, ent, false, e);
		} else {
			bool known = false;

			for (size_t j = 0;
			     j < sizeof(not_yet_supported) /
					 sizeof(*not_yet_supported);
			     j++)
				if (!strcmp(k, not_yet_supported[j]))
					known = true;
			if (warn)
				fprintf(warn, "%s:%d: %s: %s; ignored\n",
					cfg->file, ent->line, k,
					known ? "not yet supported by pvio"
					      : "unknown key");
		}
	}
	if (!rc && !dc->name[0])
		rc = pvio_tool_fail(e, -EINVAL, "%s: no 'name' given",
				    cfg->file);
	if (!rc && driver_args && !dc->driver[0])
		rc = pvio_tool_fail(e, -EINVAL,
				    "%s:%d: driver_args: needs driver = "
				    "\"blkback\"",
				    cfg->file, driver_args->line);
	if (!rc && dc->driver[0]) {
		if (dc->argv)
			rc = pvio_tool_fail(e, -EINVAL,
					    "%s:%d: driver: a driver domain's "
					    "command is its daemon; drop "
					    "'cmd' (options go in "
					    "driver_args)",
					    cfg->file, driver_line);
		else
			rc = driver_argv(dc, driver_args);
	}
	if (rc)
		pvio_tool_domcfg_free(dc);
	return rc;
}

void pvio_tool_domcfg_free(struct pvio_tool_domcfg *dc)
{
	if (!dc)
		return;
	if (dc->argv)
		for (char **a = dc->argv; *a; a++)
			free(*a);
	free(dc->argv);
	dc->argv = NULL;
}
