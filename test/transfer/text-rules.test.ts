import { expect } from 'chai';

import { checksumsEqual, EMPTY_SHA256, lineCount, longEnough, sha256Hex, sortLines } from '@kvx/client';
import { fixture, URL_CHECKSUM } from './helpers.js';

describe('transfer: kvexpress text rules', () => {
  describe('lineCount (kvexpress LineCount)', () => {
    it('unit: counts 12 lines in the exampleData fixture', async () => {
      expect(lineCount(await fixture('unit-example.txt'))).to.equal(12);
    });

    it('counts newline bytes: a 10-line file without a trailing newline counts 9', () => {
      expect(lineCount(Buffer.from('1\n2\n3\n4\n5\n6\n7\n8\n9\n10'))).to.equal(9);
    });

    it('counts content without any newline, even empty content, as 1', () => {
      expect(lineCount(Buffer.from('no newline'))).to.equal(1);
      expect(lineCount(Buffer.alloc(0))).to.equal(1);
    });

    it('counts the 18 newlines of the gist fixture', async () => {
      expect(lineCount(await fixture('url-gistfile1.txt'))).to.equal(18);
    });
  });

  describe('longEnough (kvexpress LengthCheck)', () => {
    it('unit: accepts exampleData with the default minimum of 10', async () => {
      expect(longEnough(await fixture('unit-example.txt'), 10)).to.equal(true);
    });

    it('refuses content with fewer lines than the minimum', () => {
      expect(longEnough(Buffer.from('a\nb\n'), 3)).to.equal(false);
    });

    it('accepts empty content with a minimum of 1 (kvexpress -l 1)', () => {
      expect(longEnough(Buffer.alloc(0), 1)).to.equal(true);
    });
  });

  describe('sortLines (kvexpress --sorted)', () => {
    it('drops exactly-empty lines, sorts in byte order, joins without a trailing newline', () => {
      const sorted = sortLines(Buffer.from('b\n\na\nB\n\n'));
      expect(sorted.toString()).to.equal('B\na\nb');
    });

    it('keeps duplicates, whitespace-only lines and carriage returns', () => {
      const sorted = sortLines(Buffer.from('x\r\n \nx\r\n'));
      expect(sorted.toString()).to.equal(' \nx\r\nx\r');
    });

    it('sorts by bytes, not by UTF-16 code units (Go sort.Strings)', () => {
      // U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in bytes but after it in UTF-16 units.
      const sorted = sortLines(Buffer.from('\u{1F600}\n\uFF5E\n'));
      expect(sorted.toString()).to.equal('\uFF5E\n\u{1F600}');
    });
  });

  describe('checksums', () => {
    it('unit: exampleData hashes to kvexpress exampleDataSHA', async () => {
      expect(sha256Hex(await fixture('unit-example.txt'))).to.equal('7820fd75cdaee5c6a53230e9a9ec213ca75fb69aa4bb74eb30194ab92decbb8d');
    });

    it('the gist fixture hashes to URL_CHECKSUM', async () => {
      expect(sha256Hex(await fixture('url-gistfile1.txt'))).to.equal(URL_CHECKSUM);
    });

    it('unit: ChecksumCompare matches after trimming whitespace and refuses a fake', () => {
      expect(checksumsEqual(`${URL_CHECKSUM}\n`, ` ${URL_CHECKSUM}`)).to.equal(true);
      expect(checksumsEqual(URL_CHECKSUM, EMPTY_SHA256)).to.equal(false);
    });

    it('EMPTY_SHA256 is the hash of nothing', () => {
      expect(sha256Hex('')).to.equal(EMPTY_SHA256);
    });
  });
});
