/** Shared helpers of the client-core tests. */
import { expect } from 'chai';
import { KvxError } from '@kvx/client';

/** Awaits `p`, expects it to reject with a {@link KvxError}, and returns that error. */
export async function caught(p: Promise<unknown>): Promise<KvxError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(KvxError);
    return err as KvxError;
  }
  throw new Error('expected a rejection');
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
