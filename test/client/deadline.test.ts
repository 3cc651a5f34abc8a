import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import { withDeadline } from '@kvx/client';

/** V8's collector, reached without starting the process with --expose-gc. */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('client: deadline-bounded signals', () => {
  it('aborts at its deadline even when garbage collections run before it (unlike AbortSignal.any with AbortSignal.timeout)', async () => {
    const gc = collector();
    const parent = new AbortController();
    let reason: unknown;
    withDeadline(parent.signal, 50).signal.addEventListener('abort', function (this: AbortSignal) {
      reason = this.reason;
    });
    for (let i = 0; i < 5; i++) {
      gc();
      await sleep(5);
    }
    await sleep(150);
    expect(reason).to.be.instanceOf(DOMException);
    expect((reason as DOMException).name).to.equal('TimeoutError');
  });

  it("aborts with the parent's reason when the parent aborts first", () => {
    const parent = new AbortController();
    const bounded = withDeadline(parent.signal, 10_000);
    parent.abort(new Error('stopped'));
    expect((bounded.signal.reason as Error).message).to.equal('stopped');
    bounded.clear();
  });

  it('starts aborted under an aborted parent', () => {
    const bounded = withDeadline(AbortSignal.abort('gone'), 10_000);
    expect(bounded.signal.reason).to.equal('gone');
    bounded.clear();
  });

  it('never aborts once cleared', async () => {
    const parent = new AbortController();
    const bounded = withDeadline(parent.signal, 20);
    bounded.clear();
    parent.abort();
    await sleep(50);
    expect(bounded.signal.aborted).to.equal(false);
  });
});
