// Creates DynamoDB Local's tables from resources/tables.yml: the same definitions serverless.yml
// deploys, so local keys and indexes can never drift from production's.
import { readFileSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { load as loadYaml } from 'js-yaml';

export const TABLES_FILE = new URL('../resources/tables.yml', import.meta.url);

interface CfnTable {
  Type: string;
  Properties: Omit<CreateTableCommandInput, 'TableName'> & Record<string, unknown>;
}

/** Table names as serverless.yml derives them: tvm-<stage>-<table>. */
export function tableNames(stage: string) {
  return { delegations: `tvm-${stage}-delegations`, audit: `tvm-${stage}-audit` };
}

/** The CreateTable inputs for the logical ids in resources/tables.yml, named for `stage`. */
export function tableDefinitions(stage: string): CreateTableCommandInput[] {
  const doc = loadYaml(readFileSync(TABLES_FILE, 'utf8')) as { Resources: Record<string, CfnTable> };
  const names: Record<string, string> = {
    DelegationsTable: tableNames(stage).delegations,
    AuditTable: tableNames(stage).audit,
  };
  return Object.entries(doc.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table')
    .map(([logicalId, { Properties: p }]) => {
      const name = names[logicalId];
      if (!name) throw new Error(`resources/tables.yml: no local name for ${logicalId}`);
      // Only what DynamoDB Local's CreateTable understands; PITR, SSE and deletion protection are
      // deployment settings with no local meaning.
      return {
        TableName: name,
        BillingMode: p.BillingMode,
        AttributeDefinitions: p.AttributeDefinitions,
        KeySchema: p.KeySchema,
        GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
        ...(p.LocalSecondaryIndexes ? { LocalSecondaryIndexes: p.LocalSecondaryIndexes } : {}),
        ...(p.StreamSpecification ? { StreamSpecification: { ...p.StreamSpecification, StreamEnabled: true } } : {}),
      };
    });
}

/** Creates the tables that do not exist yet (a persisted TVM_DATA_DIR keeps them). */
export async function createTables(client: DynamoDBClient, stage: string): Promise<void> {
  for (const definition of tableDefinitions(stage)) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
  }
}
