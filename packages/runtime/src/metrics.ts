/**
 * A small Prometheus text exposition: request counts by route kind and status, denials
 * by code, latency buckets, policy reloads. Labels come from fixed sets (never from
 * request text), so cardinality is bounded.
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class Metrics {
  /** Counts by route kind, then by status. */
  readonly #requests = new Map<string, Map<number, number>>();
  readonly #denials = new Map<string, number>();
  readonly #buckets = new Array<number>(BUCKETS.length + 1).fill(0);
  #sum = 0;
  #count = 0;
  #reloads = 0;
  #reloadFailures = 0;
  #hash = '';
  readonly #started = Date.now();

  request(kind: string, status: number, seconds: number): void {
    let byStatus = this.#requests.get(kind);
    if (byStatus === undefined) this.#requests.set(kind, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.#buckets[i]!++;
    this.#sum += seconds;
    this.#count++;
  }

  denied(code: string): void {
    this.#denials.set(code, (this.#denials.get(code) ?? 0) + 1);
  }

  policyLoaded(hash: string): void {
    if (this.#hash) this.#reloads++;
    this.#hash = hash;
  }

  reloadFailed(): void {
    this.#reloadFailures++;
  }

  get reloadFailures(): number {
    return this.#reloadFailures;
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP dfc_requests_total Requests answered, by route kind and status.', '# TYPE dfc_requests_total counter');
    const counts = [...this.#requests].flatMap(([kind, byStatus]) => [...byStatus].map(([status, n]) => ({ kind, status, n })));
    counts.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.status - b.status));
    for (const { kind, status, n } of counts) out.push(`dfc_requests_total{kind="${kind}",status="${status}"} ${n}`);
    out.push('# HELP dfc_denials_total Requests refused, by error code.', '# TYPE dfc_denials_total counter');
    for (const [k, v] of [...this.#denials].sort()) out.push(`dfc_denials_total{code="${k}"} ${v}`);
    out.push('# HELP dfc_request_duration_seconds Time to answer a request.', '# TYPE dfc_request_duration_seconds histogram');
    let cum = 0;
    BUCKETS.forEach((b, i) => {
      cum += this.#buckets[i]!;
      out.push(`dfc_request_duration_seconds_bucket{le="${b}"} ${cum}`);
    });
    cum += this.#buckets[BUCKETS.length]!;
    out.push(`dfc_request_duration_seconds_bucket{le="+Inf"} ${cum}`);
    out.push(`dfc_request_duration_seconds_sum ${this.#sum}`, `dfc_request_duration_seconds_count ${this.#count}`);
    out.push('# HELP dfc_policy_reloads_total Policies loaded after the first.', '# TYPE dfc_policy_reloads_total counter', `dfc_policy_reloads_total ${this.#reloads}`);
    out.push('# HELP dfc_policy_reload_failures_total Reloads refused (the old policy kept serving).', '# TYPE dfc_policy_reload_failures_total counter', `dfc_policy_reload_failures_total ${this.#reloadFailures}`);
    out.push('# HELP dfc_policy_info The policy in service.', '# TYPE dfc_policy_info gauge', `dfc_policy_info{hash="${this.#hash}"} 1`);
    out.push('# HELP dfc_uptime_seconds Seconds since the runtime started.', '# TYPE dfc_uptime_seconds gauge', `dfc_uptime_seconds ${Math.floor((Date.now() - this.#started) / 1000)}`);
    return out.join('\n') + '\n';
  }
}
