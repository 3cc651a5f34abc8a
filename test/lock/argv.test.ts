import { expect } from 'chai';
import { normaliseArgv } from '../../packages/lock/src/argv.js';

describe('lock: Go-style flags', () => {
  it('turns single-dash long flags into double-dash ones', () => {
    expect(normaliseArgv(['-verbose', '-timeout', '5s', 'p', 'cmd'])).to.deep.equal(['--verbose', '--timeout=5s', 'p', 'cmd']);
  });

  it('accepts -flag=value and --flag value alike', () => {
    expect(normaliseArgv(['-timeout=5s', '--name', 'job', 'p', 'c'])).to.deep.equal(['--timeout=5s', '--name=job', 'p', 'c']);
  });

  it('reads -n as the holder limit, with or without =', () => {
    expect(normaliseArgv(['-n', '2', 'p', 'c'])).to.deep.equal(['--limit=2', 'p', 'c']);
    expect(normaliseArgv(['-n=3', 'p', 'c'])).to.deep.equal(['--limit=3', 'p', 'c']);
  });

  it('spells Go booleans given a value the GNU way', () => {
    expect(normaliseArgv(['-shell=false', 'p', 'c'])).to.deep.equal(['--no-shell', 'p', 'c']);
    expect(normaliseArgv(['-shell=true', '-pass-stdin=1', 'p', 'c'])).to.deep.equal(['--shell', '--pass-stdin', 'p', 'c']);
    expect(normaliseArgv(['-verbose=false', 'p', 'c'])).to.deep.equal(['p', 'c']);
  });

  it('knows the connection flags every kvx command has: -tls-skip-verify, -consistent, -dogstatsd', () => {
    expect(normaliseArgv(['-tls-skip-verify', '-consistent=true', '-dogstatsd', '127.0.0.1:8125', 'p', 'c'])).to.deep.equal([
      '--tls-skip-verify', '--consistent', '--dogstatsd=127.0.0.1:8125', 'p', 'c',
    ]);
    expect(normaliseArgv(['-tls-skip-verify=false', 'p', 'c'])).to.deep.equal(['p', 'c']);
  });

  it('keeps a value that starts with a dash attached to its flag', () => {
    expect(normaliseArgv(['-name', '-odd-', 'p', 'c'])).to.deep.equal(['--name=-odd-', 'p', 'c']);
  });

  it('never touches the prefix or the child command', () => {
    expect(normaliseArgv(['p', '-verbose', '-n', '2'])).to.deep.equal(['p', '-verbose', '-n', '2']);
    expect(normaliseArgv(['-verbose', 'p', 'ls', '-la'])).to.deep.equal(['--verbose', 'p', 'ls', '-la']);
  });

  it('leaves unknown flags for commander to reject', () => {
    expect(normaliseArgv(['-bogus', 'p', 'c'])).to.deep.equal(['--bogus', 'p', 'c']);
    expect(normaliseArgv(['-h'])).to.deep.equal(['-h']);
  });
});
