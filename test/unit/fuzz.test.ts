// The bounded-time fuzz step: every property of ./properties run with fresh random seeds for as long as the
// budget allows (DEVMAPPER_FUZZ_MS in total, default 10 s, split evenly), so the unit suite fuzzes on every run
// without an unbounded cost. A counterexample is reported shrunk, with the seed that replays it.
import fc from 'fast-check'
import { t } from 'tap'
import { checkAll, properties } from './properties'

const budget = Number(process.env.DEVMAPPER_FUZZ_MS ?? 10_000)
const each = Math.max(100, Math.floor(budget / properties.length))

checkAll({ numRuns: 10_000_000, interruptAfterTimeLimit: each, markInterruptAsFailure: false }, (name, details) => {
  t.test(`fuzz: ${name}`, async (t) => {
    t.notOk(details.failed, details.failed ? (fc.defaultReportMessage(details) ?? "failed") : `${details.numRuns} runs in ${each} ms`)
    t.ok(details.numRuns > 0, 'ran at least once')
  })
})
