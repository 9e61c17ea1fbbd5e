// Chain anchors in an S3 bucket with Object Lock in compliance mode (resources/anchoring.yml): every
// object is kept, unchangeable and undeletable by anyone, for the bucket's default retention.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ChainAnchor } from '../domain/chain-anchor-records.js';
import type { ChainAnchorStore } from '../domain/ports.js';
import { anchorDay, anchorName, parseAnchor } from './chain-anchor-names.js';

/** The only prefix anchors are written under (and the anchoring function's IAM allows no other). */
export const ANCHOR_PREFIX = 'anchors/';

export class S3ChainAnchorStore implements ChainAnchorStore {
  constructor(
    private readonly client: S3Client,
    private readonly options: { readonly bucket: string },
  ) {}

  async save(anchor: ChainAnchor): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: `${ANCHOR_PREFIX}${anchorName(anchor)}`,
        Body: JSON.stringify(anchor),
        ContentType: 'application/json',
        // S3 takes a write under Object Lock only with a checksum of the body.
        ChecksumAlgorithm: 'SHA256',
        // Never a second version under one name: refused if the key exists.
        IfNoneMatch: '*',
      }),
    );
  }

  async latest(day: string): Promise<ChainAnchor | undefined> {
    const listed = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: `${ANCHOR_PREFIX}${anchorDay(day)}/`, MaxKeys: 1 }),
    );
    const key = listed.Contents?.[0]?.Key;
    if (key === undefined) return undefined;
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    return parseAnchor((await object.Body?.transformToString('utf-8')) ?? '', day);
  }
}
