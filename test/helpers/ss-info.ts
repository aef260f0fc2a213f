// The kernel's TCP_INFO as `ss -tinoH` prints it, read from outside the
// process under test: what getTcpInfo must agree with.
export interface SsInfo {
  state: string
  rtt: number
  rttVariance: number
  rto: number
  mss: number
  cwnd: number
  /** ss prints these counters only when non-zero; absent means 0. */
  bytesSent: number
  bytesAcked: number
  bytesReceived: number
  unacked: number
  /** retrans:X/Y's X: segments retransmitted and still in flight (tcpi_retrans). */
  retransOut: number
  totalRetransmits: number
  lastSend: number
  lastReceive: number
  lastAck: number
  /** timer:(name,remaining,retries): for `on` (retransmit timer), retries = tcpi_retransmits;
   *  for `keepalive`, retries = unanswered probes (tcpi_probes). */
  timer: { name: string; retries: number } | null
}

// ss state column -> getTcpInfo's names.
const STATES: Record<string, string> = {
  ESTAB: 'established', 'SYN-SENT': 'syn-sent', 'SYN-RECV': 'syn-received', 'FIN-WAIT-1': 'fin-wait-1', 'FIN-WAIT-2': 'fin-wait-2',
  'TIME-WAIT': 'time-wait', 'CLOSE-WAIT': 'close-wait', 'LAST-ACK': 'last-ack', CLOSING: 'closing', LISTEN: 'listen', UNCONN: 'closed',
}

/** Parses the output of `ss -tinoH` (with the state column) for one socket. */
export function parseSsInfo(text: string): SsInfo {
  const tokens = text.trim().split(/\s+/)
  const kv = new Map<string, string>()
  for (const t of tokens) {
    const m = /^([a-z_]+):(.+)$/.exec(t)
    if (m) kv.set(m[1] as string, m[2] as string)
  }
  const num = (key: string): number => Number(kv.get(key) ?? 0)
  const [rtt, rttvar] = (kv.get('rtt') ?? '0/0').split('/').map(Number) as [number, number]
  const [retrans, total] = (kv.get('retrans') ?? '0/0').split('/').map(Number) as [number, number]
  const timer = /timer:\((\w+),[^,]+,(\d+)\)/.exec(text)
  return {
    state: STATES[tokens[0] as string] ?? (tokens[0] as string),
    rtt,
    rttVariance: rttvar,
    rto: num('rto'),
    mss: num('mss'),
    cwnd: num('cwnd'),
    bytesSent: num('bytes_sent'),
    bytesAcked: num('bytes_acked'),
    bytesReceived: num('bytes_received'),
    unacked: num('unacked'),
    retransOut: retrans,
    totalRetransmits: total,
    lastSend: num('lastsnd'),
    lastReceive: num('lastrcv'),
    lastAck: num('lastack'),
    timer: timer ? { name: timer[1] as string, retries: Number(timer[2]) } : null,
  }
}
