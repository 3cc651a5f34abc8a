import { expect } from 'chai';

import { formatGoDuration, parseGoDuration } from '../../packages/devagent/src/duration.js';
import { queryTimeout } from '../../packages/devagent/src/http/query.js';
import { parseJson, toJson } from '../../packages/devagent/src/json.js';
import { frame, readFrames } from '../../packages/devagent/src/persist/frame.js';
import { compareKeys, SortedKeys } from '../../packages/devagent/src/state/sorted-keys.js';
import { WaiterRegistry } from '../../packages/devagent/src/state/waiters.js';

describe('devagent building blocks', () => {
  describe('Go durations', () => {
    it('parses every unit, fractions, compounds, signs and a bare 0', () => {
      expect(parseGoDuration('300ms')).to.equal(300e6);
      expect(parseGoDuration('1.5h')).to.equal(1.5 * 3600e9);
      expect(parseGoDuration('1m30s')).to.equal(90e9);
      expect(parseGoDuration('10us')).to.equal(10e3);
      expect(parseGoDuration('10µs')).to.equal(10e3);
      expect(parseGoDuration('10μs')).to.equal(10e3);
      expect(parseGoDuration('7ns')).to.equal(7);
      expect(parseGoDuration('.5s')).to.equal(5e8);
      expect(parseGoDuration('-2s')).to.equal(-2e9);
      expect(parseGoDuration('0')).to.equal(0);
    });

    it('rejects what Go rejects, with Go\'s messages', () => {
      expect(() => parseGoDuration('10')).to.throw('time: missing unit in duration "10"');
      expect(() => parseGoDuration('10x')).to.throw('time: unknown unit "x" in duration "10x"');
      expect(() => parseGoDuration('')).to.throw('time: invalid duration ""');
      expect(() => parseGoDuration('s')).to.throw('time: invalid duration "s"');
      expect(() => parseGoDuration('.s')).to.throw('time: invalid duration ".s"');
    });

    it('formats like time.Duration.String()', () => {
      expect(formatGoDuration(0)).to.equal('0s');
      expect(formatGoDuration(10e9)).to.equal('10s');
      expect(formatGoDuration(24 * 3600e9)).to.equal('24h0m0s');
      expect(formatGoDuration(90e9)).to.equal('1m30s');
      expect(formatGoDuration(100e6)).to.equal('100ms');
      expect(formatGoDuration(1.5e9)).to.equal('1.5s');
      expect(formatGoDuration(2500)).to.equal('2.5µs');
    });
  });

  describe('blocking-query timeout', () => {
    const policy = { until: 'greater' as const, defaultWaitMs: 300_000, jitter: true };

    it('adds jitter in [0, t/16) to the wait, caps it at max and defaults it when ≤ 0', () => {
      for (let i = 0; i < 1000; i++) {
        const t = queryTimeout(1600, policy, 600_000);
        expect(t).to.be.at.least(1600).and.below(1700);
        const capped = queryTimeout(10 ** 9, policy, 600_000);
        expect(capped).to.be.at.least(600_000).and.below(637_500);
        const defaulted = queryTimeout(0, policy, 600_000);
        expect(defaulted).to.be.at.least(300_000).and.below(318_750);
      }
    });

    it('adds no jitter when the policy says so (event list)', () => {
      expect(queryTimeout(0, { until: 'changed', defaultWaitMs: 600_000, jitter: false }, 600_000)).to.equal(600_000);
    });
  });

  describe('exact-integer JSON', () => {
    it('writes bigints as exact integers, keeps member order, omits undefined, escapes like Go', () => {
      expect(toJson({ B: 1, A: 18446744073709551615n, C: undefined, D: '<&>' })).to.equal(
        '{"B":1,"A":18446744073709551615,"D":"\\u003c\\u0026\\u003e"}',
      );
    });

    it('reads integers beyond 2^53 as bigint and small ones as numbers', () => {
      const parsed = parseJson('[3304740253564472344, 42, 1.5, -7]');
      expect(parsed).to.deep.equal([3304740253564472344n, 42, 1.5, -7]);
    });

    it('keeps "__proto__" as plain data and rejects malformed or too-deep input', () => {
      const parsed = parseJson('{"__proto__": {"x": 1}}') as Record<string, unknown>;
      expect(Object.getPrototypeOf(parsed)).to.equal(null);
      expect(Object.keys(parsed)).to.deep.equal(['__proto__']);
      expect(() => parseJson('{"a":')).to.throw('unexpected end of JSON input');
      expect(() => parseJson('[1,]')).to.throw(/invalid character/);
      expect(() => parseJson('['.repeat(10_000))).to.throw('exceeded max depth');
    });
  });

  describe('key order', () => {
    it('orders keys by their UTF-8 bytes', () => {
      const keys = ['b', 'a', '\uffff', '\u{1F600}', 'a/b', 'ab', ''];
      const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect([...keys].sort(compareKeys)).to.deep.equal(expected);
    });

    it('lists exactly the keys with a prefix', () => {
      const set = new SortedKeys();
      for (const k of ['foo', 'foo/x', 'foobar', 'fo', 'fop', 'g']) set.add(k);
      set.add('foo');
      expect(set.withPrefix('foo')).to.deep.equal(['foo', 'foo/x', 'foobar']);
      set.delete('foo/x');
      expect(set.withPrefix('foo/')).to.deep.equal([]);
      expect(set.size).to.equal(5);
    });
  });

  describe('waiter registry', () => {
    it('wakes key waiters and the waiters of every prefix of the written key, nothing else', () => {
      const reg = new WaiterRegistry();
      const woken: string[] = [];
      const waiter = (name: string) => ({ wake: () => woken.push(name) });
      reg.watchKey('a/b', waiter('key a/b'));
      reg.watchKey('a/c', waiter('key a/c'));
      reg.watchPrefix('', waiter('prefix ""'));
      reg.watchPrefix('a/', waiter('prefix a/'));
      reg.watchPrefix('a/b', waiter('prefix a/b'));
      reg.watchPrefix('a/bc', waiter('prefix a/bc'));
      reg.watchPrefix('b/', waiter('prefix b/'));
      reg.notifyKeys(['a/b']);
      expect(woken.sort()).to.deep.equal(['key a/b', 'prefix ""', 'prefix a/', 'prefix a/b']);
      expect(reg.watchedNames).to.equal(3);
    });

    it('wakes a registration once and forgets waiters that unregister', () => {
      const reg = new WaiterRegistry();
      let count = 0;
      const unwatch = reg.watchKey('k', { wake: () => count++ });
      reg.watchPrefix('p', { wake: () => count++ })();
      unwatch();
      reg.notifyKeys(['k', 'p/x']);
      expect(count).to.equal(0);
      expect(reg.watchedNames).to.equal(0);
      reg.watchKey('k', { wake: () => count++ });
      reg.notifyKeys(['k']);
      reg.notifyKeys(['k']);
      expect(count).to.equal(1);
    });
  });

  describe('log framing', () => {
    it('reads back framed records and detects a torn tail', () => {
      const data = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]);
      expect(readFrames(data).records.map(String)).to.deep.equal(['one', 'two']);
      const torn = readFrames(data.subarray(0, data.length - 1));
      expect(torn.records.map(String)).to.deep.equal(['one']);
      expect(torn.corrupt).to.equal(false);
      expect(torn.validLength).to.equal(frame(Buffer.from('one')).length);
    });

    it('reports damage followed by an intact record as corruption', () => {
      const data = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two')), frame(Buffer.from('six'))]);
      data[frame(Buffer.from('one')).length + 9] = 0x58;
      const result = readFrames(data);
      expect(result.records.map(String)).to.deep.equal(['one']);
      expect(result.corrupt).to.equal(true);
    });
  });
});
