/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Template loading, parsing and rendering; see template.h. A template is
 * parsed once into a tree of nodes (text, variable, if); rendering walks the
 * tree. Both syntaxes share the tree: a legacy %(var_forhtml)s is a variable
 * node with the escape filter, exactly like {{ var | e }}.
 */
#include "mail/template.h"
#include "util/buf.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define FILTERS_MAX   8   /* filters in one {{ }} */
#define DEPTH_MAX     32  /* nested {% if %} */
#define MAIL_LINE_MAX 998 /* RFC 5322 2.1.1 */

/* ---- variables ----------------------------------------------------------- */

struct tmpl_kv {
    char *key;
    char *value;
};

struct tmpl_vars {
    struct tmpl_kv *kv; /* in insertion order */
    size_t n;
    size_t alloc;
};

struct tmpl_vars *
tmpl_vars_new(void)
{
    return xcalloc(1, sizeof(struct tmpl_vars));
}

void
tmpl_vars_set(struct tmpl_vars *v, const char *key, const char *value)
{
    size_t i;

    for (i = 0; i < v->n; i++) {
        if (strcmp(v->kv[i].key, key) == 0)
            break;
    }
    if (i < v->n) {
        free(v->kv[i].value);
        if (value != NULL) {
            v->kv[i].value = xstrdup(value);
            return;
        }
        free(v->kv[i].key);
        memmove(&v->kv[i], &v->kv[i + 1], (v->n - i - 1) * sizeof(*v->kv));
        v->n--;
        return;
    }
    if (value == NULL)
        return;
    if (v->n == v->alloc) {
        v->alloc = v->alloc == 0 ? 16 : v->alloc * 2;
        v->kv = xrealloc(v->kv, v->alloc * sizeof(*v->kv));
    }
    v->kv[v->n].key = xstrdup(key);
    v->kv[v->n].value = xstrdup(value);
    v->n++;
}

const char *
tmpl_vars_get(const struct tmpl_vars *v, const char *key)
{
    size_t i;

    if (v == NULL)
        return NULL;
    for (i = 0; i < v->n; i++) {
        if (strcmp(v->kv[i].key, key) == 0)
            return v->kv[i].value;
    }
    return NULL;
}

void
tmpl_vars_free(struct tmpl_vars *v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < v->n; i++) {
        free(v->kv[i].key);
        free(v->kv[i].value);
    }
    free(v->kv);
    free(v);
}

/* ---- the tree --------------------------------------------------------------
 */

enum filter { FILTER_SAFE, FILTER_ESCAPE, FILTER_URLENCODE };

/* markupsafe (Jinja) and Python's html.escape() differ in how they write
 * quotes; each syntax keeps its original's. */
enum esc_style { ESC_JINJA, ESC_PYTHON };

enum node_kind { NODE_TEXT, NODE_VAR, NODE_IF };

enum cmp { CMP_TRUTH, CMP_EQ, CMP_NE };

/* A variable name or a string literal: exactly one is set. */
struct operand {
    char *name;
    char *literal;
};

struct cond {
    bool negate;
    enum cmp op;
    struct operand lhs;
    struct operand rhs; /* unused for CMP_TRUTH */
};

struct block {
    struct node **v;
    size_t n;
};

struct branch {
    bool has_cond; /* false: {% else %} */
    struct cond cond;
    struct block body;
};

struct node {
    enum node_kind kind;
    size_t line;
    size_t offset; /* in the template's source, for templates_check */
    union {
        struct {
            char *s;
            size_t len;
        } text;
        struct {
            char *name;
            enum filter filters[FILTERS_MAX];
            size_t nfilters;
            bool autoescape; /* escape the result unless marked safe */
        } var;
        struct {
            struct branch *v;
            size_t n;
        } ifs;
    } u;
};

struct tmpl {
    char *file; /* file name in the brand directory */
    char *path; /* for messages */
    char *src;  /* newlines normalised to LF, for templates_check */
    bool jinja;
    bool email; /* the name (without .j2) ends in .eml */
    enum esc_style style;
    struct block root;
};

struct brand {
    char *name;
    struct tmpl **v; /* sorted by file name */
    size_t n;
    char **shadowed; /* legacy files hidden by a .j2 of the same name */
    size_t nshadowed;
};

struct templates {
    struct brand *brands; /* sorted by name */
    size_t n;
    size_t def; /* index of the default brand */
};

static void free_block(struct block *b);

static void
free_operand(struct operand *o)
{
    free(o->name);
    free(o->literal);
}

static void
free_node(struct node *n)
{
    size_t i;

    if (n == NULL)
        return;
    switch (n->kind) {
    case NODE_TEXT:
        free(n->u.text.s);
        break;
    case NODE_VAR:
        free(n->u.var.name);
        break;
    case NODE_IF:
        for (i = 0; i < n->u.ifs.n; i++) {
            free_operand(&n->u.ifs.v[i].cond.lhs);
            free_operand(&n->u.ifs.v[i].cond.rhs);
            free_block(&n->u.ifs.v[i].body);
        }
        free(n->u.ifs.v);
        break;
    }
    free(n);
}

static void
free_block(struct block *b)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        free_node(b->v[i]);
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

static void
block_add(struct block *b, struct node *n)
{
    b->v = xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
    b->v[b->n++] = n;
}

static struct node *
node_new(enum node_kind kind, size_t line, size_t offset)
{
    struct node *n = xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->line = line;
    n->offset = offset;
    return n;
}

static void
free_tmpl(struct tmpl *tp)
{
    if (tp == NULL)
        return;
    free(tp->file);
    free(tp->path);
    free(tp->src);
    free_block(&tp->root);
    free(tp);
}

/* ---- parsing ----------------------------------------------------------------
 */

struct parser {
    const char *path;
    const char *src;
    size_t len;
    size_t pos;
    size_t line;      /* of src[pos] */
    bool lstrip_next; /* the last tag ended in -%}: strip leading space */
    bool autoescape;
    char *err; /* first error, "path:line: reason" */
};

/* Record an error (the first one wins). @return -1 */
static int
perr(struct parser *p, size_t line, const char *what, const char *detail)
{
    if (p->err == NULL)
        p->err = xasprintf("%s:%zu: %s%s", p->path, line, what,
                           detail == NULL ? "" : detail);
    return -1;
}

/* Move to pos, counting the newlines passed. */
static void
advance(struct parser *p, size_t pos)
{
    for (; p->pos < pos; p->pos++) {
        if (p->src[p->pos] == '\n')
            p->line++;
    }
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static bool
is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static void
add_text(struct block *b, const char *s, size_t len, size_t line, size_t off)
{
    struct node *n;

    if (len == 0)
        return;
    n = node_new(NODE_TEXT, line, off);
    n->u.text.s = xstrndup(s, len);
    n->u.text.len = len;
    block_add(b, n);
}

/* A cursor over the inside of one {{ }} or {% %}. */
struct expr {
    const char *s;
    size_t pos;
    size_t end;
};

static void
expr_ws(struct expr *e)
{
    while (e->pos < e->end && is_space(e->s[e->pos]))
        e->pos++;
}

/* Read an identifier. @return it (caller frees), or NULL if none here. */
static char *
expr_ident(struct expr *e)
{
    size_t start;

    expr_ws(e);
    start = e->pos;
    if (e->pos >= e->end || !is_ident_start(e->s[e->pos]))
        return NULL;
    while (e->pos < e->end && is_ident(e->s[e->pos]))
        e->pos++;
    return xstrndup(e->s + start, e->pos - start);
}

static bool
expr_done(struct expr *e)
{
    expr_ws(e);
    return e->pos >= e->end;
}

/* Words that are Jinja syntax, not variables: refused rather than
 * misread as an undefined variable. */
static bool
reserved(const char *w)
{
    static const char *const words[] = {"and",  "or",    "not",   "in",
                                        "is",   "true",  "false", "none",
                                        "True", "False", "None"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(w, words[i]) == 0)
            return true;
    }
    return false;
}

/* Parse a quoted string literal with \\, \', \", \n, \t escapes. */
static int
expr_string(struct parser *p, struct expr *e, char **out)
{
    char q = e->s[e->pos];
    struct buf b;

    buf_init(&b, TMPL_FILE_MAX);
    for (e->pos++; e->pos < e->end && e->s[e->pos] != q; e->pos++) {
        char c = e->s[e->pos];

        if (c == '\\' && e->pos + 1 < e->end) {
            e->pos++;
            switch (e->s[e->pos]) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case '\\':
            case '\'':
            case '"':
                c = e->s[e->pos];
                break;
            default:
                buf_free(&b);
                return perr(p, p->line, "unsupported escape in string", NULL);
            }
        }
        buf_append(&b, &c, 1);
    }
    if (e->pos >= e->end) {
        buf_free(&b);
        return perr(p, p->line, "unterminated string", NULL);
    }
    e->pos++;
    *out = buf_steal(&b, NULL);
    return 0;
}

static int
expr_operand(struct parser *p, struct expr *e, struct operand *o)
{
    char *name;

    expr_ws(e);
    if (e->pos < e->end && (e->s[e->pos] == '"' || e->s[e->pos] == '\''))
        return expr_string(p, e, &o->literal);
    name = expr_ident(e);
    if (name == NULL)
        return perr(p, p->line, "expected a variable or a string", NULL);
    if (reserved(name)) {
        perr(p, p->line, "unsupported word in condition: ", name);
        free(name);
        return -1;
    }
    o->name = name;
    return 0;
}

/* cond := "not"* operand [("==" | "!=") operand] */
static int
parse_cond(struct parser *p, struct expr *e, struct cond *c)
{
    char *w;
    size_t save;

    for (;;) {
        save = e->pos;
        w = expr_ident(e);
        if (w == NULL || strcmp(w, "not") != 0) {
            free(w);
            e->pos = save;
            break;
        }
        free(w);
        c->negate = !c->negate;
    }
    if (expr_operand(p, e, &c->lhs) != 0)
        return -1;
    if (expr_done(e)) {
        c->op = CMP_TRUTH;
        return 0;
    }
    if (e->end - e->pos >= 2 && e->s[e->pos + 1] == '=' &&
        (e->s[e->pos] == '=' || e->s[e->pos] == '!')) {
        c->op = e->s[e->pos] == '=' ? CMP_EQ : CMP_NE;
        e->pos += 2;
        if (expr_operand(p, e, &c->rhs) != 0)
            return -1;
        if (expr_done(e))
            return 0;
    }
    return perr(p, p->line,
                "unsupported condition (glia knows: [not] a, a == \"s\", "
                "a != \"s\")",
                NULL);
}

static const struct {
    const char *name;
    enum filter f;
} filters[] = {{"safe", FILTER_SAFE},
               {"urlencode", FILTER_URLENCODE},
               {"e", FILTER_ESCAPE},
               {"escape", FILTER_ESCAPE}};

/* The inside of {{ }}: var ("|" filter)* */
static int
parse_output(struct parser *p, struct block *b, struct expr *e, size_t off)
{
    struct node *n;
    char *name = expr_ident(e);
    size_t i;

    if (name == NULL || reserved(name)) {
        free(name);
        return perr(p, p->line, "unsupported expression in {{ }}", NULL);
    }
    n = node_new(NODE_VAR, p->line, off);
    n->u.var.name = name;
    n->u.var.autoescape = p->autoescape;
    block_add(b, n);
    while (!expr_done(e)) {
        char *f;

        if (e->s[e->pos] != '|')
            return perr(p, p->line, "unsupported expression in {{ }}", NULL);
        e->pos++;
        f = expr_ident(e);
        if (f == NULL)
            return perr(p, p->line, "expected a filter name after |", NULL);
        for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
            if (strcmp(f, filters[i].name) == 0)
                break;
        }
        if (i == sizeof(filters) / sizeof(filters[0])) {
            perr(p, p->line, "unknown filter: ", f);
            free(f);
            return -1;
        }
        free(f);
        if (n->u.var.nfilters == FILTERS_MAX)
            return perr(p, p->line, "too many filters", NULL);
        n->u.var.filters[n->u.var.nfilters++] = filters[i].f;
    }
    return 0;
}

/* What ended a block. */
enum stop_kind { STOP_EOF, STOP_ELIF, STOP_ELSE, STOP_ENDIF };

struct stop {
    enum stop_kind kind;
    size_t line;
    struct cond cond; /* STOP_ELIF; ownership passes to the caller */
};

/* Find the end delimiter of a tag starting at from, skipping over string
 * literals so that "%}" inside quotes does not end it. */
static const char *
find_close(const char *s, size_t from, size_t len, char c1, bool strings)
{
    size_t i;
    char q = 0;

    for (i = from; i + 1 < len; i++) {
        if (q != 0) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == q)
                q = 0;
        } else if (strings && (s[i] == '"' || s[i] == '\'')) {
            q = s[i];
        } else if (s[i] == c1 && s[i + 1] == '}') {
            return s + i;
        }
    }
    return NULL;
}

static int parse_if(struct parser *p,
                    struct block *b,
                    struct cond *first,
                    size_t line,
                    size_t off,
                    int depth);

/* Parse Jinja text and tags into b until the end of the source or an
 * elif/else/endif, which *stop reports. */
static int
parse_jinja(struct parser *p, struct block *b, struct stop *stop, int depth)
{
    for (;;) {
        size_t start = p->pos;
        size_t tag = start;
        size_t text_end;
        size_t inner;
        size_t inner_end;
        size_t after;
        size_t tag_line;
        char kind = 0;
        const char *close;
        struct expr e;

        while (tag + 1 < p->len) {
            if (p->src[tag] == '{' &&
                (p->src[tag + 1] == '{' || p->src[tag + 1] == '%' ||
                 p->src[tag + 1] == '#')) {
                kind = p->src[tag + 1];
                break;
            }
            tag++;
        }
        if (kind == 0)
            tag = p->len;
        text_end = tag;
        if (p->lstrip_next) {
            while (start < text_end && is_space(p->src[start]))
                start++;
            p->lstrip_next = false;
        }
        if (kind != 0 && tag + 2 < p->len && p->src[tag + 2] == '-') {
            while (text_end > start && is_space(p->src[text_end - 1]))
                text_end--;
        }
        advance(p, start);
        add_text(b, p->src + start, text_end - start, p->line, start);
        advance(p, tag);
        if (kind == 0) {
            stop->kind = STOP_EOF;
            stop->line = p->line;
            return 0;
        }

        tag_line = p->line;
        inner = tag + 2;
        if (inner < p->len && (p->src[inner] == '-' || p->src[inner] == '+'))
            inner++;
        close = find_close(p->src, inner, p->len, kind == '{' ? '}' : kind,
                           kind != '#');
        if (close == NULL)
            return perr(p, tag_line,
                        kind == '{'   ? "{{ is not closed"
                        : kind == '%' ? "{% is not closed"
                                      : "{# is not closed",
                        NULL);
        inner_end = (size_t)(close - p->src);
        after = inner_end + 2;
        if (inner_end > inner && p->src[inner_end - 1] == '-') {
            inner_end--;
            p->lstrip_next = true;
        } else if (inner_end > inner && p->src[inner_end - 1] == '+') {
            inner_end--;
        }
        advance(p, after);
        if (kind == '#')
            continue;

        e.s = p->src;
        e.pos = inner;
        e.end = inner_end;
        /* Errors inside a tag are reported at the tag's first line. */
        {
            size_t save_line = p->line;
            int rc;

            p->line = tag_line;
            if (kind == '{') {
                rc = parse_output(p, b, &e, tag);
                p->line = save_line;
                if (rc != 0)
                    return -1;
                continue;
            }
            {
                char *word = expr_ident(&e);
                struct cond c;

                memset(&c, 0, sizeof(c));
                rc = 0;
                if (word == NULL) {
                    rc = perr(p, tag_line, "empty or unsupported {% %}", NULL);
                } else if (strcmp(word, "if") == 0 ||
                           strcmp(word, "elif") == 0) {
                    rc = parse_cond(p, &e, &c);
                } else if (strcmp(word, "else") != 0 &&
                           strcmp(word, "endif") != 0) {
                    rc = perr(p, tag_line, "unknown tag: ", word);
                } else if (!expr_done(&e)) {
                    rc = perr(p, tag_line, "unexpected text after ", word);
                }
                p->line = save_line;
                if (rc != 0) {
                    free(word);
                    free_operand(&c.lhs);
                    free_operand(&c.rhs);
                    return -1;
                }
                if (strcmp(word, "if") == 0) {
                    free(word);
                    if (parse_if(p, b, &c, tag_line, tag, depth) != 0)
                        return -1;
                    continue;
                }
                stop->line = tag_line;
                stop->cond = c;
                stop->kind = strcmp(word, "elif") == 0   ? STOP_ELIF
                             : strcmp(word, "else") == 0 ? STOP_ELSE
                                                         : STOP_ENDIF;
                free(word);
                return 0;
            }
        }
    }
}

/* Parse the branches of an {% if %} whose condition is *first (taken). */
static int
parse_if(struct parser *p,
         struct block *b,
         struct cond *first,
         size_t line,
         size_t off,
         int depth)
{
    struct node *n;
    struct cond c = *first;
    bool has_cond = true;
    bool seen_else = false;

    if (depth >= DEPTH_MAX) {
        free_operand(&first->lhs);
        free_operand(&first->rhs);
        return perr(p, line, "{% if %} nested too deeply", NULL);
    }
    n = node_new(NODE_IF, line, off);
    block_add(b, n);
    for (;;) {
        struct stop stop;
        struct branch *br;

        memset(&stop, 0, sizeof(stop));
        n->u.ifs.v =
            xrealloc(n->u.ifs.v, (n->u.ifs.n + 1) * sizeof(*n->u.ifs.v));
        br = &n->u.ifs.v[n->u.ifs.n++];
        memset(br, 0, sizeof(*br));
        br->has_cond = has_cond;
        br->cond = c;
        if (parse_jinja(p, &br->body, &stop, depth + 1) != 0)
            return -1;
        switch (stop.kind) {
        case STOP_EOF: {
            char at[32];

            snprintf(at, sizeof(at), "%zu", line);
            return perr(p, stop.line, "{% if %} not closed: opened at line ",
                        at);
        }
        case STOP_ENDIF:
            return 0;
        case STOP_ELIF:
        case STOP_ELSE:
            if (seen_else) {
                free_operand(&stop.cond.lhs);
                free_operand(&stop.cond.rhs);
                return perr(p, stop.line,
                            stop.kind == STOP_ELSE ? "{% else %} after else"
                                                   : "{% elif %} after else",
                            NULL);
            }
            seen_else = stop.kind == STOP_ELSE;
            has_cond = stop.kind == STOP_ELIF;
            c = stop.cond;
            break;
        }
    }
}

/* Legacy Python %-format: %(name)s and %%, nothing else. */
static int
parse_legacy(struct parser *p, struct block *b, bool escape_plain)
{
    static const char forhtml[] = "_forhtml";
    static const char forurl[] = "_forurl";

    while (p->pos < p->len) {
        const char *pct = memchr(p->src + p->pos, '%', p->len - p->pos);
        size_t at = pct == NULL ? p->len : (size_t)(pct - p->src);
        size_t name;
        size_t name_end;
        size_t nlen;
        struct node *n;

        add_text(b, p->src + p->pos, at - p->pos, p->line, p->pos);
        advance(p, at);
        if (at == p->len)
            break;
        if (at + 1 < p->len && p->src[at + 1] == '%') {
            add_text(b, "%", 1, p->line, at);
            advance(p, at + 2);
            continue;
        }
        if (at + 1 >= p->len || p->src[at + 1] != '(')
            return perr(p, p->line,
                        "unsupported % format (write %% for a literal %)",
                        NULL);
        name = at + 2;
        name_end = name;
        while (name_end < p->len && p->src[name_end] != ')' &&
               p->src[name_end] != '\n')
            name_end++;
        if (name_end + 1 >= p->len || p->src[name_end] != ')' ||
            p->src[name_end + 1] != 's' || name_end == name)
            return perr(p, p->line, "unsupported % format (only %(name)s)",
                        NULL);
        nlen = name_end - name;
        n = node_new(NODE_VAR, p->line, at);
        n->u.var.autoescape = escape_plain;
        if (nlen > sizeof(forhtml) - 1 &&
            memcmp(p->src + name_end - (sizeof(forhtml) - 1), forhtml,
                   sizeof(forhtml) - 1) == 0) {
            nlen -= sizeof(forhtml) - 1;
            n->u.var.filters[n->u.var.nfilters++] = FILTER_ESCAPE;
        } else if (nlen > sizeof(forurl) - 1 &&
                   memcmp(p->src + name_end - (sizeof(forurl) - 1), forurl,
                          sizeof(forurl) - 1) == 0) {
            nlen -= sizeof(forurl) - 1;
            n->u.var.filters[n->u.var.nfilters++] = FILTER_URLENCODE;
        }
        n->u.var.name = xstrndup(p->src + name, nlen);
        block_add(b, n);
        advance(p, name_end + 2);
    }
    return 0;
}

/* @return the offset of the first byte that is not valid UTF-8 (overlong
 * forms, surrogates and code points above U+10FFFF are invalid) or NUL, or
 * len if there is none. */
static size_t
utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        size_t k;
        unsigned long cp;

        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0u) != 0x80u)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return i;
        i += n + 1;
    }
    return len;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s);
    size_t lx = strlen(suffix);

    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Read a whole file of at most TMPL_FILE_MAX bytes. */
static char *
read_file(const char *path, size_t *len, char **why)
{
    FILE *f = fopen(path, "rb");
    char *data;
    size_t n;

    if (f == NULL) {
        *why = xasprintf("%s: %s", path, strerror(errno));
        return NULL;
    }
    data = xmalloc(TMPL_FILE_MAX + 2);
    n = fread(data, 1, TMPL_FILE_MAX + 1, f);
    if (ferror(f)) {
        *why = xasprintf("%s: read error", path);
        fclose(f);
        free(data);
        return NULL;
    }
    fclose(f);
    if (n > TMPL_FILE_MAX) {
        *why = xasprintf("%s: larger than %d bytes", path, TMPL_FILE_MAX);
        free(data);
        return NULL;
    }
    data[n] = '\0';
    *len = n;
    return data;
}

/* Read, check and parse one template file. */
static struct tmpl *
load_tmpl(const char *bdir, const char *file, char **why)
{
    struct tmpl *tp = xcalloc(1, sizeof(*tp));
    struct parser p;
    char *raw;
    size_t len;
    size_t bad;
    size_t i;
    size_t o = 0;
    char *name;
    int rc;

    tp->file = xstrdup(file);
    tp->path = xasprintf("%s/%s", bdir, file);
    tp->jinja = ends_with(file, ".j2");
    name = xstrndup(file, strlen(file) - (tp->jinja ? 3 : 0));
    tp->email = ends_with(name, ".eml");
    tp->style = tp->jinja ? ESC_JINJA : ESC_PYTHON;
    raw = read_file(tp->path, &len, why);
    if (raw == NULL)
        goto fail;
    bad = utf8_check((const unsigned char *)raw, len);
    if (bad < len) {
        size_t line = 1;

        for (i = 0; i < bad; i++)
            line += raw[i] == '\n';
        *why = xasprintf("%s:%zu: %s", tp->path, line,
                         raw[bad] == '\0' ? "NUL byte" : "invalid UTF-8");
        free(raw);
        goto fail;
    }
    /* Both Jinja and Python's text-mode open() turn CRLF and CR into LF;
     * the mail layer writes CRLF on the wire. A leading BOM would end up in
     * the first header: drop it. */
    i = len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    for (; i < len; i++) {
        if (raw[i] == '\r') {
            raw[o++] = '\n';
            if (i + 1 < len && raw[i + 1] == '\n')
                i++;
        } else {
            raw[o++] = raw[i];
        }
    }
    /* Jinja drops one trailing newline (keep_trailing_newline=False). */
    if (tp->jinja && o > 0 && raw[o - 1] == '\n')
        o--;
    raw[o] = '\0';
    tp->src = raw;

    memset(&p, 0, sizeof(p));
    p.path = tp->path;
    p.src = tp->src;
    p.len = o;
    p.line = 1;
    p.autoescape = tp->jinja;
    if (tp->jinja) {
        struct stop stop;

        memset(&stop, 0, sizeof(stop));
        rc = parse_jinja(&p, &tp->root, &stop, 0);
        if (rc == 0 && stop.kind != STOP_EOF) {
            free_operand(&stop.cond.lhs);
            free_operand(&stop.cond.rhs);
            rc = perr(&p, stop.line,
                      stop.kind == STOP_ENDIF  ? "{% endif %} without {% if %}"
                      : stop.kind == STOP_ELSE ? "{% else %} without {% if %}"
                                               : "{% elif %} without {% if %}",
                      NULL);
        }
    } else {
        rc = parse_legacy(&p, &tp->root,
                          ends_with(name, ".html") || ends_with(name, ".htm"));
    }
    if (rc != 0) {
        *why = p.err;
        goto fail;
    }
    free(name);
    return tp;

fail:
    free(name);
    free_tmpl(tp);
    return NULL;
}

/* ---- loading ------------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* @return the names of dir's entries of the wanted type, sorted, skipping
 * dot-files; NULL with why if dir cannot be read. */
static char **
list_dir(const char *dir, bool dirs, size_t *count, char **why)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t n = 0;

    if (d == NULL) {
        *why = xasprintf("%s: %s", dir, strerror(errno));
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        char *path;
        bool match;

        if (de->d_name[0] == '.')
            continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        match = stat(path, &st) == 0 &&
                (dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(path);
        if (!match)
            continue;
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(v, n, sizeof(*v), cmp_str);
    *count = n;
    if (v == NULL)
        v = xcalloc(1, sizeof(*v));
    return v;
}

static void
free_names(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool
is_legacy_name(const char *f)
{
    return ends_with(f, ".eml") || ends_with(f, ".html") ||
           ends_with(f, ".htm") || ends_with(f, ".txt");
}

static int
load_brand(struct brand *br, const char *dir, char **why)
{
    char *bdir = xasprintf("%s/%s", dir, br->name);
    size_t nfiles = 0;
    char **files = list_dir(bdir, false, &nfiles, why);
    size_t i;
    int rc = 0;

    if (files == NULL) {
        free(bdir);
        return -1;
    }
    for (i = 0; i < nfiles && rc == 0; i++) {
        const char *f = files[i];
        struct tmpl *tp;

        if (!ends_with(f, ".j2") && !is_legacy_name(f))
            continue;
        if (!ends_with(f, ".j2")) {
            char *j2 = xasprintf("%s.j2", f);
            bool hidden =
                bsearch(&j2, files, nfiles, sizeof(*files), cmp_str) != NULL;

            free(j2);
            if (hidden) {
                br->shadowed = xrealloc(br->shadowed,
                                        (br->nshadowed + 1) * sizeof(char *));
                br->shadowed[br->nshadowed++] = xstrdup(f);
                continue;
            }
        }
        tp = load_tmpl(bdir, f, why);
        if (tp == NULL) {
            rc = -1;
            break;
        }
        br->v = xrealloc(br->v, (br->n + 1) * sizeof(*br->v));
        br->v[br->n++] = tp;
    }
    free_names(files, nfiles);
    free(bdir);
    return rc;
}

struct templates *
templates_load(const char *dir, const char *default_brand, char **why)
{
    struct templates *t;
    size_t nnames = 0;
    char **names;
    size_t i;
    bool found = false;

    *why = NULL;
    names = list_dir(dir, true, &nnames, why);
    if (names == NULL)
        return NULL;
    t = xcalloc(1, sizeof(*t));
    t->brands = xcalloc(nnames == 0 ? 1 : nnames, sizeof(*t->brands));
    for (i = 0; i < nnames; i++) {
        t->brands[i].name = names[i];
        names[i] = NULL;
        t->n++;
        if (strcmp(t->brands[i].name, default_brand) == 0) {
            t->def = i;
            found = true;
        }
    }
    free(names);
    if (!found) {
        *why = xasprintf("%s: no directory for the default brand \"%s\"", dir,
                         default_brand);
        templates_free(t);
        return NULL;
    }
    for (i = 0; i < t->n; i++) {
        if (load_brand(&t->brands[i], dir, why) != 0) {
            templates_free(t);
            return NULL;
        }
    }
    return t;
}

void
templates_free(struct templates *t)
{
    size_t i;
    size_t j;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++) {
        struct brand *br = &t->brands[i];

        for (j = 0; j < br->n; j++)
            free_tmpl(br->v[j]);
        free(br->v);
        free_names(br->shadowed, br->nshadowed);
        free(br->name);
    }
    free(t->brands);
    free(t);
}

static const struct brand *
find_brand(const struct templates *t, const char *name)
{
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < t->n; i++) {
        if (strcmp(t->brands[i].name, name) == 0)
            return &t->brands[i];
    }
    return NULL;
}

bool
templates_has_brand(const struct templates *t, const char *brand)
{
    return find_brand(t, brand) != NULL;
}

static const struct tmpl *
find_file(const struct brand *br, const char *file)
{
    size_t i;

    for (i = 0; i < br->n; i++) {
        if (strcmp(br->v[i]->file, file) == 0)
            return br->v[i];
    }
    return NULL;
}

/* name.j2, else name, in one brand. */
static const struct tmpl *
find_tmpl(const struct brand *br, const char *name)
{
    char *j2 = xasprintf("%s.j2", name);
    const struct tmpl *tp = find_file(br, j2);

    free(j2);
    if (tp == NULL)
        tp = find_file(br, name);
    return tp;
}

/* ---- rendering ----------------------------------------------------------- */

/* Append s HTML-escaped in the style of markupsafe or html.escape(). */
static int
put_html(struct buf *out, const char *s, size_t len, enum esc_style style)
{
    size_t i;
    size_t from = 0;

    for (i = 0; i < len; i++) {
        const char *rep;

        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = style == ESC_JINJA ? "&#34;" : "&quot;";
            break;
        case '\'':
            rep = style == ESC_JINJA ? "&#39;" : "&#x27;";
            break;
        default:
            continue;
        }
        if (buf_append(out, s + from, i - from) != 0 || buf_puts(out, rep) != 0)
            return -1;
        from = i + 1;
    }
    return buf_append(out, s + from, len - from);
}

/* Append s percent-encoded like Python's urllib.parse.quote(s) (and
 * Jinja's urlencode filter on a string): UTF-8 bytes, unreserved
 * characters A-Z a-z 0-9 _ . - ~ and '/' kept, the rest %XX. */
static int
put_url(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char enc[3];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
            c == '~' || c == '/') {
            if (buf_append(out, &s[i], 1) != 0)
                return -1;
            continue;
        }
        enc[0] = '%';
        enc[1] = hex[c >> 4];
        enc[2] = hex[c & 15];
        if (buf_append(out, enc, 3) != 0)
            return -1;
    }
    return 0;
}

/* Append one variable's value through its filters. Jinja's rule: a value
 * is unsafe until escaped or marked safe; escaping a safe value does
 * nothing; urlencode makes a plain (unsafe) string again. */
static int
render_var(const struct tmpl *tp,
           const struct node *n,
           const struct tmpl_vars *vars,
           struct buf *out)
{
    const char *v = tmpl_vars_get(vars, n->u.var.name);
    struct buf cur;
    struct buf next;
    bool safe = false;
    size_t i;
    int rc = 0;

    if (v == NULL)
        v = "";
    if (n->u.var.nfilters == 0 && !n->u.var.autoescape && !tp->email)
        return buf_puts(out, v);
    buf_init(&cur, TMPL_OUTPUT_MAX);
    buf_init(&next, TMPL_OUTPUT_MAX);
    rc = buf_puts(&cur, v);
    if (tp->email && cur.data != NULL) {
        for (i = 0; i < cur.len; i++) {
            if (cur.data[i] == '\r' || cur.data[i] == '\n')
                cur.data[i] = ' ';
        }
    }
    for (i = 0; i < n->u.var.nfilters && rc == 0; i++) {
        struct buf tmp;

        switch (n->u.var.filters[i]) {
        case FILTER_SAFE:
            safe = true;
            continue;
        case FILTER_ESCAPE:
            if (safe)
                continue;
            rc = put_html(&next, cur.data == NULL ? "" : cur.data, cur.len,
                          tp->style);
            safe = true;
            break;
        case FILTER_URLENCODE:
            rc = put_url(&next, cur.data == NULL ? "" : cur.data, cur.len);
            safe = false;
            break;
        }
        tmp = cur;
        cur = next;
        next = tmp;
        buf_reset(&next);
    }
    if (rc == 0 && n->u.var.autoescape && !safe)
        rc =
            put_html(out, cur.data == NULL ? "" : cur.data, cur.len, tp->style);
    else if (rc == 0)
        rc = buf_append(out, cur.data == NULL ? "" : cur.data, cur.len);
    buf_free(&cur);
    buf_free(&next);
    return rc;
}

static const char *
operand_value(const struct operand *o, const struct tmpl_vars *vars)
{
    return o->literal != NULL ? o->literal : tmpl_vars_get(vars, o->name);
}

/* Jinja's truth and equality for strings and Undefined: "" and undefined
 * are false; undefined equals only undefined. */
static bool
eval_cond(const struct cond *c, const struct tmpl_vars *vars)
{
    const char *a = operand_value(&c->lhs, vars);
    const char *b;
    bool r;

    switch (c->op) {
    case CMP_TRUTH:
        r = a != NULL && a[0] != '\0';
        break;
    case CMP_EQ:
    case CMP_NE:
    default:
        b = operand_value(&c->rhs, vars);
        if (a == NULL || b == NULL)
            r = a == b;
        else
            r = strcmp(a, b) == 0;
        if (c->op == CMP_NE)
            r = !r;
        break;
    }
    return c->negate ? !r : r;
}

static int
render_block(const struct tmpl *tp,
             const struct block *b,
             const struct tmpl_vars *vars,
             struct buf *out)
{
    size_t i;
    size_t j;

    for (i = 0; i < b->n; i++) {
        const struct node *n = b->v[i];

        switch (n->kind) {
        case NODE_TEXT:
            if (buf_append(out, n->u.text.s, n->u.text.len) != 0)
                return -1;
            break;
        case NODE_VAR:
            if (render_var(tp, n, vars, out) != 0)
                return -1;
            break;
        case NODE_IF:
            for (j = 0; j < n->u.ifs.n; j++) {
                const struct branch *br = &n->u.ifs.v[j];

                if (!br->has_cond || eval_cond(&br->cond, vars)) {
                    if (render_block(tp, &br->body, vars, out) != 0)
                        return -1;
                    break;
                }
            }
            break;
        }
    }
    return 0;
}

char *
templates_render(const struct templates *t,
                 const char *brand,
                 const char *name,
                 const struct tmpl_vars *vars,
                 char **why)
{
    const struct brand *br = find_brand(t, brand);
    const struct tmpl *tp = NULL;
    struct buf out;

    *why = NULL;
    if (br != NULL)
        tp = find_tmpl(br, name);
    if (tp == NULL)
        tp = find_tmpl(&t->brands[t->def], name);
    if (tp == NULL) {
        *why = xasprintf("no template %s in brand \"%s\"%s", name,
                         t->brands[t->def].name,
                         br != NULL && br != &t->brands[t->def]
                             ? " nor in the requested brand"
                             : "");
        return NULL;
    }
    buf_init(&out, TMPL_OUTPUT_MAX);
    if (render_block(tp, &tp->root, vars, &out) != 0) {
        buf_free(&out);
        *why = xasprintf("%s: result larger than %d bytes", tp->path,
                         TMPL_OUTPUT_MAX);
        return NULL;
    }
    return buf_steal(&out, NULL);
}

/* ---- checking ------------------------------------------------------------ */

/* The templates glia renders, and the variables it gives each. */
#define MAIL_VARS "to", "from", "date", "messageid", "multipart_boundary"
static const struct {
    const char *name;
    const char *vars[32];
} known[] = {
    {"verification_template.eml", {MAIL_VARS, "link", "token", "ipaddress"}},
    {"invite_template.eml",
     {MAIL_VARS,
      "medium",
      "address",
      "room_id",
      "room_alias",
      "room_avatar_url",
      "room_join_rules",
      "room_name",
      "room_type",
      "sender",
      "sender_avatar_url",
      "sender_display_name",
      "web_client_location",
      "token",
      "ephemeral_private_key",
      "subject_header_value",
      "bracketed_room_name",
      "bracketed_verified_sender",
      "guest_user_id",
      "guest_access_token",
      "signurl"}},
    {"verify_response_template.html", {"message", "success"}},
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

struct checker {
    void (*warn)(void *cls, const char *msg);
    void *cls;
    const struct tmpl *tp;
    size_t k;    /* index in known[], or NKNOWN */
    char **seen; /* unknown variables already reported */
    size_t nseen;
};

static void
say(struct checker *c, char *msg)
{
    c->warn(c->cls, msg);
    free(msg);
}

static void
check_name(struct checker *c, const char *name, size_t line)
{
    size_t i;

    if (c->k == NKNOWN)
        return;
    for (i = 0; i < sizeof(known[0].vars) / sizeof(known[0].vars[0]) &&
                known[c->k].vars[i] != NULL;
         i++) {
        if (strcmp(known[c->k].vars[i], name) == 0)
            return;
    }
    for (i = 0; i < c->nseen; i++) {
        if (strcmp(c->seen[i], name) == 0)
            return;
    }
    c->seen = xrealloc(c->seen, (c->nseen + 1) * sizeof(char *));
    c->seen[c->nseen++] = xstrdup(name);
    say(c, xasprintf("%s:%zu: glia does not set the variable \"%s\": it "
                     "renders empty",
                     c->tp->path, line, name));
}

/* Where a {{ }} of an email template sits: in a header block, in a
 * text/plain body, or elsewhere. A header block starts the file or
 * follows a boundary line ("--" then the boundary) and ends at an empty
 * line. A heuristic, for warnings only. */
enum mail_ctx { CTX_HEADER, CTX_TEXT, CTX_OTHER };

static enum mail_ctx
mail_context(const char *src, size_t offset)
{
    const char *line = src;
    bool header = true;
    bool plain = true; /* MIME's default type */

    for (;;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol == NULL ? strlen(line) : (size_t)(eol - line);
        bool boundary = len > 2 && line[0] == '-' && line[1] == '-' &&
                        (line[2] == '{' || memchr(line, ' ', len) == NULL);

        if (!header && boundary) {
            header = true;
            plain = true;
        }
        if ((size_t)(line - src) + len >= offset || eol == NULL)
            break;
        if (header && len == 0)
            header = false;
        else if (header && len >= 13 &&
                 strncasecmp(line, "content-type:", 13) == 0)
            plain = strstr(line, "text/plain") != NULL;
        line = eol + 1;
    }
    if (header)
        return CTX_HEADER;
    return plain ? CTX_TEXT : CTX_OTHER;
}

static void
check_block(struct checker *c, const struct block *b)
{
    size_t i;
    size_t j;

    for (i = 0; i < b->n; i++) {
        const struct node *n = b->v[i];

        switch (n->kind) {
        case NODE_TEXT:
            break;
        case NODE_VAR: {
            bool safe = false;
            enum mail_ctx ctx;

            check_name(c, n->u.var.name, n->line);
            /* urlencode's output has nothing to escape. */
            for (j = 0; j < n->u.var.nfilters; j++)
                safe = safe || n->u.var.filters[j] == FILTER_SAFE;
            if (n->u.var.nfilters > 0 &&
                n->u.var.filters[n->u.var.nfilters - 1] == FILTER_URLENCODE)
                safe = true;
            if (!c->tp->email || !n->u.var.autoescape || safe)
                break;
            ctx = mail_context(c->tp->src, n->offset);
            if (ctx != CTX_OTHER)
                say(c,
                    xasprintf("%s:%zu: {{ %s }} in a mail %s is "
                              "HTML-escaped (& becomes &amp;): write "
                              "{{ %s | safe }}",
                              c->tp->path, n->line, n->u.var.name,
                              ctx == CTX_HEADER ? "header" : "text/plain part",
                              n->u.var.name));
            break;
        }
        case NODE_IF:
            for (j = 0; j < n->u.ifs.n; j++) {
                const struct branch *br = &n->u.ifs.v[j];

                if (br->has_cond && br->cond.lhs.name != NULL)
                    check_name(c, br->cond.lhs.name, n->line);
                if (br->has_cond && br->cond.rhs.name != NULL)
                    check_name(c, br->cond.rhs.name, n->line);
                check_block(c, &br->body);
            }
            break;
        }
    }
}

static void
check_lines(struct checker *c)
{
    const char *line = c->tp->src;
    size_t no = 1;

    for (;;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol == NULL ? strlen(line) : (size_t)(eol - line);

        if (len > MAIL_LINE_MAX)
            say(c, xasprintf("%s:%zu: line of %zu octets: mail servers may "
                             "refuse lines over %d; glia sends that part "
                             "quoted-printable, but better shorten it",
                             c->tp->path, no, len, MAIL_LINE_MAX));
        if (eol == NULL)
            break;
        line = eol + 1;
        no++;
    }
}

static void
check_tmpl(struct checker *c, const struct tmpl *tp)
{
    char *name = xstrndup(tp->file, strlen(tp->file) - (tp->jinja ? 3 : 0));
    size_t k;

    for (k = 0; k < NKNOWN; k++) {
        if (strcmp(known[k].name, name) == 0)
            break;
    }
    c->tp = tp;
    c->k = k;
    if (k == NKNOWN)
        say(c, xasprintf("%s: not a template glia uses", tp->path));
    if (tp->email)
        check_lines(c);
    check_block(c, &tp->root);
    free_names(c->seen, c->nseen);
    c->seen = NULL;
    c->nseen = 0;
    free(name);
}

void
templates_check(const struct templates *t,
                void (*warn)(void *cls, const char *msg),
                void *cls)
{
    struct checker c;
    size_t i;
    size_t j;
    size_t k;

    memset(&c, 0, sizeof(c));
    c.warn = warn;
    c.cls = cls;
    for (i = 0; i < t->n; i++) {
        const struct brand *br = &t->brands[i];

        for (k = 0; k < NKNOWN; k++) {
            if (find_tmpl(br, known[k].name) != NULL)
                continue;
            if (i == t->def)
                say(&c, xasprintf("brand \"%s\" (the default) has no %s: "
                                  "requests that need it fail",
                                  br->name, known[k].name));
            else
                say(&c, xasprintf("brand \"%s\" has no %s: the default "
                                  "brand's is used",
                                  br->name, known[k].name));
        }
        for (j = 0; j < br->nshadowed; j++)
            say(&c, xasprintf("brand \"%s\": %s is never used: %s.j2 takes "
                              "precedence",
                              br->name, br->shadowed[j], br->shadowed[j]));
        for (j = 0; j < br->n; j++)
            check_tmpl(&c, br->v[j]);
    }
}
