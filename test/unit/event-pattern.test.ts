/**
 * The EventBridge pattern matcher, case by case. Patterns and events come from the EventBridge user guide
 * ("Event patterns", "Content filtering", "Arrays", "null values") and the aws/event-ruler README examples.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, EventPatternError, matchesPattern } from '../../local/event-pattern.js';

type Case = [description: string, event: unknown, expected: boolean];

/** One table per operator: `pattern` is matched against each event of `cases`. */
function table(pattern: unknown, cases: Case[]) {
  it.each(cases)('%s', (_, event, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
}

const detail = (fields: Record<string, unknown>) => ({ source: 'test', detail: fields });

const EC2_EVENT = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

describe('exact values', () => {
  describe('the EC2 termination pattern of the user guide', () => {
    table(
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['terminated'] },
      },
      [
        ['matches the terminated instance', EC2_EVENT, true],
        ['not another state', { ...EC2_EVENT, detail: { state: 'running' } }, false],
        ['not another source', { ...EC2_EVENT, source: 'aws.ecs' }, false],
        ['not without the field', { ...EC2_EVENT, detail: {} }, false],
        ['not with differently cased text', { ...EC2_EVENT, detail: { state: 'Terminated' } }, false],
      ],
    );
  });
  describe('one of several values', () => {
    table({ detail: { state: ['initializing', 'running'] } }, [
      ['the first', detail({ state: 'initializing' }), true],
      ['the second', detail({ state: 'running' }), true],
      ['none of them', detail({ state: 'stopped' }), false],
    ]);
  });
  describe('numbers, booleans, null and empty strings are typed', () => {
    table({ detail: { price: [100], flag: [true], user: [null], lastName: [''] } }, [
      ['all equal', detail({ price: 100, flag: true, user: null, lastName: '' }), true],
      ['100 written 1e2', detail({ price: 1e2, flag: true, user: null, lastName: '' }), true],
      ['"100" is not 100', detail({ price: '100', flag: true, user: null, lastName: '' }), false],
      ['"true" is not true', detail({ price: 100, flag: 'true', user: null, lastName: '' }), false],
      ['"" is not null', detail({ price: 100, flag: true, user: '', lastName: '' }), false],
      ['null is not ""', detail({ price: 100, flag: true, user: null, lastName: null }), false],
      ['an absent field is not null', detail({ price: 100, flag: true, lastName: '' }), false],
    ]);
  });
});

describe('prefix', () => {
  describe('case-sensitive', () => {
    table({ time: [{ prefix: '2017-10-02' }] }, [
      ['a time that day', { time: '2017-10-02T18:43:48Z' }, true],
      ['the prefix itself', { time: '2017-10-02' }, true],
      ['another day', { time: '2017-10-03T18:43:48Z' }, false],
      ['a number', { time: 20171002 }, false],
      ['absent', {}, false],
    ]);
  });
  describe('ignoring case', () => {
    table({ detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, [
      ['lower case', detail({ service: 'eventbridge' }), true],
      ['upper case', detail({ service: 'EVENTBRIDGE' }), true],
      ['another prefix', detail({ service: 'sqs' }), false],
    ]);
  });
});

describe('suffix', () => {
  describe('case-sensitive', () => {
    table({ FileName: [{ suffix: '.png' }] }, [
      ['a png', { FileName: 'image.png' }, true],
      ['a jpg', { FileName: 'image.jpg' }, false],
      ['an upper-case PNG', { FileName: 'image.PNG' }, false],
    ]);
  });
  describe('ignoring case', () => {
    table({ detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, [
      ['.PNG', detail({ FileName: 'image.PNG' }), true],
      ['.png', detail({ FileName: 'image.png' }), true],
      ['.jpg', detail({ FileName: 'image.jpg' }), false],
    ]);
  });
});

describe('equals-ignore-case', () => {
  table({ Name: [{ 'equals-ignore-case': 'alice' }] }, [
    ['Alice', { Name: 'Alice' }, true],
    ['ALICE', { Name: 'ALICE' }, true],
    ['Alicia', { Name: 'Alicia' }, false],
    ['a number', { Name: 1 }, false],
  ]);
});

describe('wildcard', () => {
  describe('a file pattern', () => {
    table({ detail: { FilePath: [{ wildcard: 'dir/*.png' }] } }, [
      ['a png in dir', detail({ FilePath: 'dir/fig.png' }), true],
      ['a png deeper in dir (* spans "/")', detail({ FilePath: 'dir/sub/fig.png' }), true],
      ['"*" may match nothing', detail({ FilePath: 'dir/.png' }), true],
      ['a jpg in dir', detail({ FilePath: 'dir/fig.jpg' }), false],
      ['a png elsewhere', detail({ FilePath: 'other/fig.png' }), false],
    ]);
  });
  describe('an ARN pattern with two wildcards', () => {
    table({ detail: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } }, [
      [
        'a bus in us-east-1',
        detail({ EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' }),
        true,
      ],
      [
        'a bus in us-west-2',
        detail({ EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/default' }),
        false,
      ],
    ]);
  });
  describe('escapes', () => {
    table({ key: [{ wildcard: 'a\\*b\\\\c' }] }, [
      ['a literal asterisk and backslash', { key: 'a*b\\c' }, true],
      ['"\\*" is not a wildcard', { key: 'axb\\c' }, false],
    ]);
  });
  it.each([['a**b'], ['a\\b']])('refuses %s', (wildcard) => {
    expect(() => matchesPattern({ key: [{ wildcard }] }, { key: 'ab' })).toThrow(EventPatternError);
  });
});

describe('anything-but', () => {
  describe.each<[string, unknown, Case[]]>([
    [
      'a string',
      'initializing',
      [
        ['another state', detail({ state: 'running' }), true],
        ['that state', detail({ state: 'initializing' }), false],
        ['absent', detail({}), false],
      ],
    ],
    [
      'a number',
      123,
      [
        ['another number', detail({ state: 456 }), true],
        ['that number', detail({ state: 123 }), false],
      ],
    ],
    [
      'a list of strings',
      ['stopped', 'overloaded'],
      [
        ['another state', detail({ state: 'running' }), true],
        ['a listed state', detail({ state: 'overloaded' }), false],
      ],
    ],
    [
      'a list of numbers',
      [100, 200, 300],
      [
        ['another number', detail({ state: 150 }), true],
        ['a listed number', detail({ state: 200 }), false],
      ],
    ],
    [
      'a prefix',
      { prefix: 'init' },
      [
        ['running', detail({ state: 'running' }), true],
        ['initializing', detail({ state: 'initializing' }), false],
      ],
    ],
    [
      'a suffix',
      { suffix: '.png' },
      [
        ['a jpg', detail({ state: 'a.jpg' }), true],
        ['a png', detail({ state: 'a.png' }), false],
      ],
    ],
    [
      'equals-ignore-case',
      { 'equals-ignore-case': 'initializing' },
      [
        ['running', detail({ state: 'running' }), true],
        ['INITIALIZING', detail({ state: 'INITIALIZING' }), false],
      ],
    ],
    [
      'a wildcard',
      { wildcard: '*/lib/*' },
      [
        ['a bin path', detail({ state: '/usr/bin/tool' }), true],
        ['a lib path', detail({ state: '/usr/lib/tool' }), false],
      ],
    ],
  ])('%s', (_, anythingBut, cases) => {
    table({ detail: { state: [{ 'anything-but': anythingBut }] } }, cases);
  });
  it.each<[unknown]>([[['a', 1]], [[]], [{ numeric: ['>', 1] }], [true]])('refuses %j', (anythingBut) => {
    expect(() => compilePattern({ state: [{ 'anything-but': anythingBut }] })).toThrow(EventPatternError);
  });
});

describe('numeric', () => {
  describe('the content-filtering example (all fields must hold)', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    table(pattern, [
      ['all in range', detail({ 'c-count': 5, 'd-count': 9.99, 'x-limit': 301.8 }), true],
      ['c-count at the open bound', detail({ 'c-count': 0, 'd-count': 3, 'x-limit': 301.8 }), false],
      ['c-count above', detail({ 'c-count': 6, 'd-count': 3, 'x-limit': 301.8 }), false],
      ['d-count at its bound', detail({ 'c-count': 1, 'd-count': 10, 'x-limit': 301.8 }), false],
      ['x-limit off', detail({ 'c-count': 1, 'd-count': 3, 'x-limit': 301.9 }), false],
      ['a numeric string', detail({ 'c-count': '5', 'd-count': 3, 'x-limit': 301.8 }), false],
    ]);
  });
  describe('>= and <', () => {
    table({ n: [{ numeric: ['>=', -1.5, '<', 2] }] }, [
      ['the closed bound', { n: -1.5 }, true],
      ['inside', { n: 0 }, true],
      ['the open bound', { n: 2 }, false],
    ]);
  });
  it.each<[unknown]>([[['!=', 1]], [['<', 5, '>', 0]], [['>', 'one']], [['>', 0, '<']], [['=', 1, '<', 3]]])(
    'refuses %j',
    (numeric) => {
      expect(() => compilePattern({ n: [{ numeric }] })).toThrow(EventPatternError);
    },
  );
});

describe('exists', () => {
  describe('true', () => {
    table({ detail: { state: [{ exists: true }] } }, [
      ['a state', detail({ 'instance-id': 'i-abcd1111', state: 'pending' }), true],
      ['no state', detail({ 'c-count': { c1: 100 } }), false],
      ['no detail at all', { source: 'x' }, false],
      ['an object is not a leaf', detail({ state: { name: 'pending' } }), false],
    ]);
  });
  describe('false', () => {
    table({ detail: { 'c-count': [{ exists: false }] } }, [
      ['absent', detail({ state: ['initializing', 'running'] }), true],
      ['an object, not a leaf', detail({ state: 'running', 'c-count': { c1: 100 } }), true],
      ['no detail at all', { source: 'x' }, true],
      ['present', detail({ 'c-count': 5 }), false],
    ]);
  });
  it('refuses exists with anything but a boolean', () => {
    expect(() => compilePattern({ state: [{ exists: 'yes' }] })).toThrow(EventPatternError);
  });
});

describe('$or', () => {
  describe('inside detail (the user guide example)', () => {
    table(
      {
        detail: {
          $or: [
            { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
            { 'd-count': [{ numeric: ['<', 10] }] },
            { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
          ],
        },
      },
      [
        ['c-count alone', detail({ 'c-count': 3 }), true],
        ['d-count alone', detail({ 'd-count': 9 }), true],
        ['x-limit alone', detail({ 'x-limit': 301.8 }), true],
        ['none in range', detail({ 'c-count': 9, 'd-count': 10, 'x-limit': 1 }), false],
        ['none present', detail({}), false],
      ],
    );
  });
  describe('at the top, ANDed with its siblings', () => {
    table(
      {
        source: ['aws.cloudwatch'],
        $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      },
      [
        ['metricName', { source: 'aws.cloudwatch', metricName: 'ReadLatency' }, true],
        ['namespace', { source: 'aws.cloudwatch', namespace: 'AWS/ES' }, true],
        ['neither', { source: 'aws.cloudwatch', metricName: 'x', namespace: 'y' }, false],
        ['another source', { source: 'aws.ec2', metricName: 'ReadLatency' }, false],
      ],
    );
  });
  describe('nested $or with an AND inside', () => {
    table(
      {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['CPUUtilization'] },
          {
            metricType: ['MetricType'],
            namespace: ['AWS/EC2'],
            $or: [{ metricId: [1234] }, { spaceId: [1000] }],
          },
        ],
      },
      [
        [
          'the inner AND and OR',
          { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 },
          true,
        ],
        [
          'the inner AND without its OR',
          { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' },
          false,
        ],
        ['half the inner AND', { source: 'aws.cloudwatch', metricType: 'MetricType', metricId: 1234 }, false],
      ],
    );
  });
  it.each<[unknown]>([[[{ a: ['x'] }]], [{ a: ['x'] }], [[{ a: ['x'] }, 'b']]])('refuses $or: %j', ($or) => {
    expect(() => compilePattern({ $or })).toThrow(/"\$or" must be an array of at least two pattern objects/);
  });
});

describe('nested objects', () => {
  table({ detail: { requestParameters: { bucketName: ['my-bucket'] } } }, [
    ['the bucket', detail({ requestParameters: { bucketName: 'my-bucket', key: 'k' } }), true],
    ['another bucket', detail({ requestParameters: { bucketName: 'other' } }), false],
    ['no requestParameters', detail({}), false],
    ['requestParameters is a string', detail({ requestParameters: 'my-bucket' }), false],
    ['bucketName one level up', detail({ bucketName: 'my-bucket' }), false],
  ]);
});

describe('arrays in events', () => {
  describe('an event array matches when it shares a value with the pattern', () => {
    table(
      {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        ],
      },
      [
        [
          'one shared value',
          {
            resources: [
              'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASG',
              'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
            ],
          },
          true,
        ],
        ['no shared value', { resources: ['arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] }, false],
      ],
    );
  });
  describe('operators apply to each element', () => {
    table({ n: [{ numeric: ['>', 10] }], tags: [{ prefix: 'env:' }] }, [
      ['one element each', { n: [1, 20], tags: ['team:a', 'env:prod'] }, true],
      ['no element over 10', { n: [1, 2], tags: ['env:prod'] }, false],
    ]);
  });
  describe('objects in an array: the fields must come from one element', () => {
    const employees = [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ];
    it.each<[unknown, boolean]>([
      [{ employees: { firstName: ['Anna'] } }, true],
      [{ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, true],
      [{ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, false],
    ])('%j', (pattern, expected) => {
      expect(matchesPattern(pattern, { employees })).toBe(expected);
      expect(matchesPattern(pattern, { employees: [employees.slice(0, 2), employees.slice(2)] })).toBe(
        expected,
      );
    });
  });
});

describe('malformed patterns throw, even where another value would match', () => {
  it.each<[string, unknown, RegExp]>([
    [
      'an unknown operator',
      { source: ['aws.backup', { contains: 'backup' }] },
      /unknown operator "contains"/,
    ],
    ['cidr (not implemented)', { ip: [{ cidr: '10.0.0.0/24' }] }, /"cidr" .* does not implement/],
    ['a bare value', { source: 'aws.backup' }, /must be an array of values or a nested pattern object/],
    ['an empty array', { source: [] }, /empty array/],
    ['two operators in one object', { source: [{ prefix: 'a', suffix: 'b' }] }, /exactly one key/],
    ['a nested array', { source: [['aws.backup']] }, /unsupported value/],
    ['a pattern that is not an object', ['aws.backup'], /must be a JSON object/],
  ])('%s', (_, pattern, message) => {
    expect(() => matchesPattern(pattern, { source: 'aws.backup' })).toThrow(EventPatternError);
    expect(() => matchesPattern(pattern, { source: 'aws.backup' })).toThrow(message);
  });
});

describe('properties', () => {
  it('anything-but a list of strings is the negation of the list, for present strings', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1 }), fc.string(), (list, value) => {
        const event = { field: value };
        expect(matchesPattern({ field: [{ 'anything-but': list }] }, event)).toBe(
          !matchesPattern({ field: list }, event),
        );
      }),
    );
  });
  it('prefix, suffix and a wildcard without "*" agree with the string functions', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', '$', '(') });
    fc.assert(
      fc.property(text, text, (needle, value) => {
        const event = { field: value };
        expect(matchesPattern({ field: [{ prefix: needle }] }, event)).toBe(value.startsWith(needle));
        expect(matchesPattern({ field: [{ suffix: needle }] }, event)).toBe(value.endsWith(needle));
        expect(matchesPattern({ field: [{ wildcard: needle }] }, event)).toBe(value === needle);
        expect(matchesPattern({ field: [{ wildcard: `${needle}*` }] }, event)).toBe(value.startsWith(needle));
      }),
    );
  });
});
