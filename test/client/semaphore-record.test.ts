import { expect } from 'chai';
import { decodeSemaphoreRecord, encodeSemaphoreRecord, pruneDeadHolders, SemaphoreRecordError, type KvPair } from '@kvx/client';

function pair(key: string, session?: string): KvPair {
  return { key, value: Buffer.alloc(0), flags: 0n, createIndex: 1n, modifyIndex: 1n, lockIndex: 0n, ...(session ? { session } : {}) };
}

describe('coordination: semaphore .lock record', () => {
  it('encodes Limit then Holders with sorted keys, as Go json.Marshal', () => {
    const record = { limit: 3, holders: new Map([['b-session', true], ['a-session', true]]) };
    expect(encodeSemaphoreRecord(record).toString()).to.equal('{"Limit":3,"Holders":{"a-session":true,"b-session":true}}');
  });

  it('encodes an empty holder set as {}', () => {
    expect(encodeSemaphoreRecord({ limit: 2, holders: new Map() }).toString()).to.equal('{"Limit":2,"Holders":{}}');
  });

  it('escapes holder names the way Go does (HTML characters, U+2028)', () => {
    const record = { limit: 1, holders: new Map([['<a&b>\u2028\\b', true]]) };
    expect(encodeSemaphoreRecord(record).toString()).to.equal('{"Limit":1,"Holders":{"\\u003ca\\u0026b\\u003e\\u2028\\\\b":true}}');
  });

  it('decodes an empty value to the local limit and no holders', () => {
    expect(decodeSemaphoreRecord(Buffer.alloc(0), 4)).to.deep.equal({ limit: 4, holders: new Map() });
  });

  it('decodes field names case-insensitively and tolerates null holders', () => {
    expect(decodeSemaphoreRecord(Buffer.from('{"limit":2,"holders":null}'), 9)).to.deep.equal({ limit: 2, holders: new Map() });
    const decoded = decodeSemaphoreRecord(Buffer.from('{"Limit":2,"Holders":{"x":true},"Extra":1}'), 9);
    expect([...decoded.holders.keys()]).to.deep.equal(['x']);
  });

  it('round-trips a record written by Go byte for byte', () => {
    const go = '{"Limit":2,"Holders":{"0c5f6a33-8d44-e59d-8a9b-35c0a0cdb0b2":true,"f1b2c3d4-0000-1111-2222-333344445555":true}}';
    expect(encodeSemaphoreRecord(decodeSemaphoreRecord(Buffer.from(go), 2)).toString()).to.equal(go);
  });

  it('rejects invalid JSON and wrongly typed fields', () => {
    expect(() => decodeSemaphoreRecord(Buffer.from('{"Limit":'), 1)).to.throw(SemaphoreRecordError);
    expect(() => decodeSemaphoreRecord(Buffer.from('{"Limit":"2"}'), 1)).to.throw(SemaphoreRecordError, 'Limit');
    expect(() => decodeSemaphoreRecord(Buffer.from('[1]'), 1)).to.throw(SemaphoreRecordError);
  });

  it('prunes holders whose session holds no key in the listing', () => {
    const record = { limit: 3, holders: new Map([['alive', true], ['dead', true], ['elsewhere', true]]) };
    pruneDeadHolders(record, [pair('p/.lock'), pair('p/alive', 'alive'), pair('p/other', 'elsewhere')]);
    expect([...record.holders.keys()].sort()).to.deep.equal(['alive', 'elsewhere']);
  });
});
