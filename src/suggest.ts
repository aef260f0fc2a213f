/**
 * The name in `known` that `key` most likely meant (same letters in another
 * order, a different case, or the same first three letters), or null. Shared
 * by option validation and the TCP_KEEPALIVE parser so both suggest alike.
 */
export function closest(key: string, known: Iterable<string>): string | null {
  const lower = key.toLowerCase()
  const sorted = [...lower].sort().join('')
  for (const name of known) {
    const k = name.toLowerCase()
    if (lower === k || (lower.length === k.length && sorted === [...k].sort().join(''))) return name
  }
  if (lower === '') return null
  for (const name of known) if (name.toLowerCase().startsWith(lower.slice(0, 3))) return name
  return null
}
