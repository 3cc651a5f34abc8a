import { expect } from 'chai';
import { parseCount, parseDuration, parseHostPort, parseKey, parseMode, parsePrefix } from '../../packages/cli/src/parse.js';

describe('cli flag parsers', () => {
  it('reads durations with units, sums and bare milliseconds', () => {
    expect(parseDuration('250ms', '--x')).to.equal(250);
    expect(parseDuration('1.5s', '--x')).to.equal(1500);
    expect(parseDuration('1m30s', '--x')).to.equal(90_000);
    expect(parseDuration('2h', '--x')).to.equal(7_200_000);
    expect(parseDuration('40', '--x')).to.equal(40);
  });

  it('rejects a malformed duration naming the flag', () => {
    expect(() => parseDuration('10 parsecs', '--splay')).to.throw(/--splay: invalid duration '10 parsecs'/);
    expect(() => parseDuration('', '--splay')).to.throw(/invalid duration/);
  });

  it('rejects a duration longer than a timer holds, which would fire at once', () => {
    expect(() => parseDuration('99999999999h', '--exec-timeout')).to.throw(/--exec-timeout: duration '99999999999h' is too long/);
    expect(() => parseDuration('2147483648', '--splay')).to.throw(/too long/);
    expect(parseDuration('2147483647', '--splay')).to.equal(2_147_483_647);
  });

  it('reads modes as octal whatever the spelling (kvexpress read 644 as decimal)', () => {
    expect(parseMode('0644', '-c')).to.equal(0o644);
    expect(parseMode('644', '-c')).to.equal(0o644);
    expect(parseMode('0o600', '-c')).to.equal(0o600);
    expect(parseMode('00640', '-c')).to.equal(0o640);
  });

  it('rejects a mode with a non-octal digit', () => {
    expect(() => parseMode('0648', '--chmod')).to.throw(/--chmod: invalid file mode '0648'/);
  });

  it('reads counts and rejects negative or fractional ones', () => {
    expect(parseCount('12', '-l')).to.equal(12);
    expect(() => parseCount('-1', '-l')).to.throw(/-l: expected a non-negative integer/);
    expect(() => parseCount('1.5', '-l')).to.throw(/non-negative integer/);
  });

  it('reads host:port including bracketed IPv6, and requires the port', () => {
    expect(parseHostPort('localhost:8125', '-d')).to.deep.equal({ host: 'localhost', port: 8125 });
    expect(parseHostPort('[::1]:8125', '-d')).to.deep.equal({ host: '::1', port: 8125 });
    expect(() => parseHostPort('localhost', '--dogstatsd')).to.throw(/--dogstatsd: invalid address 'localhost'/);
    expect(() => parseHostPort('h:70000', '--dogstatsd')).to.throw(/invalid address/);
  });

  it('refuses keys that would produce kvexpress//x style paths', () => {
    expect(parseKey('hosts/web', '-k')).to.equal('hosts/web');
    expect(() => parseKey('/hosts', '-k')).to.throw(/invalid key/);
    expect(() => parseKey('a//b', '-k')).to.throw(/invalid key/);
    expect(() => parseKey('a/../b', '-k')).to.throw(/not key segments/);
  });

  it('strips leading and trailing slashes from prefixes', () => {
    expect(parsePrefix('/kvexpress/', '-p')).to.equal('kvexpress');
    expect(() => parsePrefix('/', '-p')).to.throw(/invalid prefix/);
  });
});
