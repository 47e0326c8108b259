import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEPTH_MAX,
  decode,
  decodeBytesList,
  EncodingError,
  encode,
  type Value,
  type ValueMap,
} from '../../crypto/encoding.js';
import { fromHex, toHex } from '../../crypto/hash.js';

type Typed =
  | null
  | boolean
  | { uint: string }
  | { bytes: string }
  | { string: string }
  | { list: Typed[] }
  | { map: [string, Typed][] };

interface Vectors {
  valid: { name: string; value: Typed; hex: string }[];
  invalid: { name: string; hex: string; error: string }[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../vectors/encoding.json', import.meta.url), 'utf8'),
) as Vectors;

const UINT_MAX = (1n << 256n) - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A map built the way decode builds one: own enumerable fields, even for "__proto__". */
function mapOf(entries: [string, Value][]): ValueMap {
  const m: ValueMap = {};
  for (const [k, v] of entries) {
    Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return m;
}

function fromTyped(t: Typed): Value {
  if (t === null || typeof t === 'boolean') return t;
  if ('uint' in t) {
    const n = BigInt(t.uint);
    return n <= SAFE ? Number(n) : n;
  }
  if ('bytes' in t) return fromHex(t.bytes);
  if ('string' in t) return t.string;
  if ('list' in t) return t.list.map(fromTyped);
  return mapOf(t.map.map(([k, v]) => [k, fromTyped(v)]));
}

function refusedWithEncodingError(f: () => unknown, message?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof EncodingError, `expected EncodingError, got ${String(e)}`);
    assert.equal(e.name, 'EncodingError');
    if (message !== undefined) assert.ok(e.message.includes(message), `"${e.message}" lacks "${message}"`);
    return true;
  });
}

describe('canonical encoding: golden vectors (test/vectors/encoding.json)', () => {
  it('covers the required cases', () => {
    const names = vectors.valid.map((v) => v.name).join('\n');
    for (const want of [
      'null',
      'true',
      'false',
      'uint 0',
      'uint 127',
      'uint 128',
      '2^53-1',
      '2^64',
      '2^256-1',
    ]) {
      assert.ok(names.includes(want), want);
    }
    assert.ok(names.includes('__proto__'));
    assert.ok(vectors.invalid.length >= 30);
  });

  for (const v of vectors.valid) {
    it(`valid: ${v.name}`, () => {
      const value = fromTyped(v.value);
      assert.equal(toHex(encode(value)), v.hex);
      const decoded = decode(fromHex(v.hex));
      assert.deepStrictEqual(decoded, value);
      // Integers encode the same whether given as number or bigint.
      if (typeof value === 'number') assert.equal(toHex(encode(BigInt(value))), v.hex);
    });
  }

  for (const v of vectors.invalid) {
    it(`invalid: ${v.name}`, () => {
      refusedWithEncodingError(() => decode(fromHex(v.hex)), v.error);
    });
  }

  it('"__proto__" decodes to an own field and never changes the prototype', () => {
    const m = decode(fromHex('0x0702095f5f70726f746f5f5f070101790201780300')) as ValueMap;
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.ok(Object.hasOwn(m, '__proto__'));
    assert.deepEqual(Object.keys(m), ['__proto__', 'x']);
    assert.equal((m as { y?: unknown }).y, undefined);
  });

  it('errors report the offset of the offending byte', () => {
    try {
      decode(fromHex('0x0603000008'));
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof EncodingError);
      assert.equal(e.offset, 4);
    }
  });
});

describe('canonical encoding: values outside the model are refused', () => {
  const deep = (n: number): Value => (n === 0 ? null : [deep(n - 1)]);
  const cyclic: Value[] = [];
  cyclic.push(cyclic);
  const cases: [string, unknown][] = [
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['2^53 as a number (unsafe)', 2 ** 53],
    ['-1n', -1n],
    ['2^256 as a bigint', UINT_MAX + 1n],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    ['a class instance', new (class Foo {})()],
    ['a Uint16Array', new Uint16Array(2)],
    ['a string with a lone high surrogate', 'a\ud800'],
    ['a string with a lone low surrogate', '\udc00b'],
    ['a map key with a lone surrogate', { '\ud800': 1 }],
    [`${DEPTH_MAX + 1} nested lists`, deep(DEPTH_MAX + 1)],
    ['a cyclic list', cyclic],
  ];
  for (const [name, v] of cases) {
    it(name, () => refusedWithEncodingError(() => encode(v as Value)));
  }

  it(`${DEPTH_MAX} nested lists encode and decode`, () => {
    const v = deep(DEPTH_MAX);
    assert.deepStrictEqual(decode(encode(v)), v);
  });

  it('a well-formed surrogate pair is fine (and distinct from U+FFFD)', () => {
    assert.notDeepEqual(encode('\ud83d\ude00'), encode('\ufffd'));
    assert.equal(decode(encode('\ud83d\ude00')), '\ud83d\ude00');
  });
});

describe('canonical encoding: JavaScript mapping', () => {
  it('map entries whose value is undefined are left out', () => {
    assert.deepEqual(encode({ a: 1, b: undefined }), encode({ a: 1 }));
  });

  it('null-prototype maps encode like plain ones', () => {
    const m = Object.create(null) as ValueMap;
    m.k = 'v';
    assert.deepEqual(encode(m), encode({ k: 'v' }));
  });

  it('a Buffer encodes as bytes and decodes to a plain Uint8Array', () => {
    const enc = encode(Buffer.from([1, 2, 3]));
    assert.equal(toHex(enc), '0x0403010203');
    const d = decode(enc);
    assert.equal(Object.getPrototypeOf(d), Uint8Array.prototype);
  });

  it('decoded bytes do not alias the input, even when the input is a Buffer', () => {
    const input = Buffer.from([0x04, 0x02, 0xaa, 0xbb]);
    const d = decode(input) as Uint8Array;
    input[2] = 0;
    assert.deepEqual(d, Uint8Array.of(0xaa, 0xbb));
    assert.equal(Object.getPrototypeOf(d), Uint8Array.prototype);
  });

  it('decodes a view into a larger buffer', () => {
    const big = Uint8Array.of(0xff, 0x03, 0x05, 0xff);
    assert.equal(decode(big.subarray(1, 3)), 5);
  });

  it('small bigints decode as numbers, big ones as bigints', () => {
    assert.equal(decode(encode(7n)), 7);
    assert.equal(decode(encode(SAFE)), Number.MAX_SAFE_INTEGER);
    assert.equal(decode(encode(SAFE + 1n)), SAFE + 1n);
  });
});

// ---- properties ---------------------------------------------------------------------------

const keyArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', '', 'a', 'aa', '\u00e9', '\uff61', '\u{1f600}'),
);

/** Values in their decoded form: numbers up to 2^53-1, bigints only above. */
const { value: valueArb } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 5, depthIdentifier: 'value' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeNat(),
    fc.constantFrom(0, 127, 128, 16383, 16384, Number.MAX_SAFE_INTEGER),
    fc.bigInt({ min: SAFE + 1n, max: UINT_MAX }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 5, depthIdentifier: 'value' }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 5, noNullPrototype: true, depthIdentifier: 'value' }),
  ),
}));

/** A copy of `v` with every map rebuilt in a shuffled key order. */
function reorder(v: Value, rnd: () => number): Value {
  if (Array.isArray(v)) return v.map((x) => reorder(x, rnd));
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const entries = Object.entries(v as ValueMap) as [string, Value][];
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return mapOf(entries.map(([k, x]) => [k, reorder(x, rnd)]));
}

/** decode either refuses with EncodingError or accepts exactly the canonical bytes. */
function checkCanonical(bytes: Uint8Array): boolean {
  let v: Value;
  try {
    v = decode(bytes);
  } catch (e) {
    assert.ok(e instanceof EncodingError, `decode threw ${String(e)}`);
    return false;
  }
  assert.deepEqual(encode(v), bytes, `accepted a non-canonical form: ${toHex(bytes)}`);
  return true;
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'delete'; at: number }
  | { op: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0x03, 0x07),
  }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const out = Array.from(b);
  const at = out.length === 0 ? 0 : m.at % (m.op === 'insert' ? out.length + 1 : out.length);
  switch (m.op) {
    case 'flip':
      if (out.length > 0) out[at]! ^= 1 << m.bit;
      break;
    case 'set':
      if (out.length > 0) out[at] = m.byte;
      break;
    case 'insert':
      out.splice(at, 0, m.byte);
      break;
    case 'delete':
      out.splice(at, 1);
      break;
    case 'truncate':
      out.length = at;
      break;
  }
  return Uint8Array.from(out);
}

describe('canonical encoding: properties', () => {
  it('decode(encode(v)) deep-equals v', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        assert.deepStrictEqual(decode(encode(v)), v);
      }),
      { numRuns: 400 },
    );
  });

  it('encoding does not depend on key insertion order', () => {
    fc.assert(
      fc.property(valueArb, fc.integer(), (v, seed) => {
        let s = seed | 0;
        const rnd = () => {
          s = (Math.imul(s, 1103515245) + 12345) | 0;
          return ((s >>> 8) & 0xffff) / 0x10000;
        };
        assert.deepEqual(encode(reorder(v, rnd)), encode(v));
      }),
      { numRuns: 300 },
    );
  });

  it('every accepted input re-encodes to itself: random bytes', () => {
    // Bytes biased towards tags and varint edges so that some inputs get past the first byte.
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 8 }),
      fc.constantFrom(0x7f, 0x80, 0x81, 0xff),
      fc.nat(255),
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), (bytes) => {
        if (checkCanonical(Uint8Array.from(bytes))) accepted++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(accepted > 15, `only ${accepted} random inputs decoded; the generator is too weak`);
  });

  it('every accepted input re-encodes to itself: mutations of valid encodings', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(valueArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (v, ms) => {
        let b = encode(v);
        for (const m of ms) b = mutate(b, m);
        if (checkCanonical(b)) accepted++;
        else refused++;
      }),
      { numRuns: 1500 },
    );
    assert.ok(accepted > 50 && refused > 50, `accepted ${accepted}, refused ${refused}`);
  });

  it('distinct values have distinct encodings', () => {
    fc.assert(
      fc.property(valueArb, valueArb, (a, b) => {
        const same = Buffer.from(encode(a)).equals(Buffer.from(encode(b)));
        let equal = true;
        try {
          assert.deepStrictEqual(a, b);
        } catch {
          equal = false;
        }
        assert.equal(same, equal);
      }),
      { numRuns: 300 },
    );
  });
});

describe('canonical encoding: the shared write buffer', () => {
  it('each result is its own copy: changing one, or encoding more, leaves the others as they were', () => {
    const small = encode({ a: 1n, b: new Uint8Array(10).fill(7) });
    const smallCopy = small.slice();
    // Larger than the shared buffer, so it grows; then beyond what it keeps.
    const big = encode({ blob: new Uint8Array(100_000).fill(9) });
    const huge = encode({ blob: new Uint8Array(2_000_000).fill(5) });
    const again = encode({ a: 1n, b: new Uint8Array(10).fill(7) });
    assert.deepEqual(again, smallCopy);
    assert.deepEqual(small, smallCopy);
    again.fill(0);
    assert.deepEqual(encode({ a: 1n, b: new Uint8Array(10).fill(7) }), smallCopy);
    assert.deepEqual(decode(big), { blob: new Uint8Array(100_000).fill(9) });
    assert.equal((decode(huge) as { blob: Uint8Array }).blob.length, 2_000_000);
  });

  it('an encode that fails part-way does not disturb the next one', () => {
    const expected = encode(['x', 1n]);
    assert.throws(() => encode(['y', 1.5 as unknown as bigint]));
    assert.deepEqual(encode(['x', 1n]), expected);
  });
});

describe('decodeBytesList: a list of byte strings as views', () => {
  it('reads what decode reads, as views into the input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }), (items) => {
        const bytes = encode(items);
        const views = decodeBytesList(bytes, 40);
        assert.deepEqual(views, decode(bytes));
        for (const v of views) assert.equal(v.buffer, bytes.buffer, 'a view, not a copy');
      }),
      { numRuns: 200 },
    );
  });

  it('reads from a Buffer as plain Uint8Array views', () => {
    const buf = Buffer.concat([Buffer.from([1, 2]), Buffer.from(encode([new Uint8Array([7, 8])]))]).subarray(
      2,
    );
    const [item] = decodeBytesList(buf, 10);
    assert.equal(Object.getPrototypeOf(item), Uint8Array.prototype);
    assert.deepEqual(item, new Uint8Array([7, 8]));
  });

  it('refuses what decode refuses, items that are not bytes, and lists over the limit', () => {
    const cases: [Uint8Array, RegExp][] = [
      [encode({ a: new Uint8Array(1) }), /expected a list/],
      [encode([new Uint8Array(1), 'text']), /item 1 is not bytes/],
      [encode([new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)]), /list of 3 items exceeds 2/],
      [Uint8Array.from([...encode([new Uint8Array(1)]), 0]), /1 trailing bytes/],
      [Uint8Array.from([0x06, 0x01, 0x04, 0x81, 0x00, 9]), /non-minimal/],
      [Uint8Array.from([0x06, 0x02, 0x04, 0x01, 9]), /unexpected end of input/],
      [Uint8Array.from([0x06, 0x01, 0x04, 0x05, 9]), /exceeds the remaining/],
      [new Uint8Array(0), /unexpected end of input/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(
        () => decodeBytesList(bytes, 2),
        (e: unknown) => e instanceof EncodingError && message.test(e.message),
      );
    }
  });
});
