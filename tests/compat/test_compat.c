/* SPDX-License-Identifier: MIT */
/*
 * Proves that pvio's wire headers (include/pvio/io/) are identical to Xen
 * 4.17's: every constant's value, every struct/union/typedef's size and
 * alignment, every field's offset and size, and the ring entry counts.
 *
 * Tables (all built from compat_list.h, matched by key):
 *   compat_pvio_table / compat_xen_table   native build (compat_*.c)
 *   compat_pvio32.inc / compat_xen32.inc   the same sources compiled with
 *                                          -m32 -S, values read back from
 *                                          the assembler output
 * An entry's ref says which Xen table it is compared with (compat_entry.h).
 *
 * The completeness case parses the headers in include/pvio/io/ and fails
 * when a constant, enum member, struct/union/enum/typedef or top-level
 * field there has no entry in compat_list.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Only for the error-table helpers; <errno.h> above enables them. */
#include <pvio/io/xs_wire.h>

#include "compat_entry.h"

extern const struct compat_entry compat_pvio_table[];
extern const unsigned int compat_pvio_table_len;
extern const struct compat_entry compat_xen_table[];
extern const unsigned int compat_xen_table_len;

/* Xen's xsd_errors[] (compat_xen.c). */
unsigned int compat_xen_xsd_errors_len(void);
int compat_xen_xsd_error(unsigned int i, const char **name);

#define COMPAT_JOIN(lo, hi)                                                    \
	((long long)(((unsigned long long)(uint32_t)(hi) << 32) |              \
		     (unsigned long long)(uint32_t)(lo)))
#define E(key, k, r, alo, ahi, blo, bhi)                                       \
	{key, 0, k, r, COMPAT_JOIN(alo, ahi), COMPAT_JOIN(blo, bhi), 0},

#ifdef COMPAT_HAVE_M32
static const struct compat_entry compat_pvio32_table[] = {
#include "compat_pvio32.inc"
};
static const struct compat_entry compat_xen32_table[] = {
#include "compat_xen32.inc"
};
#else
/*
 * No -m32 toolchain: the x86_32 layouts are checked against the numbers
 * Xen documents and Linux's xen-blkback uses (108/12-byte request and
 * response, id at 4).  Other A32 entries are reported as unchecked.
 */
static const struct compat_entry compat_xen32_table[] = {
	E("struct pvio_blkif_x86_32_request", K_SIZE, REF_A32, 108, 0, 4,
	  0) E("struct pvio_blkif_x86_32_request.id", K_FIELD, REF_A32, 4, 0, 8,
	       0) E("struct pvio_blkif_x86_32_request.sector_number", K_FIELD,
		    REF_A32, 12, 0, 8,
		    0) E("struct pvio_blkif_x86_32_request.seg", K_FIELD,
			 REF_A32, 20, 0, 88,
			 0) E("struct pvio_blkif_x86_32_request_discard",
			      K_SIZE, REF_A32, 28, 0, 4, 0)
		E("struct pvio_blkif_x86_32_request_discard.nr_sectors",
		  K_FIELD, REF_A32, 20, 0, 8,
		  0) E("struct pvio_blkif_x86_32_request_indirect", K_SIZE,
		       REF_A32, 64, 0, 4,
		       0) E("struct pvio_blkif_x86_32_request_indirect.handle",
			    K_FIELD, REF_A32, 20, 0, 2, 0)
			E("struct "
			  "pvio_blkif_x86_32_request_indirect.indirect_grefs",
			  K_FIELD, REF_A32, 24, 0, 32,
			  0) E("struct pvio_blkif_x86_32_response", K_SIZE,
			       REF_A32, 12, 0, 4,
			       0) E("struct pvio_blkif_x86_32_response.status",
				    K_FIELD, REF_A32, 10, 0, 2,
				    0) E("union pvio_blkif_x86_32_sring_entry",
					 K_SIZE, REF_A32, 108, 0, 4, 0)
				E("PVIO_RING_ENTRIES(1 page(s), blkif_x86_32)",
				  K_CONST, REF_A32, 32, 0, 0, 0)};
#endif
#undef E

struct table {
	const char *name;
	const struct compat_entry *e;
	unsigned int n;
};

static struct table t_pvio64, t_xen64, t_xen32;
#ifdef COMPAT_HAVE_M32
static struct table t_pvio32;
#endif

static const struct compat_entry *lookup(const struct table *t, const char *key)
{
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->e[i].key, key) == 0)
			return &t->e[i];
	}
	return NULL;
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case K_CONST:
		return "value";
	case K_STR:
		return "string";
	case K_SIZE:
		return "sizeof/align";
	case K_FIELD:
		return "offset/size";
	}
	return "?";
}

struct counts {
	unsigned int types, fields, consts, strs, skipped, unchecked;
};

/*
 * Compares every entry of pvio table pv (built for a 32-bit machine if
 * is32) with its Xen reference; prints each mismatch; returns how many.
 */
static unsigned int compare_pass(const char *pass, const struct table *pv,
				 const struct table *xen_native, int is32,
				 struct counts *c)
{
	unsigned int i, bad = 0;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < pv->n; i++) {
		const struct compat_entry *p = &pv->e[i];
		const struct table *ref;
		const struct compat_entry *x;
		const char *xen_text;
		int ok;

		switch (p->ref) {
		case REF_N:
			ref = xen_native;
			break;
		case REF_A32:
			ref = &t_xen32;
			break;
		case REF_A64:
			ref = &t_xen64;
			break;
		case REF_H64:
			if (is32) {
				c->skipped++;
				continue;
			}
			ref = &t_xen64;
			break;
		default:
			print_error("[%s] %s: bad ref %d\n", pass, p->key,
				    p->ref);
			bad++;
			continue;
		}
		x = lookup(ref, p->key);
		if (x == NULL) {
#ifndef COMPAT_HAVE_M32
			if (ref == &t_xen32) {
				c->unchecked++;
				continue;
			}
#endif
			print_error("[%s] %s: no entry in %s\n", pass, p->key,
				    ref->name);
			bad++;
			continue;
		}
		switch (p->kind) {
		case K_SIZE:
			c->types++;
			break;
		case K_FIELD:
			c->fields++;
			break;
		case K_CONST:
			c->consts++;
			break;
		case K_STR:
			c->strs++;
			break;
		}
		if (p->kind != x->kind) {
			print_error("[%s] %s: kind %d vs %d in %s\n", pass,
				    p->key, p->kind, x->kind, ref->name);
			bad++;
			continue;
		}
		if (p->kind == K_STR)
			ok = p->s && x->s && strcmp(p->s, x->s) == 0;
		else if (p->kind == K_CONST)
			ok = p->a == x->a;
		else
			ok = p->a == x->a && p->b == x->b;
		if (ok)
			continue;
		bad++;
		/* -m32 tables carry no text; take it from the native one. */
		xen_text = p->xen;
		if (xen_text == NULL) {
			const struct compat_entry *n =
				lookup(&t_pvio64, p->key);

			xen_text = n && n->xen ? n->xen : "";
		}
		if (p->kind == K_STR) {
			print_error("[%s] %s: pvio \"%s\", Xen \"%s\"\n", pass,
				    p->key, p->s ? p->s : "(null)",
				    x->s ? x->s : "(null)");
		} else if (p->kind == K_CONST) {
			print_error("[%s] %s: pvio %lld, Xen %lld (%s, %s)\n",
				    pass, p->key, p->a, x->a, xen_text,
				    ref->name);
		} else {
			print_error("[%s] %s %s: pvio %lld/%lld, Xen %lld/%lld "
				    "(%s, %s)\n",
				    pass, p->key, kind_name(p->kind), p->a,
				    p->b, x->a, x->b, xen_text, ref->name);
		}
	}
	print_message("[%s] compared %u types, %u fields, %u constants, %u "
		      "strings; %u skipped (64-bit-host hypercall layouts), "
		      "%u without an x86_32 reference; %u mismatches\n",
		      pass, c->types, c->fields, c->consts, c->strs, c->skipped,
		      c->unchecked, bad);
	return bad;
}

static void test_native(void **state)
{
	struct counts c;

	(void)state;
	assert_int_equal(compare_pass("native", &t_pvio64, &t_xen64, 0, &c), 0);
	assert_true(c.types > 0 && c.fields > 0 && c.consts > 0);
}

static void test_m32(void **state)
{
	(void)state;
#ifdef COMPAT_HAVE_M32
	struct counts c;

	assert_int_equal(compare_pass("m32", &t_pvio32, &t_xen32, 1, &c), 0);
	assert_true(c.types > 0 && c.fields > 0 && c.consts > 0);
#else
	print_message("no -m32 toolchain: x86_32 layouts checked against "
		      "documented numbers only\n");
	skip();
#endif
}

/* Both sides of a pass were built from one list: same keys, same order. */
static unsigned int check_pair(const struct table *a, const struct table *b)
{
	unsigned int i, j, bad = 0;

	if (a->n != b->n) {
		print_error("%s has %u entries, %s %u\n", a->name, a->n,
			    b->name, b->n);
		return 1;
	}
	for (i = 0; i < a->n; i++) {
		if (strcmp(a->e[i].key, b->e[i].key) != 0) {
			print_error("entry %u: %s vs %s\n", i, a->e[i].key,
				    b->e[i].key);
			bad++;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(a->e[i].key, a->e[j].key) == 0) {
				print_error("duplicate key %s\n", a->e[i].key);
				bad++;
			}
		}
	}
	return bad;
}

static void test_tables_consistent(void **state)
{
	(void)state;
	assert_int_equal(check_pair(&t_pvio64, &t_xen64), 0);
#ifdef COMPAT_HAVE_M32
	assert_int_equal(check_pair(&t_pvio32, &t_xen32), 0);
#endif
}

static void test_xsd_errors(void **state)
{
	unsigned int i, bad = 0;

	(void)state;
	assert_int_equal(PVIO_XSD_NR_ERRORS, compat_xen_xsd_errors_len());
	for (i = 0; i < PVIO_XSD_NR_ERRORS; i++) {
		const struct pvio_xsd_error *p = pvio_xsd_error_at(i);
		const char *xname;
		int xerr = compat_xen_xsd_error(i, &xname);

		if (p->errnum != xerr || strcmp(p->name, xname) != 0) {
			print_error(
				"xsd error %u: pvio {%d, %s}, Xen {%d, %s}\n",
				i, p->errnum, p->name, xerr, xname);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ---- completeness -------------------------------------------------- */

struct strset {
	char **v;
	unsigned int n, cap;
};

static int set_has(const struct strset *s, const char *str)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], str) == 0)
			return 1;
	}
	return 0;
}

static void set_add(struct strset *s, const char *str)
{
	if (set_has(s, str))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n] = strdup(str);
	assert_non_null(s->v[s->n]);
	s->n++;
}

static void set_free(struct strset *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL) {
		print_error("%s: %s\n", path, strerror(errno));
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/*
 * Splits C text into directive lines and code.  Comments become spaces,
 * continuation lines are joined.  'code' gets every non-directive line,
 * 'dirs' every directive line (both '\n'-separated).
 */
static void split_source(const char *src, char *code, char *dirs)
{
	char *line = malloc(strlen(src) + 1);
	size_t ln = 0;
	const char *p = src;
	int in_comment = 0;

	assert_non_null(line);
	*code = *dirs = '\0';
	for (;;) {
		if (*p == '\0' || (*p == '\n' && !in_comment)) {
			const char *q = line;
			char *dst;

			line[ln] = '\0';
			while (*q == ' ' || *q == '\t')
				q++;
			dst = *q == '#' ? dirs : code;
			strcat(dst, line);
			strcat(dst, "\n");
			ln = 0;
			if (*p == '\0')
				break;
			p++;
			continue;
		}
		if (in_comment) {
			if (p[0] == '*' && p[1] == '/') {
				in_comment = 0;
				p += 2;
			} else {
				p++;
			}
			continue;
		}
		if (p[0] == '\\' && p[1] == '\n') {
			p += 2;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			in_comment = 1;
			line[ln++] = ' ';
			p += 2;
			continue;
		}
		if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (*p == '"' || *p == '\'') {
			char q = *p;

			line[ln++] = *p++;
			while (*p && *p != q) {
				if (*p == '\\' && p[1])
					line[ln++] = *p++;
				line[ln++] = *p++;
			}
			if (*p)
				line[ln++] = *p++;
			continue;
		}
		line[ln++] = *p++;
	}
	free(line);
}

#define TOK_MAX 64

struct toks {
	char (*t)[TOK_MAX];
	unsigned int n;
};

static void tokenize(const char *s, struct toks *tk)
{
	unsigned int cap = 0;

	tk->t = NULL;
	tk->n = 0;
	while (*s) {
		char buf[TOK_MAX];
		size_t len = 0;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (isalnum((unsigned char)*s) || *s == '_') {
			while (isalnum((unsigned char)*s) || *s == '_') {
				if (len < TOK_MAX - 1)
					buf[len++] = *s;
				s++;
			}
		} else if (*s == '"') {
			buf[len++] = *s++;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				s++;
			}
			if (*s)
				s++;
			buf[len++] = '"';
		} else {
			buf[len++] = *s++;
		}
		buf[len] = '\0';
		if (tk->n == cap) {
			cap = cap ? 2 * cap : 1024;
			tk->t = realloc(tk->t, cap * sizeof(*tk->t));
			assert_non_null(tk->t);
		}
		memcpy(tk->t[tk->n++], buf, len + 1);
	}
}

static int is_ident(const char *t)
{
	return isalpha((unsigned char)t[0]) || t[0] == '_';
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct covered {
	struct strset consts, types, fields, rings;
};

/* Argument k of the invocation whose '(' is token i: [first, end). */
static int macro_arg(const struct toks *tk, unsigned int i, unsigned int k,
		     unsigned int *first, unsigned int *end)
{
	unsigned int j, depth = 0, arg = 0, start = i + 1;

	for (j = i; j < tk->n; j++) {
		const char *t = tk->t[j];

		if (strcmp(t, "(") == 0) {
			depth++;
			continue;
		}
		if (depth == 1 &&
		    (strcmp(t, ",") == 0 || strcmp(t, ")") == 0)) {
			if (arg == k) {
				*first = start;
				*end = j;
				return 1;
			}
			arg++;
			start = j + 1;
		}
		if (strcmp(t, ")") == 0 && --depth == 0)
			break;
	}
	return 0;
}

/* Tokens [first, end) joined by single spaces. */
static void join(const struct toks *tk, unsigned int first, unsigned int end,
		 char *out, size_t size)
{
	unsigned int j;

	out[0] = '\0';
	for (j = first; j < end; j++) {
		if (j > first)
			strncat(out, " ", size - strlen(out) - 1);
		strncat(out, tk->t[j], size - strlen(out) - 1);
	}
}

static void parse_list(const char *path, struct covered *cv)
{
	char *src = read_text(path);
	char *code, *dirs;
	struct toks tk;
	unsigned int i;

	assert_non_null(src);
	code = malloc(strlen(src) + 2);
	dirs = malloc(strlen(src) + 2);
	assert_non_null(code);
	assert_non_null(dirs);
	split_source(src, code, dirs);
	tokenize(code, &tk);
	for (i = 0; i + 1 < tk.n; i++) {
		const char *m = tk.t[i];
		unsigned int f, e, ff, fe;
		char type[256], key[512], name[256];

		if (strcmp(tk.t[i + 1], "(") != 0)
			continue;
		if (strcmp(m, "C") == 0 || strcmp(m, "CX") == 0) {
			if (macro_arg(&tk, i + 1, 1, &f, &e) && e == f + 1)
				set_add(&cv->consts, tk.t[f]);
		} else if (strcmp(m, "STR") == 0) {
			if (macro_arg(&tk, i + 1, 0, &f, &e) && e == f + 1)
				set_add(&cv->consts, tk.t[f]);
		} else if (strcmp(m, "S") == 0 || strcmp(m, "SX") == 0) {
			if (macro_arg(&tk, i + 1, 1, &f, &e)) {
				join(&tk, f, e, type, sizeof(type));
				set_add(&cv->types, type);
			}
		} else if (strcmp(m, "F") == 0 || strcmp(m, "F2") == 0 ||
			   strcmp(m, "FX") == 0) {
			unsigned int fk = strcmp(m, "F") == 0 ? 3 : 2;

			if (macro_arg(&tk, i + 1, 1, &f, &e) &&
			    macro_arg(&tk, i + 1, fk, &ff, &fe) && fe > ff) {
				join(&tk, f, e, type, sizeof(type));
				snprintf(key, sizeof(key), "%s.%s", type,
					 tk.t[ff]);
				set_add(&cv->fields, key);
			}
		} else if (strcmp(m, "RING") == 0) {
			if (macro_arg(&tk, i + 1, 1, &f, &e) && e == f + 1) {
				snprintf(name, sizeof(name), "%s", tk.t[f]);
				set_add(&cv->rings, name);
			}
		}
	}
	free(tk.t);
	free(code);
	free(dirs);
	free(src);
}

/* Prints and counts what 'path' defines that the list does not cover. */
static unsigned int check_header(const char *path, const char *base,
				 const struct covered *cv, unsigned int *ndefs)
{
	char *src = read_text(path);
	char *code, *dirs, *line;
	struct toks tk;
	unsigned int i, missing = 0;

	assert_non_null(src);
	code = malloc(strlen(src) + 2);
	dirs = malloc(strlen(src) + 2);
	assert_non_null(code);
	assert_non_null(dirs);
	split_source(src, code, dirs);

	/* #define NAME ... (object-like, not pvio-private, not guards). */
	for (line = strtok(dirs, "\n"); line; line = strtok(NULL, "\n")) {
		char name[128];
		const char *p = line;
		size_t n = 0;

		while (*p == ' ' || *p == '\t' || *p == '#')
			p++;
		if (!starts_with(p, "define"))
			continue;
		p += strlen("define");
		while (*p == ' ' || *p == '\t')
			p++;
		while ((isalnum((unsigned char)*p) || *p == '_') &&
		       n < sizeof(name) - 1)
			name[n++] = *p++;
		name[n] = '\0';
		if (*p == '(' || starts_with(name, "PVIO_") ||
		    starts_with(name, "pvio_"))
			continue;
		(*ndefs)++;
		if (!set_has(&cv->consts, name)) {
			print_error("%s: #define %s has no compat entry\n",
				    base, name);
			missing++;
		}
	}

	tokenize(code, &tk);
	for (i = 0; i + 2 < tk.n; i++) {
		const char *t = tk.t[i];
		char type[256], key[512];
		unsigned int j, depth;

		if (strcmp(t, "PVIO_RING_DEFINE") == 0 &&
		    strcmp(tk.t[i + 1], "(") == 0) {
			(*ndefs)++;
			if (!set_has(&cv->rings, tk.t[i + 2])) {
				print_error("%s: PVIO_RING_DEFINE(%s) has no "
					    "RING() entry\n",
					    base, tk.t[i + 2]);
				missing++;
			}
			continue;
		}
		if (strcmp(t, "typedef") == 0) {
			const char *name = NULL;
			unsigned int paren = 0, brace = 0;

			for (j = i + 1; j < tk.n && strcmp(tk.t[j], ";"); j++) {
				const char *u = tk.t[j];

				if (!strcmp(u, "(") || !strcmp(u, "["))
					paren++;
				else if (!strcmp(u, ")") || !strcmp(u, "]"))
					paren--;
				else if (!strcmp(u, "{"))
					brace++;
				else if (!strcmp(u, "}"))
					brace--;
				else if (!paren && !brace && is_ident(u) &&
					 strcmp(u, "__attribute__"))
					name = u;
			}
			if (name && starts_with(name, "pvio_")) {
				(*ndefs)++;
				if (!set_has(&cv->types, name)) {
					print_error("%s: typedef %s has no "
						    "S() entry\n",
						    base, name);
					missing++;
				}
			}
			continue;
		}
		if (strcmp(t, "enum") == 0) {
			unsigned int open = i + 1;

			if (is_ident(tk.t[open]))
				open++;
			if (strcmp(tk.t[open], "{") != 0)
				continue;
			if (open == i + 2) {
				snprintf(type, sizeof(type), "enum %s",
					 tk.t[i + 1]);
				(*ndefs)++;
				if (!set_has(&cv->types, type)) {
					print_error("%s: %s has no S() entry\n",
						    base, type);
					missing++;
				}
			}
			/* Members: the identifier after '{' or ','. */
			depth = 0;
			for (j = open; j < tk.n; j++) {
				const char *u = tk.t[j];

				if (!strcmp(u, "(") || !strcmp(u, "{"))
					depth++;
				else if (!strcmp(u, ")") || !strcmp(u, "}")) {
					if (--depth == 0)
						break;
				} else if (depth == 1 && is_ident(u) &&
					   (!strcmp(tk.t[j - 1], "{") ||
					    !strcmp(tk.t[j - 1], ","))) {
					(*ndefs)++;
					if (!set_has(&cv->consts, u)) {
						print_error("%s: enum member "
							    "%s has no "
							    "compat entry\n",
							    base, u);
						missing++;
					}
				}
			}
			continue;
		}
		if ((strcmp(t, "struct") == 0 || strcmp(t, "union") == 0) &&
		    starts_with(tk.t[i + 1], "pvio_") &&
		    strcmp(tk.t[i + 2], "{") == 0) {
			unsigned int paren = 0;

			snprintf(type, sizeof(type), "%s %s", t, tk.t[i + 1]);
			(*ndefs)++;
			if (!set_has(&cv->types, type)) {
				print_error("%s: %s has no S() entry\n", base,
					    type);
				missing++;
			}
			/* Top-level members: NAME followed by ; , [ or :. */
			depth = 0;
			for (j = i + 2; j + 1 < tk.n; j++) {
				const char *u = tk.t[j];
				const char *nx = tk.t[j + 1];

				if (!strcmp(u, "{")) {
					depth++;
				} else if (!strcmp(u, "}")) {
					if (--depth == 0)
						break;
				} else if (!strcmp(u, "(") || !strcmp(u, "[")) {
					paren++;
				} else if (!strcmp(u, ")") || !strcmp(u, "]")) {
					paren--;
				} else if (depth == 1 && paren == 0 &&
					   is_ident(u) &&
					   (!strcmp(nx, ";") ||
					    !strcmp(nx, ",") ||
					    !strcmp(nx, "[") ||
					    !strcmp(nx, ":"))) {
					snprintf(key, sizeof(key), "%s.%s",
						 type, u);
					(*ndefs)++;
					if (!set_has(&cv->fields, key)) {
						print_error("%s: field %s has "
							    "no F() entry\n",
							    base, key);
						missing++;
					}
				}
			}
		}
	}
	free(tk.t);
	free(code);
	free(dirs);
	free(src);
	return missing;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_completeness(void **state)
{
	struct covered cv;
	struct strset files;
	DIR *d;
	struct dirent *de;
	unsigned int i, missing = 0, ndefs = 0;

	(void)state;
	memset(&cv, 0, sizeof(cv));
	memset(&files, 0, sizeof(files));
	parse_list(COMPAT_LIST_FILE, &cv);
	assert_true(cv.consts.n > 0 && cv.types.n > 0 && cv.fields.n > 0);

	d = opendir(COMPAT_IO_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 2 && strcmp(de->d_name + len - 2, ".h") == 0)
			set_add(&files, de->d_name);
	}
	closedir(d);
	qsort(files.v, files.n, sizeof(*files.v), name_cmp);
	assert_true(files.n > 0);
	for (i = 0; i < files.n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", COMPAT_IO_DIR,
			 files.v[i]);
		missing += check_header(path, files.v[i], &cv, &ndefs);
	}
	print_message("completeness: %u headers, %u definitions, %u without "
		      "a compat entry\n",
		      files.n, ndefs, missing);
	set_free(&files);
	set_free(&cv.consts);
	set_free(&cv.types);
	set_free(&cv.fields);
	set_free(&cv.rings);
	assert_int_equal(missing, 0);
}

/* The xs_wire.h lookup helpers agree with the table. */
static void test_xsd_helpers(void **state)
{
	(void)state;
	assert_string_equal(pvio_xsd_error_name(ENOENT), "ENOENT");
	assert_string_equal(pvio_xsd_error_name(EPERM), "EPERM");
	assert_null(pvio_xsd_error_name(EXDEV));
	assert_int_equal(pvio_xsd_error_errno("EAGAIN", 6), EAGAIN);
	assert_int_equal(pvio_xsd_error_errno("EAGAINX", 6), EAGAIN);
	assert_int_equal(pvio_xsd_error_errno("EAGAI", 5), 0);
	assert_int_equal(pvio_xsd_error_errno("E2BIG", 5), E2BIG);
	assert_int_equal(pvio_xsd_error_errno("", 0), 0);
	assert_null(pvio_xsd_error_at(PVIO_XSD_NR_ERRORS));
	assert_int_equal(pvio_xsd_error_at(0)->errnum, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_consistent),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_m32),
		cmocka_unit_test(test_xsd_errors),
		cmocka_unit_test(test_xsd_helpers),
		cmocka_unit_test(test_completeness),
	};

	t_pvio64 = (struct table){"pvio (native)", compat_pvio_table,
				  compat_pvio_table_len};
	t_xen64 = (struct table){"Xen (native)", compat_xen_table,
				 compat_xen_table_len};
	t_xen32 = (struct table){"Xen (-m32)", compat_xen32_table,
				 sizeof(compat_xen32_table) /
					 sizeof(compat_xen32_table[0])};
#ifdef COMPAT_HAVE_M32
	t_pvio32 = (struct table){"pvio (-m32)", compat_pvio32_table,
				  sizeof(compat_pvio32_table) /
					  sizeof(compat_pvio32_table[0])};
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
