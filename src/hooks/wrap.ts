// One revocable wrapper of a prototype method, for the runtimes that publish
// nothing on a path the hooks need (Socket.prototype.connect on Node 18, 20
// and Bun; net.Server's emit on Bun).
//
// Other code wraps these methods too (APM agents, mocks), before or after
// us, and may put back what it found. So the wrapper is one function for the
// life of the process: our part of any chain is at most this one layer. When
// revoked while someone has wrapped it, it stays in their chain as a
// pass-through, and steps out as soon as it finds itself on top again.

/** Any method: called only through Reflect.apply, with the arguments it was given. */
type Method = (this: never, ...args: never[]) => unknown

export interface WrapSpec<This> {
  /** Where the method lives (a prototype) and its name there. */
  readonly target: object
  readonly key: string
  /** Runs before the wrapped method on every call while the wrapper is patched. Never throws. */
  before(self: This, args: unknown[]): void
  /** Calls `fn` (whatever is in place) once, harmlessly: the wrapper, if reached, then counts as in place. */
  probe(fn: Method): void
}

export interface Wrap {
  /** Puts the wrapper in place, or finds it still reached under someone else's. Idempotent. */
  patch(): void
  /** Revokes it: removed when on top, a pass-through when someone has wrapped it since. */
  unpatch(): void
  /** Cheap per-call check that the wrapper is the method in place; patches again when someone put back
   *  what was there before us (then true), false when ours is only reached through someone's wrapper. */
  check(): boolean
  readonly patched: boolean
}

interface WrapState {
  /** What the wrapper calls on: the method found when first put in place. */
  next: Method | null
  patched: boolean
  /** The method in place when last looked at (check() compares only this). */
  lastSeen: unknown
  probing: boolean
  probeHit: boolean
}

export function revocableWrap<This>(spec: WrapSpec<This>): Wrap {
  const slot = spec.target as Record<string, unknown>
  const key = spec.key
  const state: WrapState = { next: null, patched: false, lastSeen: null, probing: false, probeHit: false }

  const wrapper = function (this: This, ...args: unknown[]): unknown {
    if (state.probing) state.probeHit = true
    else if (state.patched) spec.before(this, args)
    else if (slot[key] === wrapper) slot[key] = state.next // a pass-through on top again: step out
    return Reflect.apply(state.next as Method, this, args)
  }

  function reached(current: Method): boolean {
    state.probeHit = false
    state.probing = true
    try {
      spec.probe(current)
    } catch {
      // The probe call is meant to be refused (missing arguments); a wrapper
      // that refuses it some other way is judged by whether ours was reached.
    } finally {
      state.probing = false
    }
    return state.probeHit
  }

  function patch(): void {
    const current = slot[key] as Method
    state.patched = true
    state.lastSeen = current
    if (current === wrapper) return
    // Wrapped by someone since: reuse ours if it is still in their chain.
    if (state.next !== null && current !== state.next && reached(current)) return
    state.next = current
    slot[key] = wrapper
    state.lastSeen = wrapper
  }

  return {
    patch,
    unpatch() {
      state.patched = false
      if (slot[key] === wrapper && state.next !== null) slot[key] = state.next
    },
    check() {
      if (slot[key] !== state.lastSeen) patch()
      return state.lastSeen === wrapper
    },
    get patched() {
      return state.patched
    },
  }
}
