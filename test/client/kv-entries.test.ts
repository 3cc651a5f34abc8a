import { expect } from 'chai';
import { ProtocolError } from '@kvx/client';
import { asArray, decodeKvPair } from '../../packages/client/src/api/decode.js';
import { CUT_VALUES_ABOVE, decodeKvEntries, decodeWithValuesCut } from '../../packages/client/src/api/kv-entries.js';
import { parseJson } from '../../packages/client/src/transport/json.js';

/** The plain decoding (whole body through the JSON parser), which the fast path must always agree with. */
const plain = (body: string) => asArray(parseJson(body), 'a KV listing').map((e) => decodeKvPair(e));

/** A value whose base64 text ends in padding. */
const padded = (seed: number) => Buffer.concat([big(seed), Buffer.from('x')]);

const big = (seed: number) => Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${seed}-${i} é\n`).join(''));

/** A Consul-shaped entry, with its value base64-encoded unless given as raw JSON. */
function entry(key: string, value: Buffer | null | string, extra = ''): string {
  const v = value === null ? 'null' : typeof value === 'string' ? value : `"${value.toString('base64')}"`;
  return `{"LockIndex":0,"Key":${JSON.stringify(key)},"Flags":3304740253564472344,"Value":${v},"CreateIndex":5,"ModifyIndex":9${extra}}`;
}

describe('client: decoding of KV read replies', () => {
  it('decodes large values cut out of the body exactly as the whole-body parse does', () => {
    const body = `[${entry('kvexpress/hosts/checksum', Buffer.from('abc'))},${entry('kvexpress/hosts/data', big(1), ',"Session":"s-1"')},${entry('ké/y', big(2))}]`;
    expect(body.length).to.be.above(CUT_VALUES_ABOVE);
    const pairs = decodeKvEntries(body, 'a KV listing');
    expect(decodeWithValuesCut(body, 'a KV listing'), 'the values were cut out').to.deep.equal(pairs);
    expect(pairs).to.deep.equal(plain(body));
    expect(pairs[1]!.value.equals(big(1))).to.equal(true);
    expect(pairs[1]!.session).to.equal('s-1');
    expect(pairs[2]!.key).to.equal('ké/y');
    expect(pairs[0]!.flags).to.equal(3304740253564472344n);
  });

  it('gives empty and null values back as empty buffers, in their places', () => {
    const body = `[${entry('a', null)},${entry('b', big(3))},${entry('c', '""')},${entry('d', Buffer.from('d'))}]`;
    const pairs = decodeKvEntries(body, 'a KV listing');
    expect(decodeWithValuesCut(body, 'a KV listing'), 'the values were cut out').to.deep.equal(pairs);
    expect(pairs.map((p) => p.value.toString())).to.deep.equal(['', big(3).toString(), '', 'd']);
    expect(pairs).to.deep.equal(plain(body));
  });

  it('decodes a value written with JSON escapes as JSON means it', () => {
    const escaped = `"${big(4).toString('base64').replace(/A/g, '\\u0041').replace(/\//g, '\\/')}"`;
    const body = `[${entry('k', escaped)}]`;
    expect(decodeWithValuesCut(body, 'a KV listing'), 'decoded the plain way').to.equal(undefined);
    expect(decodeKvEntries(body, 'a KV listing')[0]!.value.equals(big(4))).to.equal(true);
  });

  for (const [what, body] of [
    ['a member name ending in "Value"', `[{"x\\"Value":"${big(5).toString('base64')}","Key":"k","Value":"${Buffer.from('v').toString('base64')}"}]`],
    ['a repeated Value member', `[{"Key":"k","Value":"${big(6).toString('base64')}","Value":"${Buffer.from('last').toString('base64')}"}]`],
    ['a nested Value member', `[{"Key":"k","Value":null,"Meta":{"Value":"${big(7).toString('base64')}"}}]`],
    ['an escaped Value member name after the real one', `[{"Key":"k","Value":"${big(10).toString('base64')}","Valu\\u0065":""}]`],
    ['a key that needs escapes', `[{"Key":"a\\"b","Value":"${big(11).toString('base64')}"}]`],
    [
      'a nested mark and a Value member the cut does not see',
      `[{"Key":"a","Value":null,"Meta":{"Value":"QUJD"}},{"Key":"b","Value" : "","X":"${big(12).toString('base64')}"}]`,
    ],
  ] as const) {
    it(`agrees with the whole-body parse on ${what}`, () => {
      const b = body;
      expect(b.length).to.be.above(CUT_VALUES_ABOVE);
      expect(decodeWithValuesCut(b, 'a KV listing'), 'decoded the plain way').to.equal(undefined);
      expect(decodeKvEntries(b, 'a KV listing')).to.deep.equal(plain(b));
    });
  }

  it('decodes unpadded base64 as the whole-body parse does', () => {
    const body = `[{"Key":"k","Value":"${padded(12).toString('base64').replace(/=+$/, '')}"}]`;
    expect(decodeWithValuesCut(body, 'a KV listing')).to.deep.equal(plain(body));
    expect(plain(body)[0]!.value.equals(padded(12))).to.equal(true);
  });

  for (const [what, tail] of [
    ['characters the base64 decoder skips', '*AAA'],
    ['a length base64 cannot have', 'AAAAA'],
    ['the URL-safe alphabet', '-_-_'],
    ['text that is not base64 at all', 'not base64!!'],
  ] as const) {
    it(`rejects a value holding ${what} with a ProtocolError, large or small`, () => {
      for (const value of [`${big(13).toString('base64')}${tail}`, tail]) {
        const body = `[{"Key":"k","Value":"${value}"}]`;
        expect(decodeWithValuesCut(body, 'a KV listing')).to.equal(undefined);
        expect(() => decodeKvEntries(body, 'a KV listing')).to.throw(ProtocolError, /Value that is not base64/);
      }
    });
  }

  it('rejects an entry without a Key with a ProtocolError', () => {
    for (const body of [`[{"Value":"${big(15).toString('base64')}"}]`, '[{"Key":"","Value":null}]']) {
      expect(() => decodeKvEntries(body, 'a KV listing')).to.throw(ProtocolError, /KV entry without its Key/);
    }
  });

  it('decodes a small body the plain way, with the same result', () => {
    const body = `[${entry('k', Buffer.from('small'))}]`;
    expect(body.length).to.be.below(CUT_VALUES_ABOVE);
    expect(decodeKvEntries(body, 'a KV read')).to.deep.equal(plain(body));
  });

  it('rejects a large value holding a raw control character, as the JSON parser does', () => {
    const body = `[{"Key":"k","Value":"${big(14).toString('base64').slice(0, -4)}\u0001AAA"}]`;
    expect(decodeWithValuesCut(body, 'a KV listing')).to.equal(undefined);
    expect(() => decodeKvEntries(body, 'a KV listing')).to.throw(ProtocolError, /invalid JSON/);
  });

  it('rejects a large body that is not valid JSON with a ProtocolError', () => {
    const body = `[${entry('k', big(8))}`;
    expect(() => decodeKvEntries(body, 'a KV listing')).to.throw(ProtocolError, /invalid JSON/);
  });

  it('rejects a large reply that is not an array of entries with a ProtocolError', () => {
    const body = `{"Value":"${big(9).toString('base64')}"}`;
    expect(() => decodeKvEntries(body, 'a KV listing')).to.throw(ProtocolError, /not an array/);
  });
});
