/* SPDX-License-Identifier: MIT */
/* Small helpers: strings, permissions, path rules (Xen 4.17). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

char *xsd_strdup(const char *s)
{
	return strdup(s);
}

void *xsd_memdup(const void *p, size_t n)
{
	void *r = malloc(n ? n : 1);

	if (r && n)
		memcpy(r, p, n);
	return r;
}

/* FNV-1a: cheap and good enough for dedup and transaction buckets. */
unsigned int xsd_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned int h = 2166136261u;

	while (n--) {
		h ^= *s++;
		h *= 16777619u;
	}
	return h;
}

int xsd_perms_copy(struct xsd_perms *dst, const struct xsd_perms *src)
{
	dst->num = src->num;
	dst->p = xsd_memdup(src->p, src->num * sizeof(*src->p));
	if (!dst->p) {
		dst->num = 0;
		return ENOMEM;
	}
	return 0;
}

void xsd_perms_free(struct xsd_perms *p)
{
	free(p->p);
	p->p = NULL;
	p->num = 0;
}

long xsd_parse_domid(const char *s)
{
	long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 0xFFFF)
			return -1;
	}
	return v;
}

int xsd_perms_parse(struct xsd_perms *out, const char *s, unsigned int num)
{
	unsigned int i;

	out->num = 0;
	out->p = calloc(num ? num : 1, sizeof(*out->p));
	if (!out->p)
		return ENOMEM;
	for (i = 0; i < num; i++) {
		long id;

		switch (s[0]) {
		case 'r':
			out->p[i].perms = XSD_PERM_READ;
			break;
		case 'w':
			out->p[i].perms = XSD_PERM_WRITE;
			break;
		case 'b':
			out->p[i].perms = XSD_PERM_READ | XSD_PERM_WRITE;
			break;
		case 'n':
			out->p[i].perms = XSD_PERM_NONE;
			break;
		default:
			goto inval;
		}
		id = xsd_parse_domid(s + 1);
		if (id < 0)
			goto inval;
		out->p[i].id = (uint32_t)id;
		s += strlen(s) + 1;
	}
	out->num = num;
	return 0;
inval:
	xsd_perms_free(out);
	return EINVAL;
}

int xsd_perms_format(const struct xsd_perms *p, char *buf, size_t cap)
{
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < p->num; i++) {
		static const char letters[4] = {'n', 'r', 'w', 'b'};
		int n = snprintf(buf + len, cap - len, "%c%u",
				 letters[p->p[i].perms & 3], p->p[i].id);

		if (n < 0 || (size_t)n + 1 > cap - len)
			return -1;
		len += (size_t)n + 1; /* keep the NUL */
	}
	return (int)len;
}

unsigned int xsd_count_strings(const char *p, unsigned int len)
{
	unsigned int i, n = 0;

	for (i = 0; i < len; i++)
		if (p[i] == '\0')
			n++;
	return n;
}

static bool valid_chars(const char *s)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz"
				 "0123456789-/_@";

	return strspn(s, ok) == strlen(s);
}

/* Length of "/local/domain/<1-5 digits>/" at the start of p, else 0. */
static size_t local_prefix(const char *p)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1, d = 0;

	if (strncmp(p, pre, i))
		return 0;
	while (p[i + d] >= '0' && p[i + d] <= '9' && d < 5)
		d++;
	if (!d || p[i + d] != '/')
		return 0;
	return i + d + 1;
}

int xsd_canonicalize(uint32_t domid, const char *in, char *out,
		     bool allow_special, size_t *rel_off)
{
	size_t len;

	if (rel_off)
		*rel_off = 0;
	if (!in || !valid_chars(in))
		return EINVAL;
	len = strlen(in);
	if (in[0] == '@') {
		/* Xen: special names only for watches, at most 2048 chars. */
		if (!allow_special || len > XENSTORE_REL_PATH_MAX)
			return EINVAL;
		memcpy(out, in, len + 1);
		return 0;
	}
	if (in[0] == '/') {
		if (len > XENSTORE_ABS_PATH_MAX)
			return EINVAL;
		memcpy(out, in, len + 1);
	} else {
		int n;

		if (len > XENSTORE_REL_PATH_MAX)
			return EINVAL;
		n = snprintf(out, XSD_PATH_BUF, "/local/domain/%u/%s", domid,
			     in);
		if (n < 0 || n >= XSD_PATH_BUF)
			return EINVAL;
		if (rel_off)
			*rel_off = (size_t)n - len;
		len = (size_t)n;
	}
	if (len > 1 && out[len - 1] == '/')
		return EINVAL;
	if (strstr(out, "//"))
		return EINVAL;
	/* Xen 4.17 is_valid_nodename(): the part below a domain's home
	 * counts against the relative limit, any other path entirely. */
	if (len > local_prefix(out) + XENSTORE_REL_PATH_MAX)
		return EINVAL;
	return 0;
}

bool xsd_is_child(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (len == 1 && parent[0] == '/')
		return child[0] == '/';
	return !strncmp(child, parent, len) &&
	       (child[len] == '/' || child[len] == '\0');
}

unsigned int xsd_depth(const char *path)
{
	unsigned int d = 0;

	if (!strcmp(path, "/"))
		return 0;
	for (; *path; path++)
		if (*path == '/')
			d++;
	return d;
}
