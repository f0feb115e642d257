// The volume manager's pure parts on the host: the state store (atomic writes, temp files of dead writers swept,
// bad documents refused), thin id allocation (24-bit, wrapping, never an id the state holds) and the reconcile
// decisions (forward or back per operation, transaction-id checks).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { t } from 'tap'
import { allocateId, MAX_THIN_ID, usedIds } from '../../ts/volumes/ids'
import { checkTransactionId, decide } from '../../ts/volumes/reconcile'
import { readState, STATE_VERSION, sweepTemps, writeState, type Intent, type State } from '../../ts/volumes/store'

function state(over: Partial<State> = {}): State {
  return {
    version: STATE_VERSION,
    identity: 'abc',
    pool: { name: 'p', kind: 'loop', created: true, lvm: false, blockSectors: 128 },
    transactionId: '4',
    nextId: 1,
    volumes: {},
    pendingDeletes: [],
    quarantined: [],
    ...over,
  }
}

t.test('state store: atomic write, read back, temp files of dead writers swept, garbage refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'volstate-'))
  t.equal(readState(dir), undefined, 'no state yet')
  const s = state({ volumes: { a: { deviceId: 3, size: 4096, fs: 'ext4', createdAt: 'now' } } })
  writeState(dir, s)
  t.same(readState(dir), s)
  t.same(readdirSync(dir), ['state.json'], 'no temp file left')
  writeFileSync(join(dir, '.state.json.tmp-999999999'), '{"torn')
  writeFileSync(join(dir, `.state.json.tmp-${process.pid}`), 'mine')
  sweepTemps(dir)
  t.same(readdirSync(dir).sort(), [`.state.json.tmp-${process.pid}`, 'state.json'], "a dead writer's temp file goes, a live one's stays")
  t.same(readState(dir), s, 'temp files never read')
  writeFileSync(join(dir, 'state.json'), '{"version": 99, "identity": "x", "volumes": {}}')
  t.throws(() => readState(dir), { code: 'EINVAL' }, 'unknown version')
  writeFileSync(join(dir, 'state.json'), 'not json')
  t.throws(() => readState(dir), { code: 'EINVAL' })
  t.ok(readFileSync(join(dir, 'state.json')))
})

t.test('thin ids: 24-bit, start at nextId, skip every id the state holds, wrap', async (t) => {
  const s = state({
    nextId: 5,
    volumes: { a: { deviceId: 5, size: 1, fs: 'none', createdAt: '' }, b: { deviceId: 6, size: 1, fs: 'none', createdAt: '' } },
    pendingDeletes: [7],
    quarantined: [8],
    intent: { op: 'create', name: 'c', deviceId: 9, size: 1, fs: 'none', txid: '4', createdAt: '' },
  })
  t.same([...usedIds(s)].sort((a, b) => a - b), [5, 6, 7, 8, 9])
  t.equal(allocateId(s), 10)
  t.equal(s.nextId, 11)
  const w = state({ nextId: MAX_THIN_ID, volumes: { z: { deviceId: MAX_THIN_ID, size: 1, fs: 'none', createdAt: '' } } })
  t.equal(allocateId(w), 0, 'wraps past 2^24-1')
  t.equal(w.nextId, 1)
})

t.test('reconcile: create and snapshot commit at the transaction id, the rest roll forward', async (t) => {
  const create: Intent = { op: 'create', name: 'v', deviceId: 1, size: 1, fs: 'none', txid: '4', createdAt: '' }
  const snap: Intent = { op: 'snapshot', name: 's', deviceId: 2, source: 'v', sourceId: 1, size: 1, fs: 'none', txid: '4', createdAt: '' }
  t.equal(decide(create, 5n, true), 'forward', 'pool at txid+1: committed')
  t.equal(decide(create, 4n, true), 'back', 'pool still at txid: undo')
  t.equal(decide(snap, 5n, true), 'forward')
  t.equal(decide(snap, 4n, true), 'back')
  t.equal(decide(create, 5n, false), 'back', 'no transaction id to go by (LVM): undo')
  t.equal(decide({ op: 'remove', name: 'v', deviceId: 1, txid: '4', deferred: false }, 4n, true), 'forward')
  t.equal(decide({ op: 'resize', name: 'v', size: 2, oldSize: 1 }, 4n, true), 'forward')
  t.equal(decide({ op: 'purge', deviceId: 3, txid: '4' }, 4n, true), 'forward')

  t.doesNotThrow(() => checkTransactionId(state(), 4n, true, 'p'), 'pool at the committed id')
  t.throws(() => checkTransactionId(state(), 5n, true, 'p'), { code: 'EBUSY' }, 'moved with no intent: someone else')
  t.doesNotThrow(() => checkTransactionId(state({ intent: create }), 5n, true, 'p'), 'moved by the intent in flight')
  t.throws(() => checkTransactionId(state({ intent: create }), 6n, true, 'p'), { code: 'EBUSY' })
  t.throws(() => checkTransactionId(state(), 3n, true, 'p'), { code: 'EBUSY' }, 'went back')
  t.doesNotThrow(() => checkTransactionId(state(), 113n, false, 'p'), 'LVM pools: not ours to check')
  t.doesNotThrow(() => checkTransactionId(state({ transactionId: '18446744073709551614', intent: { ...create, txid: '18446744073709551614' } }), 18446744073709551615n, true, 'p'), '64-bit ids')
})
