// `npm run demo`: boots the sandbox kernel (installing it first if needed) and runs examples/demo inside.
import { resolve } from 'node:path'
import { runInGuest } from './guest'

const PROJECT = resolve(__dirname, '..', '..')

runInGuest({ command: 'node build/examples/demo.js', cwd: PROJECT })
  .then((status) => {
    process.exitCode = status
  })
  .catch((err: Error) => {
    console.error(err.message)
    process.exitCode = 1
  })
