// GNU getopt_long (glibc 2.36) as C tools see it, for reproducing their behaviour and messages byte for byte:
// options are handed out in order (arguments that are not options are skipped: glibc permutes them to the end),
// '--' ends the options, long names may be abbreviated to any prefix (an ambiguous prefix is an error), a required
// argument is attached ('-b4', '--x=4') or the next word ('-b 4', '--x 4') whatever it looks like, an optional one
// only attached. Errors carry glibc's exact message; the caller prints it and stops, as the tools do. Not modelled:
// POSIXLY_CORRECT and a leading '+', '-' or ':' in the option string.

export type ArgKind = 'none' | 'required' | 'optional'

export interface LongOption {
  name: string
  has: ArgKind
  /** the short option character reported for it */
  val: string
}

export type GetoptItem =
  | { opt: string; arg?: string }
  | { error: string }

function shortKinds(optstring: string): Map<string, ArgKind> {
  const kinds = new Map<string, ArgKind>()
  for (let i = 0; i < optstring.length; i++) {
    const c = optstring[i]
    if (c === ':') continue
    const kind: ArgKind = optstring[i + 1] !== ':' ? 'none' : optstring[i + 2] === ':' ? 'optional' : 'required'
    kinds.set(c, kind)
  }
  return kinds
}

/** Yields each option of `args` (argv without argv[0]) in order; stops after an error item. */
export function* getoptLong(args: readonly string[], optstring: string, longopts: readonly LongOption[], argv0: string): Generator<GetoptItem> {
  const kinds = shortKinds(optstring)
  for (let i = 0; i < args.length; i++) {
    const word = args[i]
    if (word === '--') return
    if (!word.startsWith('-') || word === '-') continue
    if (word.startsWith('--')) {
      const body = word.slice(2)
      const eq = body.indexOf('=')
      const name = eq < 0 ? body : body.slice(0, eq)
      const exact = longopts.find((o) => o.name === name)
      const matches = exact ? [exact] : longopts.filter((o) => o.name.startsWith(name))
      if (matches.length > 1) {
        yield { error: `${argv0}: option '${word}' is ambiguous; possibilities:${matches.map((o) => ` '--${o.name}'`).join('')}` }
        return
      }
      const o = matches[0]
      if (!o) {
        yield { error: `${argv0}: unrecognized option '${word}'` }
        return
      }
      if (eq >= 0) {
        if (o.has === 'none') {
          yield { error: `${argv0}: option '--${o.name}' doesn't allow an argument` }
          return
        }
        yield { opt: o.val, arg: body.slice(eq + 1) }
      } else if (o.has === 'required') {
        if (i + 1 >= args.length) {
          yield { error: `${argv0}: option '--${o.name}' requires an argument` }
          return
        }
        yield { opt: o.val, arg: args[++i] }
      } else {
        yield { opt: o.val }
      }
      continue
    }
    for (let j = 1; j < word.length; j++) {
      const c = word[j]
      const kind = kinds.get(c)
      if (kind === undefined) {
        yield { error: `${argv0}: invalid option -- '${c}'` }
        return
      }
      const rest = word.slice(j + 1)
      if (kind === 'none') {
        yield { opt: c }
        continue
      }
      if (rest !== '') yield { opt: c, arg: rest }
      else if (kind === 'optional') yield { opt: c }
      else if (i + 1 < args.length) yield { opt: c, arg: args[++i] }
      else {
        yield { error: `${argv0}: option requires an argument -- '${c}'` }
        return
      }
      break
    }
  }
}
