import { expect } from 'chai';
import { KvxError, InvalidArgumentError } from '@kvx/client';

describe('workspace', () => {
  it('resolves @kvx/client from TypeScript sources in tests', () => {
    const err = new InvalidArgumentError('bad');
    expect(err).to.be.instanceOf(KvxError);
    expect(err.code).to.equal('KVX_INVALID_ARGUMENT');
  });
});
