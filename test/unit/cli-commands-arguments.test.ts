// The commands' argument parsers: what each accepts and normalises, and that each refusal is
// commander's InvalidArgumentError (a usage error, exit 2).
import { InvalidArgumentError } from 'commander';
import { collectLockdownProfiles, parseSessionSeconds, parseTime, repeatable, scopeOf } from '../../cli/arguments.js';
import { formatScope, formatSeconds } from '../../cli/formats.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');

describe('parseTime', () => {
  it.each([
    ['2026-12-01T00:00:00Z', '2026-12-01T00:00:00.000Z'],
    ['2026-12-01T09:30:00.5+02:00', '2026-12-01T07:30:00.500Z'],
    ['2026-12-01T09:30+02:00', '2026-12-01T07:30:00.000Z'],
    ['2027-01-01', '2027-01-01T00:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['now', '2026-06-01T12:00:00.000Z'],
    ['+4h', '2026-06-01T16:00:00.000Z'],
    ['+7d', '2026-06-08T12:00:00.000Z'],
    ['+2w', '2026-06-15T12:00:00.000Z'],
    ['-30m', '2026-06-01T11:30:00.000Z'],
    ['-90s', '2026-06-01T11:58:30.000Z'],
  ])('reads %s as %s', (value, expected) => {
    // Act
    const time = parseTime(value, NOW);

    // Assess
    expect(time).toBe(expected);
  });

  it.each(['2026-12-01T00:00:00', 'tomorrow', '+4y', '4h', '+h', '2026-13-45T00:00:00Z', '2026-02-30', '2026-13-01', '26-12-01'])('refuses %s', (value) => {
    // Act
    const parse = () => parseTime(value, NOW);

    // Assess
    expect(parse).toThrow(InvalidArgumentError);
  });
});

describe('parseSessionSeconds', () => {
  it('accepts 900 to 43200 whole seconds', () => {
    // Act
    const bounds = [parseSessionSeconds('900'), parseSessionSeconds('43200')];

    // Assess
    expect(bounds).toEqual([900, 43_200]);
  });

  it.each(['899', '43201', '1e3', '900.5', ''])('refuses %p', (value) => {
    // Act
    const parse = () => parseSessionSeconds(value);

    // Assess
    expect(parse).toThrow(InvalidArgumentError);
  });
});

describe('collectLockdownProfiles', () => {
  it('collects profile names, or * alone', () => {
    // Act
    const names = collectLockdownProfiles('b', collectLockdownProfiles('a', undefined));
    const every = collectLockdownProfiles('*', undefined);

    // Assess
    expect(names).toEqual(['a', 'b']);
    expect(every).toEqual(['*']);
  });

  it.each([
    ['* after a name', ['a'], '*'],
    ['a name after *', ['*'], 'a'],
    ['an invalid name', [], 'Not_A_Profile'],
  ])('refuses %s', (_case, previous, value) => {
    // Act
    const collect = () => collectLockdownProfiles(value, previous);

    // Assess
    expect(collect).toThrow(InvalidArgumentError);
  });
});

describe('repeatable', () => {
  it('starts a new list for each parse rather than sharing one', () => {
    // Prepare
    const collect = repeatable((value: string) => value.toUpperCase());

    // Act
    const first = collect('a', undefined);
    const second = collect('b', undefined);

    // Assess
    expect([first, second]).toEqual([['A'], ['B']]);
  });
});

describe('scopes and durations as people read them', () => {
  it('builds a scope only from what was given', () => {
    // Act
    const scopes = [scopeOf(undefined, undefined), scopeOf(['s3:GetObject'], []), scopeOf([], ['arn:aws:s3:::b/*'])];

    // Assess
    expect(scopes).toEqual([undefined, { actions: ['s3:GetObject'] }, { resources: ['arn:aws:s3:::b/*'] }]);
  });

  it('formats a scope and a duration', () => {
    // Act
    const text = [formatScope(undefined), formatScope({ resources: ['arn:aws:s3:::b/*'] }), formatSeconds(900), formatSeconds(43_200), formatSeconds(3_661)];

    // Assess
    expect(text).toEqual(['-', '* on arn:aws:s3:::b/*', '15m', '12h', '1h1m1s']);
  });
});
