// Where a socket taken from another process must be received so that the
// kernel leaves it as it was. Receiving a socket (pidfd_getfd, SCM_RIGHTS)
// sets its cgroup v1 net_cls classid and net_prio index to the receiving
// thread's; a thread in the target's net_cls and net_prio cgroups writes back
// the values the target's sockets already hold.
import { readFileSync } from 'node:fs'

const CONTROLLERS = ['net_cls', 'net_prio'] as const

export interface CgroupPlan {
  /** `tasks` files the taking thread joins (empty: its own cgroups are the target's already). */
  join: string[]
  /**
   * The classid the target's net_cls cgroup gives its sockets (0 without a
   * net_cls hierarchy); null when that cgroup is the taking thread's own but
   * not mounted here, so it cannot be read (the values written are then those
   * the target's own threads give their sockets).
   */
  classid: number | null
  /** Why sockets cannot be taken safely, or null. */
  unsafe: string | null
}

interface Membership {
  controllers: string[]
  path: string
}

function memberships(file: string): Membership[] {
  const out: Membership[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line)
    if (m && m[1] !== '') out.push({ controllers: (m[1] as string).split(','), path: m[2] as string })
  }
  return out
}

interface Mount {
  root: string
  point: string
  options: string[]
}

// /proc/self/mountinfo: "id parent dev root mountpoint opts [tags] - fstype source superopts".
function cgroupMounts(): Mount[] {
  const out: Mount[] = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ')
    if (!left || !right) continue
    const [fstype, , superopts = ''] = right.split(' ')
    if (fstype !== 'cgroup') continue
    const f = left.split(' ')
    // Mount points escape spaces and the like as octal (\040).
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
    out.push({ root: unescape(f[3] ?? ''), point: unescape(f[4] ?? ''), options: superopts.split(',') })
  }
  return out
}

const sameSet = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x) => b.includes(x))

export function cgroupPlan(pid: number): CgroupPlan {
  let target: Membership[]
  let mine: Membership[]
  try {
    target = memberships(`/proc/${pid}/cgroup`)
    // The taking thread is created by this one and starts in its cgroups.
    mine = memberships('/proc/thread-self/cgroup')
  } catch (err) {
    return { join: [], classid: 0, unsafe: `cannot read the cgroups (${(err as Error).message})` }
  }
  const join: string[] = []
  let classid: number | null = 0
  let mounts: Mount[] | null = null
  for (const m of target) {
    if (!m.controllers.some((c) => (CONTROLLERS as readonly string[]).includes(c))) continue
    const hasCls = m.controllers.includes('net_cls')
    const own = mine.find((x) => sameSet(x.controllers, m.controllers))
    mounts ??= cgroupMounts()
    const mount = mounts.find((x) => m.controllers.every((c) => x.options.includes(c)) && (m.path === x.root || m.path.startsWith(x.root === '/' ? '/' : `${x.root}/`)))
    if (!mount) {
      if (own?.path === m.path) {
        if (hasCls) classid = null
        continue
      }
      return { join: [], classid, unsafe: `the ${m.controllers.join(',')} cgroup hierarchy of process ${pid} is not mounted here` }
    }
    const dir = `${mount.point}${m.path.slice(mount.root === '/' ? 0 : mount.root.length)}`.replace(/\/+$/, '')
    if (hasCls) {
      try {
        classid = Number(readFileSync(`${dir}/net_cls.classid`, 'utf8').trim())
      } catch (err) {
        return { join: [], classid, unsafe: `cannot read ${dir}/net_cls.classid (${(err as Error).message})` }
      }
    }
    if (own?.path !== m.path) join.push(`${dir}/tasks`)
  }
  return { join, classid, unsafe: null }
}

/**
 * Whether receiving the socket in the target's net_cls cgroup writes back the
 * classid it holds. sock_diag reports sk_priority instead when the classid is
 * 0; priorities below 0x10000 cannot be classids (a classid's major is not 0).
 */
export function classidKept(socketClassid: number | null, cgroupClassid: number | null): boolean {
  if (socketClassid === null || cgroupClassid === null) return true
  return socketClassid === cgroupClassid || (cgroupClassid === 0 && socketClassid < 0x10000)
}
