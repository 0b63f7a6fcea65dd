/*
 * yml.c: libyaml's event parser -> a small tree of our own, with 1-based
 * positions for messages.
 *
 * The input is untrusted (user-data may come from anyone who can launch an
 * instance), so the tree is built under limits: a node count that includes
 * alias expansion, a nesting depth, a scalar size. An alias shares the
 * anchored node instead of copying it; every node is kept in one list owned
 * by the document, and yml_free walks that list, so a shared node is freed
 * exactly once and an alias costs one pointer whatever it expands to.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "gitstrap.h"

#define YML_MAX_NODES	10000		/* after alias expansion */
#define YML_MAX_DEPTH	64		/* nested collections */
#define YML_MAX_SCALAR	(1024 * 1024)

/* a node with what the limits need to know about it */
struct yml_pnode {
	struct yml_node	 n;		/* first: converts to and from */
	size_t		 weight;	/* nodes after expansion, itself included */
	int		 height;	/* collection levels, itself included */
	size_t		 cap;		/* room in items, or keys and vals */
};

/* the document, and every node it owns */
struct yml_pdoc {
	struct yml_doc	  doc;		/* first: converts to and from */
	struct yml_pnode **all;
	size_t		  nall;
	size_t		  capall;
};

struct yml_anchor {
	char		 *name;
	struct yml_pnode *node;
	int		  done;		/* an alias to an open node is a cycle */
};

struct yml_frame {
	struct yml_pnode *node;
	size_t		  anchor;	/* 1 + its index in anchors, to mark
					   done at the end; 0 = none (an
					   index: the array moves as it grows) */
	size_t		  total0;	/* node count before this node */
	struct yml_pnode *key;		/* mapping: key waiting for a value */
};

struct yml_state {
	const char		*file;
	struct yml_pdoc		*pd;
	struct yml_frame	 stack[YML_MAX_DEPTH];
	int			 depth;
	size_t			 total;
	struct yml_anchor	*anchors;
	size_t			 nanchors;
	int			 ndocs;
	struct gs_error		*err;
};

static int
yml_seterr(struct yml_state *st, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
yml_seterr(struct yml_state *st, int line, int col, const char *fmt, ...)
{
	va_list	ap;
	char	msg[400];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gs_error_set(st->err, GS_E_YAML, 0, "%s:%d:%d: %s", st->file,
	    line, col, msg);
}

/* libyaml marks are 0-based */
static int
yml_line(const yaml_mark_t *m)
{
	return m->line >= (size_t)0x7fffffff ? 0x7fffffff : (int)m->line + 1;
}

static int
yml_col(const yaml_mark_t *m)
{
	return m->column >= (size_t)0x7fffffff ?
	    0x7fffffff : (int)m->column + 1;
}

/*
 * Line and column of a byte offset, counted as libyaml counts them: a
 * column is a character (UTF-8 continuation bytes do not count), and
 * "\r\n" is one line break.
 */
static void
yml_offset_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	size_t		i;
	unsigned char	c;

	*line = *col = 1;
	for (i = 0; i < off && i < len; i++) {
		c = (unsigned char)buf[i];
		if (c == '\n' ||
		    (c == '\r' && (i + 1 == len || buf[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if (c != '\r' && (c & 0xc0) != 0x80)
			(*col)++;
	}
}

/* turn a libyaml failure into "FILE:LINE:COL: problem (context)" */
static int
yml_parser_err(struct yml_state *st, const yaml_parser_t *p,
    const char *buf, size_t len)
{
	const char	*problem;
	int		 line, col;

	if (p->error == YAML_MEMORY_ERROR)
		fatalx("yml.nomem", "file=%s", st->file);
	problem = p->problem != NULL ? p->problem : "cannot parse";
	if (p->error == YAML_READER_ERROR) {
		/* the reader gives a byte offset and the bad byte, no mark */
		yml_offset_pos(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return yml_seterr(st, line, col, "%s (0x%02x)", problem,
			    (unsigned)p->problem_value);
		return yml_seterr(st, line, col, "%s", problem);
	}
	line = yml_line(&p->problem_mark);
	col = yml_col(&p->problem_mark);
	if (p->context != NULL)
		return yml_seterr(st, line, col, "%s (%s)", problem,
		    p->context);
	return yml_seterr(st, line, col, "%s", problem);
}

static struct yml_pnode *
yml_node_new(struct yml_state *st, enum yml_type type,
    const yaml_mark_t *mark, const yaml_char_t *tag)
{
	struct yml_pdoc		*pd = st->pd;
	struct yml_pnode	*pn;

	pn = xcalloc(1, sizeof(*pn));
	pn->n.type = type;
	pn->n.line = yml_line(mark);
	pn->n.col = yml_col(mark);
	if (tag != NULL)
		pn->n.tag = xstrdup((const char *)tag);
	pn->weight = 1;
	pn->height = type == YML_SCALAR ? 0 : 1;
	if (pd->nall == pd->capall) {
		pd->capall = pd->capall == 0 ? 64 : pd->capall * 2;
		pd->all = xreallocarray(pd->all, pd->capall, sizeof(*pd->all));
	}
	pd->all[pd->nall++] = pn;
	return pn;
}

static void
yml_node_free(struct yml_pnode *pn)
{
	free(pn->n.str);
	free((char *)pn->n.tag);
	free(pn->n.items);
	free(pn->n.keys);
	free(pn->n.vals);
	free(pn);
}

static int
yml_count(struct yml_state *st, size_t weight, const yaml_mark_t *mark)
{
	if (weight > YML_MAX_NODES || st->total > YML_MAX_NODES - weight)
		return yml_seterr(st, yml_line(mark), yml_col(mark),
		    "too many nodes (more than %d, aliases expanded)",
		    YML_MAX_NODES);
	st->total += weight;
	return 0;
}

static struct yml_anchor *
yml_anchor_add(struct yml_state *st, const yaml_char_t *name,
    struct yml_pnode *pn, int done)
{
	struct yml_anchor	*a;

	st->anchors = xreallocarray(st->anchors, st->nanchors + 1,
	    sizeof(*st->anchors));
	a = &st->anchors[st->nanchors++];
	a->name = xstrdup((const char *)name);
	a->node = pn;
	a->done = done;
	return a;
}

/* an anchor may be redefined: the latest definition wins */
static struct yml_anchor *
yml_anchor_find(struct yml_state *st, const yaml_char_t *name)
{
	size_t	i;

	for (i = st->nanchors; i > 0; i--)
		if (strcmp(st->anchors[i - 1].name, (const char *)name) == 0)
			return &st->anchors[i - 1];
	return NULL;
}

/*
 * Hang a finished node (or an aliased one) on the open collection, or make
 * it the root. line and col are where it was written, for messages.
 */
static int
yml_attach(struct yml_state *st, struct yml_pnode *pn, int line, int col)
{
	struct yml_frame	*f;
	struct yml_node		*parent, *k;
	size_t			 i;
	char			 q[80];

	if (st->depth == 0) {
		st->pd->doc.root = &pn->n;
		return 0;
	}
	f = &st->stack[st->depth - 1];
	parent = &f->node->n;
	if (pn->height + 1 > f->node->height)
		f->node->height = pn->height + 1;
	if (parent->type == YML_SEQ) {
		if (parent->n == f->node->cap) {
			f->node->cap = f->node->cap == 0 ? 8 : f->node->cap * 2;
			parent->items = xreallocarray(parent->items,
			    f->node->cap, sizeof(*parent->items));
		}
		parent->items[parent->n++] = &pn->n;
		return 0;
	}
	if (f->key == NULL) {
		if (pn->n.type != YML_SCALAR)
			return yml_seterr(st, line, col,
			    "mapping keys must be scalars");
		for (i = 0; i < parent->n; i++) {
			k = parent->keys[i];
			if (k->len == pn->n.len &&
			    memcmp(k->str, pn->n.str, k->len) == 0) {
				util_quote(q, sizeof(q), pn->n.str, pn->n.len);
				return yml_seterr(st, line, col,
				    "duplicate key \"%s\"", q);
			}
		}
		f->key = pn;
		return 0;
	}
	if (parent->n == f->node->cap) {
		f->node->cap = f->node->cap == 0 ? 8 : f->node->cap * 2;
		parent->keys = xreallocarray(parent->keys, f->node->cap,
		    sizeof(*parent->keys));
		parent->vals = xreallocarray(parent->vals, f->node->cap,
		    sizeof(*parent->vals));
	}
	parent->keys[parent->n] = &f->key->n;
	parent->vals[parent->n++] = &pn->n;
	f->key = NULL;
	return 0;
}

static int
yml_expecting_key(const struct yml_state *st)
{
	const struct yml_frame	*f;

	if (st->depth == 0)
		return 0;
	f = &st->stack[st->depth - 1];
	return f->node->n.type == YML_MAP && f->key == NULL;
}

static int
yml_on_scalar(struct yml_state *st, const yaml_event_t *ev)
{
	struct yml_pnode	*pn;
	const yaml_mark_t	*m = &ev->start_mark;

	if (ev->data.scalar.length > YML_MAX_SCALAR)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "scalar too large (more than %d bytes)", YML_MAX_SCALAR);
	if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) !=
	    NULL)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "scalar contains a NUL character");
	if (yml_count(st, 1, m) == -1)
		return -1;
	pn = yml_node_new(st, YML_SCALAR, m, ev->data.scalar.tag);
	pn->n.str = xstrndup((const char *)ev->data.scalar.value,
	    ev->data.scalar.length);
	pn->n.len = ev->data.scalar.length;
	pn->n.quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (ev->data.scalar.anchor != NULL)
		yml_anchor_add(st, ev->data.scalar.anchor, pn, 1);
	return yml_attach(st, pn, yml_line(m), yml_col(m));
}

static int
yml_on_start(struct yml_state *st, const yaml_event_t *ev)
{
	struct yml_pnode	*pn;
	struct yml_frame	*f;
	const yaml_mark_t	*m = &ev->start_mark;
	const yaml_char_t	*anchor, *tag;
	enum yml_type		 type;

	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		type = YML_SEQ;
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else {
		type = YML_MAP;
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	}
	if (yml_expecting_key(st))
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "mapping keys must be scalars");
	if (st->depth == YML_MAX_DEPTH)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "nesting too deep (more than %d levels)", YML_MAX_DEPTH);
	if (yml_count(st, 1, m) == -1)
		return -1;
	pn = yml_node_new(st, type, m, tag);
	f = &st->stack[st->depth++];
	f->node = pn;
	f->total0 = st->total - 1;
	f->key = NULL;
	f->anchor = 0;
	if (anchor != NULL) {
		yml_anchor_add(st, anchor, pn, 0);
		f->anchor = st->nanchors;
	}
	return 0;
}

static int
yml_on_end(struct yml_state *st)
{
	struct yml_frame	*f;
	struct yml_pnode	*pn;

	f = &st->stack[--st->depth];
	pn = f->node;
	pn->weight = st->total - f->total0;
	if (f->anchor != 0)
		st->anchors[f->anchor - 1].done = 1;
	return yml_attach(st, pn, pn->n.line, pn->n.col);
}

static int
yml_on_alias(struct yml_state *st, const yaml_event_t *ev)
{
	struct yml_anchor	*a;
	const yaml_mark_t	*m = &ev->start_mark;
	char			 q[80];
	const char		*name = (const char *)ev->data.alias.anchor;

	util_quote(q, sizeof(q), name, strlen(name));
	if ((a = yml_anchor_find(st, ev->data.alias.anchor)) == NULL)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "unknown anchor \"%s\"", q);
	if (!a->done)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "alias \"%s\" refers to itself", q);
	if (yml_expecting_key(st) && a->node->n.type != YML_SCALAR)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "mapping keys must be scalars");
	if (st->depth + a->node->height > YML_MAX_DEPTH)
		return yml_seterr(st, yml_line(m), yml_col(m),
		    "nesting too deep (more than %d levels)", YML_MAX_DEPTH);
	if (yml_count(st, a->node->weight, m) == -1)
		return -1;
	return yml_attach(st, a->node, yml_line(m), yml_col(m));
}

static int
yml_on_event(struct yml_state *st, const yaml_event_t *ev)
{
	const yaml_mark_t	*m = &ev->start_mark;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (st->ndocs++ > 0)
			return yml_seterr(st, yml_line(m), yml_col(m),
			    "expected a single document");
		return 0;
	case YAML_SCALAR_EVENT:
		return yml_on_scalar(st, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return yml_on_start(st, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yml_on_end(st);
	case YAML_ALIAS_EVENT:
		return yml_on_alias(st, ev);
	default:
		return 0;
	}
}

int
yml_parse(struct yml_doc **out, const char *file, const char *buf,
    size_t len, struct gs_error *err)
{
	struct yml_state	 st;
	struct yml_node		*root;
	yaml_parser_t		 parser;
	yaml_event_t		 ev;
	const char		*nul;
	size_t			 i;
	int			 line, col, done = 0, ret = -1;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	st.file = file;
	st.err = err;
	st.pd = xcalloc(1, sizeof(*st.pd));
	st.pd->doc.file = xstrdup(file);

	if (buf == NULL) {
		buf = "";
		len = 0;
	}
	/* libyaml would stop at a NUL as a control character; say it plainly */
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		yml_offset_pos(buf, len, (size_t)(nul - buf), &line, &col);
		yml_seterr(&st, line, col, "input contains a NUL byte");
		yml_free(&st.pd->doc);
		return -1;
	}

	if (!yaml_parser_initialize(&parser))
		fatalx("yml.nomem", "file=%s", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yml_parser_err(&st, &parser, buf, len);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (yml_on_event(&st, &ev) == -1) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}

	/* "---" alone is an empty document too: libyaml gives a null scalar */
	root = st.pd->doc.root;
	if (root != NULL && root->type == YML_SCALAR && root->len == 0 &&
	    !root->quoted && root->tag == NULL)
		st.pd->doc.root = NULL;
	*out = &st.pd->doc;
	st.pd = NULL;
	ret = 0;
out:
	yaml_parser_delete(&parser);
	for (i = 0; i < st.nanchors; i++)
		free(st.anchors[i].name);
	free(st.anchors);
	if (st.pd != NULL)
		yml_free(&st.pd->doc);
	return ret;
}

void
yml_free(struct yml_doc *doc)
{
	struct yml_pdoc	*pd = (struct yml_pdoc *)doc;
	size_t		 i;

	if (doc == NULL)
		return;
	for (i = 0; i < pd->nall; i++)
		yml_node_free(pd->all[i]);
	free(pd->all);
	free(pd->doc.file);
	free(pd);
}

struct yml_node *
yml_get(const struct yml_node *map, const char *key)
{
	size_t	i, len;

	if (map == NULL || map->type != YML_MAP)
		return NULL;
	len = strlen(key);
	for (i = 0; i < map->n; i++)
		if (map->keys[i]->len == len &&
		    memcmp(map->keys[i]->str, key, len) == 0)
			return map->vals[i];
	return NULL;
}

const char *
yml_type_name(enum yml_type type)
{
	switch (type) {
	case YML_SCALAR:
		return "a string";
	case YML_SEQ:
		return "a sequence";
	case YML_MAP:
		return "a mapping";
	}
	return "a node";
}

int
yml_bool(const struct yml_node *n)
{
	static const char *const yes[] = {
		"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"
	};
	static const char *const no[] = {
		"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"
	};
	size_t	i;

	if (n == NULL || n->type != YML_SCALAR)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (strcmp(n->str, yes[i]) == 0)
			return 1;
		if (strcmp(n->str, no[i]) == 0)
			return 0;
	}
	return -1;
}
