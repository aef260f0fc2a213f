// Network namespaces, named by inode (`net:[inode]`): where a process's
// sockets may live besides its own namespace.
import { readdirSync, statSync } from 'node:fs'

export function nsInode(path: string): number | null {
  try {
    return statSync(path).ino
  } catch {
    return null
  }
}

// Network namespaces the target's threads sit in, and ours: where sockets it
// received or kept across setns usually live.
export function otherNamespaces(pid: number, targetNs: number | null): Map<number, string> {
  const out = new Map<number, string>()
  const own = nsInode('/proc/thread-self/ns/net')
  let tasks: string[] = []
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    // the process is gone: its threads' namespaces with it
  }
  for (const tid of tasks) {
    const ino = nsInode(`/proc/${pid}/task/${tid}/ns/net`)
    if (ino !== null && ino !== targetNs && !out.has(ino)) out.set(ino, ino === own ? '' : `/proc/${pid}/task/${tid}/ns/net`)
  }
  if (own !== null && own !== targetNs) out.set(own, '')
  return out
}
