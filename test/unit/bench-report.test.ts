// The benchmark's arithmetic and its published shape: what `npm run bench -- --json` prints is
// fixed (tools read it), and the targets must fail when a measurement misses them.
import { checkTargets, formatReport, parseAddedLatency, toResults, type Measurements } from '../../bench/report.js';
import { median, percentile, summarize } from '../../bench/stats.js';

const latency = (p50Ms: number, p99Ms: number) => ({ samples: 500, p50Ms, p90Ms: (p50Ms + p99Ms) / 2, p99Ms, meanMs: p50Ms });

function aMeasurement(overrides: Partial<Measurements> = {}): Measurements {
  return {
    floor: latency(6, 12),
    inProcess: latency(7, 15),
    http: latency(20, 60),
    sameCalls: latency(6.5, 14),
    floorIrreducible: latency(6.5, 13),
    handlerCpuMs: 1.5,
    floorCpuMs: 1,
    sameCallsCpuMs: 1.2,
    irreducibleCpuMs: 1.1,
    handlerCpuShares: { awsSdk: 0.5, tvm: 0.3, runtime: 0.2 },
    awsCallsPerVend: { sts: 1, dynamodbReads: 4, dynamodbWrites: 2, auditWrites: 1 },
    writeUnitsPerVend: 2,
    writeUnitsByOperation: { UpdateItem: 1, PutItem: 1 },
    bundles: {
      vendCredentials: { bytes: 380_000, sourceMapBytes: 700_000, coldInitMs: 80 },
      health: { bytes: 90_000, sourceMapBytes: 120_000, coldInitMs: 30 },
    },
    concurrent: { requests: 200, errors: 0, rps: 150.5, p50Ms: 500, p99Ms: 900, statuses: { '200': 200 } },
    console: { jsBytes: 60_000, jsGzipBytes: 17_000 },
    cli: { cachedMs: 33, nodeMs: 25, ratio: 1.32, cachedWithStackMs: 51, cutOffCheckMs: 18, uncachedMs: 120, runs: 30 },
    machine: 'a test machine',
    addedLatencyMs: null,
    ...overrides,
  };
}

describe('stats', () => {
  it('takes nearest-rank percentiles: always a measured value', () => {
    // Prepare
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);

    // Assess
    expect(percentile([...values].sort((a, b) => a - b), 50)).toBe(50);
    expect(percentile([...values].sort((a, b) => a - b), 99)).toBe(99);
    expect(percentile([...values].sort((a, b) => a - b), 100)).toBe(100);
    expect(percentile([7], 1)).toBe(7);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('refuses to summarize nothing', () => {
    expect(() => summarize([])).toThrow('no samples');
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  it('summarizes samples in any order', () => {
    // Act
    const summary = summarize([4, 1, 3, 2]);

    // Assess
    expect(summary).toEqual({ samples: 4, p50Ms: 2, p90Ms: 4, p99Ms: 4, meanMs: 2.5 });
  });
});

describe('results (--json)', () => {
  it('has exactly the published shape, in milliseconds', () => {
    // Act
    const results = toResults(aMeasurement());

    // Assess
    expect(results).toEqual({
      floor: { p50Ms: 6, p99Ms: 12 },
      floorIrreducible: { p50Ms: 6.5, p99Ms: 13 },
      inProcess: { p50Ms: 7, p99Ms: 15 },
      http: { p50Ms: 20, p99Ms: 60 },
      vendCalls: { p50Ms: 6.5, p99Ms: 14 },
      ratios: {
        inProcessP50: 1.17,
        inProcessP99: 1.25,
        httpP50: 3.33,
        vsIrreducibleP50: 1.08,
        vsIrreducibleP99: 1.15,
        vsVendCallsP50: 1.08,
        vsVendCallsP99: 1.07,
        vendCallsVsIrreducibleP50: 1,
      },
      handlerCpuMs: 1.5,
      tvmCpuMs: 0.45,
      awsCallsPerVend: { sts: 1, dynamodbReads: 4, dynamodbWrites: 2 },
      writeUnitsPerVend: 2,
      bundles: { vendCredentials: { bytes: 380_000, coldInitMs: 80 }, health: { bytes: 90_000, coldInitMs: 30 } },
      concurrent: { requests: 200, errors: 0, rps: 150.5 },
      console: { jsBytes: 60_000, jsGzipBytes: 17_000 },
      cli: { cachedMs: 33, nodeMs: 25, ratio: 1.32, cachedWithStackMs: 51, cutOffCheckMs: 18 },
      machine: 'a test machine',
      addedLatencyMs: null,
    });
  });

  it('says what --added-latency held back, and gives no HTTP row or ratio when (c) was not measured', () => {
    // Act
    const results = toResults(aMeasurement({ http: null, addedLatencyMs: { dynamodb: 3, sts: 15 } }));

    // Assess
    expect(results.http).toBeNull();
    expect(results.ratios.httpP50).toBeNull();
    expect(results.addedLatencyMs).toEqual({ dynamodb: 3, sts: 15 });
    expect(results.ratios.vsIrreducibleP50).toBe(1.08);
  });
});

describe('--added-latency', () => {
  it('reads milliseconds per DynamoDB answer, then per STS answer', () => {
    expect(parseAddedLatency('3,15')).toEqual({ dynamodb: 3, sts: 15 });
    expect(parseAddedLatency(' 0 , 1000 ')).toEqual({ dynamodb: 0, sts: 1000 });
  });

  it.each(['', '3', '3,15,1', '3,', ',15', '-1,15', '1.5,15', '3,1001', 'a,b', '3;15'])('refuses %j', (value) => {
    expect(parseAddedLatency(value)).toBeUndefined();
  });
});

describe('targets', () => {
  const missed = (m: Measurements) => checkTargets(m).filter((check) => !check.met).map((check) => check.target);

  it('are all met by a measurement within them', () => {
    expect(missed(aMeasurement())).toEqual([]);
  });

  it.each<[string, Partial<Measurements>, RegExp]>([
    ['in-process p50 over 1.25 × the floor', { inProcess: latency(7.6, 15) }, /in-process p50/],
    ['in-process p99 over 1.5 × the floor', { inProcess: latency(7, 18.1) }, /in-process p99/],
    ['in-process p50 over 1.25 × the irreducible floor', { floorIrreducible: latency(5.5, 13) }, /in-process p50 ≤ 1.25 × irreducible floor p50/],
    ['in-process p99 over 1.5 × the irreducible floor', { floorIrreducible: latency(6.5, 9.9) }, /in-process p99 ≤ 1.5 × irreducible floor p99/],
    ['handler CPU over 2 ms', { handlerCpuMs: 2.01 }, /handler CPU/],
    ["tvm's own share of the handler CPU over 1 ms", { handlerCpuShares: { awsSdk: 0.3, tvm: 0.7, runtime: 0 } }, /tvm's own CPU per vend ≤ 1 ms/],
    [
      'more than 2 write units per vend (a two-item transaction and the counter)',
      { writeUnitsPerVend: 5, writeUnitsByOperation: { UpdateItem: 1, TransactWriteItems: 4 } },
      /write units per vend ≤ 2/,
    ],
    ['a vend bundle over 400 kB', { bundles: { vendCredentials: { bytes: 400_001, sourceMapBytes: 1, coldInitMs: 80 } } }, /vend bundle/],
    ['no vend bundle at all', { bundles: { health: { bytes: 1, sourceMapBytes: 1, coldInitMs: 1 } } }, /vend bundle/],
    [
      'any bundle slower than 150 ms to load',
      { bundles: { vendCredentials: { bytes: 1, sourceMapBytes: 1, coldInitMs: 80 }, alert: { bytes: 1, sourceMapBytes: 1, coldInitMs: 151 } } },
      /cold init/,
    ],
    ['a second STS call', { awsCallsPerVend: { sts: 2, dynamodbReads: 4, dynamodbWrites: 2, auditWrites: 1 } }, /AWS calls/],
    ['a second audit write', { awsCallsPerVend: { sts: 1, dynamodbReads: 4, dynamodbWrites: 3, auditWrites: 2 } }, /AWS calls/],
    ['a fifth read (the caller is in one group)', { awsCallsPerVend: { sts: 1, dynamodbReads: 5, dynamodbWrites: 2, auditWrites: 1 } }, /AWS calls/],
    ['one failed concurrent vend', { concurrent: { requests: 200, errors: 1, rps: 1, p50Ms: 1, p99Ms: 1, statuses: {} } }, /concurrent/],
    ['console JavaScript over 60 kB gzipped', { console: { jsBytes: 200_000, jsGzipBytes: 60_001 } }, /console JavaScript/],
    ['a cached credential_process over 1.5 × node -e 0', { cli: { cachedMs: 38, nodeMs: 25, ratio: 1.52, cachedWithStackMs: 56, cutOffCheckMs: 18, uncachedMs: 120, runs: 30 } }, /credential_process/],
  ])('are missed by %s', (_, overrides, target) => {
    // Act
    const failures = missed(aMeasurement(overrides));

    // Assess
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(target);
  });

  it('hold at their limits: (e) × 1.25 and × 1.5, 1 ms of tvm CPU, 2 write units', () => {
    // Prepare
    const atLimits = aMeasurement({
      floorIrreducible: latency(5.6, 10),
      handlerCpuMs: 2,
      handlerCpuShares: { awsSdk: 0.4, tvm: 0.5, runtime: 0.1 },
      writeUnitsPerVend: 2,
    });

    // Assess
    expect(toResults(atLimits)).toMatchObject({ ratios: { vsIrreducibleP50: 1.25, vsIrreducibleP99: 1.5 }, tvmCpuMs: 1, writeUnitsPerVend: 2 });
    expect(missed(atLimits)).toEqual([]);
  });

  it('are listed in the table with what was measured', () => {
    // Act
    const report = formatReport(aMeasurement({ handlerCpuMs: 3 }), checkTargets(aMeasurement({ handlerCpuMs: 3 })));

    // Assess
    expect(report).toMatch(/handler CPU per vend ≤ 2 ms\s+3 ms\s+MISSED/);
    expect(report).toMatch(/vend bundle ≤ 400 kB\s+380 kB\s+met/);
    expect(report).toContain('AWS SDK 1.5 ms (50 %)');
    expect(report).toMatch(/cached credential_process ≤ 1.5 × node -e 0\s+1.32 × \(33 ms, node 25 ms\)\s+met/);
  });

  it('say what --added-latency held back, and show (c) as not measured', () => {
    // Prepare
    const m = aMeasurement({ http: null, addedLatencyMs: { dynamodb: 3, sts: 15 } });

    // Act
    const report = formatReport(m, checkTargets(m));

    // Assess
    expect(report).toContain('held back 3 ms from DynamoDB, 15 ms from STS ((c) not measured)');
    expect(report).toMatch(/\(c\) tvm vend over HTTP \(serverless-offline\)\s+–\s+–/);
    expect(missed(m)).toEqual([]);
  });

  it('show the irreducible floor beside the vend, tvm\'s own CPU and the write units by operation', () => {
    // Prepare
    const m = aMeasurement({ writeUnitsPerVend: 5, writeUnitsByOperation: { UpdateItem: 1, TransactWriteItems: 4 } });

    // Act
    const report = formatReport(m, checkTargets(m));

    // Assess
    expect(report).toMatch(/\(e\) irreducible floor: reads ‖, AssumeRole, PutItem\s+500\s+6.5\s+9.75\s+13\s+1.08\s+1.08/);
    expect(report).toContain('(b) / (e): 1.08 at p50, 1.15 at p99');
    expect(report).toContain('(e) irreducible floor 1.1 ms');
    expect(report).toContain('tvm and its libraries 0.45 ms (30 %)');
    expect(report).toContain('costing 5 write units (UpdateItem 1, TransactWriteItems 4;');
    expect(report).toMatch(/in-process p50 ≤ 1.25 × irreducible floor p50\s+1.08 ×\s+met/);
    expect(report).toMatch(/tvm's own CPU per vend ≤ 1 ms\s+0.45 ms\s+met/);
    expect(report).toMatch(/DynamoDB write units per vend ≤ 2\s+5 \(UpdateItem 1, TransactWriteItems 4\)\s+MISSED/);
  });
});
