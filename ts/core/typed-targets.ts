// What table() and status() return: a union keyed on `type`. The typed fields of each target type are declared
// by the wing that parses them (ts/targets), by augmenting the two maps below, the way registerTargetType() adds
// the parsers at run time; core imports nothing from above. A user's own target type can be added the same way:
//   declare module 'devmapper' { interface StatusFieldsByType { 'my-target': { state: string } } }

/** Target type name → the typed fields parsed from its table line. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface TableFieldsByType {}

/** Target type name → the typed fields parsed from its status line. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface StatusFieldsByType {}

declare const unknownTargetType: unique symbol
/**
 * The `type` of a target without typed fields, as the type system sees it. At run time it is the kernel's name
 * ('era', 'writecache', ...). A `string` here would keep this member in every narrowing (`t.type === 'thin-pool'`
 * would leave the typed fields unreachable), so it is a branded literal that equals no real target name (those
 * have no spaces or parentheses): `t.type === 'thin-pool'` narrows, and a `switch` on `t.type` ends in a
 * `default` holding the unknown ones. Compare such a name as a string: `(t.type as string) === 'era'`, or add
 * its fields to {@link TableFieldsByType} / {@link StatusFieldsByType}.
 */
export type UnknownTargetType = '(unknown target type)' & { readonly [unknownTargetType]: true }

/**
 * A target of a type devmapper has no parser for: its sectors, type name and raw parameter string. `N`, here and
 * below, is how start and length are read: `number` by default (exact; a value past 2^53 is refused with ERANGE,
 * never rounded), `bigint` with the `{ bigint: true }` option.
 */
export type UnknownTarget<N extends number | bigint = number> = { start: N; length: N; type: UnknownTargetType; params: string }

/** One member per known type: the raw fields with `type` as the literal name, and that type's typed fields. */
export type KnownTarget<Fields, N extends number | bigint = number> = {
  [K in keyof Fields & string]: { start: N; length: N; type: K; params: string } & Fields[K]
}[keyof Fields & string]

/**
 * A target as `table()` returns it: `start`, `length`, `type`, `params` and the typed fields of its type
 * (`if (t.type === 'linear') t.device`). Types without a parser are `UnknownTarget`s.
 */
export type TableTarget<N extends number | bigint = number> = KnownTarget<TableFieldsByType, N> | UnknownTarget<N>

/**
 * A target as `status()` returns it: `start`, `length`, `type`, `params` (the raw status line) and the typed
 * status fields of its type (`if (s.type === 'thin-pool' && s.state === 'active') s.usedDataBlocks`).
 */
export type StatusTarget<N extends number | bigint = number> = KnownTarget<StatusFieldsByType, N> | UnknownTarget<N>
