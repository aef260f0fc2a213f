// Types of lab.mjs for the tests that drive it (the demo runs it as plain JS).
import type { ChildProcessWithoutNullStreams, SpawnOptions } from 'node:child_process'

export const CLIENT_IP: string
export const MIDDLE_CLIENT_IP: string
export const MIDDLE_SERVER_IP: string
export const SERVER_IP: string

export interface Lab {
  id: string
  ns: { client: string; middle: string; server: string }
  dev: { c: string; mc: string; ms: string; s: string }
  idleTimeout: number
  destroyed: boolean
  /** Runs a command inside a namespace; returns its stdout. */
  exec(ns: string, cmd: string, args: string[], input?: string): string
  /** Starts a long-running process inside a namespace. */
  spawn(ns: string, cmd: string, args: string[], options?: SpawnOptions): ChildProcessWithoutNullStreams
  /** The middlebox drops everything from now on: the peer vanished. */
  blackhole(): void
  /** Packets the middlebox dropped because their flow was unknown to it. */
  dropped(): number
  destroy(): void
}

export interface LabServer {
  url(path: string): string
  stop(): void
}

/** One JSON line of a lab client: 'connected', 'response', 'error', 'gave-up', ... */
export interface LabEvent {
  event: string
  t: number
  code?: string
  status?: number
  localPort?: number
  probes?: number
  [key: string]: unknown
}

export interface ClientSpec {
  url: string
  path?: string
  options?: Record<string, unknown>
  mode?: 'request' | 'idle' | 'write'
  giveUpMs?: number
  nodeArgs?: string[]
  env?: Record<string, string>
  [key: string]: unknown
}

export interface LabClient {
  events: LabEvent[]
  exited: Promise<unknown>
  stderr(): string
  next(...names: string[]): Promise<LabEvent>
  /** The outcome: the first response, error or give-up. */
  result(): Promise<LabEvent>
  go(): void
  kill(): void
}

export interface Packet {
  /** Seconds since the epoch. */
  t: number
  srcPort: number
  dstPort: number
  /** '.' a bare ACK, 'R.' a reset. */
  flags: string
  len: number
}

export interface Capture {
  packets: Packet[]
  ready: Promise<unknown>
  stop(): Promise<unknown>
}

/** Why the lab cannot run here, or null. */
export function labUnavailable(): string | null
export function createLab(options?: { idleTimeout?: number }): Lab
export function startServer(lab: Lab, port?: number): Promise<LabServer>
export function startClient(lab: Lab, spec: ClientSpec): LabClient
/** replies: also the packets the middlebox passed on to the client. */
export function capture(lab: Lab, options?: { replies?: boolean }): Capture
