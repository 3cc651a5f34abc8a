import { expect } from 'chai';
import { cleanPath, formatDuration, InvalidArgumentError, joinPath, LOCK_FLAG_VALUE, parseDuration, SEMAPHORE_FLAG_VALUE } from '@kvx/client';

describe('coordination: constants, durations and key paths', () => {
  it('uses the Go client flag values exactly', () => {
    expect(LOCK_FLAG_VALUE.toString()).to.equal('3304740253564472344');
    expect(SEMAPHORE_FLAG_VALUE.toString()).to.equal('16210313421097356768');
  });

  describe('parseDuration (Go time.ParseDuration)', () => {
    for (const [text, ms] of [
      ['15s', 15_000],
      ['250ms', 250],
      ['1m30s', 90_000],
      ['1.5h', 5_400_000],
      ['0', 0],
      ['-2s', -2000],
      ['+5m', 300_000],
      ['100us', 0.1],
      ['100µs', 0.1],
      ['1h2m3.5s', 3_723_500],
      ['.5s', 500],
      ['3ns', 3e-6],
    ] as const) {
      it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => {
        expect(parseDuration(text)).to.be.closeTo(ms, 1e-9);
      });
    }

    for (const [text, message] of [
      ['', 'time: invalid duration ""'],
      ['15', 'time: missing unit in duration "15"'],
      ['15 seconds', 'time: unknown unit " seconds" in duration "15 seconds"'],
      ['s', 'time: invalid duration "s"'],
      ['.s', 'time: invalid duration ".s"'],
      ['1d', 'time: unknown unit "d" in duration "1d"'],
    ] as const) {
      it(`rejects ${JSON.stringify(text)} with Go's message`, () => {
        expect(() => parseDuration(text)).to.throw(InvalidArgumentError, message);
      });
    }
  });

  describe('formatDuration (Go Duration.String)', () => {
    for (const [ms, text] of [
      [15_000, '15s'],
      [250, '250ms'],
      [90_000, '1m30s'],
      [60_000, '1m0s'],
      [3_600_000, '1h0m0s'],
      [1500, '1.5s'],
      [0, '0s'],
      [0.0015, '1.5µs'],
      [1e-6, '1ns'],
      [1.25, '1.25ms'],
      [-2000, '-2s'],
    ] as const) {
      it(`writes ${ms} ms as ${text}`, () => {
        expect(formatDuration(ms)).to.equal(text);
      });
    }

    it('round-trips through parseDuration', () => {
      for (const ms of [1, 999, 15_000, 86_400_000, 123_456.789]) expect(parseDuration(formatDuration(ms))).to.be.closeTo(ms, 1e-6);
    });
  });

  describe('key paths (Go path.Join / path.Clean)', () => {
    for (const [parts, joined] of [
      [['svc', '.lock'], 'svc/.lock'],
      [['svc/', '.lock'], 'svc/.lock'],
      [['svc//', '/.lock'], 'svc/.lock'],
      [['a/b/../c', 'd'], 'a/c/d'],
      [['', ''], ''],
      [['/root/', 'x/'], '/root/x'],
      [['./a', '.'], 'a'],
    ] as const) {
      it(`joins ${JSON.stringify(parts)} as ${JSON.stringify(joined)}`, () => {
        expect(joinPath(...parts)).to.equal(joined);
      });
    }

    it('cleans like Go: "" → ".", "/../a" → "/a", "../a/.." → ".."', () => {
      expect(cleanPath('')).to.equal('.');
      expect(cleanPath('/../a')).to.equal('/a');
      expect(cleanPath('../a/..')).to.equal('..');
    });
  });
});
