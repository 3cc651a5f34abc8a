import { expect } from 'chai';

import { isBinary, unifiedDiff } from '@kvx/client';

describe('transfer: unified diff', () => {
  it('produces a unified diff with file headers and hunks', () => {
    const outcome = unifiedDiff('old', 'new', Buffer.from('a\nb\nc\n'), Buffer.from('a\nB\nc\n'));
    expect(outcome).to.deep.equal({ patch: '--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n' });
  });

  it('diffs against nothing when there is no old file', () => {
    const outcome = unifiedDiff('old', 'new', undefined, Buffer.from('x\n'));
    expect('patch' in outcome && outcome.patch.includes('+x')).to.equal(true);
  });

  it('is empty for equal contents', () => {
    expect(unifiedDiff('a', 'b', Buffer.from('x'), Buffer.from('x'))).to.deep.equal({ patch: '' });
  });

  it('skips binary content', () => {
    expect(unifiedDiff('a', 'b', Buffer.from('x'), Buffer.from([0, 1, 2]))).to.deep.equal({ skipped: 'binary' });
    expect(isBinary(Buffer.from([0xff, 0xfe, 0x41]))).to.equal(true);
    expect(isBinary(Buffer.from('héllo'))).to.equal(false);
  });

  it('skips inputs above the size cap', () => {
    expect(unifiedDiff('a', 'b', Buffer.from('x'), Buffer.alloc(2048, 'y'), { maxInput: 1024 })).to.deep.equal({ skipped: 'too-large' });
  });

  it('gives up on diffs with too many edits', () => {
    const old = Buffer.from(Array.from({ length: 500 }, (_, i) => `a${i}`).join('\n'));
    const now = Buffer.from(Array.from({ length: 500 }, (_, i) => `b${i}`).join('\n'));
    expect(unifiedDiff('a', 'b', old, now, { maxEditLength: 10 })).to.deep.equal({ skipped: 'too-costly' });
  });
});
