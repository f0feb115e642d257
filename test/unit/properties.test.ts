// Property tests (fast-check, with shrinking) over every parser and builder, the reply decoding and the name
// rules: a fixed number of runs per property on every test run. fuzz.test.ts runs the same for a time budget.
import fc from 'fast-check'
import { t } from 'tap'
import { checkAll } from './properties'

checkAll({ numRuns: 300 }, (name, details) => {
  t.test(name, async (t) => {
    t.notOk(details.failed, details.failed ? (fc.defaultReportMessage(details) ?? "failed") : `${details.numRuns} runs`)
  })
})
