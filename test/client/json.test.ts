import { expect } from 'chai';
import { parseJson, ProtocolError } from '@kvx/client';
import { holdsUnsafeNumber } from '../../packages/client/src/transport/json.js';

describe('client: lossless JSON', () => {
  it('returns integers above 2^53 as exact bigints', () => {
    const v = parseJson('[{"Flags":16210313421097356768,"ModifyIndex":18446744073709551615,"LockIndex":3}]');
    expect(v).to.deep.equal([{ Flags: 16210313421097356768n, ModifyIndex: 18446744073709551615n, LockIndex: 3 }]);
  });

  it('keeps safe integers, floats and negative numbers as numbers', () => {
    expect(parseJson('{"a":9007199254740991,"b":1.5e3,"c":-12,"d":1234567890123456.5}')).to.deep.equal({
      a: 9007199254740991,
      b: 1500,
      c: -12,
      d: 1234567890123456.5,
    });
  });

  it('decodes escaped strings and long digit runs inside strings unchanged', () => {
    expect(parseJson('{"k":"12345678901234567890","e":"a\\"b\\u00e9\\n","n":99999999999999999999}')).to.deep.equal({
      k: '12345678901234567890',
      e: 'a"bé\n',
      n: 99999999999999999999n,
    });
  });

  it('parses nested structures, literals and whitespace on the lossless path', () => {
    const text = ' { "a" : [ true , false , null , { } , [ ] ] , "big" : 18446744073709551615 } ';
    expect(parseJson(text)).to.deep.equal({ a: [true, false, null, {}, []], big: 18446744073709551615n });
  });

  it('does not let a "__proto__" key change the prototype', () => {
    const v = parseJson('{"__proto__":{"x":1},"n":18446744073709551615}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).to.equal(Object.prototype);
    expect(Object.keys(v)).to.deep.equal(['__proto__', 'n']);
  });

  it('takes the native parser for long digit runs inside strings, and keeps them unchanged', () => {
    const text = '[{"Key":"ts/12345678901234567890","Flags":0,"Value":"MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw0123456789012345678901234","ModifyIndex":7}]';
    expect(holdsUnsafeNumber(JSON.parse(text))).to.equal(false);
    expect(parseJson(text)).to.deep.equal([
      { Key: 'ts/12345678901234567890', Flags: 0, Value: 'MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw0123456789012345678901234', ModifyIndex: 7 },
    ]);
  });

  it('returns the semaphore flag value after ":" exactly', () => {
    expect(parseJson('{"Key":"s/.lock","Flags": 16210313421097356768,"Value":null}')).to.deep.equal({
      Key: 's/.lock',
      Flags: 16210313421097356768n,
      Value: null,
    });
  });

  it('returns big integers in arrays, nested structures and at the top level exactly', () => {
    expect(parseJson('[18446744073709551615, -9223372036854775808,[ 9007199254740993],{"a":{"b":[1,9007199254740992]}}]')).to.deep.equal([
      18446744073709551615n,
      -9223372036854775808n,
      [9007199254740993n],
      { a: { b: [1, 9007199254740992n] } },
    ]);
    expect(parseJson(' 12345678901234567890 ')).to.equal(12345678901234567890n);
  });

  it('finds a big integer inside a "__proto__" member', () => {
    const v = parseJson('{"__proto__":{"n":18446744073709551615}}') as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).to.deep.equal({ n: 18446744073709551615n });
  });

  it('tells apart different literals that round to the same number', () => {
    expect(parseJson('[9007199254740993,9007199254740992,{"a":9007199254740993}]')).to.deep.equal([
      9007199254740993n,
      9007199254740992n,
      { a: 9007199254740993n },
    ]);
    expect(parseJson('[12345678901234567.5,12345678901234568]')).to.deep.equal([12345678901234568, 12345678901234568n]);
  });

  it('keeps each big integer with its own member when members are repeated or reordered', () => {
    expect(parseJson('{"2":18446744073709551615,"1":12345678901234567890}')).to.deep.equal({ 1: 12345678901234567890n, 2: 18446744073709551615n });
    expect(parseJson('{"a":12345678901234567890,"b":1,"a":18446744073709551615}')).to.deep.equal({ a: 18446744073709551615n, b: 1 });
  });

  it('keeps big integers exact beside a string of many megabytes', () => {
    const v = parseJson(`{"Flags":16210313421097356768,"Value":"${'x'.repeat(12_000_000)}"}`) as Record<string, unknown>;
    expect(v['Flags']).to.equal(16210313421097356768n);
    expect((v['Value'] as string).length).to.equal(12_000_000);
  });

  it('keeps big literals that are not integers as numbers', () => {
    expect(parseJson('[1e300,-2.5E20,12345678901234567890e0]')).to.deep.equal([1e300, -2.5e20, Number('12345678901234567890e0')]);
  });

  it('keeps 2^53 - 1 a number and makes 2^53 a bigint', () => {
    expect(parseJson('[9007199254740991,-9007199254740991,9007199254740992]')).to.deep.equal([9007199254740991, -9007199254740991, 9007199254740992n]);
  });

  for (const bad of ['[1,', '{"a":1}x', '{"a" 1, "b": 18446744073709551615}', '[01234567890123456789]', '"\u0001 12345678901234567"']) {
    it(`rejects invalid JSON ${JSON.stringify(bad)} with a ProtocolError`, () => {
      expect(() => parseJson(bad)).to.throw(ProtocolError);
    });
  }
});
