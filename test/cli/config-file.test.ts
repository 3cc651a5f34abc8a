import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile, parseConfigFile } from '../../packages/cli/src/config-file.js';

describe('cli config file', () => {
  it('reads kvexpress keys (consul_server, token, dogstatsd_address)', () => {
    const config = parseConfigFile(
      'consul_server: 10.0.0.1:8500\ntoken: s3cret-token\ndogstatsd: true\ndogstatsd_address: 127.0.0.1:9125\n' +
        'datadog_api_key: abc\ndatadog_app_key: def\n',
      'kvexpress.yaml',
    );
    expect(config.connection).to.deep.equal({ address: '10.0.0.1:8500', token: 's3cret-token' });
    expect(config.dogstatsd).to.deep.equal({ host: '127.0.0.1', port: 9125 });
  });

  it('reads diff_events, max_value_size and a files: entry\'s compress and splay', () => {
    const config = parseConfigFile(
      'diff_events: false\nmax_value_size: 64KiB\nfiles:\n  - key: hosts\n    file: /etc/hosts\n    compress: true\n    splay: 30s\n',
      'c.yaml',
    );
    expect(config.diffEvents).to.equal(false);
    expect(config.maxValueSize).to.equal(65536);
    expect(config.files).to.deep.equal([{ key: 'hosts', file: '/etc/hosts', compress: true, splay: 30_000 }]);
  });

  it('refuses a max_value_size below 1024 bytes', () => {
    expect(() => parseConfigFile('max_value_size: 100\n', 'c.yaml')).to.throw(/max_value_size.*at least 1024/);
  });

  it('turns a bare "dogstatsd: true" into the local agent on 8125', () => {
    expect(parseConfigFile('dogstatsd: true\n', 'c.yaml').dogstatsd).to.deep.equal({ host: 'localhost', port: 8125 });
  });

  it('reads a files: list for out --watch with out flag semantics', () => {
    const config = parseConfigFile(
      'files:\n  - key: hosts\n    file: /etc/hosts.consul\n    chmod: "0644"\n    owner: root:root\n    exec: pkill -HUP dnsmasq\n' +
        '  - key: app/conf\n    file: /etc/app.conf\n    prefix: canary\n    exec_timeout: 5s\n    ignore_stop: true\n',
      'c.yaml',
    );
    expect(config.files).to.deep.equal([
      { key: 'hosts', file: '/etc/hosts.consul', chmod: 0o644, owner: 'root:root', exec: 'pkill -HUP dnsmasq' },
      { key: 'app/conf', file: '/etc/app.conf', prefix: 'canary', execTimeout: 5000, ignoreStop: true },
    ]);
  });

  it('names the file and key of an invalid value', () => {
    expect(() => parseConfigFile('dogstatsd_address: localhost\n', 'c.yaml')).to.throw(
      /config file c.yaml: 'dogstatsd_address': invalid address/,
    );
    expect(() => parseConfigFile('files:\n  - file: /x\n', 'c.yaml')).to.throw(/files\[0\]: 'key' is required/);
  });

  it('refuses unknown keys instead of ignoring a typo', () => {
    expect(() => parseConfigFile('consul_sever: x:1\n', 'c.yaml')).to.throw(/unknown key 'consul_sever'/);
  });

  it('refuses invalid YAML with a usage error', () => {
    expect(() => parseConfigFile('a: [1,\n', 'c.yaml')).to.throw(/config file c.yaml: invalid YAML/)
      .with.property('code', 'KVX_USAGE');
  });

  describe('from disk', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-config-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('treats an empty file as no settings', async () => {
      const file = path.join(dir, 'empty.yaml');
      await writeFile(file, '');
      expect(await loadConfigFile(file)).to.deep.equal({ path: file, connection: {}, files: [] });
    });

    it('reports a missing file as a usage error (kvexpress silently used defaults)', async () => {
      const file = path.join(dir, 'missing.yaml');
      let caught: unknown;
      try {
        await loadConfigFile(file);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.have.property('code', 'KVX_USAGE');
      expect((caught as Error).message).to.include('cannot read config file').and.include('ENOENT');
    });
  });
});
