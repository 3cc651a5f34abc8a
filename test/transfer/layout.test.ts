import { expect } from 'chai';

import { DEFAULT_PREFIX, KeyLayout, normalizeKey, normalizePrefix, pinKey } from '@kvx/client';

describe('transfer: KV layout', () => {
  it('unit: KeyPath("keyname","data") with prefix "testing" is testing/keyname/data', () => {
    expect(new KeyLayout('keyname', 'testing').data).to.equal('testing/keyname/data');
  });

  it('uses the kvexpress default prefix and key paths', () => {
    const layout = new KeyLayout('hosts');
    expect(DEFAULT_PREFIX).to.equal('kvexpress');
    expect([layout.data, layout.checksum, layout.stop, layout.dir]).to.deep.equal([
      'kvexpress/hosts/data',
      'kvexpress/hosts/checksum',
      'kvexpress/hosts/stop',
      'kvexpress/hosts/',
    ]);
  });

  it('keeps chunks beside the key directory, not below it', () => {
    const layout = new KeyLayout('hosts');
    const id = 'a'.repeat(64);
    expect(layout.chunk(id, 3)).to.equal(`kvexpress/hosts.chunks/${id}/3`);
    expect(layout.chunk(id, 3).startsWith(layout.dir)).to.equal(false);
  });

  it('strips leading and trailing slashes from prefix and key (kvexpress #60; -k /x)', () => {
    expect(normalizePrefix('/kvexpress/')).to.equal('kvexpress');
    expect(normalizeKey('/x/')).to.equal('x');
    expect(new KeyLayout('/x', '/p').data).to.equal('p/x/data');
  });

  it('allows an empty prefix (keys at the KV root)', () => {
    expect(new KeyLayout('k', '').data).to.equal('k/data');
  });

  it('refuses empty keys, empty or dot segments and the reserved .chunks suffix', () => {
    for (const bad of ['', '/', 'a//b', 'a/./b', '../a', 'x.chunks']) {
      expect(() => normalizeKey(bad), bad).to.throw(/key/);
    }
    expect(() => normalizePrefix('a//b')).to.throw(/prefix/);
  });

  it('refuses keys in the pins area (locks, locks/…) but not keys that only start with the letters', () => {
    for (const bad of ['locks', '/locks/', 'locks/fba4f4f8']) expect(() => normalizeKey(bad), bad).to.throw(/reserved for the per-host pins/);
    expect(normalizeKey('locksmith')).to.equal('locksmith');
    expect(normalizeKey('app/locks')).to.equal('app/locks');
  });

  it('unit: FileLockPath("/etc/datadog/hosts.consul") uses sha fba4f4f8…2a9e', () => {
    const key = pinKey('/etc/datadog/hosts.consul', 'web-1');
    expect(key).to.match(/^kvexpress\/locks\/fba4f4f8[0-9a-f]{56}\/web-1$/);
    expect(key.split('/')[2]?.endsWith('2a9e')).to.equal(true);
  });

  it('pins resolve relative and unclean paths to one absolute path', () => {
    expect(pinKey('/etc//datadog/./hosts.consul', 'h')).to.equal(pinKey('/etc/datadog/hosts.consul', 'h'));
    expect(pinKey('rel/file', 'h')).to.equal(pinKey(`${process.cwd()}/rel/file`, 'h'));
  });
});
