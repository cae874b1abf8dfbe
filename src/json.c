/*
 * json.c - reading request members the lenient way Camunda's Jackson setup
 * does (numbers may come as strings, flags as "true"), and writing records
 * and DTOs with Camunda's date format.
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *rb_str(const cJSON *obj, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

int rb_str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

int rb_has(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}

static int parse_integer_text(const char *text, long long *out) {
  char *end;
  long long value;
  while (isspace((unsigned char)*text)) text++;
  if (!*text) return 0;
  errno = 0;
  value = strtoll(text, &end, 10);
  if (errno == ERANGE) return 0; /* strtoll clamps; Jackson rejects */
  while (isspace((unsigned char)*end)) end++;
  if (*end) return 0;
  *out = value;
  return 1;
}

int rb_int(const cJSON *obj, const char *key, long long *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!item || cJSON_IsNull(item)) return 0;
  if (cJSON_IsNumber(item)) {
    double v = item->valuedouble;
    if (v != floor(v) || v > 9007199254740992.0 || v < -9007199254740992.0)
      return -1;
    *out = (long long)v;
    return 1;
  }
  if (cJSON_IsString(item) && parse_integer_text(item->valuestring, out))
    return 1;
  return -1;
}

int rb_flag(const cJSON *obj, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (cJSON_IsTrue(item)) return 1;
  return cJSON_IsString(item) && strcmp(item->valuestring, "true") == 0;
}

double rb_date(const cJSON *obj, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(item) ? item->valuedouble : RB_NO_DATE;
}

/* ---- rb_text_date: a strict, allocation-free JSON walk ------------------ */

typedef struct {
  const char *p;
  int depth;
  int escapes; /* \u escapes accepted (validation); else "cannot tell" */
} text_walk;

static void walk_ws(text_walk *w) {
  while (*w->p == ' ' || *w->p == '\t' || *w->p == '\n' || *w->p == '\r') w->p++;
}

/* Bytes that end a run of plain string content: control characters, the
 * quote and the backslash. */
static const unsigned char string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, ['\\'] = 1};

/* A string without \u escapes or control characters; *start and *len are
 * its raw bytes. Returns 0 when it cannot tell. Every record text is
 * walked this way on the hot paths, so plain runs take one table load a
 * byte. */
static int walk_string(text_walk *w, const char **start, size_t *len) {
  const unsigned char *p = (const unsigned char *)w->p, *s;
  if (*p != '"') return 0;
  s = ++p;
  for (;;) {
    while (!string_stop[*p]) p++;
    if (*p == '"') break;
    if (w->escapes && p[0] == '\\' && p[1] == 'u' && isxdigit(p[2]) && isxdigit(p[3]) &&
        isxdigit(p[4]) && isxdigit(p[5])) {
      p += 6;
      continue;
    }
    if (*p != '\\' || !p[1] || !strchr("\"\\/bfnrt", p[1])) {
      w->p = (const char *)p;
      return 0;
    }
    p += 2;
  }
  if (start) *start = (const char *)s;
  if (len) *len = (size_t)(p - s);
  w->p = (const char *)p + 1;
  return 1;
}

/* An RFC 8259 number: every such text reads the same through cJSON. */
static int walk_number(text_walk *w) {
  const char *p = w->p;
  if (*p == '-') p++;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
  else return 0;
  if (*p == '.') {
    p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  w->p = p;
  return 1;
}

static int walk_value(text_walk *w);

static int walk_members(text_walk *w, char close, int object) {
  walk_ws(w);
  if (*w->p == close) {
    w->p++;
    return 1;
  }
  for (;;) {
    if (object) {
      if (!walk_string(w, NULL, NULL)) return 0;
      walk_ws(w);
      if (*w->p++ != ':') return 0;
    }
    if (!walk_value(w)) return 0;
    walk_ws(w);
    if (*w->p == close) {
      w->p++;
      return 1;
    }
    if (*w->p++ != ',') return 0;
    walk_ws(w);
  }
}

static int walk_value(text_walk *w) {
  int ok;
  walk_ws(w);
  switch (*w->p) {
  case '"': return walk_string(w, NULL, NULL);
  case '{':
  case '[':
    if (++w->depth > 64) return 0;
    w->p++;
    ok = walk_members(w, w->p[-1] == '{' ? '}' : ']', w->p[-1] == '{');
    w->depth--;
    return ok;
  case 'n': return strncmp(w->p, "null", 4) == 0 ? (w->p += 4, 1) : 0;
  case 't': return strncmp(w->p, "true", 4) == 0 ? (w->p += 4, 1) : 0;
  case 'f': return strncmp(w->p, "false", 5) == 0 ? (w->p += 5, 1) : 0;
  default: return walk_number(w);
  }
}

/* Whether text is one JSON value, checked without allocating: a parse that
 * failed on valid text failed for lack of memory. */
static int json_valid(const char *text) {
  text_walk w = {text, 0, 1};
  if (!walk_value(&w)) return 0;
  walk_ws(&w);
  return *w.p == '\0';
}

int rb_parse_record(rebatch_engine *e, const char *text, cJSON **out) {
  *out = cJSON_Parse(text);
  if (*out) return REBATCH_OK;
  if (text && json_valid(text)) return REBATCH_NOMEM;
  strcpy(e->store_error, "store returned a record that is not JSON");
  return REBATCH_ERROR;
}

int rb_parse_request(const char *text, cJSON **out) {
  *out = cJSON_Parse(text);
  if (*out) return REBATCH_OK;
  return json_valid(text) ? REBATCH_NOMEM : REBATCH_ERROR;
}

int rb_text_fields(const char *text, rb_text_field *fields, int count) {
  text_walk w = {text, 0, 0};
  size_t key_len[32]; /* measured once: each member is matched against every key */
  /* bit (length % 64) for each key's length: most members of a record are
   * not asked for, and most are told apart by length alone */
  unsigned long long lengths = 0;
  int i, left = count;
  for (i = 0; i < count; i++) {
    size_t len = strlen(fields[i].key);
    fields[i].value = NULL;
    fields[i].len = 0;
    if (i < 32) key_len[i] = len;
    lengths |= 1ull << (len % 64);
  }
  walk_ws(&w);
  if (*w.p++ != '{') return -1;
  walk_ws(&w);
  if (*w.p == '}') w.p++;
  else
    for (;;) {
      const char *name, *start;
      size_t name_len;
      if (!walk_string(&w, &name, &name_len)) return -1;
      walk_ws(&w);
      if (*w.p++ != ':') return -1;
      walk_ws(&w);
      start = w.p;
      if (!walk_value(&w)) return -1;
      if (left && (lengths >> (name_len % 64) & 1))
        for (i = 0; i < count; i++) {
          rb_text_field *f = &fields[i];
          if (!f->value && (i < 32 ? key_len[i] : strlen(f->key)) == name_len &&
              memcmp(f->key, name, name_len) == 0) {
            f->value = start;
            f->len = (size_t)(w.p - start);
            left--;
          }
        }
      walk_ws(&w);
      if (*w.p == '}') {
        w.p++;
        break;
      }
      if (*w.p++ != ',') return -1;
      walk_ws(&w);
    }
  walk_ws(&w);
  return *w.p ? -1 : 1;
}

int rb_field_num(const rb_text_field *f, double *out) {
  char buf[64];
  *out = RB_NO_DATE;
  if (!f->value || !(*f->value == '-' || (*f->value >= '0' && *f->value <= '9'))) return 1;
  if (f->len >= sizeof buf) return -1;
  memcpy(buf, f->value, f->len);
  buf[f->len] = '\0';
  *out = strtod(buf, NULL);
  return 1;
}

int rb_field_str(const rb_text_field *f, char *buf, size_t cap) {
  buf[0] = '\0';
  if (!f->value || *f->value == 'n') return 0;
  if (*f->value != '"' || f->len - 2 >= cap || memchr(f->value, '\\', f->len)) return -1;
  memcpy(buf, f->value + 1, f->len - 2);
  buf[f->len - 2] = '\0';
  return 1;
}

int rb_field_flag(const rb_text_field *f) {
  return f->value && f->len == 4 && memcmp(f->value, "true", 4) == 0;
}

int rb_text_date(const char *text, const char *key, double *ms) {
  rb_text_field f = {key, NULL, 0};
  *ms = RB_NO_DATE;
  return rb_text_fields(text, &f, 1) < 0 ? -1 : rb_field_num(&f, ms);
}

int rb_text_str(const char *text, const char *key, char *buf, size_t cap) {
  rb_text_field f = {key, NULL, 0};
  buf[0] = '\0';
  return rb_text_fields(text, &f, 1) < 0 ? -1 : rb_field_str(&f, buf, cap);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * algorithm): timegm() is not portable and we must not depend on TZ. */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
  long long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d) {
  long long era;
  unsigned doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)((long long)yoe + era * 400 + (*m <= 2));
}

static int read_digits(const char **p, int count, int *out) {
  int value = 0;
  for (int i = 0; i < count; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return 0;
    value = value * 10 + ((*p)[i] - '0');
  }
  *p += count;
  *out = value;
  return 1;
}

static int expect(const char **p, char c) {
  if (**p != c) return 0;
  (*p)++;
  return 1;
}

/* Offset suffix: Z, +hhmm, +hh:mm, +hh, or nothing (read as UTC). */
static int read_offset(const char *p, int *minutes) {
  int sign, hh = 0, mm = 0;
  *minutes = 0;
  if (!*p || strcmp(p, "Z") == 0) return 1;
  if (*p != '+' && *p != '-') return 0;
  sign = *p == '-' ? -1 : 1;
  p++;
  if (!read_digits(&p, 2, &hh)) return 0;
  if (*p == ':') { /* +hh:mm: the colon needs both minute digits */
    p++;
    if (!read_digits(&p, 2, &mm)) return 0;
  } else if (*p && !read_digits(&p, 2, &mm)) {
    return 0;
  }
  if (*p || hh > 23 || mm > 59) return 0;
  *minutes = sign * (hh * 60 + mm);
  return 1;
}

static int parse_date_text(const char *p, double *ms) {
  int y, mo, d, h, mi, s, frac = 0, offset;
  if (!read_digits(&p, 4, &y) || !expect(&p, '-') || !read_digits(&p, 2, &mo) ||
      !expect(&p, '-') || !read_digits(&p, 2, &d) || !expect(&p, 'T') ||
      !read_digits(&p, 2, &h) || !expect(&p, ':') || !read_digits(&p, 2, &mi) ||
      !expect(&p, ':') || !read_digits(&p, 2, &s))
    return 0;
  if (*p == '.') {
    p++;
    if (!read_digits(&p, 3, &frac)) return 0;
    while (isdigit((unsigned char)*p)) p++; /* sub-millisecond digits */
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return 0;
  if (!read_offset(p, &offset)) return 0;
  *ms = ((double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 +
         h * 3600.0 + mi * 60.0 + s - offset * 60.0) *
            1000.0 +
        frac;
  return 1;
}

int rb_parse_date(const cJSON *item, double *ms) {
  if (!item || cJSON_IsNull(item)) return 0;
  if (cJSON_IsNumber(item)) {
    *ms = floor(item->valuedouble);
    return 1;
  }
  if (cJSON_IsString(item) && parse_date_text(item->valuestring, ms)) return 1;
  return -1;
}

void rb_format_date(double ms, char *buf) {
  long long total = (long long)floor(ms);
  long long days = total >= 0 ? total / 86400000 : -((-total + 86399999) / 86400000);
  long long rest = total - days * 86400000;
  int y;
  unsigned m, d;
  char tmp[96];
  civil_from_days(days, &y, &m, &d);
  snprintf(tmp, sizeof tmp, "%04d-%02u-%02uT%02d:%02d:%02d.%03d+0000", y, m, d,
           (int)(rest / 3600000), (int)(rest / 60000 % 60),
           (int)(rest / 1000 % 60), (int)(rest % 1000));
  /* Dates beyond year 9999 would not fit; Camunda cannot store them either. */
  size_t len = strlen(tmp) < 31 ? strlen(tmp) : 31;
  memcpy(buf, tmp, len);
  buf[len] = '\0';
}

/* An add that failed (out of memory) marks its object incomplete, and
 * rb_print refuses to print anything holding a marked object: a builder
 * that goes on past one failed add can never have its record stored or
 * answered with a member missing. */
static int added(cJSON *obj, int ok) {
  if (!ok && obj) obj->type |= RB_JSON_INCOMPLETE;
  return ok;
}

int rb_put_str(cJSON *obj, const char *key, const char *value) {
  return added(obj, value ? cJSON_AddStringToObject(obj, key, value) != NULL
                          : cJSON_AddNullToObject(obj, key) != NULL);
}

int rb_put_num(cJSON *obj, const char *key, double value) {
  return added(obj, cJSON_AddNumberToObject(obj, key, value) != NULL);
}

int rb_put_bool(cJSON *obj, const char *key, int value) {
  return added(obj, cJSON_AddBoolToObject(obj, key, value) != NULL);
}

int rb_put_null(cJSON *obj, const char *key) {
  return added(obj, cJSON_AddNullToObject(obj, key) != NULL);
}

int rb_put_date(cJSON *obj, const char *key, double ms) {
  char buf[32];
  if (ms < 0) return rb_put_null(obj, key);
  rb_format_date(ms, buf);
  return rb_put_str(obj, key, buf);
}

static int set_member(cJSON *obj, const char *key, cJSON *item) {
  cJSON *old;
  char *name;
  if (!item) return 0;
  old = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!old) return cJSON_AddItemToObject(obj, key, item) != 0;
  /* Not cJSON_ReplaceItemInObject: cJSON 1.7.15 ignores a failed copy of
   * the key there and leaves a member without a name. (key may be
   * item->string itself, so copy before freeing.) */
  if (!(name = rb_strdup(key))) return 0;
  if (!(item->type & cJSON_StringIsConst)) rb_free(item->string);
  item->string = name;
  item->type &= ~cJSON_StringIsConst;
  return cJSON_ReplaceItemViaPointer(obj, old, item) != 0;
}

int rb_set(cJSON *obj, const char *key, cJSON *item) {
  return added(obj, set_member(obj, key, item));
}

int rb_take(cJSON *obj, const char *key, cJSON *item) {
  if (rb_set(obj, key, item)) return 1;
  cJSON_Delete(item);
  return 0;
}

int rb_set_str(cJSON *obj, const char *key, const char *value) {
  cJSON *item = value ? cJSON_CreateString(value) : cJSON_CreateNull();
  if (!rb_set(obj, key, item)) {
    cJSON_Delete(item);
    return 0;
  }
  return 1;
}

int rb_set_num(cJSON *obj, const char *key, double value) {
  cJSON *item = value == RB_NO_DATE ? cJSON_CreateNull() : cJSON_CreateNumber(value);
  if (!rb_set(obj, key, item)) {
    cJSON_Delete(item);
    return 0;
  }
  return 1;
}

int rb_set_bool(cJSON *obj, const char *key, int value) {
  cJSON *item = cJSON_CreateBool(value);
  if (!rb_set(obj, key, item)) {
    cJSON_Delete(item);
    return 0;
  }
  return 1;
}

int rb_add_reference(cJSON *obj, const char *key, const cJSON *item) {
  /* cJSON's references take the first child: they share item's members. */
  cJSON *ref = cJSON_IsObject(item) ? cJSON_CreateObjectReference(item->child)
              : cJSON_IsArray(item) ? cJSON_CreateArrayReference(item->child) : cJSON_Duplicate(item, 1);
  if (ref && cJSON_AddItemToObject(obj, key, ref)) return 1;
  cJSON_Delete(ref); /* a reference's child is not freed */
  return 0;
}

int rb_copy(cJSON *dto, const cJSON *record, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(record, key);
  cJSON *copy = item ? cJSON_Duplicate(item, 1) : cJSON_CreateNull();
  if (!copy) return 0;
  if (!cJSON_AddItemToObject(dto, key, copy)) {
    cJSON_Delete(copy);
    return 0;
  }
  return 1;
}

int rb_copy_date(cJSON *dto, const cJSON *record, const char *key) {
  return rb_put_date(dto, key, rb_date(record, key));
}

char *rb_vsprintf(const char *fmt, va_list ap) {
  va_list copy;
  int len;
  char *out;
  va_copy(copy, ap);
  len = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (len < 0) return NULL;
  out = rb_malloc((size_t)len + 1);
  if (out) vsnprintf(out, (size_t)len + 1, fmt, ap);
  return out;
}

char *rb_sprintf(const char *fmt, ...) {
  va_list ap;
  char *out;
  va_start(ap, fmt);
  out = rb_vsprintf(fmt, ap);
  va_end(ap);
  return out;
}

/* Camunda names its date fields ...Time, ...Date, ...Timestamp or timestamp; the
 * records keep those as epoch ms, the DTOs show them formatted. */
static int is_date_field(const char *name) {
  static const char *const suffixes[] = {"Time", "Date", "Timestamp", NULL};
  size_t len = strlen(name);
  if (strcmp(name, "timestamp") == 0) return 1;
  for (int i = 0; suffixes[i]; i++) {
    size_t n = strlen(suffixes[i]);
    if (len > n && strcmp(name + len - n, suffixes[i]) == 0) return 1;
  }
  return 0;
}

cJSON *rb_dto(const cJSON *record, const char *const *fields) {
  cJSON *dto = cJSON_CreateObject();
  for (int i = 0; dto && fields[i]; i++) {
    int ok = is_date_field(fields[i]) ? rb_copy_date(dto, record, fields[i]) : rb_copy(dto, record, fields[i]);
    if (!ok) {
      cJSON_Delete(dto);
      return NULL;
    }
  }
  return dto;
}

/* Digits of 2^53: integer literals up to it in magnitude are exact. */
static const char exact_limit[] = "9007199254740992";

int rb_json_inexact_integer(const char *text, char *out, size_t n) {
  const char *p = text;
  while (p && *p) {
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
      if (*p) p++;
      continue;
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
      const char *start = p, *digits = p + (*p == '-');
      size_t count;
      int integer = 1;
      for (p = digits; *p >= '0' && *p <= '9'; p++) {}
      count = (size_t)(p - digits);
      while (*p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-' || (*p >= '0' && *p <= '9')) {
        integer = 0;
        p++;
      }
      if (integer && (count > sizeof exact_limit - 1 ||
                      (count == sizeof exact_limit - 1 && strncmp(digits, exact_limit, count) > 0))) {
        snprintf(out, n, "%.*s", (int)(p - start), start);
        return 1;
      }
      continue;
    }
    p++;
  }
  return 0;
}

/* ---- rb_print: cJSON_PrintUnformatted's text, written in one pass ------- */

typedef rb_writer print_buf;

static int buf_room(print_buf *b, size_t n) {
  size_t cap;
  char *grown;
  if (b->failed) return 0;
  if (b->len + n < b->cap) return 1;
  /* 1 KiB from the start holds most records whole, without regrowing */
  for (cap = b->cap ? b->cap : 1024; cap <= b->len + n; cap *= 2) {}
  if (!(grown = rb_realloc(b->p, cap))) {
    b->failed = 1;
    return 0;
  }
  b->p = grown;
  b->cap = cap;
  return 1;
}

static void buf_put(print_buf *b, const char *s, size_t n) {
  if (!buf_room(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* cJSON's escaping: the two JSON specials, the five short control escapes,
 * \u00xx for the other control characters, everything else verbatim. */
static void print_escaped(print_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  const char *run = s;
  buf_put(b, "\"", 1);
  for (;; s++) {
    unsigned char c;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t n = 2;
    while (!string_stop[(unsigned char)*s]) s++; /* a run to copy as it is */
    if (!(c = (unsigned char)*s)) break;
    buf_put(b, run, (size_t)(s - run));
    run = s + 1;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      memcpy(esc + 1, "u00", 3);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      n = 6;
    }
    buf_put(b, esc, n);
  }
  buf_put(b, run, (size_t)(s - run));
  buf_put(b, "\"", 1);
}

/* The length of s when it prints as it is (no byte to escape), else -1. */
static long plain_length(const char *s) {
  const char *end = s;
  while (!string_stop[(unsigned char)*end]) end++;
  return *end ? -1 : (long)(end - s);
}

/* Most strings (ids, names, dates) need no escape: one reservation and one
 * copy for the quoted text. `before` and `after` are punctuation to print
 * around it (a comma, a colon), or 0. */
static void print_plain_or_escaped(print_buf *b, char before, const char *s, char after) {
  long n = plain_length(s ? s : "");
  char *p;
  if (n < 0) {
    if (before) buf_put(b, &before, 1);
    print_escaped(b, s);
    if (after) buf_put(b, &after, 1);
    return;
  }
  if (!buf_room(b, (size_t)n + 4)) return;
  p = b->p + b->len;
  if (before) *p++ = before;
  *p++ = '"';
  memcpy(p, s ? s : "", (size_t)n);
  p += n;
  *p++ = '"';
  if (after) *p++ = after;
  b->len = (size_t)(p - b->p);
}

static void print_text(print_buf *b, const char *s) { print_plain_or_escaped(b, 0, s, 0); }

/* cJSON prints %1.15g, or %1.17g when that does not read back within a
 * relative epsilon, which loses the last digits of large integers (2^53
 * comes out as 9007199254740990) and of some doubles. Here every number
 * reads back exactly: integral values below 1e15 (retries, priorities,
 * dates in ms) as plain digits without printf, other integers below 1e17
 * as %.0f when %1.15g is not exact, everything else as %1.15g or %1.17g. */
static void print_number(print_buf *b, const cJSON *item) {
  double d = item->valuedouble;
  int integral = d == floor(d);
  char digits[32];
  int n;
  if (isnan(d) || isinf(d)) {
    buf_put(b, "null", 4);
    return;
  }
  if (integral && fabs(d) < 1e15) {
    unsigned long long v = (unsigned long long)fabs(d);
    char *p = digits + sizeof digits;
    do *--p = (char)('0' + v % 10); while (v /= 10);
    if (signbit(d)) *--p = '-'; /* %g prints -0 */
    buf_put(b, p, (size_t)(digits + sizeof digits - p));
    return;
  }
  n = snprintf(digits, sizeof digits, "%1.15g", d);
  if (strtod(digits, NULL) != d)
    n = integral && fabs(d) < 1e17 ? snprintf(digits, sizeof digits, "%.0f", d)
                                   : snprintf(digits, sizeof digits, "%1.17g", d);
  buf_put(b, digits, (size_t)n);
}

static void print_item(print_buf *b, const cJSON *item) {
  const cJSON *child;
  if (item->type & RB_JSON_INCOMPLETE) {
    b->failed = 1;
    return;
  }
  switch (item->type & 0xFF) {
  case cJSON_NULL: buf_put(b, "null", 4); return;
  case cJSON_False: buf_put(b, "false", 5); return;
  case cJSON_True: buf_put(b, "true", 4); return;
  case cJSON_Number: print_number(b, item); return;
  case cJSON_String: print_text(b, item->valuestring); return;
  case cJSON_Raw:
    if (!item->valuestring) b->failed = 1;
    else buf_put(b, item->valuestring, strlen(item->valuestring));
    return;
  case cJSON_Array:
  case cJSON_Object: {
    int object = (item->type & 0xFF) == cJSON_Object;
    buf_put(b, object ? "{" : "[", 1);
    for (child = item->child; child && !b->failed; child = child->next) {
      char comma = child != item->child ? ',' : 0;
      if (object) print_plain_or_escaped(b, comma, child->string, ':');
      else if (comma) buf_put(b, &comma, 1);
      print_item(b, child);
    }
    buf_put(b, object ? "}" : "]", 1);
    return;
  }
  default: b->failed = 1;
  }
}

/* An object without its null members (nested values print whole). */
static void print_set_members(print_buf *b, const cJSON *item) {
  const cJSON *child;
  int first = 1;
  if ((item->type & 0xFF) != cJSON_Object || (item->type & RB_JSON_INCOMPLETE)) {
    print_item(b, item);
    return;
  }
  buf_put(b, "{", 1);
  for (child = item->child; child && !b->failed; child = child->next) {
    if ((child->type & 0xFF) == cJSON_NULL) continue;
    print_plain_or_escaped(b, first ? 0 : ',', child->string, ':');
    print_item(b, child);
    first = 0;
  }
  buf_put(b, "}", 1);
}

static char *print_into(const cJSON *item, char **buf, size_t *cap, int records) {
  print_buf b = {*buf, 0, *cap, 0};
  if (item && records) print_set_members(&b, item);
  else if (item) print_item(&b, item);
  if (buf_room(&b, 1)) b.p[b.len] = '\0';
  *buf = b.p;
  *cap = b.cap;
  return item && !b.failed ? b.p : NULL;
}

char *rb_print_framed(const char *head, const cJSON *item, const char *tail) {
  print_buf b = {NULL, 0, 0, 0};
  buf_put(&b, head, strlen(head));
  if (item) print_item(&b, item);
  buf_put(&b, tail, strlen(tail));
  if (buf_room(&b, 1)) b.p[b.len] = '\0';
  if (!item || b.failed) {
    rb_free(b.p);
    return NULL;
  }
  return b.p;
}

char *rb_print_into(const cJSON *item, char **buf, size_t *cap) { return print_into(item, buf, cap, 0); }

char *rb_print_record_into(const cJSON *record, char **buf, size_t *cap) {
  return print_into(record, buf, cap, 1);
}

char *rb_print(const cJSON *item) {
  char *buf = NULL;
  size_t cap = 0;
  char *text = rb_print_into(item, &buf, &cap);
  if (!text) rb_free(buf);
  return text;
}

void rb_writer_open(rb_writer *w, char *buf, size_t cap) {
  w->p = buf;
  w->len = 0;
  w->cap = cap;
  w->failed = 0;
  buf_put(w, "{", 1);
}

/* A member follows another unless the text is still just the brace (no
 * value ends in '{'). */
static void writer_key(rb_writer *w, const char *key) {
  if (w->failed) return;
  print_plain_or_escaped(w, w->p[w->len - 1] != '{' ? ',' : 0, key, ':');
}

void rb_writer_item(rb_writer *w, const char *key, const cJSON *value) {
  writer_key(w, key);
  if (!w->failed) print_item(w, value);
}

void rb_writer_str(rb_writer *w, const char *key, const char *value) {
  writer_key(w, key);
  if (value) print_text(w, value);
  else buf_put(w, "null", 4);
}

void rb_writer_raw(rb_writer *w, const char *key, const char *json, size_t len) {
  writer_key(w, key);
  buf_put(w, json, len);
}

void rb_writer_num(rb_writer *w, const char *key, double value) {
  cJSON item;
  memset(&item, 0, sizeof item);
  item.type = cJSON_Number;
  item.valuedouble = value;
  rb_writer_item(w, key, &item);
}

void rb_writer_bool(rb_writer *w, const char *key, int value) {
  writer_key(w, key);
  buf_put(w, value ? "true" : "false", value ? 4 : 5);
}

char *rb_writer_close(rb_writer *w) {
  buf_put(w, "}", 1);
  if (buf_room(w, 1)) w->p[w->len] = '\0';
  return w->failed ? NULL : w->p;
}

void rb_format_number(double value, char *buf) {
  print_buf b = {buf, 0, 32, 0};
  cJSON item;
  memset(&item, 0, sizeof item);
  item.type = cJSON_Number;
  item.valuedouble = value;
  print_number(&b, &item);
  buf[b.len] = '\0';
}

int rb_text_patch(const char *text, const rb_member *members, int count, char **out) {
  text_walk w = {text, 0, 0};
  print_buf b = {NULL, 0, 0, 0};
  unsigned used = 0; /* bit i: members[i] replaced a value */
  size_t key_len[16];
  int first = 1, ok = 0;
  *out = NULL;
  if (count > 16) return 0;
  for (int i = 0; i < count; i++) key_len[i] = strlen(members[i].key);
  walk_ws(&w);
  if (*w.p++ != '{') return 0;
  /* the patched text is about as long as the old: one allocation */
  buf_room(&b, strlen(text) + 64);
  buf_put(&b, "{", 1);
  walk_ws(&w);
  if (*w.p == '}') {
    w.p++;
    ok = 1;
  } else
    for (;;) {
      const char *name, *start;
      size_t name_len;
      int i;
      if (!walk_string(&w, &name, &name_len)) break;
      walk_ws(&w);
      if (*w.p++ != ':') break;
      walk_ws(&w);
      start = w.p;
      if (!walk_value(&w)) break;
      if (!first) buf_put(&b, ",", 1);
      first = 0;
      buf_put(&b, name - 1, name_len + 2);
      buf_put(&b, ":", 1);
      for (i = 0; i < count; i++)
        if (!(used & (1u << i)) && key_len[i] == name_len &&
            memcmp(members[i].key, name, name_len) == 0)
          break;
      if (i < count) {
        used |= 1u << i;
        buf_put(&b, members[i].json, strlen(members[i].json));
      } else {
        buf_put(&b, start, (size_t)(w.p - start));
      }
      walk_ws(&w);
      if (*w.p == '}') {
        w.p++;
        ok = 1;
        break;
      }
      if (*w.p++ != ',') break;
      walk_ws(&w);
    }
  if (ok) walk_ws(&w);
  if (!ok || *w.p) {
    rb_free(b.p);
    return 0;
  }
  for (int i = 0; i < count; i++) {
    if (used & (1u << i)) continue;
    if (!first) buf_put(&b, ",", 1);
    first = 0;
    print_text(&b, members[i].key);
    buf_put(&b, ":", 1);
    buf_put(&b, members[i].json, strlen(members[i].json));
  }
  buf_put(&b, "}", 1);
  if (buf_room(&b, 1)) b.p[b.len] = '\0';
  if (b.failed) {
    rb_free(b.p);
    return -1;
  }
  *out = b.p;
  return 1;
}

static int by_position(const void *a, const void *b) {
  const char *x = ((const rb_text_field *)a)->value, *y = ((const rb_text_field *)b)->value;
  return x < y ? -1 : x > y;
}

int rb_text_replace(const char *text, const rb_text_field *found, const rb_member *members,
                    int count, char **out) {
  rb_text_field spans[8];
  size_t len = strlen(text), need = len + 1, at = 0, n = 0;
  char *p;
  if (count > 8) return rb_text_patch(text, members, count, out);
  for (int i = 0; i < count; i++) {
    if (!found[i].value) return rb_text_patch(text, members, count, out);
    spans[i] = found[i];
    spans[i].key = members[i].json; /* the new value travels with its span */
    need += strlen(members[i].json);
  }
  qsort(spans, (size_t)count, sizeof spans[0], by_position);
  if (!(p = rb_malloc(need))) return -1;
  for (int i = 0; i < count; i++) {
    size_t from = (size_t)(spans[i].value - text), v = strlen(spans[i].key);
    memcpy(p + n, text + at, from - at);
    n += from - at;
    memcpy(p + n, spans[i].key, v);
    n += v;
    at = from + spans[i].len;
  }
  memcpy(p + n, text + at, len - at + 1);
  *out = p;
  return 1;
}
