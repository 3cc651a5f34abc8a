import { expect } from 'chai';
import { parseJson, ProtocolError } from '@kvx/client';

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

  for (const bad of ['[1,', '{"a":1}x', '{"a" 1, "b": 18446744073709551615}', '[01234567890123456789]', '"\u0001 12345678901234567"']) {
    it(`rejects invalid JSON ${JSON.stringify(bad)} with a ProtocolError`, () => {
      expect(() => parseJson(bad)).to.throw(ProtocolError);
    });
  }
});
