// What a DynamoDB write request costs in write capacity units, from the request as the SDK sends it
// (the JSON protocol's body), by DynamoDB's rules: 1 WCU per started KB of each item written, twice
// that for an item in a transaction. Item sizes follow the "Item sizes and formats" page of the
// DynamoDB guide, approximately: an attribute is its name's UTF-8 bytes plus its value's size.
//
// A request does not show what it replaces or changes: DynamoDB charges an overwrite, an update or a
// delete by the larger of the stored and the new item. So a Put counts its item (exact for a new
// item), an Update its key and the values and names its expressions carry, a Delete or a
// ConditionCheck its key. Secondary indexes, which cost writes of their own, are not counted.

/** Bytes in one write capacity unit. */
export const WRITE_UNIT_BYTES = 1024;

/** The size DynamoDB counts for one attribute value in its JSON form (`{ "S": "…" }`, `{ "N": "…" }`, …). */
export function attributeValueSize(value: unknown): number {
  if (!isRecord(value)) return 0;
  const [type, content] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'S':
      return utf8Bytes(content);
    case 'N':
      return numberSize(content);
    case 'B':
      return binaryBytes(content);
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return sum(asArray(content).map(utf8Bytes));
    case 'NS':
      return sum(asArray(content).map(numberSize));
    case 'BS':
      return sum(asArray(content).map(binaryBytes));
    // A list or a map: 3 bytes, and 1 more per element.
    case 'L':
      return 3 + sum(asArray(content).map((element) => 1 + attributeValueSize(element)));
    case 'M':
      return 3 + sum(Object.entries(isRecord(content) ? content : {}).map(([name, element]) => 1 + utf8Bytes(name) + attributeValueSize(element)));
    default:
      return 0;
  }
}

/** An item's size: each attribute's name and value. */
export function itemSize(item: unknown): number {
  if (!isRecord(item)) return 0;
  return sum(Object.entries(item).map(([name, value]) => utf8Bytes(name) + attributeValueSize(value)));
}

/** Write units for one item of `bytes`: 1 per started KB, never less than 1. */
export function unitsFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/** The write units DynamoDB charges `operation` with this request body (parsed JSON); 0 for a read. */
export function writeUnitsOf(operation: string, request: unknown): number {
  if (!isRecord(request)) return 0;
  switch (operation) {
    case 'PutItem':
      return unitsFor(itemSize(request.Item));
    case 'UpdateItem':
      return unitsFor(updateSize(request));
    case 'DeleteItem':
      return unitsFor(itemSize(request.Key));
    case 'TransactWriteItems':
      return sum(asArray(request.TransactItems).map((action) => 2 * unitsFor(transactActionSize(action))));
    case 'BatchWriteItem':
      return sum(Object.values(isRecord(request.RequestItems) ? request.RequestItems : {}).flatMap((requests) => asArray(requests).map(batchRequestUnits)));
    default:
      return 0;
  }
}

/** An update's key, and the values and attribute names its expressions carry. */
function updateSize(update: Record<string, unknown>): number {
  const names = isRecord(update.ExpressionAttributeNames) ? Object.values(update.ExpressionAttributeNames) : [];
  const values = isRecord(update.ExpressionAttributeValues) ? Object.values(update.ExpressionAttributeValues) : [];
  return itemSize(update.Key) + sum(names.map(utf8Bytes)) + sum(values.map(attributeValueSize));
}

function transactActionSize(action: unknown): number {
  if (!isRecord(action)) return 0;
  if (isRecord(action.Put)) return itemSize(action.Put.Item);
  if (isRecord(action.Update)) return updateSize(action.Update);
  if (isRecord(action.Delete)) return itemSize(action.Delete.Key);
  if (isRecord(action.ConditionCheck)) return itemSize(action.ConditionCheck.Key);
  return 0;
}

function batchRequestUnits(request: unknown): number {
  if (!isRecord(request)) return 0;
  if (isRecord(request.PutRequest)) return unitsFor(itemSize(request.PutRequest.Item));
  if (isRecord(request.DeleteRequest)) return unitsFor(itemSize(request.DeleteRequest.Key));
  return 0;
}

/** 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1. */
function numberSize(value: unknown): number {
  if (typeof value !== 'string') return 0;
  const mantissa = value.split(/[eE]/)[0] ?? '';
  const digits = mantissa.replace(/[^0-9]/g, '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(digits.length / 2) + 1;
}

const utf8Bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0);
// Sent in base64; DynamoDB counts the raw bytes.
const binaryBytes = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64').length : 0);
const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const asArray = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
