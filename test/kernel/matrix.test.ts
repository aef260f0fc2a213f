// Every option given every kind of JS value, and every range bound +-1:
// the outcome must be what the written contract (test/harness/stress/model.mjs)
// says, and after each group the kernel, read from another process, must
// hold exactly what the accepted calls set.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { harness } from '../helpers/paths'
import { LINUX_LIMITS, NUMERIC, Planted, expectSet, mismatch } from '../harness/stress/model.mjs'
import { peekSockopt } from '../helpers/kernel'
import { fdOf, tcpPair, type Pair } from '../helpers/sockets'
import { capabilities, getKeepAlive, setKeepAlive } from '../lib'

const linux = process.platform === 'linux' && capabilities.native

let p: Pair
beforeAll(async () => {
  p = await tcpPair()
})
afterAll(() => p.close())

const VALUES: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['false', false],
  ["''", ''],
  ["'1000'", '1000'],
  ['a symbol', Symbol('v')],
  ['10n', 10n],
  ['2n ** 64n', 2n ** 64n],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-0', -0],
  ['0', 0],
  ['0.5', 0.5],
  ['1.5', 1.5],
  ['999.5', 999.5],
  ['Number.MIN_VALUE', Number.MIN_VALUE],
  ['Number.EPSILON', Number.EPSILON],
  ['2 ** 31', 2 ** 31],
  ['2 ** 32', 2 ** 32],
  ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
  ['MAX_SAFE_INTEGER + 2', Number.MAX_SAFE_INTEGER + 2],
  ['-MAX_SAFE_INTEGER', -Number.MAX_SAFE_INTEGER],
  ['MAX_VALUE', Number.MAX_VALUE],
  ['[]', []],
  ['[1000]', [1000]],
  ['{}', {}],
  ['a frozen object with valueOf', Object.freeze({ valueOf: () => 1000 })],
  ['new Number(1000)', Object(1000)],
  ['a Proxy', new Proxy({}, {})],
  ['a function', () => 1000],
  ['a Date', new Date(0)],
]

function outcome(options: unknown): unknown {
  try {
    setKeepAlive(p.client, options as never)
    return undefined
  } catch (err) {
    return err
  }
}

/** Runs cases, tracks what the kernel should hold, and checks it from outside once at the end. */
function runGroup(cases: [string, () => unknown][]): void {
  const want = { ...(peekSockopt(fdOf(p.client)) ?? getKeepAlive(p.client)) } as Record<string, unknown>
  const failures: string[] = []
  for (const [name, make] of cases) {
    const expected = expectSet('tcp', make())
    const bad = mismatch(expected, outcome(make()))
    if (bad) failures.push(`${name}: ${bad}`)
    else if (expected.set) Object.assign(want, expected.set)
  }
  expect(failures).toEqual([])
  const seen = peekSockopt(fdOf(p.client))
  if (seen) for (const k of ['enabled', ...NUMERIC]) expect(seen[k as 'idle'], k).toBe(want[k])
  const read = getKeepAlive(p.client)
  for (const k of ['enabled', ...NUMERIC]) expect(read[k as 'idle'], `getKeepAlive ${k}`).toBe(want[k])
}

describe.runIf(linux)('type x value matrix (Linux limits)', () => {
  it('the library reports the kernel\'s limits', () => {
    for (const k of NUMERIC) expect(capabilities.limits[k]).toEqual(LINUX_LIMITS[k])
  })

  it.each(NUMERIC)('options.%s: every type and value', (key) => {
    runGroup(VALUES.map(([name, v]) => [`${key} = ${name}`, () => ({ [key]: v })]))
  })

  it.each(NUMERIC)('options.%s: each range bound -1, +0, +1', (key) => {
    const { min, max } = LINUX_LIMITS[key]
    runGroup([min - 1, min, min + 1, max - 1, max, max + 1].map((v) => [`${key} = ${v}`, () => ({ [key]: v })]))
  })

  it('options.enable: every type and value', () => {
    runGroup(VALUES.map(([name, v]) => [`enable = ${name}`, () => ({ enable: v, idle: 9000 })]))
    setKeepAlive(p.client, { enable: true })
  })

  it('the options argument itself: every type and value', () => {
    runGroup(VALUES.map(([name, v]) => [`options = ${name}`, () => v]))
  })

  it('unknown and misspelled keys, alone and beside valid ones', () => {
    const keys = ['intreval', 'Idle', 'IDLE', 'keepAliveInitialDelay', 'timeout', 'probes', '', ' idle', 'idle ', 'constructor']
    runGroup(keys.flatMap((k) => [[`{ ${k} }`, () => ({ [k]: 1000 })], [`{ idle, ${k} }`, () => ({ idle: 3000, [k]: 1000 })]]))
  })

  it('hostile option objects', () => {
    const cases: [string, () => unknown][] = [
      ['frozen', () => Object.freeze({ idle: 4000, count: 4 })],
      ['sealed', () => Object.seal({ interval: 4000 })],
      ['null prototype', () => Object.assign(Object.create(null) as object, { count: 5 })],
      ['inherited values (no own keys)', () => Object.create({ idle: 6000 }) as object],
      ['a transparent Proxy', () => new Proxy({ idle: 7000 }, {})],
      ['a Proxy whose ownKeys throws', () => new Proxy({ idle: 7000 }, { ownKeys: () => { throw new Planted('ownKeys') } })],
      ['a getter that throws', () => ({ idle: 1000, get count() { throw new Planted('count') } })],
      ['symbol keys are not options', () => ({ idle: 8000, [Symbol('idle')]: 1 })],
      ['non-enumerable own key', () => Object.defineProperty({}, 'idle', { value: 9000, enumerable: false })],
      ['a getter read once (a second read would be invalid)', () => {
        let reads = 0
        return { get idle() { return ++reads === 1 ? 10_000 : -1 } }
      }],
    ]
    runGroup(cases)
  })
})

describe.runIf(linux)('the fuzzer (fast-check, model-checked)', () => {
  it('3000 cases over options x socket states pass', () => {
    const out = execFileSync(process.execPath, [join(harness, 'stress', 'fuzz.mjs'), '--runs', '3000'], { encoding: 'utf8' })
    expect(out).toMatch(/fuzz: 3000 passed, 0 failed/)
  })
})
