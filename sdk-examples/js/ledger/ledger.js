// `ledger` in JavaScript: the same routines as three Rust examples, so the
// harness can check that they answer identically.
//
// * `audit_row`, an AFTER trigger, is `sdk-examples/audit`: it appends
//   (tbl, op, old_row, new_row) to `audit_log`, rows in PostgreSQL's record
//   text form;
// * `guard_row`, a BEFORE row trigger, is `sdk-examples/guard`: it refuses a
//   negative amount, normalises a text column and skips blank rows;
// * `interest(balance, rate_bp)`, a scalar function, is bank's `interest`.
//
// Built with componentize-js against `wit/world.wit` (see the README):
// `npm ci && npm run build`.
//
// WIT in JavaScript: `s64` is a BigInt, variants are `{ tag, val }`, enums
// are their names as strings, an `err` result is a thrown value.

import { execute } from 'rustydb:extension/host@0.1.0';

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

/// An SQL error, thrown: componentize-js turns it into the `err` case.
function sqlError(sqlstate, message, detail) {
  return { sqlstate, message, detail };
}

function noSuch(kind, name) {
  return sqlError('42883', `this module has no ${kind} "${name}"`);
}

// ---- interest --------------------------------------------------------------

/// `value` as a BigInt, as the Rust SDK reads an `i64` argument: integers
/// widen, anything else is a type mismatch.
function bigintArg(value, name) {
  switch (value.tag) {
    case 'int2':
    case 'int4':
      return BigInt(value.val);
    case 'int8':
      return value.val;
    case 'null':
      throw sqlError('22004', `argument "${name}": null value where bigint is required`);
    default:
      throw sqlError('42804', `argument "${name}": expected bigint, got ${value.tag}`);
  }
}

/// Interest in basis points, truncated towards zero (BigInt division does,
/// like Rust's); 22003 when the product leaves bigint.
function interest(balance, rateBp) {
  const product = balance * rateBp;
  if (product < INT8_MIN || product > INT8_MAX) {
    throw sqlError('22003', 'bigint out of range');
  }
  return { tag: 'int8', val: product / 10000n };
}

export const scalar = {
  callScalar(name, rows) {
    if (name !== 'interest') {
      throw noSuch('function', name);
    }
    return rows.map((row) => {
      if (row.length !== 2) {
        throw sqlError('39000', `interest takes 2 arguments, got ${row.length}`);
      }
      // STRICT, as described: a NULL argument gives NULL without a call.
      if (row.some((v) => v.tag === 'null')) {
        return { tag: 'null' };
      }
      return interest(bigintArg(row[0], 'balance'), bigintArg(row[1], 'rate_bp'));
    });
  },
};

// ---- audit_row ------------------------------------------------------------

/// Rust's `Display` of a float: the shortest digits that read back as the
/// same value, never in exponent form, `inf`/`NaN`, and `-0` for negative
/// zero. `digits` is that shortest form in JavaScript's notation.
function plainDecimal(x, digits) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(digits);
  if (!m) return digits;
  const [, sign, lead, rest = '', exp] = m;
  const all = lead + rest;
  const point = 1 + Number(exp); // digits before the decimal point
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${all}`;
  if (point >= all.length) return sign + all + '0'.repeat(point - all.length);
  return `${sign}${all.slice(0, point)}.${all.slice(point)}`;
}

/// The shortest decimal that rounds back to the same `f32`, as Rust prints
/// an `f32` (JavaScript's own shortest form is for doubles).
function float4Digits(x) {
  for (let p = 1; p <= 9; p += 1) {
    const s = x.toExponential(p - 1);
    if (Math.fround(Number(s)) === x) return s;
  }
  return x.toExponential(8);
}

function fieldText(v) {
  switch (v.tag) {
    case 'null':
      return '';
    case 'boolean':
      return v.val ? 't' : 'f';
    case 'int2':
    case 'int4':
    case 'int8':
      return String(v.val);
    case 'float4':
      return plainDecimal(v.val, Number.isFinite(v.val) ? float4Digits(v.val) : '');
    case 'float8':
      return plainDecimal(v.val, Number.isFinite(v.val) ? v.val.toExponential() : '');
    case 'numeric':
    case 'json':
      return v.val;
    case 'text': {
      const s = v.val;
      if (s === '' || /[,()" \\]/.test(s)) {
        return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '""')}"`;
      }
      return s;
    }
    case 'bytea': {
      const hex = Array.from(v.val, (b) => b.toString(16).padStart(2, '0')).join('');
      return `"\\\\x${hex}"`;
    }
    case 'date':
      return `date:${v.val}`;
    case 'timestamp':
    case 'timestamptz':
      return `ts:${v.val}`;
    case 'interval':
      return `${v.val.months}m${v.val.days}d${v.val.micros}us`;
    default:
      throw sqlError('39000', `unknown value kind ${v.tag}`);
  }
}

/// A row as PostgreSQL's record output writes it: `(1,abc,)`, NULL empty.
function recordText(row) {
  return row === undefined || row === null
    ? { tag: 'null' }
    : { tag: 'text', val: `(${row.map(fieldText).join(',')})` };
}

/// `TG_OP` as PL/pgSQL spells it.
function opName(operation) {
  return operation.toUpperCase();
}

/// Appends one line to `audit_log` for the row (or statement) that fired.
function auditRow(tg) {
  const tbl = tg.args.length > 0 ? tg.args[0] : tg.tableName;
  execute('INSERT INTO audit_log (tbl, op, old_row, new_row) VALUES ($1, $2, $3, $4)', [
    { tag: 'text', val: tbl },
    { tag: 'text', val: opName(tg.operation) },
    recordText(tg.old),
    recordText(tg.new),
  ]);
  return { tag: 'keep' };
}

// ---- guard_row ------------------------------------------------------------

// Rust's `str::trim` removes Unicode White_Space, which is not quite
// JavaScript's `trim` set (that one adds U+FEFF and lacks U+0085).
const WHITE_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const TRIM = new RegExp(`^${WHITE_SPACE}+|${WHITE_SPACE}+$`, 'gu');

// The engine's `toLowerCase` (SpiderMonkey without ICU) maps every Σ to σ;
// Rust's `to_lowercase`, like Unicode's Final_Sigma rule, writes ς for a Σ
// that ends a word: after a cased letter and not before one, skipping
// case-ignorable marks. "Cased" is approximated as "has two cases", and the
// case-ignorable set is the common marks and apostrophes, not all of them.
const CASE_IGNORABLE = /[\u0027\u002e\u003a\u005e\u0060\u00a8\u00ad\u00af\u00b4\u00b7\u00b8\u0300-\u036f\u2018\u2019\u2024\u2027]/u;

function isCased(ch) {
  return ch.toLowerCase() !== ch.toUpperCase();
}

/// Whether a cased letter comes next in `chars` from `i` going by `step`.
function casedNext(chars, i, step) {
  for (let j = i + step; j >= 0 && j < chars.length; j += step) {
    if (!CASE_IGNORABLE.test(chars[j])) return isCased(chars[j]);
  }
  return false;
}

function lowercase(s) {
  const chars = Array.from(s);
  return chars
    .map((ch, i) =>
      ch === '\u03a3' && casedNext(chars, i, -1) && !casedNext(chars, i, 1)
        ? '\u03c2'
        : ch.toLowerCase(),
    )
    .join('');
}

function isNegative(v) {
  switch (v.tag) {
    case 'int2':
    case 'int4':
    case 'float4':
    case 'float8':
      return v.val < 0;
    case 'int8':
      return v.val < 0n;
    case 'numeric':
      return v.val.startsWith('-');
    default:
      return false;
  }
}

/// Checks and cleans one row before it is written.
function guardRow(tg) {
  const newValue = (column) => {
    const i = tg.columns.findIndex((c) => c.name === column);
    return i >= 0 && tg.new ? { i, value: tg.new[i] } : undefined;
  };
  const amountCol = tg.args.length > 0 ? tg.args[0] : 'balance';
  const amount = newValue(amountCol);
  if (amount && isNegative(amount.value)) {
    throw sqlError(
      'P0001',
      `${amountCol} must not be negative`,
      `${tg.name} rejected a row of ${tg.tableName}`,
    );
  }
  if (tg.args.length < 2) {
    return { tag: 'keep' };
  }
  const text = newValue(tg.args[1]);
  if (!text || text.value.tag !== 'text') {
    return { tag: 'keep' };
  }
  const clean = lowercase(text.value.val.replace(TRIM, ''));
  if (clean === '') {
    return { tag: 'skip' };
  }
  if (clean === text.value.val) {
    return { tag: 'keep' };
  }
  const row = tg.new.slice();
  row[text.i] = { tag: 'text', val: clean };
  return { tag: 'modified', val: row };
}

const TRIGGERS = { audit_row: auditRow, guard_row: guardRow };

export const trigger = {
  callTrigger(name, data) {
    const fn = Object.hasOwn(TRIGGERS, name) ? TRIGGERS[name] : undefined;
    if (!fn) {
      throw noSuch('trigger function', name);
    }
    return fn(data);
  },
};

// ---- describe -------------------------------------------------------------

function triggerDescription(name) {
  return { name, kind: 'trigger', params: [], returns: [], volatility: 'volatile', strict: false };
}

export const describe = {
  routines() {
    return [
      triggerDescription('audit_row'),
      triggerDescription('guard_row'),
      {
        name: 'interest',
        kind: 'scalar',
        params: [
          { name: 'balance', dataType: 'int8' },
          { name: 'rate_bp', dataType: 'int8' },
        ],
        returns: [{ name: 'interest', dataType: 'int8' }],
        volatility: 'immutable',
        strict: true,
      },
    ];
  },
};
