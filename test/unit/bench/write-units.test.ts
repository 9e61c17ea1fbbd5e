// The write units the benchmark charges a vend with, computed from each write request as the SDK
// sends it: DynamoDB's size rules (names and values), 1 WCU per started KB, 2 in a transaction.
import { marshall } from '@aws-sdk/util-dynamodb';
import { attributeValueSize, itemSize, unitsFor, writeUnitsOf } from '../../../bench/write-units.js';

/** A string attribute of `bytes` UTF-8 bytes, named `name`: an item of exactly name + bytes. */
const sized = (name: string, bytes: number) => ({ [name]: { S: 'x'.repeat(bytes) } });

describe('attributeValueSize', () => {
  it.each<[string, unknown, number]>([
    ['a string: its UTF-8 bytes', { S: 'héllo' }, 6],
    ['an empty string', { S: '' }, 0],
    ['a number: 1 byte per two significant digits, plus 1', { N: '12345' }, 4],
    ['a number without its leading and trailing zeros', { N: '-000120.500' }, 3],
    ['a number in exponent notation: its mantissa', { N: '1.5E+21' }, 2],
    ['zero', { N: '0' }, 1],
    ['binary: the raw bytes, not the base64', { B: Buffer.from([1, 2, 3, 4, 5]).toString('base64') }, 5],
    ['a boolean', { BOOL: false }, 1],
    ['a null', { NULL: true }, 1],
    ['a string set: its strings', { SS: ['ab', 'cde'] }, 5],
    ['a number set: its numbers', { NS: ['1', '22'] }, 4],
    ['a list: 3 bytes, and 1 per element', { L: [{ S: 'ab' }, { N: '1' }] }, 3 + (1 + 2) + (1 + 2)],
    ['a map: 3 bytes, and per element 1, its name and its value', { M: { k: { S: 'ab' } } }, 3 + 1 + 1 + 2],
    ['an empty map', { M: {} }, 3],
    ['something that is no attribute value', 'plain', 0],
  ])('%s', (_, value, bytes) => {
    expect(attributeValueSize(value)).toBe(bytes);
  });
});

describe('itemSize', () => {
  it('adds each attribute name to its value', () => {
    // Prepare
    const item = marshall({ PK: 'PROFILE#p', count: 12, ok: true, tags: ['a'] });

    // Assess: 2+9, 5+2, 2+1, 4+(3+1+1)
    expect(itemSize(item)).toBe(11 + 7 + 3 + 9);
  });

  it('counts names in UTF-8 too', () => {
    expect(itemSize({ 'é': { S: 'a' } })).toBe(3);
  });
});

describe('unitsFor', () => {
  it.each([
    [0, 1],
    [1, 1],
    [1024, 1],
    [1025, 2],
    [2048, 2],
    [2049, 3],
  ])('charges %i bytes %i write units (1 per started KB, never 0)', (bytes, units) => {
    expect(unitsFor(bytes)).toBe(units);
  });
});

describe('writeUnitsOf', () => {
  it('charges a PutItem 1 unit per started KB of its item', () => {
    expect(writeUnitsOf('PutItem', { TableName: 't', Item: sized('a', 1023) })).toBe(1);
    expect(writeUnitsOf('PutItem', { TableName: 't', Item: sized('a', 1024) })).toBe(2);
    expect(writeUnitsOf('PutItem', { TableName: 't', Item: sized('a', 2047) })).toBe(2);
  });

  it('charges an UpdateItem by its key and the names and values its expressions carry', () => {
    // Prepare: the vend quota's counter
    const update = {
      TableName: 't',
      Key: marshall({ PK: 'RATE#alice@example.com', SK: 'RATE' }),
      UpdateExpression: 'ADD #count :one SET expiresAt = :expiresAt',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: marshall({ ':one': 1, ':expiresAt': 1_790_000_000 }),
    };
    const large = { ...update, ExpressionAttributeValues: { ':v': { S: 'x'.repeat(1100) } } };

    // Assess
    expect(writeUnitsOf('UpdateItem', update)).toBe(1);
    expect(writeUnitsOf('UpdateItem', large)).toBe(2);
  });

  it('charges a DeleteItem by its key: at least 1', () => {
    expect(writeUnitsOf('DeleteItem', { TableName: 't', Key: marshall({ PK: 'a', SK: 'b' }) })).toBe(1);
  });

  it('charges a transaction 2 units per started KB of each of its items', () => {
    // Prepare: an audit record of 1.5 KB and its chain head, an update and a condition check
    const transaction = {
      TransactItems: [
        { Put: { TableName: 'audit', Item: sized('record', 1500), ConditionExpression: 'attribute_not_exists(PK)' } },
        { Put: { TableName: 'audit', Item: marshall({ PK: 'CHAIN#d#1', SK: 'HEAD', seq: 41 }) } },
        { Update: { TableName: 'd', Key: marshall({ PK: 'a', SK: 'b' }), UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': { S: 'v' } } } },
        { ConditionCheck: { TableName: 'd', Key: marshall({ PK: 'c', SK: 'd' }), ConditionExpression: 'attribute_exists(PK)' } },
        { Delete: { TableName: 'd', Key: marshall({ PK: 'e', SK: 'f' }) } },
      ],
    };

    // Assess
    expect(writeUnitsOf('TransactWriteItems', transaction)).toBe(2 * 2 + 2 + 2 + 2 + 2);
  });

  it('charges a BatchWriteItem each put and delete of every table', () => {
    // Prepare
    const batch = {
      RequestItems: {
        a: [{ PutRequest: { Item: sized('x', 3000) } }, { DeleteRequest: { Key: marshall({ PK: 'k', SK: 'k' }) } }],
        b: [{ PutRequest: { Item: sized('y', 10) } }],
      },
    };

    // Assess
    expect(writeUnitsOf('BatchWriteItem', batch)).toBe(3 + 1 + 1);
  });

  it('charges reads and requests it cannot read nothing', () => {
    expect(writeUnitsOf('GetItem', { TableName: 't', Key: marshall({ PK: 'a', SK: 'b' }) })).toBe(0);
    expect(writeUnitsOf('Query', { TableName: 't' })).toBe(0);
    expect(writeUnitsOf('PutItem', undefined)).toBe(0);
    expect(writeUnitsOf('TransactWriteItems', { TransactItems: 'none' })).toBe(0);
  });
});
