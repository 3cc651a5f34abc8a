import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exitCodeFor, HttpError, PermissionDeniedError, TooLargeError, TxnConflictError, VerifyError } from '@kvx/client';
import { outCommand } from '../../packages/cli/src/commands/out.js';
import { exitCodeForError, UsageError } from '../../packages/cli/src/errors.js';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { Output } from '../../packages/cli/src/output.js';
import { testContext } from './support/context.js';

describe('cli error mapping', () => {
  it('maps the CLI\'s own usage error to 1 without the library', () => {
    expect(exitCodeForError(new UsageError('bad'))).to.equal(ExitCode.USAGE);
  });

  it('maps client errors the transfer library does not know', () => {
    expect(exitCodeForError(new TooLargeError('PUT', '/v1/txn', 'value too large'), exitCodeFor)).to.equal(ExitCode.TOO_LARGE);
    expect(exitCodeForError(new HttpError(413, 'PUT', '/v1/kv/x', '', false), exitCodeFor)).to.equal(ExitCode.TOO_LARGE);
  });

  it('maps a transaction rolled back for "Permission denied" to 6, any other conflict to 70', () => {
    const denied = new TxnConflictError([{ opIndex: 0, what: "Permission denied: token lacks permission 'key:write'" }]);
    expect(exitCodeForError(denied, exitCodeFor)).to.equal(ExitCode.PERMISSION_DENIED);
    const other = new TxnConflictError([{ opIndex: 0, what: 'failed to set key "x", index is stale' }]);
    expect(exitCodeForError(other, exitCodeFor)).to.equal(ExitCode.INTERNAL);
  });

  it('delegates everything else to the transfer library\'s exitCodeFor', () => {
    expect(exitCodeForError(new PermissionDeniedError('GET', '/v1/kv/x', ''), exitCodeFor)).to.equal(ExitCode.PERMISSION_DENIED);
    expect(exitCodeForError(new VerifyError('checksum-mismatch', 'x'), exitCodeFor)).to.equal(ExitCode.VERIFICATION_FAILED);
    expect(exitCodeForError(new Error('bug'), exitCodeFor)).to.equal(ExitCode.INTERNAL);
  });

  describe('an internal error in a command', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-err-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const failing = (): ReturnType<typeof testContext> => ({
      ...testContext({ cwd: dir }),
      createConsul: () => Promise.reject(new Error('unexpected state\nsecond line')),
    });

    it('exits 70 with one line and no stack trace', async () => {
      const ctx = failing();
      expect(await outCommand(ctx, { key: 'k', file: 'f' })).to.equal(ExitCode.INTERNAL);
      expect(ctx.stderr.text).to.equal('kvx: unexpected state second line\n');
    });

    it('adds the stack trace with --verbose', async () => {
      const ctx = failing();
      expect(await outCommand(ctx, { key: 'k', file: 'f', verbose: true })).to.equal(ExitCode.INTERNAL);
      expect(ctx.stderr.text).to.match(/^kvx: unexpected state second line\nError: unexpected state\nsecond line\n\s+at /m);
    });
  });

  it('redacts registered secrets from every line', () => {
    const ctx = testContext({ cwd: '/' });
    const out = new Output(ctx, { verbose: true, json: true });
    out.addSecret('s3cr3t-token');
    out.debug('sending s3cr3t-token');
    out.warn('token=s3cr3t-token');
    out.error(new Error('denied for s3cr3t-token'));
    out.result({ token: 's3cr3t-token' });
    expect(ctx.stdout.text + ctx.stderr.text).not.to.include('s3cr3t').and.not.equal('');
    expect(ctx.stdout.text).to.equal('{"token":"<redacted>"}\n');
  });
});
