import { expect } from 'chai';
import { InvalidArgumentError } from '@kvx/client';
import { fencePlan, leaseAfter } from '../../packages/lock/src/fence.js';

describe('lock: self-fencing schedule', () => {
  it('kills the child a margin of TTL/5 before the session could expire', () => {
    const plan = fencePlan({ ttlMs: 15_000, killGraceMs: 5000 });
    expect(plan.marginMs).to.equal(3000);
    expect(plan.killAfterMs).to.equal(12_000);
    expect(plan.termAfterMs).to.equal(7000);
    expect(plan.fenceGraceMs).to.equal(5000);
  });

  it('renews often enough that one lost renewal never fences a healthy holder', () => {
    for (const [ttlMs, killGraceMs] of [[15_000, 5000], [1000, 500], [500, 500], [10_000, 0], [60_000, 5000]] as const) {
      const plan = fencePlan({ ttlMs, killGraceMs });
      expect(plan.renewIntervalMs * 2, `TTL ${ttlMs}`).to.be.at.most(plan.termAfterMs);
      expect(plan.renewIntervalMs, `TTL ${ttlMs}`).to.be.at.most(ttlMs / 2);
      expect(plan.retryIntervalMs, `TTL ${ttlMs}`).to.be.below(plan.renewIntervalMs);
    }
  });

  it('shortens the grace so that SIGTERM always comes before SIGKILL within the TTL', () => {
    const plan = fencePlan({ ttlMs: 500, killGraceMs: 500 });
    expect(plan.killAfterMs).to.equal(400);
    expect(plan.fenceGraceMs).to.equal(200);
    expect(plan.termAfterMs).to.equal(200);
  });

  it('honours an explicit margin and rejects one that leaves no time', () => {
    expect(fencePlan({ ttlMs: 10_000, killGraceMs: 1000, marginMs: 500 }).killAfterMs).to.equal(9500);
    expect(() => fencePlan({ ttlMs: 1000, killGraceMs: 100, marginMs: 1000 })).to.throw(InvalidArgumentError);
    expect(() => fencePlan({ ttlMs: 0, killGraceMs: 100 })).to.throw(InvalidArgumentError);
  });

  it('places the deadlines after the send time of the confirmed renewal', () => {
    const plan = fencePlan({ ttlMs: 1000, killGraceMs: 500 });
    expect(leaseAfter(plan, 1_000_000_000n)).to.deep.equal({ termAt: 1_400_000_000n, killAt: 1_800_000_000n });
  });
});
