import { expect } from 'chai';

import {
  CircuitOpenError,
  ConflictError,
  ConnectionError,
  ExecFailedError,
  exitCodeFor,
  HttpError,
  InputError,
  InvalidArgumentError,
  PermissionDeniedError,
  PinnedError,
  StoppedError,
  TimeoutError,
  TooLargeError,
  UnknownEncodingError,
  VerifyError,
} from '@kvx/client';

describe('transfer: exitCodeFor', () => {
  const cases: [string, unknown, number][] = [
    ['bad argument', new InvalidArgumentError('x'), 1],
    ['bad input', new InputError('empty', 'x'), 1],
    ['conflict', new ConflictError('k', 5), 1],
    ['stopped', new StoppedError('k', 'p/k/stop', 'r'), 2],
    ['pinned', new PinnedError('/f', 'p/locks/x/h', 'r'), 3],
    ['verification', new VerifyError('checksum-mismatch', 'x'), 4],
    ['unknown encoding', new UnknownEncodingError('p/k/data', 7n), 4],
    ['connection', new ConnectionError('x'), 5],
    ['timeout', new TimeoutError('x'), 5],
    ['circuit open', new CircuitOpenError('a'), 5],
    ['HTTP 500', new HttpError(500, 'GET', '/', '', true), 5],
    ['permission denied', new PermissionDeniedError('GET', '/', ''), 6],
    ['HTTP 413', new HttpError(413, 'PUT', '/', '', false), 7],
    ['too large', new TooLargeError('PUT', '/', ''), 7],
    ['exec failed', new ExecFailedError('x'), 8],
    ['local permission error', Object.assign(new Error('x'), { code: 'EACCES' }), 6],
    ['missing local file', Object.assign(new Error('x'), { code: 'ENOENT' }), 1],
    ['anything else', new Error('bug'), 70],
    ['a non-error', 'text', 70],
  ];
  for (const [name, error, code] of cases) {
    it(`maps ${name} to ${code}`, () => {
      expect(exitCodeFor(error)).to.equal(code);
    });
  }
});
