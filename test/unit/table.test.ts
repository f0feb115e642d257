// Host-only: table text parsing/formatting and validation, no kernel involved.
import { t } from 'tap'
import { DmError, formatTable, parseTable } from '../../ts'
import { toNativeTargets, toRawTargets } from '../../ts/core/table'

t.test('parseTable reads dmsetup text, lenient about whitespace', async (t) => {
  t.same(parseTable('0 2097152 thin /dev/mapper/pool 0\n'), [
    { start: 0, length: 2097152, type: 'thin', params: '/dev/mapper/pool 0' },
  ])
  t.same(parseTable('  0\t8   zero  \n\n# comment\n8 8 error'), [
    { start: 0, length: 8, type: 'zero', params: '' },
    { start: 8, length: 8, type: 'error', params: '' },
  ])
})

t.test('formatTable is parseTable\'s inverse', async (t) => {
  const table = [
    { start: 0, length: 4096, type: 'linear', params: '/dev/loop0 0' },
    { start: 4096, length: 8, type: 'zero', params: '' },
  ]
  const text = formatTable(table)
  t.equal(text, '0 4096 linear /dev/loop0 0\n4096 8 zero')
  t.same(parseTable(text), table)
})

t.test('toRawTargets computes start for concatenated targets', async (t) => {
  t.same(toRawTargets([{ length: 8, type: 'zero' }, { length: 16, type: 'error' }], 'create', 'x'), [
    { start: 0, length: 8, type: 'zero', params: '' },
    { start: 8, length: 16, type: 'error', params: '' },
  ])
})

t.test('bad tables are DmErrors naming the field', async (t) => {
  const bad: [unknown, string][] = [
    ['0 x zero', 'table line 1 length'],
    ['zero', 'table line 1'],
    ['0 8', 'table line 1'],
    [[{ length: 8, type: 'zero' }, { start: 4, length: 8, type: 'zero' }], 'table[1].start'],
    [[{ length: 1.5, type: 'zero' }], 'table[0].length'],
    [[{ length: 8, type: '' }], 'table[0].type'],
    [[{ length: 8, type: 'a b' }], 'table[0].type'],
    [[{ length: 8, type: 'linear', params: 'a\nb' }], 'table[0].params'],
    [[], 'table'],
    [42, 'table'],
  ]
  for (const [table, field] of bad) {
    t.throws(() => toRawTargets(table as never, 'create', 'dev'), { name: 'DmError', code: 'EINVAL', field }, JSON.stringify(table))
  }
  const err = (() => { try { toRawTargets('0 0 zero', 'create', 'dev') } catch (e) { return e as DmError } })()!
  t.equal(err.message, 'create dev: table[0].length must be >= 1, got 0')
})

t.test('backslashes are escaped for the kernel argument splitter', async (t) => {
  t.same(toNativeTargets([{ start: 0, length: 8, type: 'linear', params: 'a\\b 0' }])[0].params, 'a\\\\b 0')
})
