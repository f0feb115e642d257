// TypeDoc plugin: every `...Sync` method without a doc comment of its own is documented from its promise twin
// (same arguments, same result, blocking), so the API reference covers both forms without each comment written
// twice in the source. A Sync method left without documentation (its twin has none either) fails the run.
import { Comment, Converter, ReflectionKind } from 'typedoc'

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const method of context.project.getReflectionsByKind(ReflectionKind.Method)) {
      if (!method.name.endsWith('Sync') || !method.parent) continue
      const twin = method.parent.getChildByName(method.name.slice(0, -'Sync'.length))
      const source = twin?.signatures?.find((s) => s.comment)?.comment ?? twin?.comment
      for (const sig of method.signatures ?? []) {
        if (sig.comment?.summary.length) continue
        if (!source) {
          app.logger.error(`${method.parent.name}.${method.name} has no documentation, and neither has a promise twin`)
          continue
        }
        const comment = source.clone()
        comment.summary = [
          { kind: 'text', text: 'The synchronous twin of ' },
          { kind: 'code', text: `\`${twin.name}\`` },
          { kind: 'text', text: ': the same arguments and result, returned directly; it blocks the JS thread until the kernel answers.\n\n' },
          ...comment.summary,
        ]
        sig.comment = comment
      }
    }
  })
}
