// `npm run demo`: boots the sandbox kernel (installing it first if needed) and runs examples/demo inside. Only
// the demo's own output is shown; `npm run demo -- --verbose` shows the guest kernel's console as well (it is
// also printed when the demo fails).
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runInGuest } from './guest'

const PROJECT = resolve(__dirname, '..', '..')
const { values } = parseArgs({ options: { verbose: { type: 'boolean', short: 'v', default: false } } })

runInGuest({ command: 'node build/examples/demo.js', cwd: PROJECT, console: values.verbose ? 'show' : 'on-failure' })
  .then((status) => {
    process.exitCode = status
  })
  .catch((err: Error) => {
    console.error(err.message)
    process.exitCode = 1
  })
