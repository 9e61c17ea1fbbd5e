// loadConfig: one typed read of the environment that fails at cold start naming the variable, and
// hands back a frozen object.
import { ConfigError, loadConfig, type Config } from '../../shared/config.js';

const ISSUER = {
  issuer: 'https://idp.example.com',
  audience: 'tvm',
  jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
};

function anEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    TVM_STAGE: 'test',
    TVM_DELEGATIONS_TABLE: 'tvm-test-delegations',
    TVM_AUDIT_TABLE: 'tvm-test-audit',
    TVM_OIDC_ISSUERS: JSON.stringify([ISSUER]),
    ...overrides,
  };
}

function configErrorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies the defaults to a minimal environment', () => {
    // Act
    const config = loadConfig(anEnv());

    // Assess
    const expected: Config = {
      stage: 'test',
      tables: { delegations: 'tvm-test-delegations', audit: 'tvm-test-audit' },
      issuers: [{ ...ISSUER, principalClaim: 'sub', groupsClaim: 'groups', principalPrefix: '' }],
      adminGroup: 'tvm-admin',
      securityGroup: 'tvm-security',
      roleArnPattern: 'arn:aws:iam::*:role/tvm-*',
      auditShards: 4,
      auditUseShards: 8,
      auditLayout: 'chain-keyed',
      region: 'us-east-1',
      offline: false,
      endpoints: { sts: undefined, dynamodb: undefined },
      console: { federationEndpoint: 'https://signin.aws.amazon.com/federation', url: 'https://console.aws.amazon.com/' },
      alerts: {
        topicArn: undefined,
        webhookUrl: undefined,
        denialThreshold: 5,
        denialWindowMinutes: 10,
        ignoredSources: ['AWS Internal', '*.amazonaws.com'],
      },
      requests: { topicArn: undefined, webhookUrl: undefined, consoleUrl: '/console/' },
      vendRatePerMinute: 30,
      delegationQuota: 200,
      anchors: { bucket: undefined, dir: undefined },
      trail: { maxObjectBytes: 256 * 1024 * 1024, deadLetterUrl: undefined },
      targets: { accounts: [], revokerRoleName: undefined },
    };
    expect(config).toEqual(expected);
  });

  it('reads where request notices go and the console they link to, refusing a malformed topic', () => {
    // Act
    const requests = loadConfig(
      anEnv({ TVM_REQUESTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:tvm-test-requests', TVM_CONSOLE_URL: 'https://d1.cloudfront.net/console' }),
    ).requests;

    // Assess
    expect(requests).toEqual({ topicArn: 'arn:aws:sns:us-east-1:123456789012:tvm-test-requests', webhookUrl: undefined, consoleUrl: 'https://d1.cloudfront.net/console/' });
    expect(configErrorOf(anEnv({ TVM_REQUESTS_TOPIC_ARN: 'tvm-requests' })).message).toContain('TVM_REQUESTS_TOPIC_ARN: must be an SNS topic ARN');
    expect(configErrorOf(anEnv({ TVM_CONSOLE_URL: 'javascript:alert(1)' })).message).toContain('TVM_CONSOLE_URL');
    expect(configErrorOf(anEnv({ TVM_CONSOLE_URL: '//evil.example/console/' })).message).toContain('TVM_CONSOLE_URL');
    // serverless-offline cannot resolve the distribution's name: the local stack says where its console is.
    expect(loadConfig(anEnv({ IS_OFFLINE: 'true', TVM_CONSOLE_URL: '[object Object]', TVM_LOCAL_CONSOLE_URL: 'http://localhost:3008/console' })).requests.consoleUrl).toBe(
      'http://localhost:3008/console/',
    );
  });

  it('reads the target accounts and their revoker role, which the role pattern must not cover', () => {
    // Act
    const targets = loadConfig(anEnv({ TVM_TARGET_ACCOUNTS: ' 111111111111, 222222222222 ', TVM_REVOKER_ROLE_NAME: 'TvmRevoker-test' })).targets;

    // Assess
    expect(targets).toEqual({ accounts: ['111111111111', '222222222222'], revokerRoleName: 'TvmRevoker-test' });
    expect(configErrorOf(anEnv({ TVM_TARGET_ACCOUNTS: '111111111111' })).message).toContain('TVM_REVOKER_ROLE_NAME: required with TVM_TARGET_ACCOUNTS');
    expect(configErrorOf(anEnv({ TVM_TARGET_ACCOUNTS: '1111', TVM_REVOKER_ROLE_NAME: 'TvmRevoker-test' })).message).toContain('TVM_TARGET_ACCOUNTS: must be 12-digit');
    // A pattern that covers the revoker would let a profile vend it: refused, in any case of its name.
    const covering = configErrorOf(anEnv({ TVM_TARGET_ACCOUNTS: '111111111111', TVM_REVOKER_ROLE_NAME: 'TVM-revoker-test' }));
    expect(covering.message).toContain("TVM_ROLE_ARN_PATTERN: must not cover tvm's own roles (arn:aws:iam::111111111111:role/TVM-revoker-test)");
  });

  // tvm's functions run as sessions of their own roles; a pattern
  // covering them would record every vend's own AssumeRole as a use by a session tvm never issued.
  it.each([
    ['arn:aws:iam::*:role/*', 'arn:aws:iam::123456789012:role/TvmFn-test-x'],
    ['arn:aws:iam::123456789012:role/TvmCutOff-*', 'arn:aws:iam::123456789012:role/TvmCutOff-test-x'],
    ['arn:aws-cn:iam::*:role/*', 'arn:aws-cn:iam::123456789012:role/TvmFn-test-x'],
  ])("refuses a role pattern that covers tvm's own function roles: %s", (pattern, named) => {
    // Act
    const error = configErrorOf(anEnv({ TVM_ROLE_ARN_PATTERN: pattern, TVM_ACCOUNT_ID: '123456789012', ...(pattern.includes('aws-cn') ? { AWS_REGION: 'cn-north-1' } : {}) }));

    // Assess
    expect(error.message).toContain(`TVM_ROLE_ARN_PATTERN: must not cover tvm's own roles (${named})`);
  });

  it('reads the trail log cap and the dead-letter queue, which the local stack has none of', () => {
    // Act
    const deployed = loadConfig(anEnv({ TVM_TRAIL_MAX_OBJECT_BYTES: '1048576', TVM_DEAD_LETTER_URL: 'https://sqs.eu-west-1.amazonaws.com/1/tvm-prod-dead-letters' }));
    const offline = loadConfig(anEnv({ IS_OFFLINE: 'true', TVM_DEAD_LETTER_URL: '[object Object]' }));

    // Assess
    expect(deployed.trail).toEqual({ maxObjectBytes: 1048576, deadLetterUrl: 'https://sqs.eu-west-1.amazonaws.com/1/tvm-prod-dead-letters' });
    expect(offline.trail.deadLetterUrl).toBeUndefined();
    expect(() => loadConfig(anEnv({ TVM_TRAIL_MAX_OBJECT_BYTES: '1000' }))).toThrow(/TVM_TRAIL_MAX_OBJECT_BYTES/);
  });

  it('reads the alerting settings', () => {
    // Act
    const config = loadConfig(
      anEnv({
        TVM_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:tvm-prod-alerts',
        TVM_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9999/hook',
        TVM_ALERT_DENIAL_THRESHOLD: '3',
        TVM_ALERT_DENIAL_WINDOW_MINUTES: '15',
        TVM_ALERT_IGNORED_SOURCES: 'AWS Internal, 10.0.0.* ,',
      }),
    );

    // Assess
    expect(config.alerts).toEqual({
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:tvm-prod-alerts',
      webhookUrl: 'http://127.0.0.1:9999/hook',
      denialThreshold: 3,
      denialWindowMinutes: 15,
      ignoredSources: ['AWS Internal', '10.0.0.*'],
    });
  });

  it('reads the vend quota per principal and minute', () => {
    // Act
    const config = loadConfig(anEnv({ TVM_VEND_RATE_PER_MINUTE: '120' }));

    // Assess
    expect(config.vendRatePerMinute).toBe(120);
  });

  it.each(['0', '10001', '2.5', 'thirty', ''])('refuses TVM_VEND_RATE_PER_MINUTE=%j, naming it', (raw) => {
    // Act
    const error = configErrorOf(anEnv({ TVM_VEND_RATE_PER_MINUTE: raw }));

    // Assess
    expect(error.message).toContain('TVM_VEND_RATE_PER_MINUTE:');
  });

  it('reads the audit layout, legacy while the chain-keyed indexes are being added, refusing anything else', () => {
    // Act
    const legacy = loadConfig(anEnv({ TVM_AUDIT_LAYOUT: 'legacy' }));
    const error = configErrorOf(anEnv({ TVM_AUDIT_LAYOUT: 'chain' }));

    // Assess
    expect(legacy.auditLayout).toBe('legacy');
    expect(error.message).toContain('TVM_AUDIT_LAYOUT');
  });

  it('reads the delegation quota', () => {
    // Act
    const config = loadConfig(anEnv({ TVM_DELEGATION_QUOTA: '50' }));

    // Assess
    expect(config.delegationQuota).toBe(50);
  });

  it.each(['0', '501', '2.5', 'many', ''])('refuses TVM_DELEGATION_QUOTA=%j, naming it', (raw) => {
    // Act
    const error = configErrorOf(anEnv({ TVM_DELEGATION_QUOTA: raw }));

    // Assess
    expect(error.message).toContain('TVM_DELEGATION_QUOTA:');
  });

  it('refuses an alerts topic that is not an SNS topic ARN', () => {
    // Act
    const error = configErrorOf(anEnv({ TVM_ALERTS_TOPIC_ARN: 'tvm-prod-alerts' }));

    // Assess
    expect(error.message).toContain('TVM_ALERTS_TOPIC_ARN: must be an SNS topic ARN');
  });

  it('under serverless-offline, which cannot resolve the topic reference, sends alerts to the log instead', () => {
    // Act
    const config = loadConfig(anEnv({ IS_OFFLINE: 'true', TVM_ALERTS_TOPIC_ARN: '[object Object]' }));

    // Assess
    expect(config.alerts.topicArn).toBeUndefined();
    expect(config.offline).toBe(true);
  });

  it('reads every variable it is given', () => {
    // Prepare
    const env = anEnv({
      TVM_OIDC_ISSUERS: JSON.stringify([
        { ...ISSUER, audience: ['tvm', 'tvm-cli'], principalClaim: 'email', groupsClaim: 'roles', principalPrefix: 'corp:' },
      ]),
      TVM_ADMIN_GROUP: 'corp:admins',
      TVM_SECURITY_GROUP: 'corp:security',
      TVM_ROLE_ARN_PATTERN: 'arn:aws:iam::123456789012:role/vended-*',
      TVM_AUDIT_SHARDS: '8',
      TVM_AUDIT_USE_SHARDS: '16',
      TVM_STS_ENDPOINT: 'http://127.0.0.1:4566',
      TVM_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      AWS_REGION: 'eu-west-1',
      IS_OFFLINE: 'true',
    });

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config).toMatchObject({
      issuers: [{ audience: ['tvm', 'tvm-cli'], principalClaim: 'email', groupsClaim: 'roles', principalPrefix: 'corp:' }],
      adminGroup: 'corp:admins',
      securityGroup: 'corp:security',
      roleArnPattern: 'arn:aws:iam::123456789012:role/vended-*',
      auditShards: 8,
      auditUseShards: 16,
      region: 'eu-west-1',
      endpoints: { sts: 'http://127.0.0.1:4566', dynamodb: 'http://127.0.0.1:8000' },
    });
  });

  it.each(['TVM_STAGE', 'TVM_DELEGATIONS_TABLE', 'TVM_AUDIT_TABLE', 'TVM_OIDC_ISSUERS'])(
    'names %s when it is missing',
    (variable) => {
      // Act
      const error = configErrorOf(anEnv({ [variable]: undefined }));

      // Assess
      expect(error.name).toBe('ConfigError');
      expect(error.message).toContain(`${variable}:`);
    },
  );

  it('names every missing variable at once', () => {
    // Act
    const error = configErrorOf({});

    // Assess
    for (const variable of ['TVM_STAGE', 'TVM_DELEGATIONS_TABLE', 'TVM_AUDIT_TABLE', 'TVM_OIDC_ISSUERS']) {
      expect(error.message).toContain(variable);
    }
  });

  it('names an empty variable', () => {
    // Act
    const error = configErrorOf(anEnv({ TVM_STAGE: '' }));

    // Assess
    expect(error.message).toContain('TVM_STAGE:');
  });

  it('refuses TVM_OIDC_ISSUERS that is not JSON', () => {
    // Act
    const error = configErrorOf(anEnv({ TVM_OIDC_ISSUERS: "[{issuer: 'https://idp.example.com'}]" }));

    // Assess
    expect(error.message).toContain('TVM_OIDC_ISSUERS: must be JSON');
  });

  it.each([
    ['an empty list', '[]', /TVM_OIDC_ISSUERS: at least one issuer is required/],
    ['an object instead of a list', JSON.stringify(ISSUER), /TVM_OIDC_ISSUERS: /],
    ['an issuer without jwksUrl', JSON.stringify([{ issuer: ISSUER.issuer, audience: 'tvm' }]), /TVM_OIDC_ISSUERS\.0\.jwksUrl: /],
    ['an issuer that is not a URL', JSON.stringify([{ ...ISSUER, issuer: 'idp' }]), /TVM_OIDC_ISSUERS\.0\.issuer: /],
    ['an empty audience list', JSON.stringify([{ ...ISSUER, audience: [] }]), /TVM_OIDC_ISSUERS\.0\.audience: /],
    ['an unknown issuer field', JSON.stringify([{ ...ISSUER, jwks: 'https://x' }]), /TVM_OIDC_ISSUERS\.0: .*jwks/],
  ])('refuses TVM_OIDC_ISSUERS with %s, naming where', (_label, raw, message) => {
    // Act
    const error = configErrorOf(anEnv({ TVM_OIDC_ISSUERS: raw }));

    // Assess
    expect(error.message).toMatch(message);
  });

  it.each([
    ['both left empty', undefined, undefined],
    ['both "corp:"', 'corp:', 'corp:'],
    ['one empty (a prefix of every other)', undefined, 'partner:'],
    ['one beginning the other', 'a:', 'a:b:'],
  ])('refuses two issuers whose principals could collide (%s)', (_label, first, second) => {
    // Prepare
    const issuers = [
      { ...ISSUER, ...(first === undefined ? {} : { principalPrefix: first }) },
      {
        issuer: 'https://other-idp.example.com',
        audience: 'tvm',
        jwksUrl: 'https://other-idp.example.com/jwks',
        ...(second === undefined ? {} : { principalPrefix: second }),
      },
    ];

    // Act
    const error = configErrorOf(anEnv({ TVM_OIDC_ISSUERS: JSON.stringify(issuers) }));

    // Assess
    expect(error.message).toContain(
      'TVM_OIDC_ISSUERS: with several issuers, each needs a principalPrefix, and none may begin another',
    );
  });

  it('accepts two issuers with different prefixes', () => {
    // Prepare
    const issuers = [
      { ...ISSUER, principalPrefix: 'corp:' },
      { issuer: 'https://partner.example.org', audience: 'tvm', jwksUrl: 'https://partner.example.org/jwks', principalPrefix: 'partner:' },
    ];

    // Act
    const config = loadConfig(anEnv({ TVM_OIDC_ISSUERS: JSON.stringify(issuers) }));

    // Assess
    expect(config.issuers.map((issuer) => issuer.principalPrefix)).toEqual(['corp:', 'partner:']);
  });

  it.each([
    ['plain http to another host', 'http://idp.example.com/jwks', false],
    ['https', 'https://idp.example.com/jwks', true],
    ['http on localhost (the local stack)', 'http://localhost:3006/.well-known/jwks.json', true],
    ['http on 127.0.0.1', 'http://127.0.0.1:3006/jwks', true],
  ])('fetches keys only over https, except locally: %s', (_label, jwksUrl, accepted) => {
    // Prepare
    const env = anEnv({ TVM_OIDC_ISSUERS: JSON.stringify([{ ...ISSUER, jwksUrl }]) });

    // Act
    const attempt = () => loadConfig(env);

    // Assess
    if (accepted) expect(attempt).not.toThrow();
    else expect(attempt).toThrow(/TVM_OIDC_ISSUERS\.0\.jwksUrl: must be an https URL/);
  });

  it('refuses the same issuer twice', () => {
    // Prepare
    const issuers = [
      { ...ISSUER, principalPrefix: 'one:' },
      { ...ISSUER, principalPrefix: 'again:' },
    ];

    // Act
    const error = configErrorOf(anEnv({ TVM_OIDC_ISSUERS: JSON.stringify(issuers) }));

    // Assess
    expect(error.message).toContain('TVM_OIDC_ISSUERS: issuer must be unique');
  });

  it.each([
    ['TVM_AUDIT_SHARDS', '0'],
    ['TVM_AUDIT_SHARDS', '65'],
    ['TVM_AUDIT_SHARDS', 'four'],
    ['TVM_AUDIT_SHARDS', '2.5'],
    ['TVM_AUDIT_USE_SHARDS', '0'],
    ['TVM_AUDIT_USE_SHARDS', '65'],
    ['TVM_STS_ENDPOINT', 'not a url'],
    ['TVM_DYNAMODB_ENDPOINT', '127.0.0.1:8000'],
    ['TVM_DELEGATIONS_TABLE', 'ab'],
  ])('names %s when its value %j is malformed', (variable, value) => {
    // Act
    const error = configErrorOf(anEnv({ [variable]: value }));

    // Assess
    expect(error.message).toContain(`${variable}:`);
  });

  // A leftover TVM_STS_ENDPOINT in a deployer's shell must not send a deployed
  // function's STS calls (and its credentials) to someone else's server.
  it.each(['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_DYNAMODB'])('refuses the SDK override %s outside the local stack too', (variable) => {
    // Act
    const error = configErrorOf(anEnv({ [variable]: 'https://attacker.example.com' }));

    // Assess
    expect(error.message).toContain(`${variable}: endpoint overrides are for the local stack only`);
  });

  it.each(['TVM_STS_ENDPOINT', 'TVM_DYNAMODB_ENDPOINT', 'TVM_IAM_ENDPOINT'])('refuses %s outside the local stack (IS_OFFLINE)', (variable) => {
    // Act
    const error = configErrorOf(anEnv({ [variable]: 'https://attacker.example.com' }));

    // Assess
    expect(error.message).toContain(`${variable}: endpoint overrides are for the local stack only`);
    expect(loadConfig(anEnv({ [variable]: 'https://attacker.example.com', IS_OFFLINE: 'true' })).endpoints).toEqual(
      expect.objectContaining({ [{ TVM_STS_ENDPOINT: 'sts', TVM_DYNAMODB_ENDPOINT: 'dynamodb', TVM_IAM_ENDPOINT: 'iam' }[variable] as string]: 'https://attacker.example.com' }),
    );
  });

  // The federation endpoint is handed every console session's secret.
  describe('console sign-in', () => {
    it.each([
      ['us-east-1', 'https://signin.aws.amazon.com/federation', 'https://console.aws.amazon.com/'],
      ['cn-north-1', 'https://signin.amazonaws.cn/federation', 'https://console.amazonaws.cn/'],
      ['us-gov-west-1', 'https://signin.amazonaws-us-gov.com/federation', 'https://console.amazonaws-us-gov.com/'],
    ])("defaults in %s to that partition's federation endpoint and console", (region, federationEndpoint, url) => {
      // Act, Assess
      expect(loadConfig(anEnv({ AWS_REGION: region })).console).toEqual({ federationEndpoint, url });
    });

    it("takes another of AWS's own, a regional one, and a console address without its slash", () => {
      // Act
      const config = loadConfig(
        anEnv({ TVM_FEDERATION_ENDPOINT: 'https://eu-west-1.signin.aws.amazon.com/federation', TVM_AWS_CONSOLE_URL: 'https://eu-west-1.console.aws.amazon.com' }),
      );

      // Assess
      expect(config.console).toEqual({ federationEndpoint: 'https://eu-west-1.signin.aws.amazon.com/federation', url: 'https://eu-west-1.console.aws.amazon.com/' });
    });

    it.each([
      ['plain http', 'http://signin.aws.amazon.com/federation'],
      ['a host of its own', 'https://signin.example.com/federation'],
      ['a look-alike host', 'https://signin.aws.amazon.com.example.com/federation'],
      ['user info before a foreign host', 'https://signin.aws.amazon.com@example.com/federation'],
      ['another path', 'https://signin.aws.amazon.com/oauth'],
      ['the local stack', 'http://127.0.0.1:3005/federation'],
    ])('refuses a federation endpoint with %s outside the local stack', (_label, endpoint) => {
      // Act
      const error = configErrorOf(anEnv({ TVM_FEDERATION_ENDPOINT: endpoint }));

      // Assess
      expect(error.message).toContain("TVM_FEDERATION_ENDPOINT: must be AWS's https sign-in federation endpoint");
    });

    it.each(['http://console.aws.amazon.com/', 'https://console.aws.amazon.com.example.com/', 'https://example.com/console.aws.amazon.com/'])(
      'refuses %s as the console outside the local stack',
      (url) => {
        // Act, Assess
        expect(configErrorOf(anEnv({ TVM_AWS_CONSOLE_URL: url })).message).toContain("TVM_AWS_CONSOLE_URL: must be AWS's https console");
      },
    );

    it("takes the local stack's own under serverless-offline", () => {
      // Act
      const config = loadConfig(
        anEnv({ IS_OFFLINE: 'true', TVM_FEDERATION_ENDPOINT: 'http://127.0.0.1:3005/federation', TVM_AWS_CONSOLE_URL: 'http://127.0.0.1:3005/federation/console/' }),
      );

      // Assess
      expect(config.console).toEqual({ federationEndpoint: 'http://127.0.0.1:3005/federation', url: 'http://127.0.0.1:3005/federation/console/' });
    });
  });

  it('treats an empty endpoint as no endpoint', () => {
    // Act
    const config = loadConfig(anEnv({ TVM_STS_ENDPOINT: '', TVM_DYNAMODB_ENDPOINT: '' }));

    // Assess
    expect(config.endpoints).toEqual({ sts: undefined, dynamodb: undefined });
  });

  it('returns a deeply frozen object', () => {
    // Act
    const config = loadConfig(anEnv());

    // Assess
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tables)).toBe(true);
    expect(Object.isFrozen(config.endpoints)).toBe(true);
    expect(Object.isFrozen(config.issuers)).toBe(true);
    expect(Object.isFrozen(config.issuers[0])).toBe(true);
    expect(() => {
      (config as { stage: string }).stage = 'prod';
    }).toThrow(TypeError);
    expect(() => {
      (config.issuers as unknown[]).push(ISSUER);
    }).toThrow(TypeError);
    expect(config.stage).toBe('test');
  });

  it('reads only the environment it is given', () => {
    // Prepare: the given environment lacks a variable that process.env may well have.
    const env = anEnv({ AWS_REGION: undefined });

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.region).toBe('us-east-1');
  });
});
