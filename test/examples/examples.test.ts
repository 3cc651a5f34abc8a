import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';
import { loadConfigFile } from '@kvx/cli';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

describe('examples', () => {
  it('the systemd delivery config is a valid kvx config file with two files', async () => {
    const config = await loadConfigFile(path.join(examples, 'systemd', 'files.yml'));
    expect(config.files?.map((f) => f.key)).to.deep.equal(['hosts', 'nginx-upstreams']);
    expect(config.files?.[1]?.chmod).to.equal(0o640);
  });

  it('the Consul watch handler runs kvx out on the checksum key the publisher commits', async () => {
    const spec = JSON.parse(await readFile(path.join(examples, 'consul-watch-handler.json'), 'utf8')) as {
      watches: { type: string; key: string; args: string[] }[];
    };
    const [watch] = spec.watches;
    expect(watch?.type).to.equal('key');
    expect(watch?.key).to.equal('kvexpress/hosts/checksum');
    expect(watch?.args.slice(3, 5)).to.deep.equal(['out', '-k']);
  });
});
