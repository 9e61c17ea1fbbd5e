// Reading AWS Query-protocol XML in tests: the shape of a document and a single value.

/** Element paths in document order (`A`, `A/B`, …) and the root's xmlns: the shape of an XML body. */
export function xmlShape(xml: string): { namespace: string | undefined; paths: string[] } {
  const stack: string[] = [];
  const paths: string[] = [];
  let namespace: string | undefined;
  for (const match of xml.matchAll(/<(\/?)([A-Za-z][\w.-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attributes] = match as unknown as [string, string, string, string, string];
    if (closing === '/') {
      stack.pop();
      continue;
    }
    if (stack.length === 0) namespace = /xmlns="([^"]*)"/.exec(attributes)?.[1];
    stack.push(name);
    paths.push(stack.join('/'));
    if (match[4] === '/') stack.pop();
  }
  return { namespace, paths };
}

export function xmlValue(xml: string, element: string): string | undefined {
  return new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml)?.[1];
}
