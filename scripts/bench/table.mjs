// The benches' plain-text table: columns padded to their widest cell.
export function printTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String))
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  for (const r of all) console.log(r.map((c, i) => c.padEnd(widths[i])).join(' | '))
}
