// `stats` in C: the scalar function `interest(balance, rate_bp)` of the Rust
// `bank` module, and `median(x float8)`, the exact median as an aggregate.
//
// The bindings (`c_stats.h`, `c_stats.c`) are generated from `wit/` by
// `wit-bindgen c`; see the README for the build commands. Following the
// canonical ABI, arguments belong to the callee (freed here) and results are
// allocated with malloc and freed by the bindings after they are copied out.

#include <stdlib.h>
#include <string.h>

#include "c_stats.h"

typedef rustydb_extension_types_value_t value_t;
typedef rustydb_extension_types_sql_error_t sql_error_t;
typedef rustydb_extension_types_column_t column_t;

static bool name_is(const c_stats_string_t *name, const char *expected) {
  size_t len = strlen(expected);
  return name->len == len && memcmp(name->ptr, expected, len) == 0;
}

static bool fail(sql_error_t *err, const char *sqlstate, const char *message) {
  c_stats_string_dup(&err->sqlstate, sqlstate);
  c_stats_string_dup(&err->message, message);
  err->detail.is_some = false;
  return false;
}

static bool no_such_routine(sql_error_t *err) {
  return fail(err, "42883", "module stats has no such routine");
}

static rustydb_extension_types_list_column_t columns(const char *name,
                                                     uint8_t type) {
  rustydb_extension_types_list_column_t list;
  list.len = 1;
  list.ptr = malloc(sizeof(column_t));
  c_stats_string_dup(&list.ptr[0].name, name);
  list.ptr[0].data_type = type;
  return list;
}

void exports_rustydb_extension_describe_routines(
    exports_rustydb_extension_describe_list_routine_description_t *ret) {
  ret->len = 2;
  ret->ptr = calloc(2, sizeof(*ret->ptr));

  rustydb_extension_types_routine_description_t *interest = &ret->ptr[0];
  c_stats_string_dup(&interest->name, "interest");
  interest->kind = RUSTYDB_EXTENSION_TYPES_ROUTINE_KIND_SCALAR;
  interest->params.len = 2;
  interest->params.ptr = malloc(2 * sizeof(column_t));
  c_stats_string_dup(&interest->params.ptr[0].name, "balance");
  interest->params.ptr[0].data_type = RUSTYDB_EXTENSION_TYPES_DATA_TYPE_INT8;
  c_stats_string_dup(&interest->params.ptr[1].name, "rate_bp");
  interest->params.ptr[1].data_type = RUSTYDB_EXTENSION_TYPES_DATA_TYPE_INT8;
  interest->returns = columns("interest", RUSTYDB_EXTENSION_TYPES_DATA_TYPE_INT8);
  interest->volatility = RUSTYDB_EXTENSION_TYPES_VOLATILITY_IMMUTABLE;
  interest->strict = true;

  rustydb_extension_types_routine_description_t *median = &ret->ptr[1];
  c_stats_string_dup(&median->name, "median");
  median->kind = RUSTYDB_EXTENSION_TYPES_ROUTINE_KIND_AGGREGATE;
  median->params = columns("x", RUSTYDB_EXTENSION_TYPES_DATA_TYPE_FLOAT8);
  median->returns = columns("median", RUSTYDB_EXTENSION_TYPES_DATA_TYPE_FLOAT8);
  median->volatility = RUSTYDB_EXTENSION_TYPES_VOLATILITY_IMMUTABLE;
  median->strict = true;
}

// balance * rate_bp / 10000, truncated towards zero as in Rust and SQL.
static bool interest(const value_t *balance, const value_t *rate, value_t *out,
                     sql_error_t *err) {
  if (balance->tag == RUSTYDB_EXTENSION_TYPES_VALUE_NULL ||
      rate->tag == RUSTYDB_EXTENSION_TYPES_VALUE_NULL) {
    out->tag = RUSTYDB_EXTENSION_TYPES_VALUE_NULL;
    return true;
  }
  if (balance->tag != RUSTYDB_EXTENSION_TYPES_VALUE_INT8 ||
      rate->tag != RUSTYDB_EXTENSION_TYPES_VALUE_INT8) {
    return fail(err, "42804", "interest takes (bigint, bigint)");
  }
  int64_t product;
  if (__builtin_mul_overflow(balance->val.int8, rate->val.int8, &product)) {
    return fail(err, "22003", "bigint out of range");
  }
  out->tag = RUSTYDB_EXTENSION_TYPES_VALUE_INT8;
  out->val.int8 = product / 10000;
  return true;
}

bool exports_rustydb_extension_scalar_call_scalar(
    c_stats_string_t *name, exports_rustydb_extension_scalar_list_row_t *args,
    exports_rustydb_extension_scalar_list_value_t *ret, sql_error_t *err) {
  bool ok = true;
  if (!name_is(name, "interest")) {
    ok = no_such_routine(err);
  } else {
    ret->len = args->len;
    ret->ptr = calloc(args->len ? args->len : 1, sizeof(value_t));
    for (size_t i = 0; ok && i < args->len; i++) {
      if (args->ptr[i].len != 2) {
        ok = fail(err, "42883", "interest takes 2 arguments");
      } else {
        ok = interest(&args->ptr[i].ptr[0], &args->ptr[i].ptr[1], &ret->ptr[i],
                      err);
      }
    }
    if (!ok) {
      free(ret->ptr);
    }
  }
  c_stats_string_free(name);
  exports_rustydb_extension_scalar_list_row_free(args);
  return ok;
}

// The median's state is every non-NULL input, as native doubles: exact,
// and merging two partial states is concatenation.
static bool to_double(const value_t *v, double *out) {
  switch (v->tag) {
  case RUSTYDB_EXTENSION_TYPES_VALUE_FLOAT8: *out = v->val.float8; return true;
  case RUSTYDB_EXTENSION_TYPES_VALUE_FLOAT4: *out = v->val.float4; return true;
  case RUSTYDB_EXTENSION_TYPES_VALUE_INT8: *out = (double)v->val.int8; return true;
  case RUSTYDB_EXTENSION_TYPES_VALUE_INT4: *out = v->val.int4; return true;
  case RUSTYDB_EXTENSION_TYPES_VALUE_INT2: *out = v->val.int2; return true;
  default: return false;
  }
}

static void concat(c_stats_list_u8_t *ret, const c_stats_list_u8_t *a,
                   const uint8_t *b, size_t b_len) {
  ret->len = a->len + b_len;
  ret->ptr = malloc(ret->len ? ret->len : 1);
  if (a->len) memcpy(ret->ptr, a->ptr, a->len);
  if (b_len) memcpy(ret->ptr + a->len, b, b_len);
}

bool exports_rustydb_extension_aggregate_init(c_stats_string_t *name,
                                              c_stats_list_u8_t *ret,
                                              sql_error_t *err) {
  bool ok = name_is(name, "median") || no_such_routine(err);
  if (ok) {
    ret->len = 0;
    ret->ptr = NULL;
  }
  c_stats_string_free(name);
  return ok;
}

bool exports_rustydb_extension_aggregate_accumulate(
    c_stats_string_t *name, c_stats_list_u8_t *state,
    exports_rustydb_extension_aggregate_list_row_t *args,
    c_stats_list_u8_t *ret, sql_error_t *err) {
  bool ok = name_is(name, "median") || no_such_routine(err);
  double *values = malloc((args->len ? args->len : 1) * sizeof(double));
  size_t n = 0;
  for (size_t i = 0; ok && i < args->len; i++) {
    if (args->ptr[i].len != 1) {
      ok = fail(err, "42883", "median takes 1 argument");
    } else if (args->ptr[i].ptr[0].tag != RUSTYDB_EXTENSION_TYPES_VALUE_NULL) {
      ok = to_double(&args->ptr[i].ptr[0], &values[n++]) ||
           fail(err, "42804", "median takes a number");
    }
  }
  if (ok) concat(ret, state, (const uint8_t *)values, n * sizeof(double));
  free(values);
  c_stats_string_free(name);
  c_stats_list_u8_free(state);
  exports_rustydb_extension_aggregate_list_row_free(args);
  return ok;
}

bool exports_rustydb_extension_aggregate_merge(c_stats_string_t *name,
                                               c_stats_list_u8_t *left,
                                               c_stats_list_u8_t *right,
                                               c_stats_list_u8_t *ret,
                                               sql_error_t *err) {
  bool ok = name_is(name, "median") || no_such_routine(err);
  if (ok) concat(ret, left, right->ptr, right->len);
  c_stats_string_free(name);
  c_stats_list_u8_free(left);
  c_stats_list_u8_free(right);
  return ok;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

bool exports_rustydb_extension_aggregate_finish(c_stats_string_t *name,
                                                c_stats_list_u8_t *state,
                                                value_t *ret,
                                                sql_error_t *err) {
  bool ok = name_is(name, "median") || no_such_routine(err);
  size_t n = state->len / sizeof(double);
  if (ok && n == 0) {
    ret->tag = RUSTYDB_EXTENSION_TYPES_VALUE_NULL;
  } else if (ok) {
    double *values = malloc(n * sizeof(double));
    memcpy(values, state->ptr, n * sizeof(double));
    qsort(values, n, sizeof(double), compare);
    ret->tag = RUSTYDB_EXTENSION_TYPES_VALUE_FLOAT8;
    ret->val.float8 = n % 2 ? values[n / 2]
                            : (values[n / 2 - 1] + values[n / 2]) / 2.0;
    free(values);
  }
  c_stats_string_free(name);
  c_stats_list_u8_free(state);
  return ok;
}
