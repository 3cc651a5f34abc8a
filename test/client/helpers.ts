/** Shared helpers of the client-core tests. */
import { expect } from 'chai';
import { KvxError } from '@kvx/client';

/** Awaits `p`, expects it to reject with a {@link KvxError} (or an instance of `type`), and returns that error. */
export async function caught(p: Promise<unknown>): Promise<KvxError>;
export async function caught<E extends Error>(p: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E>;
export async function caught(p: Promise<unknown>, type: abstract new (...args: never[]) => Error = KvxError): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
