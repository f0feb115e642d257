#!/usr/bin/env node
// The `devmapper` command (package.json "bin"): dmsetup's verbs and layouts, --json, watch and pool verbs.
import { run } from './run'

run(process.argv.slice(2)).then((status) => {
  process.exitCode = status
})
