/** The AWS partition of a region: the first field of every ARN in it. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** AWS's sign-in federation endpoint and console in a partition (console sign-in's defaults). */
export function consoleEndpointsOf(partition: string): { readonly federation: string; readonly console: string } {
  const domain = partition === 'aws-cn' ? 'amazonaws.cn' : partition === 'aws-us-gov' ? 'amazonaws-us-gov.com' : 'aws.amazon.com';
  return { federation: `https://signin.${domain}/federation`, console: `https://console.${domain}/` };
}
