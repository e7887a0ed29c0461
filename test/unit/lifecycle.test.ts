import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Lifecycle, validateLifecycle } from '../../lib/domain/lifecycle.js';
import { InvalidLifecycleError, RejectionError } from '../../lib/errors.js';
import { fieldsOf, thrown } from './factories.js';

const AT = 'destinations[0].lifecycle';
const COLD = `${AT}.MoveToColdStorageAfterDays`;
const DELETE = `${AT}.DeleteAfterDays`;

/** Resource types AWS Backup can move to cold storage (Feature availability by resource). */
const WITH_COLD = ['EFS', 'DynamoDB', 'Timestream', 'SAP HANA on Amazon EC2', 'VirtualMachine'];
/** Resource types whose cold setting AWS Backup ignores. */
const WITHOUT_COLD = [
  'EBS',
  'RDS',
  'Aurora',
  'S3',
  'EC2',
  'FSx',
  'DocumentDB',
  'Neptune',
  'Redshift',
  'Storage Gateway',
  'CloudFormation',
];
const WITHOUT_ARCHIVE = ['EFS', 'DynamoDB', 'RDS', 'S3', 'Aurora', 'VirtualMachine'];

const lifecycle = (cold?: number, del?: number, archive?: boolean): Lifecycle => ({
  ...(cold === undefined ? {} : { MoveToColdStorageAfterDays: cold }),
  ...(del === undefined ? {} : { DeleteAfterDays: del }),
  ...(archive === undefined ? {} : { OptInToArchiveForSupportedResources: archive }),
});

/** EBS with the archive opt-in has cold storage (its archive tier): the one exception to WITHOUT_COLD. */
const archivesOnEbs = (input: Lifecycle, type: string) =>
  type === 'EBS' && input.OptInToArchiveForSupportedResources === true;

const refusal = (input: Lifecycle, resourceType = 'EFS') => {
  const error = thrown(() => validateLifecycle(input, resourceType, AT));
  expect(error).toBeInstanceOf(InvalidLifecycleError);
  expect(error).toBeInstanceOf(RejectionError);
  expect(error.name).toBe('InvalidLifecycleError');
  return error as InvalidLifecycleError;
};

describe('validateLifecycle: days are positive whole numbers or -1', () => {
  describe.each([
    ['MoveToColdStorageAfterDays', COLD, (days: number) => lifecycle(days, undefined)],
    ['DeleteAfterDays', DELETE, (days: number) => lifecycle(undefined, days)],
  ])('%s', (_name, field, make) => {
    it.each([1, 2, 35, 90, 365, 36500])('accepts %i days on EFS, unchanged', (days) => {
      expect(validateLifecycle(make(days), 'EFS', AT)).toEqual({ lifecycle: make(days), warnings: [] });
    });

    it.each([0, -2, -90, Number.NaN, 1.5, Number.POSITIVE_INFINITY])('refuses %s days', (days) => {
      const error = refusal(make(days));
      expect(error.violations).toEqual([
        {
          field,
          value: days,
          rule: 'must be a positive whole number of days, or -1 to keep indefinitely',
        },
      ]);
    });
  });

  it('accepts an empty lifecycle as is', () => {
    expect(validateLifecycle({}, 'EFS', AT)).toEqual({ lifecycle: {}, warnings: [] });
  });
});

describe('validateLifecycle: -1 on both fields keeps the copy indefinitely', () => {
  it.each([...WITH_COLD, ...WITHOUT_COLD])('passes -1/-1 through unchanged on %s', (resourceType) => {
    expect(validateLifecycle(lifecycle(-1, -1), resourceType, AT)).toEqual({
      lifecycle: { MoveToColdStorageAfterDays: -1, DeleteAfterDays: -1 },
      warnings: [],
    });
  });

  it('keeps -1/-1 together with the archive opt-in on EBS', () => {
    expect(validateLifecycle(lifecycle(-1, -1, true), 'EBS', AT)).toEqual({
      lifecycle: lifecycle(-1, -1, true),
      warnings: [],
    });
  });
});

describe('validateLifecycle: a lone -1 is refused', () => {
  it.each([
    ['-1 cold storage with no DeleteAfterDays', lifecycle(-1, undefined), COLD],
    ['-1 DeleteAfterDays with no cold storage', lifecycle(undefined, -1), DELETE],
    ['-1 cold storage next to DeleteAfterDays 100', lifecycle(-1, 100), COLD],
    ['-1 DeleteAfterDays next to cold storage after 30 days', lifecycle(30, -1), DELETE],
  ])('refuses %s on EFS, naming the lone field and saying to omit', (_case, input, field) => {
    const error = refusal(input);
    expect(fieldsOf(error)).toEqual([field]);
    const [violation] = error.violations;
    expect(violation?.value).toBe(-1);
    expect(violation?.rule).toContain('must be set on both DeleteAfterDays and MoveToColdStorageAfterDays');
    expect(violation?.rule).toContain('omit it');
  });

  it.each(WITHOUT_COLD)('refuses a lone -1 DeleteAfterDays on %s too', (resourceType) => {
    expect(fieldsOf(refusal(lifecycle(undefined, -1), resourceType))).toEqual([DELETE]);
  });

  it('does not apply the 90-day rule next to a lone -1 DeleteAfterDays', () => {
    expect(refusal(lifecycle(30, -1)).violations).toHaveLength(1);
  });
});

describe('validateLifecycle: DeleteAfterDays is at least MoveToColdStorageAfterDays + 90', () => {
  it.each([
    [1, 90],
    [30, 119],
    [90, 179],
    [10000, 10089],
  ])('refuses cold after %i days with DeleteAfterDays %i (89 days apart)', (cold, del) => {
    const error = refusal(lifecycle(cold, del));
    expect(error.violations).toHaveLength(1);
    const [violation] = error.violations;
    expect(violation?.field).toBe(DELETE);
    expect(violation?.value).toBe(del);
    expect(violation?.rule).toContain('must be at least MoveToColdStorageAfterDays + 90');
    expect(violation?.rule).toContain(`(${del + 1})`);
  });

  it.each([
    [1, 91],
    [30, 120],
    [90, 180],
    [10000, 10090],
  ])('allows cold after %i days with DeleteAfterDays %i (exactly 90 days apart)', (cold, del) => {
    expect(validateLifecycle(lifecycle(cold, del), 'EFS', AT)).toEqual({
      lifecycle: lifecycle(cold, del),
      warnings: [],
    });
  });

  it.each([
    [1, 92],
    [30, 121],
    [90, 181],
    [10000, 10091],
  ])('allows cold after %i days with DeleteAfterDays %i (91 days apart)', (cold, del) => {
    expect(validateLifecycle(lifecycle(cold, del), 'EFS', AT).lifecycle).toEqual(lifecycle(cold, del));
  });

  it.each([
    [30, 30],
    [100, 50],
    [365, 1],
  ])('refuses DeleteAfterDays %i before or at cold storage after %i days', (cold, del) => {
    expect(fieldsOf(refusal(lifecycle(cold, del)))).toEqual([DELETE]);
  });

  it.each(WITH_COLD)('applies the rule to %s, which has cold storage', (resourceType) => {
    expect(fieldsOf(refusal(lifecycle(30, 119), resourceType))).toEqual([DELETE]);
  });

  it('refuses DeleteAfterDays 89 days after cold storage', () => {
    expect(() => validateLifecycle(lifecycle(7, 96), 'EFS', AT)).toThrow(InvalidLifecycleError);
  });
});

describe('validateLifecycle: cold storage is dropped for resource types without it', () => {
  it.each(WITHOUT_COLD)('drops MoveToColdStorageAfterDays on %s with a warning, no 90-day rule', (type) => {
    const result = validateLifecycle(lifecycle(30, 35), type, AT);
    expect(result.lifecycle).toEqual({ DeleteAfterDays: 35 });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(`${COLD} dropped`);
    expect(result.warnings[0]).toContain(`${type} does not support cold storage`);
  });

  it('drops a cold setting given alone, leaving an empty lifecycle', () => {
    expect(validateLifecycle(lifecycle(30), 'RDS', AT)).toEqual({
      lifecycle: {},
      warnings: [`${COLD} dropped: RDS does not support cold storage, AWS Backup would ignore it`],
    });
  });

  it('drops a lone -1 cold setting on EBS instead of refusing it, since AWS ignores it there', () => {
    const result = validateLifecycle(lifecycle(-1, 30), 'EBS', AT);
    expect(result.lifecycle).toEqual({ DeleteAfterDays: 30 });
    expect(result.warnings).toHaveLength(1);
  });

  it.each(WITH_COLD)('keeps MoveToColdStorageAfterDays on %s', (resourceType) => {
    expect(validateLifecycle(lifecycle(30, 120), resourceType, AT)).toEqual({
      lifecycle: lifecycle(30, 120),
      warnings: [],
    });
  });

  it('still checks DeleteAfterDays after dropping the cold setting', () => {
    expect(fieldsOf(refusal(lifecycle(30, 0), 'EBS'))).toEqual([DELETE]);
  });
});

describe('validateLifecycle: the archive opt-in is dropped where there is no archive tier', () => {
  it.each(WITHOUT_ARCHIVE)('drops OptInToArchiveForSupportedResources on %s with a warning', (type) => {
    const result = validateLifecycle(lifecycle(undefined, 35, true), type, AT);
    expect(result.lifecycle).toEqual({ DeleteAfterDays: 35 });
    expect(result.warnings).toEqual([
      `${AT}.OptInToArchiveForSupportedResources dropped: ${type} does not support the archive tier`,
    ]);
  });

  it('keeps the opt-in on EBS, which has an archive tier', () => {
    expect(validateLifecycle(lifecycle(undefined, 35, true), 'EBS', AT)).toEqual({
      lifecycle: lifecycle(undefined, 35, true),
      warnings: [],
    });
  });

  it.each(['EFS', 'RDS'])('keeps an opt-in of false on %s without a warning', (type) => {
    expect(validateLifecycle(lifecycle(undefined, 35, false), type, AT)).toEqual({
      lifecycle: lifecycle(undefined, 35, false),
      warnings: [],
    });
  });

  it('warns once per dropped setting when both are dropped', () => {
    const result = validateLifecycle(lifecycle(30, 35, true), 'RDS', AT);
    expect(result.lifecycle).toEqual({ DeleteAfterDays: 35 });
    expect(result.warnings).toHaveLength(2);
  });
});

describe('validateLifecycle: on EBS the archive opt-in makes the cold setting apply', () => {
  it('keeps MoveToColdStorageAfterDays when the archive opt-in is true', () => {
    expect(validateLifecycle(lifecycle(30, 365, true), 'EBS', AT)).toEqual({
      lifecycle: lifecycle(30, 365, true),
      warnings: [],
    });
  });

  it.each([
    [119, false],
    [120, true],
  ])(
    'applies the 90-day rule to the archive tier (cold 30, delete %i accepted: %s)',
    (deleteDays, accepted) => {
      const input = lifecycle(30, deleteDays, true);
      if (accepted) expect(validateLifecycle(input, 'EBS', AT).lifecycle).toEqual(input);
      else expect(refusal(input, 'EBS').violations.map((v) => v.field)).toEqual([DELETE]);
    },
  );

  it('drops MoveToColdStorageAfterDays without the opt-in, saying the opt-in would keep it', () => {
    const result = validateLifecycle(lifecycle(30, 100), 'EBS', AT);
    expect(result.lifecycle).toEqual({ DeleteAfterDays: 100 });
    expect(result.warnings[0]).toContain('unless OptInToArchiveForSupportedResources is true');
  });
});

describe('validateLifecycle: every broken rule is reported together', () => {
  it.each([
    ['both days zero', lifecycle(0, 0), [COLD, DELETE]],
    ['negative cold and negative delete', lifecycle(-5, -2), [COLD, DELETE]],
    ['a lone -1 cold and a zero delete', lifecycle(-1, 0), [DELETE, COLD]],
  ])('reports %s', (_case, input, fields) => {
    const error = refusal(input);
    expect(fieldsOf(error).sort()).toEqual([...fields].sort());
    expect(error.message).toMatch(/^lifecycle refused: /);
    for (const field of fields) expect(error.message).toContain(field);
  });
});

describe('validateLifecycle: field prefix', () => {
  it.each(['rules[2].destinations[1].lifecycle', 'lifecycle'])(
    'puts the prefix %s in violations, message and warnings',
    (prefix) => {
      const error = thrown(() => validateLifecycle(lifecycle(30, 100), 'EFS', prefix));
      expect(fieldsOf(error)).toEqual([`${prefix}.DeleteAfterDays`]);
      expect(error.message).toContain(`${prefix}.DeleteAfterDays (100)`);
      expect(validateLifecycle(lifecycle(30, 100), 'EBS', prefix).warnings[0]).toMatch(
        new RegExp(`^${prefix.replace(/[[\].]/g, '\\$&')}\\.MoveToColdStorageAfterDays dropped`),
      );
    },
  );
});

describe('validateLifecycle: the input is not changed', () => {
  it('returns a new object and leaves the input alone when dropping settings', () => {
    const input = lifecycle(30, 35, true);
    const result = validateLifecycle(input, 'RDS', AT);
    expect(input).toEqual({
      MoveToColdStorageAfterDays: 30,
      DeleteAfterDays: 35,
      OptInToArchiveForSupportedResources: true,
    });
    expect(result.lifecycle).not.toBe(input);
  });
});

describe('validateLifecycle properties', () => {
  const positiveDays = fc.integer({ min: 1, max: 36500 });
  const anyDays = fc.oneof(
    fc.constant(-1),
    positiveDays,
    fc.integer({ min: -100, max: 0 }),
    fc.constantFrom(0, -2),
  );
  const anyLifecycle = (days: fc.Arbitrary<number>) =>
    fc.record(
      {
        MoveToColdStorageAfterDays: days,
        DeleteAfterDays: days,
        OptInToArchiveForSupportedResources: fc.boolean(),
      },
      { requiredKeys: [] },
    );
  const allTypes = fc.constantFrom(...WITH_COLD, ...WITHOUT_COLD, 'unknown');

  it('on EFS, passes exactly when DeleteAfterDays >= MoveToColdStorageAfterDays + 90', () => {
    const nearBoundary = fc
      .tuple(fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 85, max: 95 }))
      .map(([cold, gap]) => [cold, cold + gap] as const);
    const anywhere = fc.tuple(fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 1, max: 36500 }));
    fc.assert(
      fc.property(fc.oneof(nearBoundary, anywhere), ([cold, del]) => {
        const allowed = del - cold >= 90;
        let refused: InvalidLifecycleError | undefined;
        try {
          expect(validateLifecycle(lifecycle(cold, del), 'EFS', AT).lifecycle).toEqual(lifecycle(cold, del));
        } catch (error) {
          if (!(error instanceof InvalidLifecycleError)) throw error;
          refused = error;
        }
        expect(refused === undefined).toBe(allowed);
        if (refused) expect(fieldsOf(refused)).toEqual([DELETE]);
      }),
      { numRuns: 500 },
    );
  });

  it('never keeps cold storage on a type without it, and never throws for positive days', () => {
    fc.assert(
      fc.property(anyLifecycle(positiveDays), fc.constantFrom(...WITHOUT_COLD), (input, type) => {
        fc.pre(!archivesOnEbs(input, type));
        const { lifecycle: out } = validateLifecycle(input, type, AT);
        expect(out).not.toHaveProperty('MoveToColdStorageAfterDays');
        expect(out.DeleteAfterDays).toBe(input.DeleteAfterDays);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps cold storage on a type without it only when both days are -1', () => {
    fc.assert(
      fc.property(anyLifecycle(anyDays), fc.constantFrom(...WITHOUT_COLD), (input, type) => {
        fc.pre(!archivesOnEbs(input, type));
        let out: Lifecycle;
        try {
          out = validateLifecycle(input, type, AT).lifecycle;
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidLifecycleError);
          return;
        }
        const keepsForever = input.MoveToColdStorageAfterDays === -1 && input.DeleteAfterDays === -1;
        expect('MoveToColdStorageAfterDays' in out).toBe(keepsForever);
      }),
      { numRuns: 300 },
    );
  });

  it('never adds a field or changes a kept value, whatever the input and type', () => {
    fc.assert(
      fc.property(anyLifecycle(anyDays), allTypes, (input, type) => {
        const before = structuredClone(input);
        try {
          const { lifecycle: out } = validateLifecycle(input, type, AT);
          for (const [key, value] of Object.entries(out)) {
            expect(Object.keys(input)).toContain(key);
            expect(value).toBe(input[key as keyof Lifecycle]);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidLifecycleError);
          for (const field of fieldsOf(error as InvalidLifecycleError))
            expect(field.startsWith(`${AT}.`)).toBe(true);
        }
        expect(input).toEqual(before);
      }),
      { numRuns: 500 },
    );
  });
});
