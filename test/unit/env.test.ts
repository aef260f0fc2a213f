// The recommended defaults and the TCP_KEEPALIVE grammar, in process
// (test/kernel/register.test.ts runs the preload as a user runs it).
import { describe, expect, it } from 'vitest'
import { connectUnderDefaults, expectApi, RECOMMENDED as R } from '../helpers/expect-api'
import { heldUnderSpread } from '../helpers/spread'
import { capabilities, getKeepAlive, install, parseKeepAliveEnv, recommended } from '../lib'

describe('recommended', () => {
  it('is frozen, and its user timeout equals the probing it must not cut short', () => {
    expect(recommended).toEqual(R)
    expect(Object.isFrozen(recommended)).toBe(true)
    expect(() => {
      ;(recommended as { idle: number }).idle = 1
    }).toThrow(TypeError)
    // First probe at half the shortest idle limit met (an NLB at its 60 s minimum).
    expect(recommended.idle).toBeLessThanOrEqual(60_000 / 2)
    // A dead peer is given up after about two minutes, by the count and by the user timeout alike.
    expect(recommended.idle + recommended.interval * recommended.count).toBe(120_000)
    expect(recommended.userTimeout).toBe(recommended.idle + recommended.interval * recommended.count)
  })

  it('install() without options applies them', () =>
    // Drawn per socket within the spread (README, "The spread").
    connectUnderDefaults((c) => expectApi(getKeepAlive(c), heldUnderSpread({ enabled: true, ...R }))))
})

describe('parseKeepAliveEnv', () => {
  // Linux with the addon: every option exists (the degraded forms are tested without the addon below).
  const all = capabilities.native && capabilities.userTimeout && capabilities.count
  const valid: Array<[string | undefined, ReturnType<typeof parseKeepAliveEnv>]> = [
    [undefined, { options: R, server: false, spread: true }],
    ['', { options: R, server: false, spread: true }],
    ['  \t', { options: R, server: false, spread: true }],
    ['on', { options: R, server: false, spread: true }],
    [' on ', { options: R, server: false, spread: true }],
    ['off', null],
    [' off\n', null],
    ['idle=60s,interval=10s,count=6,userTimeout=2m', { options: { idle: 60_000, interval: 10_000, count: 6, userTimeout: 120_000 }, server: false, spread: true }],
    // Keys not given keep the recommended value; the user timeout follows idle + interval x count.
    ['idle=45s', { options: { idle: 45_000, interval: 5000, count: 20, userTimeout: 145_000 }, server: false, spread: true }],
    ['count=3', { options: { idle: 20_000, interval: 5000, count: 3, userTimeout: 35_000 }, server: false, spread: true }],
    ['server=true', { options: R, server: true, spread: true }],
    ['server=false', { options: R, server: false, spread: true }],
    ['spread=false', { options: R, server: false, spread: false }],
    ['spread=true,server=true', { options: R, server: true, spread: true }],
    ['origins=true', { options: R, server: false, spread: true, origins: true }],
    ['server=true,origins=false', { options: R, server: true, spread: true, origins: false }],
    [' idle = 60s , count = 3 ', { options: { idle: 60_000, interval: 5000, count: 3, userTimeout: 75_000 }, server: false, spread: true }],
    ['idle=90000ms', { options: { idle: 90_000, interval: 5000, count: 20, userTimeout: 190_000 }, server: false, spread: true }],
    ['idle=0.5m,interval=500ms', { options: { idle: 30_000, interval: 500, count: 20, userTimeout: 50_000 }, server: false, spread: true }],
    // 1500 ms is held as 2 s by the kernel: the derived user timeout counts 2 s.
    ['idle=1.5s', { options: { idle: 1500, interval: 5000, count: 20, userTimeout: 102_000 }, server: false, spread: true }],
    ['idle=2.000s,interval=1.0ms', { options: { idle: 2000, interval: 1, count: 20, userTimeout: 22_000 }, server: false, spread: true }],
    ['idle=060s', { options: { idle: 60_000, interval: 5000, count: 20, userTimeout: 160_000 }, server: false, spread: true }],
    ['userTimeout=0', { options: { idle: 20_000, interval: 5000, count: 20, userTimeout: 0 }, server: false, spread: true }],
    ['userTimeout=5m,idle=10s', { options: { idle: 10_000, interval: 5000, count: 20, userTimeout: 300_000 }, server: false, spread: true }],
    // The sum passes the OS maximum: no user timeout, the count alone decides.
    ['idle=32767s,interval=32767s,count=127', { options: { idle: 32_767_000, interval: 32_767_000, count: 127 }, server: false, spread: true }],
  ]
  it.runIf(all).each(valid)('%j', (value, expected) => {
    expect(parseKeepAliveEnv(value)).toEqual(expected)
  })

  // Past this platform's maximum, whatever the platform.
  const idleTooLong = `${capabilities.limits.idle.max / 1000 + 1}s`
  const countTooMany = String(capabilities.limits.count.max + 1)
  const invalid: Array<[string, string, RegExp]> = [
    ['intreval=10s', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: unknown option "intreval" in "intreval=10s"; did you mean "interval"\? Options: idle, interval, count, userTimeout, server, spread, origins$/],
    ['idle=60s,intreval=10s', 'ERR_INVALID_ARG_VALUE', /unknown option "intreval".*did you mean "interval"/],
    ['userTimout=5s', 'ERR_INVALID_ARG_VALUE', /did you mean "userTimeout"/],
    ['Idle=5s', 'ERR_INVALID_ARG_VALUE', /unknown option "Idle".*did you mean "idle"/],
    ['servr=true', 'ERR_INVALID_ARG_VALUE', /did you mean "server"/],
    ['origins=yes', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "origins=yes": origins is true or false, not "yes"$/],
    ['origin=true', 'ERR_INVALID_ARG_VALUE', /did you mean "origins"/],
    ['enable=true', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: unknown option "enable" in "enable=true" Options: /],
    ['idle=0', 'ERR_OUT_OF_RANGE', /^TCP_KEEPALIVE: "idle=0": The value of "TCP_KEEPALIVE.idle" is out of range\. It must be >= 1 && <= \d+ .*Received 0$/],
    [`idle=${idleTooLong}`, 'ERR_OUT_OF_RANGE', new RegExp(`"idle=${idleTooLong}": .*out of range.*Received ${capabilities.limits.idle.max + 1000}$`)],
    ['idle=99999999999999999999999m', 'ERR_OUT_OF_RANGE', /out of range.*Received 6e\+27$/],
    ['count=0', 'ERR_OUT_OF_RANGE', /"count=0": The value of "TCP_KEEPALIVE.count" is out of range/],
    [`count=${countTooMany}`, 'ERR_OUT_OF_RANGE', /"TCP_KEEPALIVE.count" is out of range/],
    ['userTimeout=9999999999ms', 'ERR_OUT_OF_RANGE', /"TCP_KEEPALIVE.userTimeout" is out of range/],
    ['count=6s', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "count=6s": count is a number of probes \(a whole number such as 9\), not "6s"$/],
    ['count=1.5', 'ERR_INVALID_ARG_VALUE', /count is a number of probes/],
    ['count=-1', 'ERR_INVALID_ARG_VALUE', /count is a number of probes/],
    ['idle=1.0005s', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "idle=1.0005s": "1.0005s" is not a whole number of milliseconds$/],
    ['idle=1.5', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "idle=1.5": "1.5" has no unit; did you mean "1.5s"\?/],
    // A bare number was milliseconds: idle=60 set 60 ms where a minute was meant.
    ['idle=60', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "idle=60": "60" has no unit; did you mean "60s"\? Write ms, s or m \(60ms, 60s, 60m\)$/],
    ['interval=5', 'ERR_INVALID_ARG_VALUE', /did you mean "5s"\?/],
    ['userTimeout=30000', 'ERR_INVALID_ARG_VALUE', /"30000" has no unit/],
    ['interval=0.5ms', 'ERR_INVALID_ARG_VALUE', /"0.5ms" is not a whole number of milliseconds/],
    ['idle=-5s', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "idle=-5s": "-5s" is not a duration; write a number with ms, s or m/],
    ['idle=5h', 'ERR_INVALID_ARG_VALUE', /"5h" is not a duration/],
    ['idle=5S', 'ERR_INVALID_ARG_VALUE', /"5S" is not a duration/],
    ['idle=5 s', 'ERR_INVALID_ARG_VALUE', /"5 s" is not a duration/],
    ['idle=1e3', 'ERR_INVALID_ARG_VALUE', /"1e3" is not a duration/],
    ['idle=0x10', 'ERR_INVALID_ARG_VALUE', /"0x10" is not a duration/],
    ['idle=.5s', 'ERR_INVALID_ARG_VALUE', /".5s" is not a duration/],
    ['userTimeout=-1', 'ERR_INVALID_ARG_VALUE', /"-1" is not a duration/],
    ['server=yes', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "server=yes": server is true or false, not "yes"$/],
    ['server=TRUE', 'ERR_INVALID_ARG_VALUE', /server is true or false/],
    ['spread=no', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "spread=no": spread is true or false, not "no"$/],
    ['spread=0', 'ERR_INVALID_ARG_VALUE', /spread is true or false/],
    ['spread=', 'ERR_INVALID_ARG_VALUE', /"spread=" has no value/],
    ['spred=false', 'ERR_INVALID_ARG_VALUE', /did you mean "spread"/],
    ['ON', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "ON" is not key=value \(did you mean "on"\?\); write on, off, or key=value parts/],
    ['yes', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "yes" is not key=value; write on, off/],
    ['idle', 'ERR_INVALID_ARG_VALUE', /"idle" is not key=value \(did you mean "idle"\?\)/],
    ['on,server=true', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "on" stands alone/],
    ['off,idle=5s', 'ERR_INVALID_ARG_VALUE', /"off" stands alone/],
    ['idle=5s,,count=2', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: empty part in "idle=5s,,count=2"/],
    ['idle=5s,', 'ERR_INVALID_ARG_VALUE', /empty part/],
    [',idle=5s', 'ERR_INVALID_ARG_VALUE', /empty part/],
    ['idle=5s,idle=6s', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "idle" is given twice \("idle=5s" and "idle=6s"\)$/],
    ['server=true,server=true', 'ERR_INVALID_ARG_VALUE', /"server" is given twice/],
    ['=5s', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "=5s" has no option name/],
    ['idle=', 'ERR_INVALID_ARG_VALUE', /^TCP_KEEPALIVE: "idle=" has no value$/],
    ['idle=5s=6s', 'ERR_INVALID_ARG_VALUE', /"5s=6s" is not a duration/],
    ['idle=5s\ncount=3', 'ERR_INVALID_ARG_VALUE', /"5s\\ncount=3" is not a duration/],
  ]
  it.each(invalid)('%j: %s', (value, code, message) => {
    let caught: unknown
    try {
      parseKeepAliveEnv(value)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(Error)
    const err = caught as Error & { code: string }
    expect(err.code).toBe(code)
    expect(err).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError)
    expect(err.message).toMatch(message)
    // One line, whatever the value held.
    expect(err.message).not.toContain('\n')
  })

  it('checks ranges with the API validator: the same message as install() with the same value', () => {
    let fromApi = ''
    try {
      install({ idle: capabilities.limits.idle.max + 1000 })
    } catch (err) {
      fromApi = (err as Error).message
    }
    expect(fromApi).toMatch(/^The value of "options.idle" is out of range/)
    expect(() => parseKeepAliveEnv(`idle=${idleTooLong}`)).toThrow(`TCP_KEEPALIVE: "idle=${idleTooLong}": ${fromApi.replace('"options.idle"', '"TCP_KEEPALIVE.idle"')}`)
  })

  it('names another variable when asked, and refuses non-strings', () => {
    expect(() => parseKeepAliveEnv('intreval=1s', 'MY_KEEPALIVE')).toThrow(/^MY_KEEPALIVE: unknown option "intreval"/)
    expect(() => parseKeepAliveEnv(5 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})
