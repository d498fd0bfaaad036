// Whether every configured name can be held by the store, alone and side by side
// (DESIGN.md §3, §5): files/<name> is a file and files/<name>/... would need it to be a
// directory; records/<name>.rec is a file, so no other name may need records/<name>.rec/
// as a directory; a namespace admits "<ns>/<43-char key>" for any key, so those names
// take part too. Checked when the config is loaded, naming the key; see docs/DECISIONS.md.
import { MAX_NAME_BYTES, parseNamespaceName, RECORD_SUFFIX, storableNameProblem } from '../crypto/names.js'

/** Length of "/<base64url(32-byte key)>" at the end of every namespace name. */
const NAMESPACE_TAIL_BYTES = 1 + 43

export interface LayoutProblem { key: string, reason: string }

export function nameLayoutProblem (files: readonly string[], namespaces: readonly string[]): LayoutProblem | undefined {
  const fileKey = (name: string): string => `files."${name}"`
  const nsKey = (ns: string): string => `namespaces[${namespaces.indexOf(ns)}]`
  for (const name of files) {
    const problem = storableNameProblem(name)
    if (problem !== undefined) return { key: fileKey(name), reason: problem }
  }
  for (const ns of namespaces) {
    const problem = storableNameProblem(ns)
    if (problem !== undefined) return { key: nsKey(ns), reason: problem }
    const bytes = Buffer.byteLength(ns, 'utf8')
    if (bytes + NAMESPACE_TAIL_BYTES > MAX_NAME_BYTES) {
      return { key: nsKey(ns), reason: `is ${bytes} bytes: its names ("${ns}/<43-character key>") would be longer than ${MAX_NAME_BYTES} bytes` }
    }
  }
  const fileSet = new Set(files)
  const nsSet = new Set(namespaces)
  /** the namespace that admits `name`, if any */
  const namespaceOf = (name: string): string | undefined => {
    const ns = parseNamespaceName(name)?.namespace
    return ns !== undefined && nsSet.has(ns) ? ns : undefined
  }
  // files/<name> is a file and files/<name>/... would need it to be a directory
  const paths = [...files, ...namespaces.map(ns => ns + '/')]
  for (const a of paths) {
    if (a.endsWith('/')) continue
    const clash = paths.find(b => b !== a && b.startsWith(a + '/'))
    if (clash !== undefined) return { key: fileSet.has(a) ? fileKey(a) : 'namespaces', reason: `"${a}" is a file name and a folder of "${clash.replace(/\/$/, '/<key>')}"; one of them must be renamed` }
  }
  for (const name of files) {
    const ns = namespaceOf(name)
    if (ns !== undefined) return { key: fileKey(name), reason: `is also a name of namespace "${ns}" (signed by the key it names); configure one or the other` }
  }
  // every directory a configured name needs, with who needs it
  const dirs: Array<{ dir: string, key: string }> = []
  for (const name of files) {
    const segments = name.split('/')
    for (let i = 1; i < segments.length; i++) dirs.push({ dir: segments.slice(0, i).join('/'), key: fileKey(name) })
  }
  for (const ns of namespaces) {
    const segments = ns.split('/')
    for (let i = 1; i <= segments.length; i++) dirs.push({ dir: segments.slice(0, i).join('/'), key: nsKey(ns) })
  }
  for (const { dir, key } of dirs) {
    const ns = namespaceOf(dir)
    if (ns !== undefined) return { key, reason: `needs "${dir}" as a folder, but that is a file name in namespace "${ns}"` }
    if (!dir.endsWith(RECORD_SUFFIX)) continue
    const base = dir.slice(0, -RECORD_SUFFIX.length)
    if (fileSet.has(base) || namespaceOf(base) !== undefined) {
      return { key, reason: `needs "${dir}" as a folder, where the store keeps the record of "${base}" (records/${dir}); one of them must be renamed` }
    }
  }
  return undefined
}
